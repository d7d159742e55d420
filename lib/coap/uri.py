# URI splitting for coap://, coaps://, coap+tcp://, http:// and https:// (RFC 3986 subset:
# no userinfo, IPv6 literals in brackets). No re module: MicroPython's lacks counted repeats.
# For the coap schemes this is RFC 7252 6.4: no fragment, the host in lowercase, every path
# segment and query argument an option, empty ones too ("/a//b/" -> "a", "", "b", "").
# SPDX-License-Identifier: MIT

DEFAULT_PORTS = {"coap": 5683, "coaps": 5684, "coap+tcp": 5683, "coaps+tcp": 5684, "http": 80, "https": 443}


class UriError(ValueError):
    pass


def split(uri):
    # -> (scheme, host, port, path segments tuple, query list). Raises UriError (also for a
    # coap URI with a fragment; an http one drops it).
    if not isinstance(uri, str):
        raise UriError("not a string")
    i = uri.find("://")
    if i <= 0:
        raise UriError("no scheme")
    scheme = uri[:i].lower()
    for c in scheme:
        if not ("a" <= c <= "z" or "0" <= c <= "9" or c in "+-."):
            raise UriError("bad scheme")
    rest = uri[i + 3 :]
    j = len(rest)
    for sep in "/?#":
        k = rest.find(sep)
        if 0 <= k < j:
            j = k
    auth, rest = rest[:j], rest[j:]
    if "@" in auth:
        raise UriError("userinfo not supported")
    if auth.startswith("["):
        k = auth.find("]")
        if k < 0:
            raise UriError("bad IPv6 literal")
        host, tail = auth[1:k], auth[k + 1 :]
    else:
        k = auth.find(":")
        host, tail = (auth.lower(), "") if k < 0 else (auth[:k].lower(), auth[k:])
    if not host:
        raise UriError("no host")
    port = DEFAULT_PORTS.get(scheme)
    if tail:
        if tail[0] != ":" or not tail[1:].isdigit() or len(tail) > 6:
            raise UriError("bad port")
        port = int(tail[1:])
        if not 0 < port < 65536:
            raise UriError("bad port")
    if port is None:
        raise UriError("no port for scheme " + scheme)
    k = rest.find("#")
    if k >= 0:
        if scheme[:4] == "coap":
            raise UriError("fragment in a coap URI")
        rest = rest[:k]
    query = []
    k = rest.find("?")
    if k >= 0:
        query = [_unquote(q) for q in rest[k + 1 :].split("&")]
        rest = rest[:k]
    # "" and "/" are no segment; otherwise rest starts with "/"
    path = tuple(_unquote(s) for s in rest[1:].split("/")) if len(rest) > 1 else ()
    return scheme, host, port, path, query


def _unquote(s):
    if "%" not in s:
        return s
    out = bytearray()
    i = 0
    b = s.encode()
    n = len(b)
    while i < n:
        c = b[i]
        if c == 37:  # "%"
            if i + 2 >= n:
                raise UriError("bad percent escape")
            try:
                h = b[i + 1 : i + 3].decode()
                if h.strip("0123456789abcdefABCDEF"):  # int() would take "+1" or " 1"
                    raise ValueError
                out.append(int(h, 16))
            except (ValueError, UnicodeError):
                raise UriError("bad percent escape")
            i += 3
        else:
            out.append(c)
            i += 1
    try:
        return out.decode()
    except UnicodeError:
        raise UriError("escape is not UTF-8")

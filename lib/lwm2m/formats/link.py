# CoRE Link Format (CF 40, RFC 6690): Register/Update payloads and Discover answers (spec 3.1,
# 3.2), and a strict parser for servers' payloads and tests.
# SPDX-License-Identifier: MIT
#
# A link is (target, attrs). target: a path tuple ((), (3,), (3, 0), (3, 0, 1)) or a str used
# verbatim (an alternate path such as "/lwm2m"). attrs: a tuple of (name, value) pairs, kept in
# the given order; value None (flag: ";name"), int, float, bool (1/0), str, or a tuple of ints
# (written as a quoted space-separated list: ct="60 110").
#   encode([((), (("rt", "oma.lwm2m"), ("ct", 11543))), ((3, 0), ())])
#     -> b'</>;rt="oma.lwm2m";ct=11543,</3/0>'
# decode() returns [(uri str, ((name, value str or None), ...))]; parse_path() from
# lwm2m.formats turns the uri into a path tuple.
from lwm2m.formats import FormatError, utf8, to_utf8, path_str, check_path

SINGLE = False

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_TOKEN = _ALNUM + "!#$&+-.^_`|~*"  # parmname (RFC 5987 token, plus "*" for ext names)
_PTOKEN = _ALNUM + "!#$%&'()*+-./:<=>?@[]^_`{|}~"  # RFC 6690 ptokenchar
# Attributes LwM2M servers expect quoted even when a bare token would do (Wakaama wants
# rt="oma.lwm2m"; RFC 6690 defines title and anchor as quoted only).
_QUOTED = ("rt", "if", "title", "anchor", "rel", "rev")


def _in(s, chars):
    for c in s:
        if c not in chars:
            return False
    return True


def _param(name, value):
    if not name or not _in(name, _TOKEN):
        raise FormatError("bad attribute name")
    if value is None:
        return ";" + name
    if isinstance(value, bool):
        v = "1" if value else "0"
    elif isinstance(value, int):
        v = str(value)
    elif isinstance(value, float):
        if value - value != 0:
            raise FormatError("non-finite attribute value")
        v = repr(value)
    elif isinstance(value, tuple):
        v = '"' + " ".join([str(int(x)) for x in value]) + '"'
    elif isinstance(value, str):
        for c in value:
            if c < " " or c == "\x7f":
                raise FormatError("control character in attribute value")
        if name in _QUOTED or not value or not _in(value, _PTOKEN):
            v = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        else:
            v = value
    else:
        raise FormatError("bad attribute value")
    return ";" + name + "=" + v


def _target(t):
    if isinstance(t, str):
        if not t or ">" in t or "<" in t:
            raise FormatError("bad link target")
        return "<" + t + ">"
    return "<" + path_str(check_path(t)) + ">"


def _key(link):
    t = link[0]
    return (0, t, ()) if isinstance(t, str) else (1, "", t)


def write(links, sink, sort=True):
    # Links sorted by target (root first, then /1, /1/0, /3, ...) unless sort=False.
    links = list(links)
    if sort:
        links.sort(key=_key)
    first = True
    for target, attrs in links:
        parts = [_target(target)]
        for name, value in attrs:
            parts.append(_param(name, value))
        if not first:
            sink(b",")
        sink(to_utf8("".join(parts)))
        first = False


def encode(links, sort=True):
    parts = []
    write(links, parts.append, sort)
    return b"".join(parts)


def decode(data):
    s = utf8(bytes(data))
    n = len(s)
    out = []
    i = 0
    while i < n:
        if out:
            if s[i] != ",":
                raise FormatError("expected , between links")
            i += 1
        if i >= n or s[i] != "<":
            raise FormatError("link must start with <")
        j = s.find(">", i + 1)
        if j < 0:
            raise FormatError("unterminated link target")
        uri = s[i + 1 : j]
        for c in uri:
            if c <= " " or c > "~" or c in '<"':
                raise FormatError("bad character in link target")
        i = j + 1
        attrs = []
        while i < n and s[i] == ";":
            i += 1
            j = i
            while j < n and s[j] in _TOKEN:
                j += 1
            if j == i:
                raise FormatError("empty attribute name")
            name = s[i:j]
            i = j
            value = None
            if i < n and s[i] == "=":
                i += 1
                if i < n and s[i] == '"':
                    value, i = _quoted(s, i + 1, n)
                else:
                    j = i
                    while j < n and s[j] in _PTOKEN:
                        j += 1
                    if j == i:
                        raise FormatError("empty attribute value")
                    value = s[i:j]
                    i = j
            attrs.append((name, value))
        if i < n and s[i] != ",":
            raise FormatError("unexpected character after link")
        out.append((uri, tuple(attrs)))
    return out


def _quoted(s, i, n):
    # RFC 7230 quoted-string: qdtext or backslash pairs, up to the closing quote.
    parts = []
    while i < n:
        c = s[i]
        if c == '"':
            return "".join(parts), i + 1
        if c == "\\":
            i += 1
            if i >= n:
                break
            c = s[i]
        elif c < " " or c == "\x7f":
            raise FormatError("control character in quoted string")
        parts.append(c)
        i += 1
    raise FormatError("unterminated quoted string")


def attr(attrs, name, default=None):
    # The value of the first attribute called name (attrs from decode()).
    for n, v in attrs:
        if n == name:
            return v
    return default

# fota.download.http: http:// and https:// pull, our own streaming HTTP/1.1 GET over the
# shared loop (https: TLS from tcp.StreamEngine, server authenticated by secure.tls_context).
# Content-Length, chunked and read-until-close bodies (RFC 9112 6.3: an invalid or
# conflicting Content-Length, a transfer coding other than chunked alone -> Result 4 at once);
# resume with Range + If-Match; 200 to a Range request (server ignored it), 412 (ETag
# changed) or a 206 for a resource of another size -> restart from 0; a 206 that ends short
# of the end -> the next Range request at once; bounded redirects (relative ones resolved,
# RFC 3986 5.2); 404/410 -> Result 7; 5xx, timeouts, lost connections -> retries, then 4.
# Redirects may go from http to https, never from https back to plain http (Result 4):
# the operator asked for an authenticated server, and a redirect must not undo that.
# Headers are parsed in place in the receive buffer; body bytes go straight to the sink.
# Header values stay bytes (a Location is decoded only to follow it; an ETag goes back as
# it came).
# SPDX-License-Identifier: MIT
from port import const
from fota import FotaError
from fota.download import SCHEMES
from fota.download.tcp import StreamEngine

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_CONNECTION_LOST = const(4)
_RESULT_INVALID_URI = const(7)
_RESULT_UNSUPPORTED_PROTOCOL = const(9)

_HEAD = const(0)
_BODY = const(1)  # Content-Length or until close
_CHUNK = const(2)
# chunked sub-states
_C_SIZE = const(0)
_C_DATA = const(1)
_C_CRLF = const(2)
_MAX_LINE = const(256)  # a chunk-size line longer than this is not HTTP we accept
# the fields we act on (the only ones copied out of the buffer)
_FIELDS = (b"content-length", b"transfer-encoding", b"etag", b"content-range", b"location")


def _find(s, want, i):
    # index of the first of the characters in `want` in s from i on, or len(s)
    j = len(s)
    for sep in want:
        k = s.find(sep, i)
        if 0 <= k < j:
            j = k
    return j


def _target(uri):
    # The request target: path and query as written in the URI (their percent-encoding
    # kept), "/" if empty; what a request line cannot hold (controls, space, non-ASCII) is
    # percent-encoded.
    i = _find(uri, "/?#", uri.find("://") + 3)
    t = uri[i : _find(uri, "#", i)]
    if not t.startswith("/"):
        t = "/" + t
    b = t.encode()
    for c in b:
        if c <= 32 or c >= 127:
            return "".join("%%%02X" % c if c <= 32 or c >= 127 else chr(c) for c in b)
    return t


def _resolve(uri, location):
    # RFC 3986 5.2: the reference `location` resolved against the absolute URI `uri`
    s = _find(location, "?#", 0)
    k = location.find(":")
    if 0 < k < _find(location, "/?#", 0):
        return location  # it has a scheme
    i = uri.find("://") + 1
    if location.startswith("//"):
        return uri[:i] + location
    a = _find(uri, "/?#", i + 2)  # the end of the authority
    e = _find(uri, "?#", a)  # the end of the path
    path = location[:s]
    if not path:
        return uri[: e if location[s : s + 1] == "?" else _find(uri, "#", e)] + location
    if path[0] != "/":
        path = (uri[a : uri.rfind("/", a, e) + 1] or "/") + path
    if "." in path:
        out = []
        for seg in path.split("/")[1:]:
            if seg == "..":
                if out:
                    out.pop()
            elif seg != ".":
                out.append(seg)
        if seg == "." or seg == "..":
            out.append("")
        path = "/" + "/".join(out)
    return uri[:a] + path + location[s:]


def _clen(v):
    # Content-Length: digits, or a list of the same digits ("5, 5"); -1 if anything else
    n = -1
    for x in v.split(b","):
        x = x.strip()
        if not x.isdigit() or 0 <= n != int(x):
            return -1
        n = int(x)
    return n


def _etag(v):
    # an entity-tag (RFC 9110 8.8.3: [W/]"etagc*", obs-text allowed), None if malformed
    s = v[2:] if v[:2] == b"W/" else v
    if len(s) < 2 or s[0] != 34 or s[-1] != 34:
        return None
    for c in s[1:-1]:
        if c < 33 or c == 34 or c == 127:
            return None
    return v


def _hex(buf, a, b):
    # Chunk size: hex digits up to ';' (extensions ignored) or the end; -1 if malformed.
    v = 0
    n = 0
    while a < b:
        c = buf[a]
        if 48 <= c <= 57:
            d = c - 48
        elif 97 <= c <= 102:
            d = c - 87
        elif 65 <= c <= 70:
            d = c - 55
        elif c == 59 or c == 32 or c == 9:  # ';' or whitespace before it
            break
        else:
            return -1
        v = (v << 4) | d
        n += 1
        a += 1
    return v if n else -1


class Engine(StreamEngine):
    def __init__(self, loop, uri, parts, sink, offset=0, etag=None, on_head=None, on_done=None,
                 on_progress=None, redirects=5, **kw):
        super().__init__(loop, uri, parts, sink, offset, etag, on_head, on_done, on_progress, **kw)
        self.redirects = redirects
        self.status = 0
        self._target = _target(uri)
        if self.scheme == "https":
            from fota.download.secure import tls_context

            self.tls_ctx = tls_context(self.ca, self.tls_insecure)  # FotaError(9) at once
        self._reset()

    def _reset(self):
        self._state = _HEAD
        self.status = 0
        self._left = -1  # body bytes still expected (-1: until close)
        self._cst = _C_SIZE

    def _begin(self):
        self._reset()
        self._connect(self.host, self.port)

    def _request(self):
        host = self.host
        if ":" in host:
            host = "[" + host + "]"
        if self.port != (443 if self.tls_ctx is not None else 80):
            host = "%s:%d" % (host, self.port)
        r = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: updraft\r\nAccept-Encoding: identity\r\nConnection: close\r\n" % (
            self._target, host)
        if self.offset:
            r += "Range: bytes=%d-\r\n" % self.offset
        r = r.encode()
        if self.etag is not None and not self.etag.startswith(b"W/"):
            # 412 if the resource changed since we saw this ETag: never stitch two versions.
            # A weak ETag never matches If-Match (RFC 9110 13.1.1): resume without it (a 206
            # must at least have the size we saw) and let the image signature catch a mixed
            # image. The ETag's bytes go back as they came (obs-text is not UTF-8).
            r += b"If-Match: " + self.etag + b"\r\n"
        return r + b"\r\n"

    # -- response -------------------------------------------------------------------------
    def _consume(self):
        while self.sock is not None and self.rpos < self.wpos:
            st = self._state
            if st == _HEAD:
                if not self._headers():
                    return
            elif st == _BODY:
                n = self.wpos - self.rpos
                if 0 <= self._left < n:
                    n = self._left
                if not self._data(self.mv[self.rpos : self.rpos + n]):
                    return
                self.rpos += n
                if self._left > 0:
                    self._left -= n
                    if self._left == 0:
                        return self._end()
            else:
                return self._chunked()  # it consumes all it can, or waits for a line's end

    def _headers(self):
        # Parse the status line and headers once all of them are in the buffer.
        buf = self.buf
        # they end at the first empty line; a lone LF ends a line too, a CR before it is
        # dropped (RFC 9112 2.2)
        p = end = self.rpos
        while True:
            eol = buf.find(b"\n", end, self.wpos)
            if eol < 0:
                return False
            if eol == end or (eol == end + 1 and buf[end] == 13):
                break
            end = eol + 1
        body = eol + 1
        if buf[p : p + 7] != b"HTTP/1." or end - p < 12:
            self._fail(_RESULT_CONNECTION_LOST, "not an HTTP response")
            return False
        try:
            status = int(bytes(buf[p + 9 : p + 12]))
        except ValueError:
            self._fail(_RESULT_CONNECTION_LOST, "bad status line")
            return False
        clen = -1
        chunked = False
        etag = location = crange = bad = None
        p = buf.find(b"\n", p, end) + 1
        while p < end:
            nl = buf.find(b"\n", p, end)
            eol = nl - 1 if buf[nl - 1] == 13 else nl
            colon = buf.find(b":", p, eol)
            if colon > p:
                name = bytes(buf[p:colon]).rstrip().lower()
                if name in _FIELDS:
                    # folded onto the next line, or space before the colon: malformed (None)
                    v = None
                    if len(name) == colon - p and buf[nl + 1] not in (32, 9):
                        v = bytes(buf[colon + 1 : eol]).strip()
                    if name == b"content-length":
                        n = -1 if v is None else _clen(v)
                        if n < 0 or 0 <= clen != n:
                            bad = "bad Content-Length"  # RFC 9112 6.3: unrecoverable
                        clen = n
                    elif name == b"transfer-encoding":
                        # chunked alone, and not in HTTP/1.0 (RFC 9112 6.1): other codings
                        # would put encoded bytes in the image
                        if chunked or v is None or v.lower() != b"chunked" or buf[self.rpos + 7] != 49:
                            bad = "bad Transfer-Encoding"
                        chunked = True
                    elif name == b"etag":
                        etag = _etag(v) if v else None  # a malformed one counts as absent
                    elif name == b"content-range":
                        crange = v
                    else:
                        location = v
            p = nl + 1
        if bad:
            self._fail(_RESULT_CONNECTION_LOST, bad)
            return False
        self.rpos = body
        self.status = status
        if status < 200:
            return True  # 100 Continue and friends: the real response follows
        if chunked:
            self._state = _CHUNK
        else:
            self._state = _BODY
            self._left = clen
        return self._status(status, clen, etag, location, crange)

    def _status(self, status, clen, etag, location, crange):
        if status in (301, 302, 303, 307, 308) and location:
            self._redirect(location)
            return False
        if status == 404 or status == 410:
            self._fail(_RESULT_INVALID_URI, "http %d" % status)
            return False
        if status == 412:
            self._restart("http 412: changed since the ETag")
            return False
        if status == 416:
            total = _range(crange)[2]
            if total is not None and total == self.offset:
                self.size = total  # we already had every byte
                self._finish()
            else:
                self._restart("http 416")
            return False
        if status == 200:
            if self.offset:
                self._restart("server ignored Range")
                return False
            # (a size from an earlier response with no byte taken must not outlive it)
            self.size = clen if clen >= 0 and self._state == _BODY else None
            return self._head_checked(self.size, etag)
        if status == 206:
            first, last, total = _range(crange)
            if first != self.offset:
                self._restart("range starts at %s" % first)
                return False
            n = last - first + 1
            if n < 1 or total is not None and last >= total or self._state == _BODY and 0 <= clen != n:
                self._fail(_RESULT_CONNECTION_LOST, "bad Content-Range")
                return False
            if self.size is not None and total != self.size:
                # without a strong ETag (If-Match) nothing else tells another file apart:
                # its pieces must not be joined to ours (RFC 9110 15.3.7.3)
                self._restart("size changed")
                return False
            if self._state == _BODY:
                self._left = n
            return self._head_checked(total, etag)
        if status >= 500:
            self._lost("http %d" % status)
        else:
            self._fail(_RESULT_CONNECTION_LOST, "http %d" % status)
        return False

    def _head_checked(self, size, etag):
        if not self._head(size, etag):
            return False
        if self._state == _BODY and self._left == 0:
            self._finish()  # an empty body
            return False
        return True

    def _end(self):
        # The body is complete. A 206 that ended short of the resource's end (Content-Range
        # "bytes 50-59/100"): ask for the rest now (RFC 9110 15.3.7).
        if self.size is not None and self.offset < self.size:
            self._close()
            self._timer = self.loop.later(0, self._go)
            return
        self._finish()

    def _redirect(self, location):
        from coap.uri import split, UriError

        if self.redirects <= 0:
            return self._fail(_RESULT_CONNECTION_LOST, "too many redirects")
        self.redirects -= 1
        scheme = "https" if self.tls_ctx is not None else "http"
        try:
            location = _resolve(self.uri, location.decode())
        except UnicodeError:
            return self._fail(_RESULT_INVALID_URI, "bad redirect")
        to = location[: location.find(":")].lower()
        if to not in ("http", "https") or to not in [s[0] for s in SCHEMES]:
            return self._fail(_RESULT_UNSUPPORTED_PROTOCOL, "redirect to " + to)
        if scheme == "https" and to == "http":
            return self._fail(_RESULT_CONNECTION_LOST, "redirect from https to http refused")
        try:
            parts = split(location)
        except UriError:
            return self._fail(_RESULT_INVALID_URI, "bad redirect")
        if to == "https" and self.tls_ctx is None:
            from fota.download.secure import tls_context

            try:
                self.tls_ctx = tls_context(self.ca, self.tls_insecure)
            except FotaError as e:
                return self._finish(e)
        self._close()
        self.scheme = to
        self.uri = location
        self.host, self.port = parts[1], parts[2]
        self._target = _target(location)
        self._timer = self.loop.later(0, self._go)

    def _chunked(self):
        buf = self.buf
        while self.rpos < self.wpos:
            if self._cst == _C_DATA:
                n = self.wpos - self.rpos
                if self._left < n:
                    n = self._left
                if not self._data(self.mv[self.rpos : self.rpos + n]):
                    return
                self.rpos += n
                self._left -= n
                if self._left == 0:
                    self._cst = _C_CRLF
                continue
            eol = buf.find(b"\n", self.rpos, self.wpos)
            if eol < 0:
                if self.wpos - self.rpos > _MAX_LINE:
                    self._fail(_RESULT_CONNECTION_LOST, "bad chunk line")
                return  # the rest of the line comes with the next read
            a = self.rpos
            b = eol - 1 if eol > a and buf[eol - 1] == 13 else eol
            self.rpos = eol + 1
            if self._cst == _C_SIZE:
                n = _hex(buf, a, b)
                if n < 0:
                    return self._fail(_RESULT_CONNECTION_LOST, "bad chunk size")
                if n == 0:
                    # the last chunk: the body is complete; trailers, however long, are
                    # not read (the connection closes)
                    return self._end()
                self._left = n
                self._cst = _C_DATA
            elif b != a:  # _C_CRLF
                return self._fail(_RESULT_CONNECTION_LOST, "chunk longer than declared")
            else:
                self._cst = _C_SIZE

    def _eof(self):
        if self._state == _BODY and self._left < 0 and self.status in (200, 206):
            if self.tls_ctx is None:
                return self._finish()  # no length, no chunks: the body ends with the connection
            # Over TLS only close_notify would prove the end, and MicroPython's mbedTLS reads
            # a bare FIN as one too: ask again from here; 416 with our offset as the total
            # confirms it (a forged FIN cannot cut the image short)
            return self._lost("end of body unconfirmed")
        self._lost("connection closed")


def _range(crange):
    # Content-Range "bytes a-b/c" or "bytes */c" -> (a, b, c); what is "*", absent or
    # malformed is None (a and b together)
    a = b = c = None
    k = crange.find(b"/") if crange else -1
    if k > 6 and crange[:6] == b"bytes ":
        j = crange.find(b"-", 6, k)
        try:
            c = int(crange[k + 1 :])
        except ValueError:
            pass
        try:
            a, b = int(crange[6:j]), int(crange[j + 1 : k])
        except ValueError:
            pass
    return a, b, c

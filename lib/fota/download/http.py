# fota.download.http: http:// and https:// pull, our own streaming HTTP/1.1 GET over the
# shared loop (https: TLS from tcp.StreamEngine, server authenticated by secure.tls_context).
# Content-Length, chunked and read-until-close bodies; resume with Range + If-Match; 200 to
# a Range request (server ignored it) or 412 (ETag changed) -> restart from 0; bounded
# redirects; 404/410 -> Result 7; 5xx, timeouts, lost connections -> retries, then 4.
# Redirects may go from http to https, never from https back to plain http (Result 4):
# the operator asked for an authenticated server, and a redirect must not undo that.
# Headers are parsed in place in the receive buffer; body bytes go straight to the sink.
# SPDX-License-Identifier: MIT
from port import const
from fota.const import FotaError, RESULT_INVALID_URI, RESULT_CONNECTION_LOST, RESULT_UNSUPPORTED_PROTOCOL
from fota.download import SCHEMES
from fota.download.tcp import StreamEngine

_HEAD = const(0)
_BODY = const(1)  # Content-Length or until close
_CHUNK = const(2)
# chunked sub-states
_C_SIZE = const(0)
_C_DATA = const(1)
_C_CRLF = const(2)
_C_TRAILER = const(3)
_MAX_LINE = const(256)  # a chunk-size line longer than this is not HTTP we accept


def _target(uri):
    # The request target as written in the URI (keeps its percent-encoding), "/" if empty.
    i = uri.find("://") + 3
    j = len(uri)
    for sep in "/?":
        k = uri.find(sep, i)
        if 0 <= k < j:
            j = k
    t = uri[j:]
    k = t.find("#")
    if k >= 0:
        t = t[:k]
    if not t.startswith("/"):
        t = "/" + t
    return t


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
        if self.etag is not None and not self.etag.startswith(b"W/"):
            # 412 if the resource changed since we saw this ETag: never stitch two versions.
            # A weak ETag never matches If-Match (RFC 9110 13.1.1): resume without it and
            # let the image signature catch a mixed image.
            r += "If-Match: " + self.etag.decode() + "\r\n"
        return (r + "\r\n").encode()

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
                        return self._finish()
            else:
                return self._chunked()  # it consumes all it can, or waits for a line's end

    def _headers(self):
        # Parse the status line and headers once all of them are in the buffer.
        buf = self.buf
        end = buf.find(b"\r\n\r\n", self.rpos, self.wpos)
        if end < 0:
            return False
        p = self.rpos
        if buf[p : p + 7] != b"HTTP/1." or end - p < 12:
            self._fail(RESULT_CONNECTION_LOST, "not an HTTP response")
            return False
        try:
            status = int(bytes(buf[p + 9 : p + 12]))
        except ValueError:
            self._fail(RESULT_CONNECTION_LOST, "bad status line")
            return False
        clen = -1
        chunked = False
        etag = location = crange = None
        p = buf.find(b"\r\n", p, end + 2) + 2
        while p < end + 2:
            eol = buf.find(b"\r\n", p, end + 2)
            colon = buf.find(b":", p, eol)
            if colon > p:
                name = bytes(buf[p:colon]).lower()
                # only the few headers we act on are copied out of the buffer
                if name == b"content-length":
                    try:
                        clen = int(bytes(buf[colon + 1 : eol]).strip())
                    except ValueError:
                        pass
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in bytes(buf[colon + 1 : eol]).lower()
                elif name == b"etag":
                    etag = bytes(buf[colon + 1 : eol]).strip()
                elif name == b"content-range":
                    crange = bytes(buf[colon + 1 : eol]).strip()
                elif name == b"location":
                    location = bytes(buf[colon + 1 : eol]).strip().decode()
            p = eol + 2
        self.rpos = end + 4
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
            self._fail(RESULT_INVALID_URI, "http %d" % status)
            return False
        if status == 412:
            self._restart("http 412: changed since the ETag")
            return False
        if status == 416:
            total = _total(crange)
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
            size = clen if clen >= 0 and self._state == _BODY else None
            return self._head_checked(size, etag)
        if status == 206:
            first = _first(crange)
            if first != self.offset:
                self._restart("range starts at %s" % first)
                return False
            return self._head_checked(_total(crange), etag)
        if status >= 500:
            self._lost("http %d" % status)
        else:
            self._fail(RESULT_CONNECTION_LOST, "http %d" % status)
        return False

    def _head_checked(self, size, etag):
        if not self._head(size, etag):
            return False
        if self._state == _BODY and self._left == 0:
            self._finish()  # an empty body
            return False
        return True

    def _redirect(self, location):
        from coap.uri import split, UriError

        if self.redirects <= 0:
            return self._fail(RESULT_CONNECTION_LOST, "too many redirects")
        self.redirects -= 1
        scheme = "https" if self.tls_ctx is not None else "http"
        if location.startswith("/"):
            location = "%s://%s:%d%s" % (scheme, self.host if ":" not in self.host else "[" + self.host + "]",
                                        self.port, location)
        i = location.find("://")
        if i <= 0:
            return self._fail(RESULT_INVALID_URI, "bad redirect")
        to = location[:i].lower()
        if to not in ("http", "https") or to not in [s[0] for s in SCHEMES]:
            return self._fail(RESULT_UNSUPPORTED_PROTOCOL, "redirect to " + to)
        if scheme == "https" and to == "http":
            return self._fail(RESULT_CONNECTION_LOST, "redirect from https to http refused")
        try:
            parts = split(location)
        except UriError:
            return self._fail(RESULT_INVALID_URI, "bad redirect")
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
                    self._fail(RESULT_CONNECTION_LOST, "bad chunk line")
                return  # the rest of the line comes with the next read
            a = self.rpos
            b = eol - 1 if eol > a and buf[eol - 1] == 13 else eol
            self.rpos = eol + 1
            if self._cst == _C_SIZE:
                n = _hex(buf, a, b)
                if n < 0:
                    return self._fail(RESULT_CONNECTION_LOST, "bad chunk size")
                self._left = n
                self._cst = _C_DATA if n else _C_TRAILER
            elif self._cst == _C_CRLF:
                if b != a:
                    return self._fail(RESULT_CONNECTION_LOST, "chunk longer than declared")
                self._cst = _C_SIZE
            elif b == a:  # the empty line after the trailers: the body is complete
                return self._finish()

    def _eof(self):
        if self._state == _BODY and self._left < 0 and self.status in (200, 206):
            if self.tls_ctx is None:
                return self._finish()  # no length, no chunks: the body ends with the connection
            # Over TLS only close_notify would prove the end, and MicroPython's mbedTLS reads
            # a bare FIN as one too: ask again from here; 416 with our offset as the total
            # confirms it (a forged FIN cannot cut the image short)
            return self._lost("end of body unconfirmed")
        self._lost("connection closed")


def _first(crange):
    # "bytes a-b/c" -> a (None if absent or malformed)
    if not crange or not crange.startswith(b"bytes "):
        return None
    k = crange.find(b"-")
    try:
        return int(crange[6:k]) if k > 6 else None
    except ValueError:
        return None


def _total(crange):
    # "bytes a-b/c" or "bytes */c" -> c (None if "*" or malformed)
    if not crange:
        return None
    k = crange.find(b"/")
    try:
        return int(crange[k + 1 :]) if k >= 0 else None
    except ValueError:
        return None

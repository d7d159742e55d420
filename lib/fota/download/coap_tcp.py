# fota.download.coap_tcp: coap+tcp:// pull (RFC 8323): CSM exchange, length-prefixed frames,
# Block2 over TCP with BERT (several 1024-byte blocks per message) when the server's CSM
# offers it. Self-contained codec: the frame header differs from UDP's and this layer may
# not import the CoAP stack. Payload bytes are passed to the sink as they arrive, so a
# message larger than the receive buffer costs no RAM.
# SPDX-License-Identifier: MIT
from port import const, random_bytes
from fota.download.tcp import StreamEngine

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_CONNECTION_LOST = const(4)
_RESULT_INVALID_URI = const(7)

_GET = const(1)
_CONTENT = const(0x45)  # 2.05
_NOT_FOUND = const(0x84)  # 4.04
_CSM = const(0xE1)  # 7.01
_PING = const(0xE2)
_PONG = const(0xE3)
_RELEASE = const(0xE4)
_ABORT = const(0xE5)
_ETAG = const(4)
_URI_HOST = const(3)
_URI_PATH = const(11)
_URI_QUERY = const(15)
_BLOCK2 = const(23)
_SIZE2 = const(28)
_CSM_MAX_MESSAGE = const(2)
_CSM_BWT = const(4)
_BERT = const(7)
# what to do once the current message's payload is through
_AFTER_NOTHING = const(0)
_AFTER_NEXT = const(1)
_AFTER_DONE = const(2)


def _nib(v):
    return v if v < 13 else (13 if v < 269 else 14)


def _put_opt(out, last, num, val):
    # Append one option (RFC 7252 3.1 delta/length nibbles); returns its number.
    d = num - last
    n = len(val)
    out.append(_nib(d) << 4 | _nib(n))
    for v in (d, n):
        if 13 <= v < 269:
            out.append(v - 13)
        elif v >= 269:
            out.append((v - 269) >> 8)
            out.append((v - 269) & 255)
    out.extend(val)
    return num


def _uint(v):
    # minimal big-endian bytes, empty for 0 (RFC 7252 3.2)
    n = 0
    while v >> (8 * n):
        n += 1
    return v.to_bytes(n, "big")


def frame(code, token, opts):
    # One RFC 8323 message without payload: Len|TKL, extended length, code, token, options.
    n = len(opts)
    tkl = len(token)
    if n < 13:
        h = bytearray((n << 4 | tkl,))
    elif n < 269:
        h = bytearray((0xD0 | tkl, n - 13))
    else:
        h = bytearray((0xE0 | tkl, (n - 269) >> 8, (n - 269) & 255))
    h.append(code)
    h.extend(token)
    h.extend(opts)
    return h


def _is_ip(host):
    return ":" in host or all(c in "0123456789." for c in host)


class Engine(StreamEngine):
    def __init__(self, loop, uri, parts, sink, offset=0, etag=None, on_head=None, on_done=None,
                 on_progress=None, bert=True, max_message=16384 + 256, **kw):
        super().__init__(loop, uri, parts, sink, offset, etag, on_head, on_done, on_progress, **kw)
        self.bert = bert
        self.max_message = max_message  # we stream payloads, so this is not a RAM bound
        self.token = random_bytes(2)
        self.szx = 6
        self.messages = 0
        # path and query options, encoded once: every block request reuses them
        o = bytearray()
        last = 0
        if not _is_ip(self.host):
            last = _put_opt(o, last, _URI_HOST, self.host.encode())
        for seg in self.path:
            last = _put_opt(o, last, _URI_PATH, seg.encode())
        for q in self.query:
            last = _put_opt(o, last, _URI_QUERY, q.encode())
        self._popts = o
        self._plast = last

    def _begin(self):
        self._pay = 0
        self._after = _AFTER_NOTHING
        self._csm = False
        self._first = True
        self._skip = 0
        self._req_off = 0
        self._connect(self.host, self.port)

    def _request(self):
        # Our CSM first (RFC 8323 5.3); the GET waits for the server's CSM so we know
        # whether it takes BERT.
        o = bytearray()
        last = _put_opt(o, 0, _CSM_MAX_MESSAGE, _uint(self.max_message))
        if self.bert:
            _put_opt(o, last, _CSM_BWT, b"")
        return frame(_CSM, b"", o)

    def _get(self):
        unit = 1024 if self.szx == _BERT else 16 << self.szx
        self._req_off = self.offset - self.offset % unit
        o = bytearray(self._popts)
        last = _put_opt(o, self._plast, _BLOCK2, _uint((self._req_off // unit) << 4 | self.szx))
        if self._first:
            _put_opt(o, last, _SIZE2, b"")  # ask for the total size
        self._send(frame(_GET, self.token, o))

    # -- receive ----------------------------------------------------------------------------
    def _consume(self):
        while self.sock is not None and self.rpos < self.wpos:
            if self._pay:
                r = self.rpos
                n = self.wpos - r
                if self._pay < n:
                    n = self._pay
                if self._after != _AFTER_NOTHING:
                    a = r
                    if self._skip:  # the head of a resumed block: the sink has these bytes
                        k = self._skip if self._skip < n else n
                        a += k
                        self._skip -= k
                    if a < r + n and not self._data(self.mv[a : r + n]):
                        return
                self.rpos = r + n
                self._pay -= n
                if self._pay == 0:
                    self._end()
            elif self._message():
                if self._pay == 0:
                    self._end()
            else:
                return

    def _message(self):
        # Parse one message header and its options (all must be buffered); sets _pay to the
        # payload length and _after. False: wait for more bytes.
        buf = self.buf
        r = self.rpos
        w = self.wpos
        b0 = buf[r]
        ln = b0 >> 4
        tkl = b0 & 15
        ext = 0 if ln < 13 else (1, 2, 4)[ln - 13]
        hl = 2 + ext + tkl
        if w - r < hl:
            return False
        if ln == 13:
            ln = buf[r + 1] + 13
        elif ln == 14:
            ln = (buf[r + 1] << 8 | buf[r + 2]) + 269
        elif ln == 15:
            ln = (buf[r + 1] << 24 | buf[r + 2] << 16 | buf[r + 3] << 8 | buf[r + 4]) + 65805
        code = buf[r + 1 + ext]
        tok = r + 2 + ext
        end = r + hl + ln
        pos = r + hl
        num = 0
        etag = None
        b2 = size2 = None
        bwt = False
        while pos < end:
            if pos >= w:
                return False
            c = buf[pos]
            pos += 1
            if c == 0xFF:
                break
            d = c >> 4
            n = c & 15
            for i in (0, 1):
                v = d if i == 0 else n
                if v == 13:
                    if pos >= w:
                        return False
                    v = buf[pos] + 13
                    pos += 1
                elif v == 14:
                    if pos + 1 >= w:
                        return False
                    v = (buf[pos] << 8 | buf[pos + 1]) + 269
                    pos += 2
                elif v == 15:
                    self._fail(_RESULT_CONNECTION_LOST, "bad option nibble")
                    return False
                if i == 0:
                    d = v
                else:
                    n = v
            if pos + n > w:
                return False
            num += d
            if code == _CSM:
                if num == _CSM_BWT:
                    bwt = True
            elif num == _ETAG:
                etag = bytes(buf[pos : pos + n])
            elif num == _BLOCK2 or num == _SIZE2:
                if n > 4:  # a malformed uint: the server's fault (4), not a huge file (2)
                    self._fail(_RESULT_CONNECTION_LOST, "uint option too long")
                    return False
                v = 0
                for i in range(pos, pos + n):
                    v = v << 8 | buf[i]
                if num == _BLOCK2:
                    b2 = v
                else:
                    size2 = v
            pos += n
        if pos > end:
            self._fail(_RESULT_CONNECTION_LOST, "option past the message end")
            return False
        self.rpos = pos
        self._pay = end - pos
        self._after = _AFTER_NOTHING
        self.messages += 1
        if code == _CSM:
            if bwt and self.bert:
                self.szx = _BERT
            if not self._csm:
                self._csm = True
                self._get()
        elif code == _PING:
            self._send(frame(_PONG, bytes(buf[tok : tok + tkl]), b""))
        elif code == _RELEASE or code == _ABORT:
            self._lost("server sent %s" % ("release" if code == _RELEASE else "abort"))
            return False
        elif code >> 5 in (2, 4, 5) and buf[tok : tok + tkl] == self.token:
            return self._response(code, etag, b2, size2, self._pay)
        return True

    def _response(self, code, etag, b2, size2, paylen):
        if code != _CONTENT:
            reason = "coap %d.%02d" % (code >> 5, code & 31)
            if code == _NOT_FOUND:
                self._fail(_RESULT_INVALID_URI, reason)
            elif code >> 5 == 5:
                self._lost(reason)
            else:
                self._fail(_RESULT_CONNECTION_LOST, reason)
            return False
        if b2 is None:
            if self._req_off:
                self._restart("server ignores Block2: cannot resume")
                return False
            num = more = 0
            szx = self.szx
        else:
            num = b2 >> 4
            more = b2 & 8
            szx = b2 & 7
        if szx > self.szx:
            self._fail(_RESULT_CONNECTION_LOST, "server block larger than asked")
            return False
        unit = 1024 if szx == _BERT else 16 << szx
        off = num * unit
        if off != self._req_off or (more and (paylen == 0 or paylen % unit)):
            self._fail(_RESULT_CONNECTION_LOST, "block out of order or not full")
            return False
        # the first answer on a connection must show the ETag known from before (a resume:
        # nothing else ties the bytes the sink has to this version); later ones without one
        # are taken (RFC 7959 does not ask for it on every block), and _head restarts on one
        # that differs; on_head runs once
        if self._first and self.etag is not None and etag != self.etag:
            self._restart("etag changed")
            return False
        if not self._head(size2, etag):
            return False
        self._first = False
        self.szx = szx
        self._skip = self.offset - off
        self._after = _AFTER_NEXT if more else _AFTER_DONE
        return True

    def _end(self):
        a = self._after
        self._after = _AFTER_NOTHING
        if a == _AFTER_NEXT:
            self._get()
        elif a == _AFTER_DONE:
            self._finish()

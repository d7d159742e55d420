# Block-wise transfers (RFC 7959), client side: a streaming Block2 GET into a sink (resumable
# from any block, ETag-checked) and a Block1 PUT/POST from a source. Separate from the
# server side (coap.block): a download loads only this. Nothing here holds a whole body.
# SPDX-License-Identifier: MIT
from port import const
from port import log
from coap.message import Message, CoapError, block_value, encode_option, split

# CoAP numbers as private constants (coap.const has them all, with their RFC names): a
# private const is inlined by mpy-cross and costs no dict entry or qstr on the device
# (tests/unit/test_coap_const.py keeps the copies equal to coap.const)
_CON = const(0)
_GET = const(1)
_PUT = const(3)
_CONTENT = const(0x45)  # 2.05
_CONTINUE = const(0x5F)  # 2.31
_REQUEST_ENTITY_TOO_LARGE = const(0x8D)  # 4.13
_ETAG = const(4)
_BLOCK1 = const(27)
_BLOCK2 = const(23)
_SIZE1 = const(60)
_SIZE2 = const(28)
_URI_PATH = const(11)
_CONTENT_FORMAT = const(12)

_BERT = const(7)


# -- Block2 client ----------------------------------------------------------------------
class BlockPull:
    # GET a resource block by block into sink(offset, data); the body never sits in RAM.
    # Resumable: start at a byte offset (a multiple of the block size) with the ETag seen
    # before; an ETag change fails the transfer ("etag") so the caller can start over. A
    # later block without an ETag is taken (RFC 7959 does not ask for one on every block),
    # but the first answer of a resume must show the ETag given: nothing else ties the
    # bytes the sink has to this version.
    # on_head(size2, etag) runs on the first response (check free space before writing);
    # on_done(pull) runs once with pull.error None, "timeout", "reset", "nomem", "etag", "code",
    # "protocol" (also a malformed Block2 or Size2) or "sink", and pull.code holding the
    # last response code.
    # retries: how many more times one block is asked for after its exchange timed out
    # (each with a full CON retransmission budget); the budget renews with every block.
    def __init__(self, endpoint, peer, path, sink, on_done=None, on_head=None, szx=6,
                 offset=0, etag=None, host=None, port=None, query=(), exchange=None, retries=2):
        from coap.endpoint import Exchange

        self.ep = endpoint
        self.peer = peer
        self.sink = sink
        self.on_done = on_done
        self.on_head = on_head
        self.szx = szx
        self.offset = offset
        self.etag = etag
        self.size = None
        self.error = None
        self.code = None
        self.done = False
        self.blocks = 0
        self.sink_error = None
        self.retries = retries
        self._left = retries
        self._first = True
        self._cb = self._on_response  # one bound method, not one per block
        if exchange is None:
            # sized to the request, not the MTU: header, token, Block2, Size2, an ETag and the
            # option headers fit in 64 bytes; the URI's own parts are added
            n = 64 + _olen(host) + sum(_olen(x) + 3 for x in path) + sum(_olen(x) + 3 for x in query)
            exchange = Exchange(n)
        self.ex = ex = exchange
        # Template: header, token, Uri-Host/Port/Path/Query. Block2 (and Size2 on the
        # first request) are appended per request; nothing else changes between blocks.
        m = Message(_CON, _GET, 0, endpoint.new_token())
        if host:
            m.add(3, host)
        if port:
            m.add(7, port)
        for seg in path:
            m.add(_URI_PATH, seg)
        for q in query:
            m.add(15, q)
        self._base = m.encode_into(ex.buf)
        ex.token = bytearray(m.token)  # changed in place, with its copy in ex.buf, per block
        ex.expect_response = True
        self._last_opt = 15 if query else (_URI_PATH if path else (7 if port else (3 if host else 0)))

    def start(self):
        self._request(self.offset >> (self.szx + 4))
        return self

    def _request(self, num):
        ex = self.ex
        value = block_value(num, 0, self.szx)
        vb = _uint_tmp(value)
        pos = encode_option(ex.buf, self._base, _BLOCK2 - self._last_opt, vb)
        if self._first:
            pos = encode_option(ex.buf, pos, _SIZE2 - _BLOCK2, b"")  # ask for the total size
        ex.n = pos
        self.ep.send_exchange(ex, self.peer, self._cb, True)

    def _on_response(self, ex, m):
        try:
            self._response(ex, m)
        except CoapError:
            # an option we must read is malformed (Size2 or Block2 over 4 bytes): the
            # server's fault, not the sink's
            if not self.done:
                self._done("protocol")
        except Exception as e:
            # e.g. an allocation failing mid-block: end the transfer (the caller maps a
            # MemoryError to its own result) instead of leaving it waiting forever
            if not self.done:
                self.sink_error = e
                self._done("sink")

    def _response(self, ex, m):
        if m is None:
            if ex.error == "timeout" and self._left > 0:
                self._left -= 1
                log.info("block2: block at", self.offset, "timed out, asking again")
                return self._request(self.offset >> (self.szx + 4))
            return self._done(ex.error)
        self._left = self.retries
        self.code = m.code
        if m.code != _CONTENT:
            return self._done("code")
        b2 = m.opt_uint(_BLOCK2)
        if b2 is None:
            if self.offset:
                return self._done("protocol")  # server ignores Block2: cannot resume
            num = more = 0
            szx = self.szx
        else:
            num = b2 >> 4
            more = b2 & 8
            szx = b2 & 7
        if szx == _BERT or szx > self.szx and b2 is not None and num:
            return self._done("protocol")
        off = num << (szx + 4)
        if off != self.offset:
            return self._done("protocol")
        if self.etag is None:
            self.etag = m.opt(_ETAG)  # the first one seen: later blocks must not differ
        elif not m.opt_equals(_ETAG, self.etag) and (self._first or m.has(_ETAG)):
            return self._done("etag")  # never stitch two versions together
        if self._first:
            self._first = False
            self.size = m.opt_uint(_SIZE2)
            if self.on_head is not None:
                try:
                    self.on_head(self.size, self.etag)
                except Exception as e:
                    self.sink_error = e
                    return self._done("sink")
        pl = m.payload
        n = len(pl)
        if more and n != (16 << szx):
            return self._done("protocol")
        try:
            self.sink(off, pl)
        except Exception as e:
            self.sink_error = e
            return self._done("sink")
        self.offset = off + n
        self.blocks += 1
        if not more:
            return self._done(None)
        self.szx = szx  # follow a server that picked a smaller size
        # A new token for the next block (the last one plus 1, in ex.token and ex.buf): a
        # repeated or late answer to this block carries the old one, and the endpoint
        # rejects it instead of matching it to the next request (RFC 7252 5.3.1)
        t = ex.token
        i = len(t)
        while i:
            i -= 1
            t[i] = (t[i] + 1) & 255
            ex.buf[4 + i] = t[i]
            if t[i]:
                break
        self._request(self.offset >> (szx + 4))

    def _done(self, error):
        self.error = error
        self.done = True
        if error:
            log.info("block2: pull stopped at", self.offset, "error", error, "code", self.code)
        if self.on_done is not None:
            self.on_done(self)

    def cancel(self):
        self.ep.cancel(self.ex)
        self.done = True
        self.error = "cancelled"


def _olen(v):
    # encoded length of a str or bytes option value
    return 0 if v is None else len(v.encode() if isinstance(v, str) else v)


_UINT = [b"", bytearray(1), bytearray(2), bytearray(3)]


def _uint_tmp(v):
    # Block option value as big-endian bytes in a reused buffer (no allocation per block).
    if v == 0:
        return b""
    if v < 0x100:
        b = _UINT[1]
        b[0] = v
    elif v < 0x10000:
        b = _UINT[2]
        b[0] = v >> 8
        b[1] = v & 0xFF
    else:
        b = _UINT[3]
        b[0] = v >> 16
        b[1] = (v >> 8) & 0xFF
        b[2] = v & 0xFF
    return b


# -- Block1 client ----------------------------------------------------------------------
class BlockPush:
    # PUT/POST a body of `size` bytes read through source(offset, n) -> bytes, block by block.
    # Follows a server that asks for smaller blocks (2.31 or 4.13 with Block1).
    def __init__(self, endpoint, peer, path, source, size, on_done=None, szx=6, method=_PUT,
                 content_format=None, retries=2):
        self.ep = endpoint
        self.peer = peer
        self.path = path
        self.source = source
        self.size = size
        self.on_done = on_done
        self.szx = szx
        self.method = method
        self.cf = content_format
        self.offset = 0
        self.error = None
        self.code = None
        self.done = False
        self.token = endpoint.new_token()
        self.response = None
        self.retries = retries
        self._left = retries

    def start(self):
        self._send()
        return self

    def _send(self):
        bs = 16 << self.szx
        n = min(bs, self.size - self.offset)
        more = self.offset + n < self.size
        m = Message(_CON, self.method, 0, self.token, self.source(self.offset, n))
        for seg in self.path:
            m.add(_URI_PATH, seg)
        if self.cf is not None:
            m.add(_CONTENT_FORMAT, self.cf)
        if more or self.offset:
            m.add(_BLOCK1, block_value(self.offset // bs, more, self.szx))
        if self.offset == 0:
            m.add(_SIZE1, self.size)
        self._n = n
        self.ep.request(self.peer, m, self._on_response)

    def _on_response(self, ex, m):
        if m is None:
            if ex.error == "timeout" and self._left > 0:
                self._left -= 1
                return self._send()  # the same block again; the receiver acks duplicates
            return self._done(ex.error)
        self._left = self.retries
        self.code = m.code
        b1 = m.opt_uint(_BLOCK1)
        if m.code == _REQUEST_ENTITY_TOO_LARGE and b1 is not None and split(b1)[2] < self.szx:
            self.szx = split(b1)[2]  # RFC 7959 2.9.3: try again with the size it wants
            self.offset = 0
            return self._send()
        if m.code == _CONTINUE:
            self.offset += self._n
            if b1 is not None and split(b1)[2] < self.szx:
                self.szx = split(b1)[2]
            if self.offset % (16 << self.szx):
                return self._done("protocol")
            return self._send()
        if m.code >> 5 == 2:
            self.offset += self._n
            if self.offset < self.size:
                return self._done("protocol")  # done before we sent everything
            self.response = m.payload and bytes(m.payload)
            return self._done(None)
        return self._done("code")

    def _done(self, error):
        self.error = error
        self.done = True
        if self.on_done is not None:
            self.on_done(self)

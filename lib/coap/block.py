# Block-wise transfers (RFC 7959), server side: Block2 slicing of a response and Block1
# reassembly into a sink. The client side (pull and push) is coap.transfer, so a device that
# only downloads does not load this. Nothing here holds a whole body.
# SPDX-License-Identifier: MIT
import binascii

from port import const
from port import log
from coap.message import Message, block_value, split  # noqa: F401 (block_value, split: also this module's API)

# CoAP numbers as private constants (coap.const has them all, with their RFC names): a
# private const is inlined by mpy-cross and costs no dict entry or qstr on the device
# (tests/unit/test_coap_const.py keeps the copies equal to coap.const)
_BAD_OPTION = const(0x82)  # 4.02
_BAD_REQUEST = const(0x80)  # 4.00
_BLOCK1 = const(27)
_BLOCK2 = const(23)
_CHANGED = const(0x44)  # 2.04
_CONTINUE = const(0x5F)  # 2.31
_ETAG = const(4)
_REQUEST_ENTITY_INCOMPLETE = const(0x88)  # 4.08
_REQUEST_ENTITY_TOO_LARGE = const(0x8D)  # 4.13
_SIZE1 = const(60)
_SIZE2 = const(28)

_BERT = const(7)


# -- Block2 server ----------------------------------------------------------------------
def serve_block2(req, resp, max_szx=6):
    # Slice a response payload into the block the request asked for (or block 0 when the
    # payload is larger than max block size). Adds Size2 on block 0 and an ETag so clients
    # can detect a representation that changed between blocks.
    pl = resp.payload
    b2 = req.opt_uint(_BLOCK2)
    if b2 is None and len(pl) <= (16 << max_szx):
        return resp
    if resp.code >> 5 != 2:
        return resp  # errors are never sliced
    num, _, szx = (0, 0, max_szx) if b2 is None else split(b2)
    if szx == _BERT:
        szx = 6  # BERT is for reliable transports only
    if szx > max_szx:
        szx = max_szx
        num = 0 if b2 is None else (num << (split(b2)[2] - szx))
    size = 16 << szx
    off = num * size
    if off >= len(pl) and off:
        return Message(code=_BAD_OPTION)  # block beyond the end (RFC 7959 2.4)
    more = off + size < len(pl)
    if not resp.has(_ETAG):
        resp.set(_ETAG, binascii.crc32(pl).to_bytes(4, "big"))
    resp.payload = memoryview(pl)[off : off + size]
    resp.set(_BLOCK2, block_value(num, more, szx))
    if num == 0:
        resp.set(_SIZE2, len(pl))
    return resp


# -- Block1 server ----------------------------------------------------------------------
class Block1Receiver:
    # Reassembles a block-wise PUT/POST body into a sink, in order, exactly once per byte.
    # sink.begin(size_or_None), sink.write(offset, data), sink.end(); any of them may raise
    # to refuse (the receiver answers 4.00 or what the exception's .code says).
    def __init__(self, sink, max_size, max_szx=6):
        self.sink = sink
        self.max_size = max_size
        self.max_szx = max_szx
        self.active = False
        self.peer = None
        self.expected = 0
        self.complete = False

    def _reply(self, code, b1=None, size1=None):
        r = Message(code=code)
        if b1 is not None:
            r.add(_BLOCK1, b1)
        if size1 is not None:
            r.add(_SIZE1, size1)
        return r

    def _too_large(self):
        self.active = False
        return self._reply(_REQUEST_ENTITY_TOO_LARGE, None, self.max_size)

    def handle(self, req, peer, done_code=_CHANGED):
        # -> response Message for this request.
        pl = req.payload
        b1 = req.opt_uint(_BLOCK1)
        try:
            if b1 is None:  # the whole body in one message
                if len(pl) > self.max_size:
                    return self._too_large()
                self.active = False
                self.sink.begin(len(pl))
                self.sink.write(0, pl)
                self.sink.end()
                self.complete = True
                return self._reply(done_code)
            if b1 >> 24:
                return self._reply(_BAD_OPTION)  # a Block1 value is 0-3 bytes (RFC 7959 2.2)
            num, more, szx = split(b1)
            if szx == _BERT:
                return self._reply(_BAD_REQUEST)
            size = 16 << szx
            off = num * size
            n = len(pl)
            if (more and n != size) or n > size:
                return self._reply(_BAD_REQUEST)  # a non-final block must be full (RFC 7959 2.3)
            if num == 0:
                size1 = req.opt_uint(_SIZE1)
                if size1 is not None and size1 > self.max_size:
                    return self._too_large()
                self.active = True
                self.complete = False
                self.peer = peer
                self.expected = 0
                self.sink.begin(size1)
            elif not self.active or peer != self.peer:
                if self.complete and peer == self.peer and not more and off + n == self.expected:
                    return self._ack(num, more, szx, done_code)  # the last block again: done already
                return self._reply(_REQUEST_ENTITY_INCOMPLETE)
            if off < self.expected and off + n <= self.expected:
                if not more:
                    # "the last block" inside what came already: this body is not the one we
                    # hold, and never complete here (RFC 7959 2.5: 4.08, not 2.04)
                    return self._reply(_REQUEST_ENTITY_INCOMPLETE)
                # a block we already have (resent with a new MID): acknowledge, don't rewrite
                return self._ack(num, more, szx, done_code)
            if off != self.expected:
                return self._reply(_REQUEST_ENTITY_INCOMPLETE)  # a gap (RFC 7959 2.9.2)
            if off + n > self.max_size:
                return self._too_large()
            self.sink.write(off, pl)
            self.expected = off + n
            if not more:
                self.active = False
                self.sink.end()
                self.complete = True
            return self._ack(num, more, szx, done_code)
        except Exception as e:
            self.active = False
            code = getattr(e, "code", None) or _BAD_REQUEST
            log.warning("block1: sink refused:", e)
            if code == _REQUEST_ENTITY_TOO_LARGE:
                return self._too_large()  # with Size1 (RFC 7252 5.9.2.9)
            return self._reply(code)

    def _ack(self, num, more, szx, done_code):
        if more:
            # answering with a smaller SZX asks the client to continue with smaller blocks
            return self._reply(_CONTINUE, block_value(num, 1, min(szx, self.max_szx)))
        return self._reply(done_code, block_value(num, 0, szx))

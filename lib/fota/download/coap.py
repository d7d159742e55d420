# fota.download.coap: coap:// and coaps:// pull (RFC 7252 + RFC 7959 Block2) on its own
# connected UDP socket and Endpoint, driven by the shared loop; coaps puts the socket behind
# DTLS (port.dtls) with the server authenticated like https (secure.tls_context). coap.transfer's
# BlockPull does the block walk and the ETag check; this engine adds resume from any byte
# offset, retries with back-off, smaller blocks when the heap has no room for a datagram, and
# the Update Result mapping of spec 5.2 (a failed DTLS handshake: 4 at once, with a log line).
# SPDX-License-Identifier: MIT
from port import const
from port import log
from port.net import udp_socket, resolve
from coap.endpoint import Endpoint, Params
from coap.transfer import BlockPull
from fota.download import Engine as _Engine

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_CONNECTION_LOST = const(4)
_RESULT_INVALID_URI = const(7)
_RESULT_OUT_OF_RAM = const(3)

# CoAP numbers as private constants (coap.const has them all, with their RFC names): a
# private const is inlined by mpy-cross and costs no dict entry or qstr on the device
# (tests/unit/test_coap_const.py keeps the copies equal to coap.const)
_BAD_OPTION = const(0x82)  # 4.02
_NOT_FOUND = const(0x84)  # 4.04
_MAX_SZX = const(6)  # 1024-byte blocks, the largest CoAP over UDP has
_MIN_SZX = const(4)  # 256-byte blocks: the smallest this engine falls back to
_ROOM = const(128)  # receive room for header, token and options around a block's payload


class _Stop(Exception):
    # Raised into BlockPull when this engine already finished (sink refused, ETag changed).
    pass


def _is_ip(host):
    return ":" in host or all(c in "0123456789." for c in host)


class Engine(_Engine):
    def __init__(self, loop, uri, parts, sink, offset=0, etag=None, on_head=None, on_done=None,
                 on_progress=None, ack_ms=2000, max_retransmit=4, szx=_MAX_SZX, block_retries=2, **kw):
        super().__init__(loop, uri, parts, sink, offset, etag, on_head, on_done, on_progress, **kw)
        self.params = Params(ack_timeout=ack_ms, max_retransmit=max_retransmit)
        self.szx = szx
        self.block_retries = block_retries  # immediate re-asks of one block (no back-off)
        self._ep = None
        self._peer = None
        self._pull = None
        self._from = 0
        self._back = False
        self._ctx = None
        self._dtls = None
        if self.scheme == "coaps":
            from fota.download.secure import tls_context

            self._ctx = tls_context(self.ca, self.tls_insecure, datagram=True)  # FotaError(9) at once

    def _begin(self):
        if self._peer is None:
            try:
                self._peer = resolve(self.host, self.port)
            except (OSError, IndexError):
                return self._fail(_RESULT_INVALID_URI, "unresolvable host " + self.host)
        # A fresh socket per attempt: a connected UDP socket that got ICMP unreachable keeps
        # reporting it, and a new source port gives the server a clean slate.
        sock = udp_socket("::" if ":" in self.host else "0.0.0.0", 0)  # an IPv6 literal: IPv6
        if self._ctx is not None:
            from port import dtls  # loaded only for coaps
            from port.tls import TlsError

            try:
                sock.connect(self._peer)
                sock = self._dtls = dtls.DtlsSocket(self._ctx, sock, self._peer, self.host)
            except TlsError as e:
                return self._fail(_RESULT_CONNECTION_LOST, "dtls: " + e.reason)
            except OSError as e:
                sock.close()
                return self._lost("dtls: %r" % (e,))
            except MemoryError:
                return self._fail(_RESULT_OUT_OF_RAM, "dtls: out of memory")
        ep = self._ep = Endpoint(self.loop, sock, None, self.params)
        ep.connect(self._peer)
        self._walk()

    def _walk(self):
        # Block2 can only start at a block boundary: ask from the block that holds
        # self.offset (or the one before, once: self._back) and drop the bytes before it
        # (the sink already has them).
        bs = 16 << self.szx
        self._ep.rx_size = bs + _ROOM
        self._from = self.offset - self.offset % bs - (bs if self._back else 0)
        self._back = False
        self._pull = BlockPull(self._ep, self._peer, self.path, self._block, self._pulled, self._on_head,
                               self.szx, self._from, self.etag, None if _is_ip(self.host) else self.host,
                               None, self.query, None, self.block_retries).start()

    def _next(self):
        # schedule the next walk; a heap too full for its timer ends the download here, not
        # in a Downloading that nothing will ever move again
        try:
            self._timer = self.loop.later(0, self._again)
        except MemoryError:
            self._fail(_RESULT_OUT_OF_RAM, "no memory to go on")

    def _again(self):
        # the next walk, on a turn of its own (never inside the last pull's callback)
        self._timer = None
        if self.done:
            return
        try:
            self._walk()
        except MemoryError:
            self._fail(_RESULT_OUT_OF_RAM, "no memory for the next block")

    def _on_head(self, size, etag):
        if not self._head(size, etag):
            raise _Stop()

    def _block(self, off, data):
        # bytes of this block the sink has already (a resume inside a block, also when the
        # server answers with smaller blocks than asked for: counted from each block's offset)
        skip = self.offset - off
        if skip >= len(data):
            return
        if skip > 0:
            data = memoryview(data)[skip:]
        if not self._data(data):
            raise _Stop()

    def _pulled(self, pull):
        if self.done:
            return
        err = pull.error
        if err is None:
            return self._finish()
        if self._dtls is not None and self._dtls.error is not None:
            # not a lost link: the same server would fail the same way again
            reason = self._dtls.error.reason
            log.warning("download: DTLS with", self.host, "failed:", reason)
            return self._fail(_RESULT_CONNECTION_LOST, "dtls: " + reason)
        if pull.blocks:
            self.szx = pull.szx  # follow a server that chose smaller blocks
        if err == "etag":
            return self._restart("etag changed")
        if err == "code":
            code = pull.code
            if code == _BAD_OPTION and self._from == self.offset > 0 and not pull.blocks:
                # a resume at a block boundary that is the end of a file whose size we never
                # learned: that block is past the end (RFC 7959 2.4). The one before says
                # so with its last-block bit; its bytes are already in the sink.
                log.info("download: nothing at", self.offset, "- asking for the block before")
                self._back = True
                return self._next()
            if code == _NOT_FOUND:
                return self._fail(_RESULT_INVALID_URI, "4.04")
            reason = "coap %d.%02d" % (code >> 5, code & 31)
            if code >> 5 == 5:
                return self._lost(reason)
            return self._fail(_RESULT_CONNECTION_LOST, reason)
        if err == "protocol" and self._from and not pull.blocks:
            # a server that ignores Block2 or cannot serve this block: only a new start works
            return self._restart("server cannot resume at %d" % self._from)
        if err == "sink":
            e = pull.sink_error
            if isinstance(e, _Stop):
                return
            return self._sink_failed(e)
        if err == "nomem":
            # the answer came but found no heap (coap.endpoint read it away): not a lost link
            # that a retry would fail the same way on. A fragmented heap can still hold
            # smaller datagrams: go on from here with half-size blocks on the same endpoint
            # (the server's session and ETag stay), down to 256 B; then Result 3.
            if self.szx > _MIN_SZX:
                self.szx -= 1
                log.warning("download: no heap for a block at", self.offset, "- asking for", 16 << self.szx,
                            "B blocks")
                return self._next()
            return self._fail(_RESULT_OUT_OF_RAM, "no memory to receive a block")
        if err == "oversize":
            # a block longer than asked for (RFC 7959 lets a server pick a smaller size, not
            # a larger one; the endpoint dropped it, as it would the next): where this device
            # asked for less than the largest (its heap, or its tuning) that is 3, otherwise
            # a broken server (4)
            return self._fail(_RESULT_OUT_OF_RAM if self.szx < _MAX_SZX else _RESULT_CONNECTION_LOST,
                              "server sends blocks over %d B" % (16 << self.szx))
        if err == "timeout" or err == "reset":
            return self._lost("coap " + err)
        self._fail(_RESULT_CONNECTION_LOST, "coap " + str(err))

    def _close(self):
        p = self._pull
        if p is not None:
            self._pull = None
            if not p.done:
                p.cancel()
        ep = self._ep
        if ep is not None:
            self._ep = None
            # closed on the next turn: we may be inside this endpoint's receive callback
            self.loop.later(0, ep.close)
        self._dtls = None

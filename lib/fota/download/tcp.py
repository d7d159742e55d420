# fota.download.tcp: the TCP half shared by the http(s):// and coap+tcp:// engines: resolve,
# non-blocking connect on the shared loop (POLLOUT), TLS when the subclass set a context
# (port.tls: the handshake runs on the loop, driven by sending the request), one fixed
# receive buffer filled with readinto/recv_into (smaller when the heap has no room for it),
# an inactivity timeout, close. Subclasses parse what arrives.
# SPDX-License-Identifier: MIT
import errno
import select
import socket

from port import const, ticks_ms, ticks_add, ticks_diff
from port import log
from fota.download import Engine as _Engine

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_CONNECTION_LOST = const(4)
_RESULT_INVALID_URI = const(7)
_RESULT_OUT_OF_RAM = const(3)

_DRAIN = const(16)  # reads per wake-up before timers get their turn
_MIN_BUF = const(1024)  # the smallest receive buffer taken: a response header must fit in it
_PENDING = (errno.EINPROGRESS, errno.EAGAIN, getattr(errno, "EWOULDBLOCK", errno.EAGAIN))


def _errno(e):
    return e.args[0] if e.args else 0


def buffer(n, alloc=bytearray):
    # The receive buffer: halved down to _MIN_BUF when a fragmented heap has no block of n
    # bytes (more reads for the same bytes); MemoryError below that.
    while True:
        try:
            return alloc(n)
        except MemoryError:
            if n <= _MIN_BUF:
                raise
            n //= 2


class StreamEngine(_Engine):
    # Subclass hooks: _request() -> bytes to send once connected; _consume() parses
    # buf[rpos:wpos], advancing rpos, and may finish/close; _eof() on an orderly close.
    # After _consume, whatever is left (a partial header or line) moves to the buffer start:
    # payload is always passed on at once, so the leftover is small.
    def __init__(self, loop, uri, parts, sink, offset=0, etag=None, on_head=None, on_done=None,
                 on_progress=None, timeout_ms=15000, bufsize=4096, **kw):
        super().__init__(loop, uri, parts, sink, offset, etag, on_head, on_done, on_progress, **kw)
        self.timeout_ms = timeout_ms
        self.buf = buffer(bufsize)  # the only receive buffer, reused by every connection
        self.mv = memoryview(self.buf)
        self.rpos = self.wpos = 0
        self.sock = None
        self.tls_ctx = None  # port.tls context: set by a subclass that speaks TLS
        self._tls = None  # the connection's port.tls.Client
        self._out = None  # the first request, sent once connected (and TLS is up)
        self._read = None
        self._connected = False
        self._last = 0

    def _connect(self, host, port):
        self.rpos = self.wpos = 0
        try:
            ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        except (OSError, IndexError):
            return self._fail(_RESULT_INVALID_URI, "unresolvable host " + host)
        s = socket.socket(ai[0], socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(ai[-1])
        except OSError as e:
            if _errno(e) not in _PENDING:
                s.close()
                return self._lost("connect: errno %d" % _errno(e))
        self.sock = s
        # MicroPython's TCP sockets have readinto (no recv_into); CPython's recv_into
        self._read = getattr(s, "recv_into", None) or s.readinto
        self._connected = False
        self._last = ticks_ms()
        self.loop.add_reader(s, self._on_writable, select.POLLOUT)
        self.loop.add_ticker(self)

    def _on_writable(self):
        # The connect finished, one way or the other: the first send tells which
        # (MicroPython has no getsockopt(SO_ERROR)).
        if self.sock is None:
            return
        if not self._connected:
            self._connected = True
            self._out = self._request()
            if self.tls_ctx is not None:
                return self._tls_start()
        elif self._tls is not None:
            return self._tls_step()
        self.loop.add_reader(self.sock, self._on_readable)
        self._send(self._out)

    def _tls_start(self):
        from port import tls  # loaded only when a download uses TLS

        raw = self.sock
        self.loop.remove_reader(raw)  # CPython's wrap detaches raw: its fileno becomes -1
        try:
            self._tls = c = tls.Client(self.tls_ctx, raw, self.host)
        except (OSError, MemoryError, tls.TlsError) as e:
            return self._tls_failed(e)  # _close() closes raw
        self.sock = c.sock
        self._read = c.readinto
        self._tls_step()

    def _tls_step(self):
        # The first send runs the handshake; None: it waits for the loop (c.want).
        from port import tls

        c = self._tls
        try:
            n = c.send(self._out)
        except (OSError, MemoryError, tls.TlsError) as e:
            return self._tls_failed(e)
        if n is None:
            self.loop.add_reader(self.sock, self._on_writable, c.want)
            return
        self._last = ticks_ms()
        self.loop.add_reader(self.sock, self._on_readable)
        if n < len(self._out):
            self._send(memoryview(self._out)[n:])

    def _tls_failed(self, e):
        from port import tls

        if isinstance(e, tls.TlsError):
            # not a lost link: the same server would fail the same way again
            log.warning("download: TLS with", self.host, "failed:", e.reason)
            return self._fail(_RESULT_CONNECTION_LOST, "tls: " + e.reason)
        if isinstance(e, MemoryError):
            return self._fail(_RESULT_OUT_OF_RAM, "tls: out of memory")
        self._lost("tls: errno %d" % _errno(e) if isinstance(e, OSError) else "tls: " + repr(e))

    def _send(self, data):
        # Requests are small and follow a reply, so the socket buffer has room; a send that
        # would block counts as a lost connection rather than a reason to queue.
        mv = memoryview(data)
        n = len(data)
        sent = 0
        send = self._tls.send if self._tls is not None else self.sock.send
        try:
            while sent < n:
                k = send(mv[sent:] if sent else mv)
                if not k:
                    raise OSError(errno.EAGAIN)
                sent += k
        except OSError as e:
            self._lost("send: errno %d" % _errno(e))
            return False
        except Exception as e:  # port.tls.TlsError, MemoryError
            self._tls_failed(e)
            return False
        self._last = ticks_ms()
        return True

    def _on_readable(self):
        buf = self.buf
        cap = len(buf)
        for _ in range(_DRAIN):
            if self.sock is None:
                return
            w = self.wpos
            if w == cap:
                return self._fail(_RESULT_CONNECTION_LOST, "header larger than the buffer")
            try:
                n = self._read(self.mv if w == 0 else self.mv[w:])
            except OSError as e:
                if _errno(e) in _PENDING:
                    return
                return self._lost("recv: errno %d" % _errno(e))
            if n is None:  # MicroPython: nothing to read now
                return
            if n == 0:
                return self._eof()
            self.wpos = w + n
            self._last = ticks_ms()
            self._consume()
            if self.sock is None:
                return
            r = self.rpos
            if r == self.wpos:
                self.rpos = self.wpos = 0
            elif r:
                k = self.wpos - r
                buf[0:k] = bytes(self.mv[r : self.wpos])  # a partial header: a few bytes
                self.rpos = 0
                self.wpos = k
        else:
            # bytes TLS already decrypted do not wake poll (CPython): come back for them
            if self._tls is not None and self._tls.pending():
                self.loop.later(0, self._on_readable)

    # loop ticker: the inactivity timeout
    def deadline(self):
        if self.sock is None:
            return None
        return ticks_add(self._last, self.timeout_ms)

    def tick(self, now):
        if self.sock is not None and ticks_diff(now, self._last) >= self.timeout_ms:
            self._lost("timeout" if self._connected else "connect timeout")

    def _close(self):
        s = self.sock
        if s is not None:
            self.sock = None
            self.loop.remove_reader(s)
            self.loop.remove_ticker(self)
            try:
                s.close()
            except OSError:
                pass
        if self._tls is not None:
            self._tls.close()
            self._tls = None

    def _release(self):
        self.buf = self.mv = None

    def _request(self):
        raise NotImplementedError

    def _consume(self):
        raise NotImplementedError

    def _eof(self):
        self._lost("connection closed")

# DTLS for CoAP (coaps://): a connected UDP socket behind a DTLS client, shaped like the
# socket coap.endpoint drives (connect, send, sendto, recvfrom, close), so the CoAP stack
# runs unchanged on top. Only MicroPython's tls (mbedTLS) has DTLS; CPython's ssl does not,
# so AVAILABLE is False there and coaps stays Result 9.
# - mbedTLS runs the handshake inside write()/recv(), which give None until it is done: the
#   first datagram the endpoint sends starts it and is kept (a copy) and sent once the
#   handshake lets it; each later send or receive moves the handshake on, and the
#   endpoint's CON retransmissions drive mbedTLS's handshake timers.
# - A failed handshake (a certificate that does not verify, a name that does not match, an
#   alert) is kept in `error` (port.tls.TlsError) and every call then raises OSError, which
#   the endpoint turns into "reset" for its exchanges; the owner reads `error` for why.
# - The loop polls `pollable` (the TLS object: its poll knows what mbedTLS waits for and
#   what it already decrypted).
# SPDX-License-Identifier: MIT
import errno

from port import tls

_tls = tls._tls
AVAILABLE = _tls is not None and hasattr(_tls, "PROTOCOL_DTLS_CLIENT")


def context(cas):
    # As tls.context, for datagrams: verifies against `cas` (DER list), or nothing if None.
    return tls.mbedtls_context(_tls.PROTOCOL_DTLS_CLIENT, cas)


class DtlsSocket:
    def __init__(self, ctx, raw, peer, host):
        # raw: a non-blocking UDP socket already connected to `peer` (a port.net address)
        self.raw = raw
        self.peer = peer
        self.error = None
        self._pending = None  # the datagram waiting for the handshake
        self._ready = False
        try:
            self.sock = ctx.wrap_socket(raw, server_side=False, do_handshake_on_connect=False,
                                        server_hostname=host)
        except Exception as e:
            raw.close()
            raise tls._error(e)
        self.pollable = self.sock

    def connect(self, peer):
        pass  # raw is connected to self.peer already; DTLS talks to no one else

    def sendto(self, data, peer):
        if peer != self.peer:
            raise OSError(errno.EHOSTUNREACH)
        self.send(data)

    def send(self, data):
        self._check()
        if self._ready and self._pending is None:
            try:
                if self.sock.write(data) is not None:
                    return len(data)
            except Exception as e:
                raise self._failed(e)
        self._pending = bytes(data)  # a copy: the endpoint reuses its buffer
        self._flush()
        return len(data)

    def recvfrom(self, size):
        # -> (datagram, peer); OSError(EAGAIN) when nothing is there (port.net.recvfrom)
        self._check()
        if self._pending is not None:
            self._flush()
        try:
            d = self.sock.recv(size)
        except Exception as e:
            raise self._failed(e)
        if self._pending is not None:
            self._flush()  # that read may have finished the handshake
        if d is None:
            raise OSError(errno.EAGAIN)
        return d, self.peer

    def _flush(self):
        try:
            if self.sock.write(self._pending) is not None:
                self._pending = None
                self._ready = True  # handshake done: later datagrams go out without a copy
        except Exception as e:
            raise self._failed(e)

    def _failed(self, e):
        e = tls._error(e)
        if isinstance(e, tls.TlsError):
            self.error = e
            return OSError(errno.ECONNABORTED)
        return e

    def _check(self):
        if self.error is not None:
            raise OSError(errno.ECONNABORTED)

    def close(self):
        for s in (self.sock, self.raw):
            try:
                s.close()
            except Exception:
                pass

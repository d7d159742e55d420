# TLS client connections for the stream download engines, the same on CPython (ssl) and
# MicroPython (tls, mbedTLS): trust anchors from a PEM or DER file, a context that verifies
# the server's chain and name against them, and a non-blocking connection whose handshake
# is driven by the first send. What differs between the two runtimes stays in this file:
# - MicroPython has no do_handshake: the handshake runs inside write(), which returns None
#   until it is done; its SSLSocket's poll follows the direction mbedTLS waits for, so the
#   caller always waits for POLLOUT. A failed verification raises ValueError, a TLS alert
#   an OSError with a negative mbedTLS code. This build parses no PEM: we decode it here.
# - CPython raises SSLWantRead/WriteError (errno 2/3, not EAGAIN) on a non-blocking socket,
#   and keeps decrypted bytes the socket's poll no longer signals (pending()).
# SPDX-License-Identifier: MIT
import binascii
import errno
import select

from port import const, MICROPYTHON

_tls = _ssl = None  # the runtime's module (port.dtls uses _tls too)
try:
    if MICROPYTHON:
        import tls as _tls
    else:
        import ssl as _ssl
except ImportError:  # a build without TLS: https is not offered
    pass

AVAILABLE = bool(_tls is not None and hasattr(_tls, "SSLContext")) or _ssl is not None
POLLIN = select.POLLIN
POLLOUT = select.POLLOUT
_MAX_FILE = const(16384)  # a trust-anchor file larger than this is not one
_CONN_EOF = const(-0x7280)  # MBEDTLS_ERR_SSL_CONN_EOF: the peer closed the TCP connection
_BEGIN = b"-----BEGIN CERTIFICATE-----"
_END = b"-----END CERTIFICATE-----"


class TlsError(Exception):
    # The TLS layer refused: a certificate that does not verify, a name that does not
    # match, a fatal alert. Retrying the same server will not help.
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def anchors(path):
    # -> list of DER certificates in the file at `path` (PEM with one or more certificates,
    # or DER, one or more back to back); [] when there is no file. ValueError when the file
    # holds something else.
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_FILE + 1)
    except OSError:
        return []
    if len(data) > _MAX_FILE:
        raise ValueError("trust anchor file too large")
    out = []
    if _BEGIN in data:
        i = 0
        while True:
            a = data.find(_BEGIN, i)
            if a < 0:
                break
            b = data.find(_END, a)
            if b < 0:
                raise ValueError("unterminated PEM certificate")
            try:
                out.append(binascii.a2b_base64(data[a + len(_BEGIN) : b]))
            except ValueError:
                raise ValueError("bad PEM certificate")
            i = b + len(_END)
    else:
        i = 0
        while i < len(data):
            n = _der_len(data, i)
            out.append(data[i : i + n])
            i += n
    for d in out:
        _der_len(d, 0)  # each one a whole DER SEQUENCE
    return out


def _der_len(data, i):
    # Length of the DER SEQUENCE starting at data[i], header included.
    if len(data) < i + 2 or data[i] != 0x30:
        raise ValueError("not a certificate")
    n = data[i + 1]
    h = 2
    if n & 0x80:
        k = n & 0x7F
        if not 0 < k <= 3 or len(data) < i + 2 + k:
            raise ValueError("bad certificate length")
        n = 0
        for j in range(k):
            n = (n << 8) | data[i + 2 + j]
        h += k
    if i + h + n > len(data):
        raise ValueError("truncated certificate")
    return h + n


def mbedtls_context(protocol, cas):
    # MicroPython's context for `protocol` (TLS or DTLS client), verifying against `cas`
    # (DER list), or nothing if None
    ctx = _tls.SSLContext(protocol)
    if cas is None:
        ctx.verify_mode = _tls.CERT_NONE
    else:
        ctx.verify_mode = _tls.CERT_REQUIRED
        for der in cas:
            ctx.load_verify_locations(der)  # each call adds one to the chain
    return ctx


def context(cas):
    # A client context that verifies the server against `cas` (DER list) and checks its
    # name; cas None: no authentication at all (the caller decided to allow that).
    if _tls is not None:
        return mbedtls_context(_tls.PROTOCOL_TLS_CLIENT, cas)
    ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)  # TLS 1.2+, name check on
    if cas is None:
        ctx.check_hostname = False
        ctx.verify_mode = _ssl.CERT_NONE
    else:
        ctx.load_verify_locations(cadata=b"".join(cas))  # only the device's anchors
    return ctx


class Client:
    # One TLS connection over a connected non-blocking TCP socket `raw`. sock: what to
    # register with the loop's poll; want: the event to wait for after send() gave None.
    def __init__(self, ctx, raw, host):
        self.raw = raw
        self.want = POLLOUT
        self._done = False
        try:
            if _tls is not None:
                self.sock = ctx.wrap_socket(raw, server_side=False, do_handshake_on_connect=False,
                                            server_hostname=host)
                self.readinto = self.sock.readinto  # None when nothing is there: no wrapper
            else:
                # a close without close_notify is an error, not the end: no silent truncation
                self.sock = ctx.wrap_socket(raw, server_side=False, do_handshake_on_connect=False,
                                            server_hostname=host, suppress_ragged_eofs=False)
        except Exception as e:
            raise _error(e)

    def send(self, data):
        # -> bytes sent, or None while the handshake (or the socket) needs the loop first.
        # Raises TlsError when the handshake failed, OSError for the socket.
        try:
            if _tls is not None:
                return self.sock.write(data)
            if not self._done:
                self.sock.do_handshake()
                self._done = True
            return self.sock.send(data)
        except Exception as e:
            return self._want(e)

    def readinto(self, buf):
        # CPython only (MicroPython's is the socket's own): -> n, 0 at the end, None if none.
        # After the handshake a TLS error (a bad record) is a broken link, as on MicroPython.
        try:
            return self.sock.recv_into(buf)
        except Exception as e:
            try:
                return self._want(e)
            except TlsError as t:
                raise OSError(errno.EIO, t.reason)

    def _want(self, e):
        if _ssl is not None:
            if isinstance(e, _ssl.SSLWantReadError):
                self.want = POLLIN
                return None
            if isinstance(e, _ssl.SSLWantWriteError):
                self.want = POLLOUT
                return None
        raise _error(e)

    def pending(self):
        # Decrypted bytes not read yet that poll() will not report (CPython only).
        return self.sock.pending() if _ssl is not None else 0

    def close(self):
        for s in (self.sock, self.raw):
            try:
                s.close()  # after a failed handshake mbedTLS has let go of raw
            except Exception:
                pass


def _error(e):
    # The library's exception -> TlsError, or an OSError the caller treats as a lost link.
    if isinstance(e, MemoryError):
        return e
    if _ssl is not None:
        if isinstance(e, (_ssl.SSLEOFError, _ssl.SSLZeroReturnError)):
            return OSError(errno.ECONNRESET, "tls: connection closed")  # no close_notify
        if isinstance(e, _ssl.SSLCertVerificationError):
            return TlsError("certificate: " + str(e.verify_message))
        if isinstance(e, _ssl.SSLError):
            return TlsError(str(e.reason or e))
        return e if isinstance(e, OSError) else TlsError(repr(e))
    if isinstance(e, ValueError):  # mbedTLS's verification report
        return TlsError("certificate: " + " ".join(str(e).split()))
    if isinstance(e, OSError):
        a = e.args
        if a and a[0] == _CONN_EOF:
            return OSError(errno.ECONNRESET, "tls: connection closed")
        if a and isinstance(a[0], int) and -256 < a[0] < 0:
            return OSError(-a[0])  # the socket's errno, passed through mbedTLS negated
        if a and isinstance(a[0], int) and a[0] < 0:
            return TlsError(str(a[1]) if len(a) > 1 else "mbedtls -0x%x" % -a[0])
        if a and a[0] == errno.ENOMEM:
            return MemoryError("tls")
        return e
    return TlsError(repr(e))

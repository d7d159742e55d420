# fota.download: pull engines behind one scheme table (spec lwm2m-fota.md 5.1, 5.2), and the
# engine contract they share. Each engine streams the package into sink(offset, data) in
# order, on the caller's loop; nothing here holds the image.
# SPDX-License-Identifier: MIT
import os

from port import const
from port import log
from fota import FotaError

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_CONNECTION_LOST = const(4)
_RESULT_INVALID_URI = const(7)
_RESULT_NOT_ENOUGH_SPACE = const(2)
_RESULT_OUT_OF_RAM = const(3)
_RESULT_UNSUPPORTED_PROTOCOL = const(9)
_RESULT_UPDATE_CANCELLED = const(10)

_PROGRESS = const(4096)  # on_progress at most once per this many bytes

# (scheme, /5/0/8 Protocol Support value, module). A tuple, not a dict: the order of
# protocols() must not depend on dict order (MicroPython's is not insertion order).
# coaps (1) and https (3) need (D)TLS from the runtime (port.dtls: MicroPython's mbedTLS
# only; port.tls: both) and trust anchors: secure.tls_context() refuses them otherwise, and
# protocols() does not list them. coaps+tcp (5) is absent (no ALPN in MicroPython's tls). A
# server must not be told we can pull what we cannot (spec 5.1); such URIs fail with
# Result 9. port.tls and port.dtls (7 KB of heap) are imported only when TLS is in play.
SCHEMES = (("coap", 0, "coap"), ("coaps", 1, "coap"), ("http", 2, "http"), ("https", 3, "http"),
           ("coap+tcp", 4, "coap_tcp"))
_SECURE = (1, 3)  # values that need TLS and trust anchors (secure.tls_context)


class RestartNeeded(FotaError):
    # The transfer cannot continue from where it is: the ETag changed between blocks or
    # connections, HTTP 412 to If-Match, or a server ignored Range / cannot resume Block2.
    # The caller discards what it wrote and starts again from offset 0 with etag None.
    # Result 4 if the caller does not handle it (the data it has is unusable).
    def __init__(self, reason):
        super().__init__(_RESULT_CONNECTION_LOST, reason)
        self.restart = True


def protocols(ca=None, tls_insecure=0, **_):
    # The /5/0/8 values this runtime can really pull with, given the TLS tuning start()
    # will get: https only when there are trust anchors (or unauthenticated TLS is allowed).
    out = []
    for s in SCHEMES:
        if s[1] in _SECURE:
            if not (tls_insecure or _exists(ca)):
                continue  # nothing to authenticate with: no need to load TLS to know
            from fota.download.secure import tls_context  # loaded only with anchors to check

            try:
                tls_context(ca, tls_insecure, quiet=True, datagram=s[1] == 1)
            except FotaError:
                continue
        out.append(s[1])
    return out


def _exists(path):
    try:
        os.stat(path)
        return True
    except (OSError, TypeError):
        return False


def _module(name):
    # Imported on first use: a device that only pulls CoAP never loads the HTTP client.
    if name == "coap":
        from fota.download import coap as m
    elif name == "http":
        from fota.download import http as m
    else:
        from fota.download import coap_tcp as m
    return m


def start(loop, uri, sink, offset=0, etag=None, on_head=None, on_done=None, on_progress=None, **tuning):
    # Start pulling `uri` from byte `offset` (a resume passes the ETag it saw before).
    # Returns the engine; its work happens on `loop`, and on_done(engine) runs once, from the
    # loop (never inside start). Raises FotaError at once for a malformed URI (7), a
    # scheme we cannot pull (9) or no heap to load the engine (3). tuning: retries,
    # backoff_ms, ca (trust-anchor file) and tls_insecure (see tls_context), and per engine
    # timeout_ms, bufsize, redirects (TCP engines) or ack_ms, max_retransmit, szx (CoAP).
    from coap.uri import split, UriError

    i = uri.find("://") if isinstance(uri, str) else -1
    if i <= 0:
        raise FotaError(_RESULT_INVALID_URI, "no scheme")
    scheme = uri[:i].lower()
    mod = None
    for s in SCHEMES:
        if s[0] == scheme:
            mod = s[2]
    if mod is None:
        raise FotaError(_RESULT_UNSUPPORTED_PROTOCOL, "scheme " + scheme)
    try:
        parts = split(uri)
    except UriError as e:
        raise FotaError(_RESULT_INVALID_URI, str(e))
    if offset < 0:
        raise FotaError(_RESULT_INVALID_URI, "negative offset")
    try:
        e = _module(mod).Engine(loop, uri, parts, sink, offset, etag, on_head, on_done, on_progress, **tuning)
    except MemoryError:
        # no heap to load or build the engine: Result 3 now, not an exception the object
        # layer can only answer with 5.00 while State and Result say nothing happened
        raise FotaError(_RESULT_OUT_OF_RAM, "no memory for the %s engine" % mod)
    e.start()
    return e


class Engine:
    # Base of every engine. Public state: offset (next byte the sink gets), size (total, or
    # None while unknown), etag (bytes, or None), error (None or FotaError), done,
    # restart_needed, attempts (connections or pulls opened). Subclasses implement _begin
    # (open a transfer from self.offset) and _close (release socket and timers). Every
    # engine takes the TLS tuning (ca, tls_insecure) so one set of tuning fits all schemes.
    def __init__(self, loop, uri, parts, sink, offset=0, etag=None, on_head=None, on_done=None,
                 on_progress=None, retries=3, backoff_ms=500, ca=None, tls_insecure=0):
        self.loop = loop
        self.ca = ca
        self.tls_insecure = tls_insecure
        self.uri = uri
        self.scheme, self.host, self.port, self.path, self.query = parts
        self.sink = sink
        self.offset = offset
        self.etag = etag
        self.size = None
        self.error = None
        self.done = False
        self.restart_needed = False
        self.attempts = 0
        self.on_head = on_head
        self.on_done = on_done
        self.on_progress = on_progress
        self.retries = retries
        self.backoff_ms = backoff_ms
        self._tries = 0
        self._moved = False  # bytes arrived since the last failure: the retry budget renews
        self._headed = False
        self._next_progress = offset + _PROGRESS
        self._timer = None

    def start(self):
        self._timer = self.loop.later(0, self._go)

    def _go(self):
        self._timer = None
        if not self.done:
            self.attempts += 1
            try:
                self._begin()
            except MemoryError:
                # not a stalled Downloading: the state machine reports 3 and the client goes on
                self._finish(FotaError(_RESULT_OUT_OF_RAM, "connect: out of memory"))
            except OSError as e:
                # no socket, no route, an address family the port lacks: like a refused
                # connection (retries, then 4), never a Downloading nothing will end
                self._lost("connect: %r" % (e,))

    def _begin(self):
        raise NotImplementedError

    def _close(self):
        pass

    # -- what subclasses report -----------------------------------------------------------
    def _head(self, size, etag):
        # A response header: total size and ETag. False when the transfer must stop.
        if self.etag is not None and etag is not None and etag != self.etag:
            self._restart("etag changed")
            return False
        if etag is not None:
            self.etag = etag
        if size is not None:
            self.size = size
        if self._headed:
            return True
        self._headed = True
        if self.on_head is not None:
            try:
                self.on_head(self.size, self.etag)
            except Exception as e:
                self._sink_failed(e)
                return False
        return True

    def _data(self, data):
        # The next bytes of the package. False when the sink refused them (engine finished).
        try:
            self.sink(self.offset, data)
        except Exception as e:
            self._sink_failed(e)
            return False
        self.offset += len(data)
        self._moved = True
        if self.on_progress is not None and self.offset >= self._next_progress:
            self._next_progress = self.offset + _PROGRESS
            self.on_progress(self.offset, self.size)
        return True

    def _sink_failed(self, e):
        if isinstance(e, FotaError):
            self._finish(e)
        elif isinstance(e, MemoryError):
            self._finish(FotaError(_RESULT_OUT_OF_RAM, "sink: out of memory"))
        else:
            # Anjay's default for a storage write failure is 2 (spec 5.2)
            self._finish(FotaError(_RESULT_NOT_ENOUGH_SPACE, "sink: " + repr(e)))

    def _lost(self, reason):
        # Recoverable trouble (connection refused/lost, timeout, 5.xx): open a new transfer
        # from self.offset after a doubling back-off; Result 4 once the retries are spent.
        # The budget renews whenever bytes arrived since the previous failure.
        self._close()
        if self.done:
            return
        if self._moved:
            self._moved = False
            self._tries = 0
        if self._tries >= self.retries:
            return self._fail(_RESULT_CONNECTION_LOST, reason)
        delay = self.backoff_ms << self._tries
        self._tries += 1
        log.info("download:", reason, "at", self.offset, "- retry", self._tries, "in", delay, "ms")
        self._timer = self.loop.later(delay, self._go)

    def _fail(self, result, reason):
        self._finish(FotaError(result, reason))

    def _restart(self, reason):
        self.restart_needed = True
        self._finish(RestartNeeded(reason))

    def _finish(self, error=None):
        if self.done:
            return
        self._close()
        if error is None and self.size is not None and self.offset != self.size:
            # the server said "last" at a byte count its own size contradicts: not a whole
            # image, and not one the signature check should be left to find out
            error = FotaError(_RESULT_CONNECTION_LOST, "ended at %d of %d bytes" % (self.offset, self.size))
        self.done = True
        self.error = error
        if error is None:
            if self.size is None:
                self.size = self.offset
            if self.on_progress is not None:
                self.on_progress(self.offset, self.size)
        else:
            log.info("download: stopped at", self.offset, error)
        if self.on_done is not None:
            # on the next turn, once this engine's stack has unwound and its socket is closed:
            # what the caller does next (verify a 1 MiB image) gets the engine's memory back
            self.loop.later(0, self._report)

    def _report(self):
        cb = self.on_done
        self._release()
        if cb is not None:  # None: cancelled after it finished, before this turn
            cb(self)

    def _release(self):
        # drop what only a transfer needs (buffers), now that none can run any more
        pass

    def cancel(self):
        # Stop now; on_done is not called (not even one already due on the next turn). error
        # becomes Result 10 (cancelled).
        self.on_done = None
        if self.done:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._close()
        self.done = True
        self.error = FotaError(_RESULT_UPDATE_CANCELLED, "cancelled")

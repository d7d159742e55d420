# fota.update: the Firmware Update state machine of one instance (/5/0, or one /33629/x),
# spec lwm2m-fota.md section 2: states, Update Results, transitions T1-T22, write table 2.4.
# SPDX-License-Identifier: MIT
#
# The machine decides, its collaborators act: a journal (fota.journal) makes every State and
# Result durable before anyone can observe it (one exception: going Idle is reported even when
# the journal cannot take it, see _set), a slot writer (fota.slots) stores the image, a
# download factory pulls it, `apply` activates the slot and schedules the reset. The LwM2M
# objects only map resources onto these methods. A request the current state does not allow
# raises Refused(code) and changes nothing (allowed() is the one gate, as Anjay's
# is_state_change_allowed; never logged-and-applied as in Zephyr). A request that was taken
# but failed raises FotaError after the failure is visible as Result (spec 2.2: the Write or
# Execute itself answers 2.04; push may answer 4.13 for Result 2).
from fota import FotaError
from port import const
from port import log

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_CONNECTION_LOST = const(4)
_RESULT_DEFERRED = const(11)
_RESULT_DEPENDENCY_ERROR = const(13)
_RESULT_INITIAL = const(0)
_RESULT_INTEGRITY_FAILURE = const(5)
_RESULT_INVALID_URI = const(7)
_RESULT_NOT_ENOUGH_SPACE = const(2)
_RESULT_OUT_OF_RAM = const(3)
_RESULT_SUCCESS = const(1)
_RESULT_UNSUPPORTED_PROTOCOL = const(9)
_RESULT_UPDATE_CANCELLED = const(10)
_RESULT_UPDATE_FAILED = const(8)

_IDLE = const(0)
_DLING = const(1)
_DLED = const(2)
_UPD = const(3)
# A push whose blocks stop coming is given up after EXCHANGE_LIFETIME (RFC 7252 4.8.2, 247 s):
# by then the server has long stopped retransmitting its last block (MAX_TRANSMIT_WAIT 93 s)
_PUSH_TIMEOUT = const(247)
_OK = const(0)  # what a request may get in a state: go ahead, 4.00, 4.05 (WRITES below)
_BAD_REQUEST = const(0x80)  # CoAP 4.00
_NOT_ALLOWED = const(0x85)  # CoAP 4.05

# (state, new state) -> the Update Results that transition may set. Spec 2.3 by T-number,
# 2.7 for /33629; a result change without a state change is listed as (s, s).
_ALLOWED = {
    (_IDLE, _IDLE): (0, 2, 3, 5, 6, 7, 9),  # T6/T7 reset; T2 9; T3 7; T5 refused: 2, 3, 5, 6
    (_IDLE, _DLING): (0,),  # T1 pull started, T4 first push block
    (_IDLE, _DLED): (0,),  # T5 whole image in one message
    # T6/T7 reset; T9-T13; 7 and 9 found once the transfer runs (404, no DTLS: T3, 5.2);
    # T20 cancel; 12 multi-component conflict (2.7)
    (_DLING, _IDLE): (0, 2, 3, 4, 5, 6, 7, 9, 10, 12),
    (_DLING, _DLED): (0,),  # T8
    (_DLED, _IDLE): (0, 10),  # T6/T7, T20
    (_DLED, _DLED): (11,),  # T15 deferred
    (_DLED, _UPD): (0,),  # T14, T16
    (_UPD, _IDLE): (1, 5, 8),  # T17 success; T19 image unusable (1.1)
    (_UPD, _DLED): (8, 13),  # T18 failed, image kept; 2.7 dependency error
}


def allowed(state, new_state, result):
    # True when (state -> new_state, result) is a legal change; everything else is refused.
    return result in _ALLOWED.get((state, new_state), ())


# Spec 2.4 as data: request -> the answer per state (Idle, Downloading, Downloaded, Updating);
# _OK means the request is taken. "package" starts a push, "package_more" continues the
# running one (a pull running in Downloading is refused separately with 4.00).
WRITES = {
    "uri_reset": (_OK, _OK, _OK, _NOT_ALLOWED),
    "uri": (_OK, _BAD_REQUEST, _BAD_REQUEST, _BAD_REQUEST),
    "package_reset": (_OK, _OK, _OK, _NOT_ALLOWED),
    "package": (_OK, _BAD_REQUEST, _BAD_REQUEST, _NOT_ALLOWED),
    "package_more": (_BAD_REQUEST, _OK, _BAD_REQUEST, _NOT_ALLOWED),
    "update": (_NOT_ALLOWED, _NOT_ALLOWED, _OK, _NOT_ALLOWED),
    "cancel": (_NOT_ALLOWED, _OK, _OK, _NOT_ALLOWED),
}


class Refused(Exception):
    # The request is not allowed in this state; nothing changed. code: CoAP response code.
    def __init__(self, code, reason=""):
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


def result_of(e, default):
    # the Update Result an exception stands for; the state machine owns the default
    if isinstance(e, FotaError):
        return e.result
    if isinstance(e, MemoryError):
        return _RESULT_OUT_OF_RAM
    if isinstance(e, int) and not isinstance(e, bool):
        return e
    return default


def as_error(e, result):
    # what a failed request raises: the FotaError itself, or one carrying the Result shown
    return e if isinstance(e, FotaError) else FotaError(result, repr(e))


class FirmwareUpdate:
    # journal: fota.journal.Journal (its load() restores the instance after a reset);
    # slot: a fota.slots.SlotWriter; start_download(uri, sink, offset, etag, on_head, on_done)
    #   starts a pull and returns a handle with cancel(); it raises FotaError(9 or 7) for a
    #   scheme it lacks or a malformed URI, and calls back later, never from inside itself:
    #   sink(offset, data), on_head(size, etag[, at]) once the server answered (at: the offset
    #   the data starts from; 0 when it starts over), on_done(error) with error None or a
    #   FotaError / Update Result / anything (-> 4);
    # apply(): activate the slot and schedule the reset (returns quickly); raising FotaError
    #   13 keeps Downloaded/13, 5 goes Idle/5 (1.1), anything else Downloaded/8;
    # clock(): seconds (LwM2M Time) for Last State Change Time and deferral;
    # on_change(field): "state", "result", "time", "uri", "name", "version" changed;
    # defer(severity, max_defer) -> True to postpone an Update (T15); v11: object 5 v1.1 or
    # /33629 rules (Cancel, results 10/11, failed update after reboot -> Idle);
    # retries/backoff: a pull that lost its link restarts from the committed offset this many
    # times (backoff, 2*backoff, ... seconds, driven by poll()) before Result 4;
    # push_timeout: seconds without a block after which a push is given up (T11, Result 4);
    # starved(): how many messages were lost so far for lack of heap (the serving endpoint's
    # stats["nomem"]): a push that stopped while it grew ran out of RAM (Result 3), and a
    # server told to retry over another link would meet the same heap.
    def __init__(self, journal, slot, start_download=None, apply=None, clock=None,
                 on_change=None, defer=None, v11=True, component="", retries=2, backoff=2,
                 push_timeout=_PUSH_TIMEOUT, starved=None):
        self.journal = journal
        self.slot = slot
        self.start_download = start_download
        self.apply = apply
        self.clock = clock or (lambda: 0)
        self.on_change = on_change or (lambda field: None)
        self.defer = defer
        self.v11 = v11
        self.component = component
        self.retries = retries
        self.backoff = backoff
        self.push_timeout = push_timeout
        self.starved = starved
        self.received = 0  # bytes taken by the slot writer (progress; may be buffered)
        self._dl = None  # running pull handle
        self.pushing = False  # a push transfer is running (its blocks are taken)
        self._push_at = 0  # clock() at its last block
        self._starved_at = 0  # starved() then
        self._verify_at = None  # a complete pull to verify again (its first check found no heap)
        self._opened = False
        self._gen = 0  # bumped per transfer: callbacks of an older one are ignored
        self._resume_at = 0
        self._left = retries
        self._retry_at = None
        rec = journal.load() or journal.get()
        self.state = rec["state"] if rec["state"] <= _UPD else _IDLE
        self.result = rec["result"]
        self.uri = rec["uri"]
        self.name = rec["name"]
        self.version = rec["version"]
        self.size = rec["size"]
        self.etag = rec["etag"]
        self.changed_at = rec["time"]
        self.committed = rec["offset"]  # bytes durably written, as the journal holds them
        self.severity = rec["severity"]  # /5/0/11 (0 critical, 1 mandatory, 2 optional)
        self.max_defer = rec["max_defer"]  # /5/0/13 seconds; 0: no deferral
        d = rec["deferred_at"]  # a deferral's deadline survives a reset (never from a clock set back)
        self.deferred_at = min(d, self.clock()) if d and self.state == _DLED and self.result == _RESULT_DEFERRED else None

    # -- the one place State and Result change --

    def _set(self, state, result, **fields):
        old_state, old_result = self.state, self.result
        if (state, result) != (old_state, old_result) and not allowed(old_state, state, result):
            raise Refused(_NOT_ALLOWED, "transition %d->%d result %d" % (old_state, state, result))
        if state != old_state:
            self.changed_at = self.clock()  # spec 2.5: written before the State changes
        # durable before observable: the server never sees a State the device would forget
        try:
            self.journal.save(state=state, result=result, time=self.changed_at, **fields)
        except Exception as e:
            if state != _IDLE:
                raise
            # Going Idle (a failed transfer, a cancel, a reset) is reported even when the
            # journal cannot take it (no heap, a flash fault): a Downloading with no transfer
            # behind it would never end. A reset before the next record finds the last one
            # written (a download resumes), as after a power cut at this moment.
            log.error("fw: journal not written (%r); State %d Result %d reported anyway" % (e, state, result))
        seen = []
        for k in fields:
            if k in ("uri", "name", "version", "size", "etag"):
                if k in ("uri", "name", "version") and getattr(self, k) != fields[k]:
                    seen.append(k)  # readable resources: observers may want them
                setattr(self, k, fields[k])
            elif k == "offset":
                self.committed = fields[k]
        self.state = state
        self.result = result
        if state != old_state:
            seen.append("time")
            seen.append("state")
        if result != old_result:
            seen.append("result")
        for k in seen:
            self.on_change(k)

    def _check(self, request):
        code = WRITES[request][self.state]
        if code:
            raise Refused(code, request)

    def _clear(self, state, result):
        # back to Idle: the transfer stops and the image is forgotten (object 5 v1.1)
        self._stop()
        if self.state != _IDLE:
            self.slot.abort()
        self._set(state, result, uri="", offset=0, etag=None, size=None, name="", version="", deferred_at=0)

    def _stop(self):
        self._gen += 1
        self.pushing = False
        self._opened = False
        self._retry_at = None
        self._verify_at = None
        self.deferred_at = None
        dl, self._dl = self._dl, None
        if dl is not None:
            try:
                dl.cancel()
            except Exception:
                pass  # the engine is already gone; nothing more of it will be used

    def configure(self, **policy):
        # severity= (/5/0/11), max_defer= (/5/0/13): kept in the journal, as State is, so a
        # deferral still runs out after a reset
        self.journal.save(**policy)  # ValueError for a value the journal cannot hold
        for k in policy:
            setattr(self, k, policy[k])

    # -- Package URI (/5/0/1): pull --

    def write_uri(self, uri):
        if not uri:  # T6: reset in every state but Updating
            self._check("uri_reset")
            return self._clear(_IDLE, _RESULT_INITIAL)
        self._check("uri")
        if len(uri.encode()) > 255:
            # spec 1.5: 0..255 bytes. Not kept as /5/0/1 either: the journal could not hold
            # it, and /5/0/1 must read the same after a reset
            self._set(_IDLE, _RESULT_INVALID_URI, uri="")  # T3
            raise FotaError(_RESULT_INVALID_URI, "uri longer than 255 bytes")
        self._left = self.retries
        self._resume_at = 0
        try:
            try:
                self._start_pull(uri, 0, None)
            except FotaError as e:
                if e.result in (_RESULT_INVALID_URI, _RESULT_UNSUPPORTED_PROTOCOL):
                    self._stop()
                    self._set(_IDLE, e.result, uri=uri)  # T2, T3: stays Idle
                    raise
                # anything else (e.g. offline at start: 4) is a download that started and failed
                self._begin(uri, None)
                self._fail_download(result_of(e, _RESULT_CONNECTION_LOST))
                raise
            self._begin(uri, None)  # T1
        except MemoryError:
            # no heap for the journal to take Downloading: a transfer it does not know of must
            # not run (nor be left to an exception out of the request): Idle / Result 3
            self._stop()
            self._set(_IDLE, _RESULT_OUT_OF_RAM, uri=uri)
            raise FotaError(_RESULT_OUT_OF_RAM, "no heap to start the download")

    def _begin(self, uri, size):
        # T1, T4: Downloading, and Result 0 as a download starts (2.5)
        self._set(_DLING, _RESULT_INITIAL, uri=uri, offset=0, etag=None, size=size, name="",
                  version="", component=self.component)

    def _start_pull(self, uri, offset, etag):
        self._stop()
        gen = self._gen
        self.received = offset

        def sink(off, data):
            if gen != self._gen:
                raise FotaError(_RESULT_UPDATE_CANCELLED, "transfer no longer wanted")
            self._data(off, data)

        def on_head(size, etag, at=None):
            if gen != self._gen:
                raise FotaError(_RESULT_UPDATE_CANCELLED, "transfer no longer wanted")
            self._head(size, etag, at)

        def on_done(error):
            if gen == self._gen:
                self._done(error)

        self._dl = self.start_download(uri, sink, offset, etag, on_head, on_done)

    def _head(self, size, etag, at):
        etag = None if etag is None else bytes(etag)
        if etag is not None and (etag[:2] == b"W/" or len(etag) > 64):
            keep = None  # weak or oversized validators cannot prove a resume is safe
        else:
            keep = etag
        if self._resume_at and (at == 0 or etag != self.etag or etag is None):
            self._resume_at = 0  # the file changed or the server ignores ranges: start over
        if self._opened:
            self.slot.abort()
            self._opened = False
        self.received = self._resume_at
        self.size = size
        try:
            self.slot.open(size, self._resume_at)
        except Exception as e:
            self._fail_download(result_of(e, _RESULT_NOT_ENOUGH_SPACE))  # T9 before any erase
            raise as_error(e, self.result)
        self._opened = True
        self.etag = keep
        self.journal.save(etag=keep, size=size, offset=self._resume_at)
        self.committed = self._resume_at

    def _data(self, offset, data):
        if not self._opened:
            self._head(None, self.etag, None)  # an engine that never reported a head
        try:
            self.slot.write(offset, data)
        except Exception as e:
            self._fail_download(result_of(e, _RESULT_NOT_ENOUGH_SPACE))  # T9, T10, T13
            raise as_error(e, self.result)
        end = offset + len(data)
        if end > self.received:
            self.received = end
        c = self.slot.committed()
        if c != self.committed:
            # only bytes the slot reports on flash move the resume point (anchors 3 item 6)
            self.committed = c
            self.journal.save(offset=c)

    def _done(self, error):
        self._dl = None
        if error is None:
            if not self._opened:
                # an engine that had nothing left to fetch (HTTP 416 at the end of the file)
                # never reported a head: open the slot where the committed data ends
                try:
                    self._head(self.size, self.etag, None)
                except FotaError:
                    return  # the failure is the Result now
            try:
                self._finish(True)
            except FotaError:
                pass  # likewise (raised for a push, whose Block1 answer carries it)
            return
        r = result_of(error, _RESULT_CONNECTION_LOST)
        if r == _RESULT_CONNECTION_LOST and self.uri and self._left > 0:
            # link lost: try again from what is on flash after a pause (anchors 3 item 2)
            self._retry_at = self.clock() + self.backoff * (1 << (self.retries - self._left))
            self._left -= 1
            return
        self._fail_download(r)

    def _finish(self, later=False):
        # later: a pull whose check finds no heap (the transfer's objects still alive as it
        # reports) is checked once more from poll(): the whole image is on flash
        try:
            info = self.slot.finish()
        except Exception as e:
            r = result_of(e, _RESULT_INTEGRITY_FAILURE)
            if later and r == _RESULT_OUT_OF_RAM:
                log.warning("fw: no heap to verify the download: trying again")
                self._verify_at = self.clock()
                return
            self._fail_download(r)  # T12, T13, T9, T10
            raise as_error(e, self.result)
        try:
            self.download_finished(info)
        except Exception as e:
            # verified, but the journal could not take Downloaded (no heap, a flash fault): a
            # State the device would forget is not reported; the download ends truthfully
            self._fail_download(result_of(e, _RESULT_NOT_ENOUGH_SPACE))
            raise as_error(e, self.result)

    # -- Package (/5/0/0): push --

    def write_package_begin(self, size=None, restart=False):
        # T4. restart: the running push's first block came again, its server starts it over
        # (spec 4.5 item 5): the partial image is dropped and Downloading goes on from byte 0
        again = restart and self.pushing and self.state == _DLING
        if not again:
            self._check("package")
        self._stop()
        self._resume_at = 0
        try:
            if again:
                self.slot.abort()
            self.slot.open(size, 0)
        except Exception as e:
            r = result_of(e, _RESULT_NOT_ENOUGH_SPACE)
            if again:
                self._fail_download(r)  # T9
            else:
                self._set(_IDLE, self._idle_result(r))
            raise FotaError(self.result, "package refused")
        self.pushing = True
        self._pushed()
        self._opened = True
        self.received = 0
        self._begin("", size)  # T4 (again: the journal's offset back to 0)

    def write_package(self, offset, data):
        self._check("package_more")
        if not self.pushing:
            raise Refused(_BAD_REQUEST, "a pull is running")
        self._pushed()
        self._data(offset, data)

    def _pushed(self):
        # a block arrived: the push's deadline starts again
        self._push_at = self.clock()
        if self.starved is not None:
            self._starved_at = self.starved()

    def write_package_end(self):
        self._check("package_more")
        if not self.pushing:
            raise Refused(_BAD_REQUEST, "a pull is running")
        self._finish()

    def write_package_whole(self, data):
        # one Write holding the whole package; NULL (0x00) or empty resets (T7, spec 2.6)
        if len(data) == 0 or (len(data) == 1 and data[0] == 0):
            return self.reset()
        self._check("package")
        self._stop()
        try:
            self.slot.open(len(data), 0)
            self.slot.write(0, data)
            info = self.slot.finish()
        except Exception as e:
            self.slot.abort()
            self._set(_IDLE, self._idle_result(result_of(e, _RESULT_INTEGRITY_FAILURE)))
            raise FotaError(self.result, "package refused")
        self._set(_DLED, _RESULT_INITIAL, uri="", offset=self.slot.committed(), etag=None,
                  size=len(data), name=_name(info, self.component), version=_version(info),
                  component=self.component)  # T5

    def _idle_result(self, r):
        # a push refused before Downloading: Idle with its own result when the table has it
        return r if allowed(_IDLE, _IDLE, r) else _RESULT_INTEGRITY_FAILURE

    def reset(self):
        # Package := NULL (T7); the object also calls it for an empty Package
        self._check("package_reset")
        self._clear(_IDLE, _RESULT_INITIAL)

    # -- outcomes reported by the transfer --

    def download_finished(self, info=None):
        if self.state != _DLING:
            raise Refused(_NOT_ALLOWED, "no download running")
        self._stop()
        self._set(_DLED, _RESULT_INITIAL, name=_name(info, self.component),
                  version=_version(info), offset=self.slot.committed())  # T8

    def download_failed(self, result):
        if self.state != _DLING:
            raise Refused(_NOT_ALLOWED, "no download running")
        self._fail_download(result)

    def _fail_download(self, r):
        if not allowed(_DLING, _IDLE, r) or r == _RESULT_INITIAL:
            r = _RESULT_CONNECTION_LOST  # Anjay's default download failure
        if self.state == _DLING:
            self._clear(_IDLE, r)  # T9-T13

    def cancel(self):
        # Execute Cancel (/5/0/10, object 5 v1.1 and /33629): T20, refused as T21
        if not self.v11:
            raise Refused(_NOT_ALLOWED, "object 5 v1.0 has no Cancel")
        self._check("cancel")
        self._clear(_IDLE, _RESULT_UPDATE_CANCELLED)

    # -- Update (/5/0/2) --

    def execute_update(self):
        self._check("update")  # T22
        if (self.v11 and self.defer is not None and self.max_defer > 0
                and self.defer(self.severity, self.max_defer)):
            if self.deferred_at is None:  # the deadline runs from the first deferral
                self.deferred_at = self.clock()
            self._set(_DLED, _RESULT_DEFERRED, deferred_at=self.deferred_at)  # T15
            return
        self._update()  # T14

    def accept(self):
        # the user accepts a deferred update (T16)
        if self.state != _DLED or self.result != _RESULT_DEFERRED:
            raise Refused(_NOT_ALLOWED, "no deferred update")
        self._update()

    def _update(self):
        self.deferred_at = None
        self._set(_UPD, _RESULT_INITIAL, deferred_at=0)  # Result 0 as the update starts (2.5)
        try:
            if self.apply is not None:
                self.apply()
        except Exception as e:
            r = result_of(e, _RESULT_UPDATE_FAILED)
            if r == _RESULT_DEPENDENCY_ERROR:
                self._set(_DLED, r)  # 2.7: the executed instance stays Downloaded
            elif r == _RESULT_INTEGRITY_FAILURE and self.v11:
                self._clear(_IDLE, r)  # T19: the image is unusable
            else:
                r = _RESULT_UPDATE_FAILED
                self._set(_DLED, r)  # T18: the image is kept for another try
            raise FotaError(r, "update failed")

    def boot_outcome(self, result):
        # After a reset in Updating: what boot recorded (fota.boot last_update_outcome) as
        # 1, 5 or 8; None or 0 when the new image never ran (cut before the reset). Returns
        # False when there was no update to report.
        if self.state != _UPD:
            return False
        if result == _RESULT_SUCCESS:
            self._set(_IDLE, result, offset=0, etag=None)  # T17
        elif not self.v11:
            self._set(_DLED, _RESULT_UPDATE_FAILED)  # T18: object 5 v1.0 returns to Downloaded
        else:
            r = _RESULT_UPDATE_FAILED
            if result == _RESULT_INTEGRITY_FAILURE:
                r = result
            self._set(_IDLE, r, offset=0, etag=None)  # T19; spec 2.5 "Idle/8 if rolled back"
        return True

    # -- driven by the client loop --

    def resume(self):
        # After a reset in Downloading: continue the pull from the journal's committed offset
        # (only with an ETag to prove the file is the same); a push cannot continue since the
        # server's Block1 transfer died with the connection: Result 4. True if acted.
        if self.state != _DLING or self._dl is not None or self.pushing:
            return False
        if not self.uri:
            self._fail_download(_RESULT_CONNECTION_LOST)
            return True
        self._restart_pull()
        return True

    def _restart_pull(self):
        at = self.committed if self.etag is not None else 0
        self._resume_at = at
        if at and self.size is not None and at >= self.size:
            # every byte reached flash before the cut, State 2 did not: nothing to fetch (a
            # request past the end fails, CoAP 4.02), verify what is there
            self._stop()
            try:
                self._head(self.size, self.etag, None)
                self._finish()
            except FotaError:
                pass  # the failure is the Result now
            return
        try:
            self._start_pull(self.uri, at, self.etag if at else None)
        except FotaError as e:
            self._fail_download(e.result)

    def poll(self):
        # deadlines: a verify that found no heap, a link-loss retry, a push whose server
        # went silent (T11), a deferral that ran out (T16 by Max Defer Period)
        now = self.clock()
        if self._verify_at is not None and self.state == _DLING and now >= self._verify_at:
            self._verify_at = None
            self._safely(self._finish)
        if self.pushing and self.state == _DLING and now - self._push_at >= self.push_timeout:
            r = _RESULT_CONNECTION_LOST
            if self.starved is not None and self.starved() != self._starved_at:
                r = _RESULT_OUT_OF_RAM  # its blocks came, and found no heap
            log.warning("fw: no block of the push for", now - self._push_at, "s: giving it up, result", r)
            self._fail_download(r)
        if self._retry_at is not None and now >= self._retry_at and self.state == _DLING:
            self._retry_at = None
            self._safely(self._restart_pull)
        if (self.deferred_at is not None and self.state == _DLED
                and self.result == _RESULT_DEFERRED and now - self.deferred_at >= self.max_defer):
            self._safely(self._update)

    def _safely(self, fn):
        # a deadline's work fn() from poll(): a failure is State/Result, never an exception
        # that would end the caller's polling; a download it leaves behind ends (no heap: 3)
        try:
            fn()
        except FotaError:
            pass  # the failure is the Result now
        except Exception as e:
            log.error("fw: deadline failed", repr(e))
            self._fail_download(result_of(e, _RESULT_CONNECTION_LOST))

    def progress(self):
        # (bytes received, total or None)
        return self.received, self.size


def _name(info, default):
    return (getattr(info, "component", None) or default or "") if info is not None else default


def _version(info):
    f = getattr(info, "version_str", None)
    return f() if f is not None else ""

# Firmware update on the device: Object /5 over the shared state machine (fota.update), with
# the board's journal, the A/B application slot writer, the download engines, and the link
# to boot control: Update activates the slot and resets; after the reset the outcome boot
# recorded (or the trial's confirmation) becomes State/Result.
# SPDX-License-Identifier: MIT
import time

from port import board, const, log, ticks_ms, ticks_diff
from fota import download
from fota import FotaError
from fota.journal import Journal
from fota.slots.ab import ABWriter
from fota.update import FirmwareUpdate
from lwm2m.objects.firmware import Firmware

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_SUCCESS = const(1)
_NO_SLOT = const(0xFF)  # fota.const.NO_SLOT: no slot pending in the boot record

COMPONENT = "app"
_POLL_MS = const(1000)  # retries and deferral deadlines of the state machine
_NOTIFY_WAIT_MS = const(60000)  # longest an Update's reset waits for a pmin to let State 3 out


class Pull:
    # Adapts a fota.download engine to FirmwareUpdate.start_download: starts over from byte 0
    # when the engine says the file changed under it (ETag, 412, Range ignored), and turns
    # progress into a log line with percent, rate and ETA.
    def __init__(self, loop, uri, sink, offset, etag, on_head, on_done, restarts=2, tuning=None):
        self.loop = loop
        self.tuning = tuning or {}
        self.uri = uri
        self.sink = sink
        self.head = on_head
        self.done = on_done
        self.restarts = restarts
        self.t0 = ticks_ms()
        self.engine = None
        self._start(offset, etag)  # raises FotaError(7 or 9) at once, as the machine expects

    def _start(self, offset, etag):
        self.at = offset
        self.t0 = ticks_ms()
        self.engine = download.start(self.loop, self.uri, self.sink, offset, etag, on_head=self._head,
                                     on_done=self._done, on_progress=self._progress, **self.tuning)

    def _head(self, size, etag):
        self.head(size, etag, self.at)

    def _done(self, eng):
        if eng.error is not None and eng.restart_needed and self.restarts > 0:
            self.restarts -= 1
            log.info("fw: the package changed on the server; starting over")
            try:
                return self._start(0, None)
            except FotaError as e:
                return self.done(e)
        self.done(eng.error)

    def _progress(self, offset, size):
        ms = ticks_diff(ticks_ms(), self.t0) or 1
        rate = (offset - self.at) * 1000 // ms
        if size:
            eta = (size - offset) // rate if rate else -1
            log.info("fw: %d%% %d/%d bytes, %d B/s, ETA %d s" % (offset * 100 // size, offset, size, rate, eta))
        else:
            log.info("fw: %d bytes, %d B/s" % (offset, rate))

    def cancel(self):
        if self.engine is not None:
            self.engine.cancel()


def install(client, start, keys=None, tuning=None):
    # Adds /5 to the client. start: fota.boot.start (this power-on's boot selection).
    # tuning: fota.download tuning for every pull (the TLS trust anchors, agent.download_tuning).
    b = start.boot()
    part = b.slots[0]
    if hasattr(part, "flash"):
        journal_part = part.flash.partition("journal")  # the host chip, opened once
    else:
        from port.esp32_flash import find

        journal_part = find("journal")
    writer = ABWriter(b, b.keys, component=COMPONENT)
    loop = client.loop

    def start_download(uri, sink, offset, etag, on_head, on_done):
        return Pull(loop, uri, sink, offset, etag, on_head, on_done, tuning=tuning)

    def apply():
        # Update: mark the slot pending, then reset once the 2.04 (and the State 3
        # notification) went out; boot.py verifies it again and boots it in trial
        writer.activate()
        reset_when_notified(client, board.reset)

    ep = client.ep
    fu = FirmwareUpdate(Journal(journal_part), writer, start_download=start_download,
                        apply=apply, clock=lambda: int(time.time()), component=COMPONENT,
                        starved=lambda: ep.stats["nomem"])
    obj = client.registry.add(Firmware(fu, download.protocols(**(tuning or {})), b.slots[1].size))
    _report_boot(fu, start, client)
    fu.resume()  # a download cut by a reset continues from the journal's committed offset

    def poll():
        loop.later(_POLL_MS, poll)  # first: nothing fu.poll() raises ends the polling
        fu.poll()

    loop.later(_POLL_MS, poll)
    return obj


def reset_when_notified(client, reset, waited=0):
    # Spec 4.4: State 3 is notified before the reboot. A server's pmin can hold it back: the
    # reset waits until nothing waits to be notified (at most _NOTIFY_WAIT_MS), then 500 ms
    # for the 2.04 and the notifications to leave.
    if client.notifier.pending() and waited < _NOTIFY_WAIT_MS:
        client.schedule(lambda: reset_when_notified(client, reset, waited + 250), 250)
    else:
        client.schedule(reset, 500)


def _report_boot(fu, start, client):
    # After a reset in Updating: a trial reports success once it confirmed (after
    # registering); a rollback or a refused image reports what boot recorded. Every outcome
    # is acknowledged once reported, and one still on record when /5 is not Updating is
    # stale (a cut between reporting and acknowledging): dropped, so it can never stand for
    # a later update that a power cut stopped before its slot was activated.
    b = start.boot()
    if fu.state != 3:
        _acknowledge(b)
        return
    sel = start.selected
    if sel is not None and sel.trial:
        def confirmed():
            if not sel.trial or b.running()[1]:
                return  # not confirmed (yet)
            fu.boot_outcome(_RESULT_SUCCESS)
            _acknowledge(b)

        client.on_registered.append(confirmed)
        return
    rec = b.record()
    if rec.pending != _NO_SLOT and rec.trials == 0:
        # activated, and not tried by this boot: it could not record a trial (a flash fault;
        # fallback() ran the confirmed slot). Still Updating, not 8: the next boot tries it.
        log.warning("fw: the activated image was not tried at this boot")
        return
    outcome = b.last_update_outcome()
    fu.boot_outcome(outcome[0] if outcome else None)
    if outcome:
        b.acknowledge(outcome[2])


def _acknowledge(b):
    outcome = b.last_update_outcome()
    if outcome:
        b.acknowledge(outcome[2])

# fota.boot.runtime: trial, confirm and rollback of the MicroPython runtime on ESP32 (the
# ESP-IDF OTA partitions ota_0/ota_1), with boot.py's own trial counter as the fallback when
# the bootloader cannot roll back (STYLE 7.8: probe, report, fall back).
# SPDX-License-Identifier: MIT
#
# The ESP-IDF bootloader picks the partition; we keep our own boot record (fota.boot.record,
# partition "rtctl") of which runtime is confirmed and which one is on trial, so that:
# - with bootloader rollback (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE) a reset before confirm()
#   boots the old runtime; boot.py sees the pending one is not running and records Update
#   Failed (8);
# - without it (mark_app_valid_cancel_rollback() raises OSError(-261)) every boot of the new
#   runtime counts a trial here; when the budget is spent boot.py sets the old partition to
#   boot, records 8 and resets. Either way a runtime that never confirms does not stay.
# The capability is probed at each boot with nothing on trial (mark_app_valid_cancel_rollback
# is harmless then, and repairs a confirm cut before the bootloader heard of it) and kept in
# `rollback` (True, False, None = not probed yet) for the client to report.
from fota.boot import Boot
from port import const

_TRIALS = const(3)  # boot record numbers as private copies (fota.const has them, explained)
_REASON_CONFIRMED = const(1)
_REASON_TRIALS = const(2)
_NO_SLOT = const(0xFF)

_NO_ROLLBACK = const(-261)  # what MicroPython raises without a rollback-capable bootloader
LABELS = ("ota_0", "ota_1")

RUN = const(1)  # power_on(): the confirmed runtime runs
TRIAL = const(2)  # a new runtime runs in trial (confirm() after registration)
ROLLED_BACK = const(3)  # budget spent: the old runtime is set to boot and reset() was called


class RuntimeBoot(Boot):
    # store: RecordStore on the "rtctl" partition; esp32: the esp32 module (a test passes a
    # stand-in); reset: machine.reset (called after our own rollback).
    def __init__(self, store, esp32, reset=None, trials=_TRIALS):
        self.store = store
        self.esp32 = esp32
        self.trials = trials
        if reset is None:
            import machine

            reset = machine.reset
        self._reset = reset
        self.rollback = None

    def _part(self, index):
        P = self.esp32.Partition
        return P(LABELS[index])

    def _run_index(self):
        P = self.esp32.Partition
        label = P(P.RUNNING).info()[4]
        return LABELS.index(label) if label in LABELS else _NO_SLOT

    def probe(self):
        # Tell the bootloader the running runtime is good; learn whether it can roll back.
        # Only called when our record has nothing on trial (or from confirm()).
        try:
            self.esp32.Partition.mark_app_valid_cancel_rollback()
        except OSError as e:
            if not e.args or e.args[0] != _NO_ROLLBACK:
                raise
            self.rollback = False
            return False
        self.rollback = True
        return True

    def power_on(self):
        # boot.py, before anything else: RUN, TRIAL or ROLLED_BACK (after reset(), which
        # does not return on a board).
        rec = self._load()
        run = self._run_index()
        if rec.pending == _NO_SLOT:
            if run != _NO_SLOT and run != rec.active:  # flashed by other means: adopt it
                rec.active = run
                self.store.save(rec)
            self.probe()
            return RUN
        if run != rec.pending:
            # the bootloader booted the other runtime: it rolled back an unconfirmed trial
            # (or the activation was cut before set_boot): the update failed
            self._finish(rec, _REASON_TRIALS)
            self.store.save(rec)
            self.probe()
            return RUN
        if rec.trials >= self.trials:
            # budget spent and still running the trial: the bootloader cannot roll back, so
            # we do. set_boot first: if the old runtime no longer boots (it raises), keep
            # running the new one rather than record a rollback that did not happen.
            self.rollback = False
            self._part(rec.active).set_boot()
            self._finish(rec, _REASON_TRIALS)
            self.store.save(rec)
            self._reset()
            return ROLLED_BACK
        rec.trials += 1  # recorded before the runtime runs: a crash in the trial counts
        self.store.save(rec)
        return TRIAL

    def running(self):
        rec = self._load()
        run = self._run_index()
        if rec.pending != _NO_SLOT and rec.trials > 0 and run == rec.pending:
            return run, True
        return run, False

    def activate(self, slot, info=None, allow_downgrade=False):
        # Record the trial first, then point the bootloader at it: a cut in between boots
        # the old runtime, which power_on() reports as failed (8), never an unsupervised new
        # one. Returns the activation tag.
        tag = Boot.activate(self, slot, info, allow_downgrade)
        self._part(slot).set_boot()
        return tag

    def confirm(self):
        # The new runtime registered: tell the bootloader first (a cut after it leaves our
        # record on trial, so the worst case is one more counted trial), then commit ours.
        rec = self._load()
        if rec.pending == _NO_SLOT or rec.trials == 0 or self._run_index() != rec.pending:
            return False
        self.probe()
        self._finish(rec, _REASON_CONFIRMED)
        self.store.save(rec)
        return True

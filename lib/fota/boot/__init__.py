# fota.boot: A/B slot selection at power-on with trial boot, late confirm and rollback, and the
# truthful outcome of the last update (Update Result 1, 5 or 8) for the client to report.
# SPDX-License-Identifier: MIT
#
# Life of an update: a slot writer fills the inactive slot, verifies it and calls activate()
# (pending, 0 trials). At the next power-on the pending image is verified again (it may have
# been damaged since), checked against downgrade, one trial is counted (written *before* it
# runs, so a crash or reset inside the trial is remembered) and it boots. The firmware calls
# confirm() only after it has registered with its LwM2M server; that commits it as active in
# one record write. A reset before confirm() is a failed trial; when the budget is spent the
# confirmed slot boots again and the outcome says Update Failed (8). A pending image that no
# longer verifies is dropped with Integrity Failure (5). Nothing here touches the network.
# The power-on decision itself is fota.boot.select (with the table in fota.boot.table): only
# the boot that decides loads it; the running firmware uses the record API below.
from fota.boot.record import pack_version, unpack_version
from fota import FotaError
from port import const

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_INTEGRITY_FAILURE = const(5)
_RESULT_NOT_ENOUGH_SPACE = const(2)
_RESULT_SUCCESS = const(1)
_RESULT_UPDATE_FAILED = const(8)

# and the boot record's numbers, also private here (fota.const has them, explained)
_TRIALS = const(3)  # boots a new image gets to confirm itself
_REASON_CONFIRMED = const(1)
_REASON_TRIALS = const(2)
_REASON_VERIFY = const(3)
_REASON_DOWNGRADE = const(4)
_NO_SLOT = const(0xFF)
_FLAG_ALLOW_DOWNGRADE = const(1)

# the Update Result each reason gives, indexed by reason (1..4)
_OUTCOME = const((0, _RESULT_SUCCESS, _RESULT_UPDATE_FAILED, _RESULT_INTEGRITY_FAILURE,
                  _RESULT_UPDATE_FAILED))


class Selection:
    # What power_on() chose: the slot to run, whether it runs in trial, whether it verified,
    # the table action taken last and the ImageInfo of the image (None if unknown).
    def __init__(self, slot, part, trial, verified, action, info):
        self.slot = slot
        self.part = part
        self.trial = trial
        self.verified = verified
        self.action = action
        self.info = info


class Boot:
    # store: fota.boot.record.RecordStore; slots: the two slot partitions (port.flash API);
    # keys: trusted public keys for image.verify; image: an object with verify(),
    # parse_header() and compare_versions() (fota.image unless a test passes a stand-in);
    # verify_active: also verify the confirmed slot at each boot (MCUboot's
    # VALIDATE_PRIMARY_SLOT): costs one hash pass, lets a damaged slot fall back to the other.
    def __init__(self, store, slots, keys, image=None, component=None, trials=_TRIALS,
                 verify_active=True, buf=None):
        if image is None:
            import fota.image as image
        self.store = store
        self.slots = slots
        self.keys = keys
        self.image = image
        self.component = component
        self.trials = trials
        self.verify_active = verify_active
        self.buf = buf  # verify's hash buffer; None: verify makes one for the boot that needs it
        self.selected = None  # the Selection of the last power_on()

    # -- power-on (fota.boot.select: the decision, loaded only by the boot that makes it) --

    def power_on(self):
        # Decide, record, return a Selection. Raises only what the flash raises (PowerCut on
        # the host); boot.py wraps it so nothing escapes on a board.
        from fota.boot import select

        return select.power_on(self)

    def fallback(self):
        # When power_on() failed: choose without writing anything (select.fallback).
        from fota.boot import select

        return select.fallback(self)

    def _load(self):
        rec = self.store.load()
        # a record that cannot be right is repaired towards "slot 0 confirmed, nothing pending"
        if rec.active not in (0, 1):
            rec.active = 0
        if rec.pending not in (0, 1) or rec.pending == rec.active:
            rec.pending = _NO_SLOT
        return rec

    def _finish(self, rec, reason):
        # end the pending update with an outcome; on success the trial slot becomes active
        slot = rec.pending
        if reason == _REASON_CONFIRMED:
            rec.active = slot
            if rec.psec > rec.min_sec:
                rec.min_sec = rec.psec
        rec.pending = _NO_SLOT
        rec.trials = 0
        rec.flags = 0
        rec.outcome = _OUTCOME[reason]
        rec.reason = reason
        rec.oslot = slot
        rec.over = rec.pver

    # -- the running firmware's API --

    def running(self):
        # (slot, trial): the slot this boot runs and whether it is an unconfirmed trial. Read
        # from the record, so a fresh process (main.py) sees what power_on() decided; but a
        # slot chosen without a record write (fallback() after a flash fault) is the one that
        # runs whatever the record says: never a writer's target.
        rec = self._load()
        run = (rec.pending, True) if rec.pending != _NO_SLOT and rec.trials > 0 else (rec.active, False)
        sel = self.selected
        if sel is not None and sel.slot != run[0]:
            return sel.slot, False
        return run

    def confirm(self):
        # Commit the trial image. Call after registering with the LwM2M server. Returns True
        # when something was committed; safe (no flash write) on every later call.
        rec = self._load()
        if rec.pending == _NO_SLOT or rec.trials == 0:
            return False
        sel = self.selected
        if sel is not None and (not sel.trial or sel.slot != rec.pending):
            return False  # this power-on runs another slot (fallback): it proves nothing
        self._finish(rec, _REASON_CONFIRMED)
        self.store.save(rec)
        return True

    def activate(self, slot, info=None, allow_downgrade=False):
        # Mark a verified slot pending for a trial at the next boot (the writer's activate()).
        # FotaError(8) when the slot is the one running or a trial is still unconfirmed.
        rec = self._load()
        run, trial = self.running()
        if trial:
            raise FotaError(_RESULT_UPDATE_FAILED, "a trial is still unconfirmed")
        if slot == run or slot not in (0, 1):
            raise FotaError(_RESULT_UPDATE_FAILED, "cannot activate the running slot")
        rec.pending = slot
        rec.trials = 0
        rec.flags = _FLAG_ALLOW_DOWNGRADE if allow_downgrade else 0
        rec.tag = (rec.tag + 1) & 0xFFFFFFFF
        rec.outcome = 0  # a new update is under way; the old outcome is history
        rec.reason = 0
        rec.oslot = _NO_SLOT
        rec.pver = pack_version(info.version) if info is not None else 0
        rec.psec = _sec(info) if info is not None else 0
        self.store.save(rec)
        return rec.tag

    def release(self, slot):
        # A writer is about to overwrite `slot`: if it waits as pending (never booted), drop
        # the activation first so a half-written slot is never offered to the boot table.
        # FotaError(2) if the slot is running or is the fallback of an unconfirmed trial.
        rec = self._load()
        run, trial = self.running()
        if trial:
            raise FotaError(_RESULT_NOT_ENOUGH_SPACE, "fallback slot in use until the trial is confirmed")
        if slot == run:
            raise FotaError(_RESULT_NOT_ENOUGH_SPACE, "slot is running")
        if rec.pending == slot:
            rec.pending = _NO_SLOT
            rec.trials = 0
            rec.flags = 0
            self.store.save(rec)

    def last_update_outcome(self):
        # (result, reason, tag, version) of the last finished update, None when there is
        # nothing new to report (no update finished since activate()/acknowledge()).
        rec = self._load()
        if not rec.outcome:
            return None
        return rec.outcome, rec.reason, rec.tag, unpack_version(rec.over)

    def acknowledge(self, tag):
        # The client has reported the outcome of update `tag`: stop offering it.
        rec = self._load()
        if rec.outcome and rec.tag == tag:
            rec.outcome = 0
            self.store.save(rec)

    def record(self):
        return self._load()


def _sec(info):
    s = getattr(info, "security_counter", None)
    return s or 0

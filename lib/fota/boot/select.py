# fota.boot.select: the power-on decision (boot.py, through Boot.power_on/fallback): walk the
# decision table (fota.boot.table) over the record and the slots' verification, record what
# it decided, and return the Selection. Kept apart from fota.boot so the running firmware
# (the slot writer, the client) never loads it, and fota.boot.start unloads it after boot.
# SPDX-License-Identifier: MIT
from fota.boot import table as _t
from fota.boot import Selection, _sec
from fota.boot.record import pack_version
from port import const

# boot record numbers as private copies (fota.const has the public ones, explained)
_REASON_TRIALS = const(2)
_REASON_VERIFY = const(3)
_REASON_DOWNGRADE = const(4)
_EVENT_SWITCHED = const(1)
_EVENT_UNVERIFIED = const(2)
_NO_SLOT = const(0xFF)
_FLAG_ALLOW_DOWNGRADE = const(1)


def power_on(boot):
    # Decide, record, return a Selection. Raises only what the flash raises (PowerCut on
    # the host); boot.py wraps it so nothing escapes on a board.
    rec = boot._load()
    seen = {}  # slot -> (verdict, info), so a slot is verified at most once per boot
    action = None
    for _ in range(4):  # at most: drop pending, switch, run
        action = _t.decide(lambda i: _input(boot, i, rec, seen))
        if action == _t.RUN_TRIAL:
            v, info = seen[rec.pending]
            rec.trials += 1
            if info is not None:
                rec.pver = pack_version(info.version)
                rec.psec = _sec(info)
            boot.store.save(rec)
            sel = Selection(rec.pending, boot.slots[rec.pending], True, True, action, info)
            break
        if action in (_t.RUN_ACTIVE, _t.RUN_UNVERIFIED):
            ok, info = seen.get(rec.active, (None, None))
            verified = ok == _t.OK
            if action == _t.RUN_UNVERIFIED and rec.event != _EVENT_UNVERIFIED:
                rec.event = _EVENT_UNVERIFIED
                boot.store.save(rec)
            elif verified and _sec(info) > rec.min_sec:
                # the confirmed image's security counter is the floor from now on (a factory
                # image's too, not only what confirm() committed), as MCUboot's rollback check
                rec.min_sec = _sec(info)
                boot.store.save(rec)
            sel = Selection(rec.active, boot.slots[rec.active], False, verified, action, info)
            break
        if action == _t.SWITCH:
            rec.active = 1 - rec.active
            rec.event = _EVENT_SWITCHED
        else:  # ROLLBACK, REJECT_BAD, REJECT_OLD
            why = {_t.ROLLBACK: _REASON_TRIALS, _t.REJECT_BAD: _REASON_VERIFY}
            boot._finish(rec, why.get(action, _REASON_DOWNGRADE))
        boot.store.save(rec)
    else:  # unreachable by the table's construction; never leave without a choice
        sel = Selection(rec.active, boot.slots[rec.active], False, False, action, None)
    boot.selected = sel
    return sel


def fallback(boot):
    # When power_on() failed (a flash fault writing the record, say): choose without
    # writing anything. The confirmed slot if it verifies, else the other one if it does,
    # else the confirmed one unverified (not to be mounted). Never raises but PowerCut.
    try:
        active = boot._load().active
    except Exception:
        active = 0
    seen = {}
    for slot in (active, 1 - active):
        ok, info = _verify(boot, slot, seen)
        if ok == _t.OK:
            sel = Selection(slot, boot.slots[slot], False, True, _t.RUN_ACTIVE, info)
            break
    else:
        sel = Selection(active, boot.slots[active], False, False, _t.RUN_UNVERIFIED, None)
    boot.selected = sel
    return sel


def _input(boot, i, rec, seen):
    if i == 0:
        return 0 if rec.pending == _NO_SLOT else 1
    if i == 1:
        if rec.trials == 0:
            return _t.FRESH
        return _t.SPENT if rec.trials >= boot.trials else _t.RETRY
    if i == 2:
        return _check_pending(boot, rec, seen)
    if i == 3:
        if not boot.verify_active:
            return 1
        return 1 if _verify(boot, rec.active, seen)[0] == _t.OK else 0
    return 1 if _verify(boot, 1 - rec.active, seen)[0] == _t.OK else 0


def _verify(boot, slot, seen):
    if slot not in seen:
        part = boot.slots[slot]
        try:
            info = boot.image.verify(part.read, boot.keys, part.size, boot.component, boot.buf)
            seen[slot] = (_t.OK, info)
        except Exception:  # any failure to verify means "do not run it"; PowerCut passes
            seen[slot] = (_t.BAD, None)
    return seen[slot]


def _check_pending(boot, rec, seen):
    v, info = _verify(boot, rec.pending, seen)
    if v != _t.OK:
        return v
    if _sec(info) < rec.min_sec:  # the security counter is a floor no flag lifts
        return _t.OLD
    if not rec.flags & _FLAG_ALLOW_DOWNGRADE:
        cur = _header(boot, rec.active)
        if cur is not None and boot.image.compare_versions(info.version, cur.version) < 0:
            return _t.OLD
    return _t.OK


def _header(boot, slot):
    # ImageInfo from the 32-byte header of a slot, or None when it holds no image
    mv = memoryview(boot.buf if boot.buf is not None else bytearray(32))[:32]
    try:
        boot.slots[slot].read(0, mv)
        return boot.image.parse_header(mv)
    except Exception:
        return None

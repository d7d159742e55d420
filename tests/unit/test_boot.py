# fota.boot: decision table (exhaustively), trial / confirm / rollback, outcome reporting,
# anti-downgrade, and every record x image combination through Boot.power_on().
# SPDX-License-Identifier: MIT
import fakeimage
from fota.boot import Boot
from fota.boot import table as t
from fota.boot.record import RecordStore, pack_version
from fota.const import (
    EVENT_SWITCHED, EVENT_UNVERIFIED, FLAG_ALLOW_DOWNGRADE, NO_SLOT, REASON_CONFIRMED, REASON_DOWNGRADE,
    REASON_TRIALS, REASON_VERIFY, FotaError,
)
from port.flash import SECTOR, Flash
from support import raises

SLOT = 4 * SECTOR
TABLE = (("bootctl", 0, 2 * SECTOR), ("app_a", 2 * SECTOR, SLOT), ("app_b", 6 * SECTOR, SLOT))
KEYS = (b"k1",)


def _combos():
    out = [()]
    for dom in t.DOMAIN:
        out = [c + (v,) for c in out for v in dom]
    return out


def _spec(p, tr, v, a, o):
    # the boot policy in words, written independently of the table's row order
    if p:
        if tr == t.SPENT:
            return t.ROLLBACK
        return {t.OK: t.RUN_TRIAL, t.BAD: t.REJECT_BAD, t.OLD: t.REJECT_OLD}[v]
    if a:
        return t.RUN_ACTIVE
    return t.SWITCH if o else t.RUN_UNVERIFIED


def test_table_is_exhaustive_and_matches_policy():
    n = 0
    for c in _combos():
        asked = []

        def get(i, c=c, asked=asked):
            asked.append(i)
            return c[i]

        act = t.decide(get)
        assert act == _spec(*c), (c, act)
        # laziness: a spent trial never reads the image; a pending update never verifies the
        # confirmed slot; the other slot is read only when the confirmed one is damaged
        if c[0] and c[1] == t.SPENT:
            assert 2 not in asked
        if c[0]:
            assert 3 not in asked and 4 not in asked
        if 4 in asked:
            assert c[3] == 0
        # safety: a trial only for a verified, non-spent, non-downgrade image
        if act == t.RUN_TRIAL:
            assert c[0] == 1 and c[2] == t.OK and c[1] != t.SPENT
        n += 1
    assert n == 2 * 3 * 3 * 2 * 2


def test_every_row_is_reachable():
    used = set(t.decide(lambda i, c=c: c[i]) for c in _combos())
    assert used == set(a for _, a in t.TABLE)


class Board:
    # a chip with two app slots and a boot record; Boot objects are made per "power-on"
    def __init__(self, trials=2, verify_active=True):
        self.flash = Flash(10 * SECTOR, None, TABLE)
        self.parts = (self.flash.partition("app_a"), self.flash.partition("app_b"))
        self.trials = trials
        self.verify_active = verify_active

    def boot(self):
        st = RecordStore(self.flash.partition("bootctl"))
        return Boot(st, self.parts, KEYS, fakeimage, None, self.trials, self.verify_active)

    def put(self, slot, image):
        p = self.parts[slot]
        for s in range(p.size // SECTOR):
            p.erase(s)
        p.write(0, image)

    def damage(self, slot, off=40):
        self.parts[slot].write(off, b"\x00")


def _img(v, body=b"app" * 100, sec=0, key=b"k1"):
    return fakeimage.make(body, v, key, sec)


def test_fresh_board_boots_slot_a():
    b = Board()
    b.put(0, _img((1, 0, 0, 0)))
    sel = b.boot().power_on()
    assert sel.slot == 0 and not sel.trial and sel.verified and sel.info.version[0] == 1
    assert b.flash.ops == 5  # the put only: a confirmed boot writes nothing
    assert b.boot().last_update_outcome() is None


def test_update_trial_confirm_success():
    b = Board()
    b.put(0, _img((1, 0, 0, 0)))
    b.put(1, _img((1, 1, 0, 0), sec=3))
    bt = b.boot()
    tag = bt.activate(1, fakeimage.parse_header(_img((1, 1, 0, 0))))
    assert bt.last_update_outcome() is None
    sel = b.boot().power_on()
    assert sel.slot == 1 and sel.trial and b.boot().running() == (1, True)
    assert b.boot().last_update_outcome() is None  # still updating, nothing to report
    assert b.boot().confirm()
    assert not b.boot().confirm()  # idempotent, no write
    assert b.boot().last_update_outcome() == (1, REASON_CONFIRMED, tag, (1, 1, 0, 0))
    assert b.boot().record().min_sec == 3 and b.boot().record().active == 1
    sel = b.boot().power_on()
    assert sel.slot == 1 and not sel.trial
    b.boot().acknowledge(tag)
    assert b.boot().last_update_outcome() is None


def test_reset_during_trial_rolls_back_after_budget():
    b = Board(trials=3)
    b.put(0, _img((1, 0, 0, 0)))
    b.put(1, _img((2, 0, 0, 0)))
    tag = b.boot().activate(1)
    for i in range(3):  # three boots, none confirms (crash, watchdog, no registration)
        sel = b.boot().power_on()
        assert sel.slot == 1 and sel.trial and b.boot().record().trials == i + 1
    sel = b.boot().power_on()
    assert sel.slot == 0 and not sel.trial and sel.verified
    res, why, tg, ver = b.boot().last_update_outcome()
    assert (res, why, tg, ver) == (8, REASON_TRIALS, tag, (2, 0, 0, 0))
    assert not b.boot().confirm()  # a late confirm from the old image changes nothing
    assert b.boot().power_on().slot == 0


def test_pending_damaged_after_activate_is_integrity_failure():
    b = Board()
    b.put(0, _img((1, 0, 0, 0)))
    b.put(1, _img((2, 0, 0, 0)))
    b.boot().activate(1)
    b.damage(1)
    sel = b.boot().power_on()
    assert sel.slot == 0 and sel.verified
    assert b.boot().last_update_outcome()[:2] == (5, REASON_VERIFY)


def test_downgrade_refused_unless_allowed():
    b = Board()
    b.put(0, _img((2, 0, 0, 0)))
    b.put(1, _img((1, 9, 0, 0)))
    b.boot().activate(1)
    assert b.boot().power_on().slot == 0
    assert b.boot().last_update_outcome()[:2] == (8, REASON_DOWNGRADE)
    b.boot().activate(1, None, allow_downgrade=True)
    assert b.boot().record().flags == FLAG_ALLOW_DOWNGRADE
    assert b.boot().power_on().slot == 1


def test_security_counter_is_a_hard_floor():
    b = Board()
    b.put(0, _img((1, 0, 0, 0), sec=5))
    b.put(1, _img((1, 1, 0, 0), sec=5))
    b.boot().activate(1)
    b.boot().power_on()
    b.boot().confirm()  # min_sec is now 5
    b.put(0, _img((3, 0, 0, 0), sec=4))
    b.boot().activate(0, None, allow_downgrade=True)
    assert b.boot().power_on().slot == 1
    assert b.boot().last_update_outcome()[:2] == (8, REASON_DOWNGRADE)


def test_activate_and_release_refused_during_trial():
    b = Board()
    b.put(0, _img((1, 0, 0, 0)))
    b.put(1, _img((2, 0, 0, 0)))
    b.boot().activate(1)
    b.boot().power_on()
    assert raises(FotaError, b.boot().activate, 0).result == 8
    assert raises(FotaError, b.boot().release, 0).result == 2  # the fallback
    assert raises(FotaError, b.boot().release, 1).result == 2  # running
    b.boot().confirm()
    assert raises(FotaError, b.boot().activate, 1).result == 8  # running now
    b.boot().release(0)  # the old slot is free again


def test_release_drops_a_waiting_activation():
    b = Board()
    b.put(0, _img((1, 0, 0, 0)))
    b.put(1, _img((2, 0, 0, 0)))
    b.boot().activate(1)
    b.boot().release(1)
    assert b.boot().record().pending == NO_SLOT
    assert b.boot().power_on().slot == 0


def test_damaged_active_switches_to_verified_other():
    b = Board()
    b.put(0, _img((1, 0, 0, 0)))
    b.put(1, _img((1, 1, 0, 0)))
    b.damage(0)
    sel = b.boot().power_on()
    assert sel.slot == 1 and sel.verified and b.boot().record().event == EVENT_SWITCHED
    assert b.boot().record().active == 1


def test_nothing_verifies_boots_confirmed_slot():
    b = Board()
    sel = b.boot().power_on()  # empty chip: no images at all
    assert sel.slot == 0 and not sel.verified and sel.action == t.RUN_UNVERIFIED
    assert b.boot().record().event == EVENT_UNVERIFIED
    ops = b.flash.ops
    b.boot().power_on()
    assert b.flash.ops == ops  # the event is recorded once, not at every boot


def test_wrong_key_pending_rejected():
    b = Board()
    b.put(0, _img((1, 0, 0, 0)))
    b.put(1, _img((2, 0, 0, 0), key=b"other"))
    b.boot().activate(1)
    assert b.boot().power_on().slot == 0
    assert b.boot().last_update_outcome()[0] == 5


def _state_matrix():
    # (pending image, trials, active image, other image, allow-downgrade flag)
    images = ("ok", "damaged", "older", "seclow", "empty")
    for pend in (None, "ok", "damaged", "older", "seclow"):
        for trials in (0, 1, 2, 3):
            for act in ("ok", "damaged", "empty"):
                for other in images:
                    for allow in (0, 1):
                        if pend is not None and other != "ok":
                            continue  # pending occupies the other slot
                        if pend is None and (trials or allow):
                            continue
                        yield pend, trials, act, other, allow


def _make(kind, v):
    if kind == "empty":
        return None
    img = _img(v if kind != "older" else (0, 5, 0, 0), sec=1 if kind == "seclow" else 7)
    return img


def test_power_on_over_all_record_and_image_states():
    n = 0
    for pend, trials, act, other, allow in _state_matrix():
        b = Board(trials=2)
        for slot, kind in ((0, act), (1, pend or other)):
            img = _make(kind, (1, slot, 0, 0))
            if img is not None:
                b.put(slot, img)
                if kind == "damaged":
                    b.damage(slot)
        st = RecordStore(b.flash.partition("bootctl"))
        rec = st.load()
        rec.min_sec = 5
        if pend is not None:
            rec.pending, rec.trials, rec.flags = 1, trials, allow
            rec.pver = pack_version((1, 1, 0, 0))
        st.save(rec)
        sel = b.boot().power_on()
        after = b.boot().record()
        good = [s for s in (0, 1) if _verifies(b, s)]
        # 1. a verified slot runs whenever one exists
        assert sel.verified == bool(good) and (not good or sel.slot in good), (pend, act, other)
        # 2. a trial runs only an acceptable pending image within budget, and is counted
        if sel.trial:
            # (with no header in the confirmed slot there is no version floor to compare with)
            assert pend == "ok" or (pend == "older" and (allow or act == "empty"))
            assert trials < 2 and after.trials == trials + 1 and sel.slot == after.pending
        # 3. the record never keeps a pending slot that will not be tried
        if pend is not None and not sel.trial:
            assert after.pending == NO_SLOT and after.outcome in (5, 8)
            want = 8 if trials >= 2 or pend in ("older", "seclow") else 5
            if pend == "older" and (allow or act == "empty") and trials < 2:
                want = None
            assert want is None or after.outcome == want, (pend, trials, allow, after.outcome)
        # 4. the running() view agrees with what power_on chose
        assert b.boot().running() == (sel.slot, sel.trial)
        n += 1
    assert n > 100


def _verifies(b, slot):
    try:
        fakeimage.verify(b.parts[slot].read, KEYS, SLOT)
        return True
    except FotaError:
        return False

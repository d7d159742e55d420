# Power-cut simulation in the style of MCUboot's simulator: run an update once counting flash
# operations, then replay it cutting power at every operation (and at random ones while the
# slot is written), boot afresh after each cut and check what runs and what will be reported.
# Plain Python: test_powercut.py runs it on CPython and, as a subprocess, on the MicroPython
# unix port: micropython tests/host/pcsim.py DIR (DIR holds key.raw, old.bin, v1.bin, v2.bin).
# SPDX-License-Identifier: MIT
import os
import sys

from fota.boot import Boot
from fota.boot.record import RecordStore
from fota.const import NO_SLOT, REASON_CONFIRMED, REASON_TRIALS
from fota.image import verify
from fota.slots.ab import ABWriter
from port.flash import SECTOR, Flash, PowerCut

SLOT = 0x20000
TABLE = (("bootctl", 0, 2 * SECTOR), ("app_a", 0x10000, SLOT), ("app_b", 0x30000, SLOT))
CHIP = 0x50000
CHUNK = 1024  # a CoAP block
TRIALS = 2


class Device:
    # One simulated board: the chip plus fresh Boot/ABWriter objects per power-on, the way a
    # new process after a reset builds them. path: keep the chip in a file and reopen it at
    # every power-on (what a restarted simulator process sees).
    def __init__(self, keys, flash, path=None):
        self.keys = keys
        self.flash = flash
        self.path = path

    def parts(self):
        return (self.flash.partition("app_a"), self.flash.partition("app_b"))

    def boot(self):
        st = RecordStore(self.flash.partition("bootctl"))
        return Boot(st, self.parts(), self.keys, trials=TRIALS)

    def power_on(self):
        if self.path:
            f = self.flash
            arm = f.cut_at, f.seed, f.tear, f.ops
            f.close()
            f = self.flash = Flash(CHIP, self.path, TABLE)
            f.cut_at, f.seed, f.tear, f.ops = arm
        self.flash.dead = False  # the board comes back; an armed cut stays armed
        return self.boot().power_on()


def factory(keys, v1, old, path=None, records=60):
    # slot A: v1 confirmed; slot B: an older image, as after earlier A/B rounds, so torn
    # writes mix new and stale sectors. `records` earlier boot-record saves put the log near
    # its sector switch, so the update's record writes also tear the erase of the other copy.
    if path:
        try:
            os.remove(path)  # a factory-fresh chip, not the last run's
        except OSError:
            pass
    f = Flash(CHIP, path, TABLE)
    for label, img in (("app_a", v1), ("app_b", old)):
        p = f.partition(label)
        for s in range((len(img) + SECTOR - 1) // SECTOR):
            p.erase(s)
        p.write(0, img)
    st = RecordStore(f.partition("bootctl"))
    rec = st.load()
    for _ in range(records):
        st.save(rec)
    f.clear_erase_counts()  # count only what the update does
    f.power_on()
    return Device(keys, f, path)


def update(dev, image, confirm=True):
    # the device's life through one update: download into the free slot, verify, activate,
    # reset, trial boot, confirm after "registration" (or never), more resets
    w = ABWriter(dev.boot(), dev.keys)
    w.open(len(image))
    for off in range(0, len(image), CHUNK):
        w.write(off, image[off : off + CHUNK])
    w.finish()
    w.activate()
    for _ in range(TRIALS + 1):
        sel = dev.power_on()
        if sel.trial and confirm:
            dev.boot().confirm()
    return dev.power_on()


def run(dev, plan):
    # plan: ((image, confirm), ...) applied one after the other
    sel = None
    for image, confirm in plan:
        sel = update(dev, image, confirm)
    return sel


def observe(dev, sel):
    # What a cut may change: which image runs and how, the record, the outcome to report.
    # Checks the invariants that hold after any boot on the way.
    rec = dev.boot().record()
    out = dev.boot().last_update_outcome()
    if not sel.verified:
        raise AssertionError("booted an unverified slot")
    ver = verify(dev.parts()[sel.slot].read, dev.keys, SLOT).version  # independent re-check
    if sel.trial:
        if rec.pending != sel.slot or not 1 <= rec.trials <= TRIALS or out is not None:
            raise AssertionError("trial without a consistent record")
    elif rec.pending != NO_SLOT or rec.active != sel.slot:
        raise AssertionError("running slot is not the confirmed one")
    if out is not None:
        if out[0] == 1 and (out[1] != REASON_CONFIRMED or out[3][:3] != ver[:3]):
            raise AssertionError("success reported for another version")
        if out[0] == 8 and (out[1] != REASON_TRIALS or out[3][:3] == ver[:3]):
            raise AssertionError("failure reported for the running version")
        if out[0] not in (1, 8):
            raise AssertionError("outcome %r" % (out,))
    return (sel.slot, ver[:3], sel.trial, rec.trials, rec.active, out and out[:2])


def finish_life(dev, sel, plan):
    # From boot `sel` the device goes on living: trials confirm (or keep failing), and the
    # server retries what has not landed. The end state is fixed by the plan.
    versions = [parse_version(img)[:3] for img, _ in plan]
    confirm = plan[-1][1]
    while sel.trial:
        if confirm:
            dev.boot().confirm()
        sel = dev.power_on()
    ver = verify(dev.parts()[sel.slot].read, dev.keys, SLOT).version[:3]
    out = dev.boot().last_update_outcome()
    if confirm:
        todo = plan[versions.index(ver) + 1 :] if ver in versions else plan
        if todo:
            sel = run(dev, todo)
    elif out is None:  # the activation never became durable: the server tries again
        sel = run(dev, plan)
    out = dev.boot().last_update_outcome()
    ver = verify(dev.parts()[sel.slot].read, dev.keys, SLOT).version[:3]
    want = (versions[-1], 1) if confirm else (parse_version(dev.v1)[:3], 8)
    if out is None or (ver, out[0]) != want or out[3][:3] != versions[-1] or sel.trial:
        raise AssertionError("end state %r %r" % (ver, out))


def replay(keys, imgs, plan, cuts=None, seeds=None, path=None, double=False):
    # Count the operations of one uncut run, then cut at each of `cuts` (default: all).
    # Each cut must leave a state equal to stopping cleanly just before or just after the
    # torn operation (old or new, nothing in between), then the life must end as planned.
    # Returns (cut points tried, ops of the uncut run, erase counts of the uncut run).
    old, v1 = imgs[0], imgs[1]
    dev = factory(keys, v1, old)
    sel = run(dev, plan)
    total = dev.flash.ops
    erases = dev.flash.erase_counts()
    dev.v1 = v1
    finish_life(dev, sel, plan)
    clean = {}

    def stopped(n, seed=0, torn=False):
        # run until op n (torn, or cleanly not started), then boot; -> (device, Selection).
        # Only the torn runs use the file: it is one file, and a clean run must not reset it.
        dev = factory(keys, v1, old, path if torn else None)
        dev.v1 = v1
        dev.flash.arm(n, seed, torn)
        try:
            run(dev, plan)
        except PowerCut:
            pass
        if double and torn:  # and cut again during the boot that follows, at its first write
            dev.flash.arm(dev.flash.ops, seed + 1)
            try:
                dev.power_on()
            except PowerCut:
                pass
        dev.flash.cut_at = -1
        return dev, dev.power_on()

    def state(n):
        if n not in clean:
            d, s = stopped(n)
            clean[n] = observe(d, s)
        return clean[n]

    order = [parse_version(v1)[:3]] + [parse_version(img)[:3] for img, _ in plan]

    def rank(st):
        # progress along the plan: confirmed version i -> 2i, its trial -> 2i-1; a rollback
        # of version i -> 2i too (the end of that attempt). A run never goes back.
        slot, ver, trial, trials, active, out = st
        i = order.index(ver)
        if out is not None and out[0] == 8:
            return 2 * order.index(order[i + 1])
        return 2 * i - 1 if trial else 2 * i

    tried = 0
    for i, n in enumerate(cuts if cuts is not None else range(total)):
        seed = seeds[i] if seeds else n
        dev, sel = stopped(n, seed, True)
        try:
            got = observe(dev, sel)
            if got != state(n) and got != state(n + 1):
                raise AssertionError("state %r is neither %r nor %r" % (got, state(n), state(n + 1)))
            if rank(state(n)) > rank(state(n + 1)):
                raise AssertionError("progress lost between ops: %r then %r" % (state(n), state(n + 1)))
            finish_life(dev, sel, plan)
        except AssertionError as e:
            raise AssertionError("cut at op %d (seed %d): %s" % (n, seed, e))
        tried += 1
        if path:
            dev.flash.close()
    return tried, total, erases


def write_ops(keys, imgs, image):
    # operations the first download itself makes (open .. finish): the random-cut window
    dev = factory(keys, imgs[1], imgs[0])
    ops = dev.flash.ops
    w = ABWriter(dev.boot(), dev.keys)
    w.open(len(image))
    for off in range(0, len(image), CHUNK):
        w.write(off, image[off : off + CHUNK])
    w.finish()
    return ops, dev.flash.ops


def parse_version(img):
    from fota.image import parse_header

    return parse_header(memoryview(img)[:32]).version


def main(d):
    # MicroPython entry: every cut point of the confirm and the rollback scenario
    from fota.crypto.keys import load_key

    def rd(name):
        with open(d + "/" + name, "rb") as f:
            return f.read()

    keys = [load_key(rd("key.raw"))]
    imgs = (rd("old.bin"), rd("v1.bin"), rd("v2.bin"), rd("v3.bin"))
    # one update each way (confirmed, never confirmed); the host run adds the second update
    a = replay(keys, imgs, ((imgs[2], True),))
    b = replay(keys, imgs, ((imgs[2], False),))
    print("powercut: %d cut points (update of %d ops), %d rollback cut points, all consistent"
          % (a[0], a[1], b[0]))


if __name__ == "__main__":
    main(sys.argv[1])

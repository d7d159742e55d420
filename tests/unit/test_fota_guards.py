# Guards found in review of fota/ and port.flash: a boot whose record write fails still
# runs the confirmed slot, the pass-through writer refuses a bad header before any erase, the
# app filesystem device never pretends to erase.
# SPDX-License-Identifier: MIT
import fakeimage
from fota.boot import Boot
from fota.boot import table as t
from fota.boot.appfs import SlotDevice
from fota.boot.record import RecordStore
from fota.const import FotaError
from fota.slots.passthrough import PassthroughWriter
from port.flash import SECTOR, Flash
from support import raises

SLOT = 4 * SECTOR
TABLE = (("bootctl", 0, 2 * SECTOR), ("app_a", 2 * SECTOR, SLOT), ("app_b", 6 * SECTOR, SLOT))
KEYS = (b"k1",)


class _BrokenWrites:
    # a partition whose programs and erases fail, as a worn or faulty flash would
    def __init__(self, part):
        self.part = part
        self.size = part.size

    def read(self, off, mv):
        self.part.read(off, mv)

    def write(self, off, buf):
        raise OSError(5)

    def erase(self, sector):
        raise OSError(5)


def _board(v_b=None):
    f = Flash(10 * SECTOR, None, TABLE)
    parts = (f.partition("app_a"), f.partition("app_b"))
    parts[0].write(0, fakeimage.make(b"one", (1, 0, 0, 0)))
    if v_b:
        parts[1].write(0, fakeimage.make(b"two", v_b))
    return f, parts


def test_record_write_failure_still_boots_the_confirmed_slot():
    f, parts = _board((2, 0, 0, 0))
    good = Boot(RecordStore(f.partition("bootctl")), parts, KEYS, fakeimage)
    good.activate(1)  # v2 pending: the next power-on must write a trial count
    bad = Boot(RecordStore(_BrokenWrites(f.partition("bootctl"))), parts, KEYS, fakeimage)
    raises(OSError, bad.power_on)
    sel = bad.fallback()
    assert (sel.slot, sel.trial, sel.verified, sel.action) == (0, False, True, t.RUN_ACTIVE)
    assert sel.info.version == (1, 0, 0, 0) and bad.selected is sel
    assert good.record().pending == 1 and good.record().trials == 0  # nothing was written


def test_fallback_prefers_a_verified_slot_and_never_writes():
    f, parts = _board((2, 0, 0, 0))
    parts[0].erase(0)  # the confirmed slot is gone
    ops = f.ops
    b = Boot(RecordStore(_BrokenWrites(f.partition("bootctl"))), parts, KEYS, fakeimage)
    sel = b.fallback()
    assert (sel.slot, sel.verified) == (1, True) and f.ops == ops
    parts[1].erase(0)
    sel = b.fallback()
    assert (sel.slot, sel.verified, sel.info) == (0, False, None)
    assert sel.action == t.RUN_UNVERIFIED


def test_passthrough_refuses_bad_header_before_any_erase():
    f = Flash(10 * SECTOR, None, TABLE)
    stage = f.partition("app_b")
    w = PassthroughWriter(stage, KEYS, lambda read, info: None, image=fakeimage)
    w.open(None)
    ops = f.ops
    junk = bytes(range(256)) * 16
    assert raises(FotaError, w.write, 0, junk).result == 6  # not an image
    big = fakeimage.make(bytes(SLOT), (2, 0, 0, 0))  # its header says: does not fit
    w.open(None)
    assert raises(FotaError, w.write, 0, big[:SECTOR]).result == 2
    assert f.ops == ops  # nothing erased, nothing programmed


def test_app_device_refuses_writes_and_erases():
    f = Flash(10 * SECTOR, None, TABLE)
    dev = SlotDevice(f.partition("app_a"), SECTOR, 2 * SECTOR)
    assert dev.ioctl(4, 0) == 2 and dev.ioctl(5, 0) == 4096
    assert dev.ioctl(6, 0) != 0  # erase: an error, never "done"
    raises(OSError, dev.writeblocks, 0, bytearray(16))
    buf = bytearray(8)
    dev.readblocks(1, buf, 4)  # block 1 of the payload = partition offset 0x1000 + 0x1000
    assert bytes(buf) == b"\xff" * 8


def test_confirm_refused_when_this_boot_does_not_run_the_trial():
    f, parts = _board((2, 0, 0, 0))
    st = RecordStore(f.partition("bootctl"))
    Boot(st, parts, KEYS, fakeimage).activate(1)
    assert Boot(st, parts, KEYS, fakeimage).power_on().trial  # trial 1 counted on flash
    b = Boot(st, parts, KEYS, fakeimage)
    b.fallback()  # this power-on ran the confirmed slot 0 (its record write had failed)
    assert not b.confirm() and b.record().pending == 1  # slot 1 proved nothing
    b = Boot(st, parts, KEYS, fakeimage)
    assert b.power_on().trial and b.confirm()  # the trial itself may confirm
    assert b.last_update_outcome()[0] == 1

# fota.slots: A/B writer, pass-through writer and ESP32 OTA writer (against a stand-in esp32
# module backed by the host flash model).
# SPDX-License-Identifier: MIT
import fakeimage
from fota.boot import Boot
from fota.boot.record import RecordStore
from fota.const import FotaError
from fota.slots import CHUNK, SectorStream, SlotWriter
from fota.slots.ab import ABWriter
from fota.slots.esp32_ota import Esp32OtaWriter
from fota.slots.passthrough import PassthroughWriter
from port.flash import SECTOR, Flash, Partition
from support import raises

SLOT = 6 * SECTOR
TABLE = (
    ("bootctl", 0, 2 * SECTOR), ("app_a", 2 * SECTOR, SLOT), ("app_b", 8 * SECTOR, SLOT),
    ("stage", 14 * SECTOR, SLOT),
)
KEYS = (b"k1",)
BODY = bytes((i * 31 + 7) & 0xFF for i in range(3 * SECTOR + 123))


def _board():
    f = Flash(20 * SECTOR, None, TABLE)
    parts = (f.partition("app_a"), f.partition("app_b"))
    parts[0].write(0, fakeimage.make(b"old", (1, 0, 0, 0)))
    boot = Boot(RecordStore(f.partition("bootctl")), parts, KEYS, fakeimage)
    return f, boot


def _feed(w, img, chunk=1000, start=0):
    for off in range(start, len(img), chunk):
        w.write(off, img[off : off + chunk])


def test_interface_is_abstract():
    w = SlotWriter()
    for name in ("finish", "activate", "confirm", "abort", "current_version", "committed"):
        raises(NotImplementedError, getattr(w, name))
    raises(NotImplementedError, w.open, 1)
    raises(NotImplementedError, w.write, 0, b"")


def test_ab_full_update():
    f, boot = _board()
    w = ABWriter(boot, KEYS, fakeimage)
    assert w.current_version() == (1, 0, 0, 0)
    img = fakeimage.make(BODY, (1, 1, 0, 0))
    w.open(len(img))
    ops = f.ops
    _feed(w, img, 1000)
    assert w.committed() == 3 * SECTOR  # the tail waits in the buffer until finish
    info = w.finish()
    assert info.version == (1, 1, 0, 0) and w.committed() == len(img)
    # lazy erase: only the 4 sectors the image covers were erased, once each; programmed a
    # 1 KiB chunk at a time
    assert f.erase_counts()[8:14] == [1, 1, 1, 1, 0, 0] and f.ops - ops == 4 + (len(img) + CHUNK - 1) // CHUNK
    w.activate()
    assert boot.power_on().slot == 1
    assert ABWriter(boot, KEYS, fakeimage).confirm()
    assert boot.last_update_outcome()[0] == 1
    assert ABWriter(boot, KEYS, fakeimage).current_version() == (1, 1, 0, 0)


def test_ab_never_targets_the_slot_a_fallback_boot_runs():
    # the confirmed slot is damaged and power_on() cannot write its switch (a flash fault):
    # fallback() runs the other slot without a record of it. The writer must take the
    # damaged slot, never the one that runs (the only good image), whatever the record says
    f, boot = _board()
    parts = boot.slots
    parts[1].write(0, fakeimage.make(b"v2" * 50, (1, 1, 0, 0)))
    parts[0].write(40, b"\x00")  # app_a (confirmed) damaged
    save = boot.store.save

    def fault(rec):
        raise OSError(5)

    boot.store.save = fault
    raises(OSError, boot.power_on)
    sel = boot.fallback()
    boot.store.save = save
    assert sel.slot == 1 and sel.verified and boot._load().active == 0
    assert boot.running() == (1, False)
    w = ABWriter(boot, KEYS, fakeimage)
    w.open(None)
    assert w.slot == 0
    raises(FotaError, boot.release, 1)


def test_ab_size_checked_before_any_erase():
    f, boot = _board()
    w = ABWriter(boot, KEYS, fakeimage)
    ops = f.ops
    assert raises(FotaError, w.open, SLOT + 1).result == 2
    big = fakeimage.make(bytes(SLOT), (2, 0, 0, 0))  # header says: does not fit
    w.open(None)
    assert raises(FotaError, _feed, w, big, 4096).result == 2
    assert f.ops == ops  # nothing erased, nothing written


def test_ab_bad_header_refused_before_erase():
    f, boot = _board()
    w = ABWriter(boot, KEYS, fakeimage)
    w.open(None)
    ops = f.ops
    assert raises(FotaError, w.write, 0, b"\x00" * SECTOR).result == 6
    assert f.ops == ops


def test_ab_retransmit_gap_and_overflow():
    f, boot = _board()
    w = ABWriter(boot, KEYS, fakeimage)
    img = fakeimage.make(BODY, (1, 1, 0, 0))
    w.open(len(img))
    w.write(0, img[:1024])
    w.write(0, img[:1024])  # a retransmitted block: ignored
    w.write(512, img[512:2048])  # overlapping: only the new part is taken
    assert raises(FotaError, w.write, 4096, img[4096:5000]).result == 5  # gap
    _feed(w, img, 700, 2048)
    w.finish()
    assert raises(FotaError, w.write, SLOT - 10, bytes(20)).result == 5  # gap past the end


def test_ab_overflow_past_slot():
    f, boot = _board()
    w = ABWriter(boot, KEYS, fakeimage)
    w.open(None)
    data = fakeimage.make(b"x" * 10, (1, 2, 0, 0)) + bytes(SLOT)
    assert raises(FotaError, _feed, w, data, 4096).result == 2


def test_ab_tampered_and_truncated():
    f, boot = _board()
    img = bytearray(fakeimage.make(BODY, (1, 1, 0, 0)))
    img[100] ^= 1
    w = ABWriter(boot, KEYS, fakeimage)
    w.open(len(img))
    _feed(w, img)
    assert raises(FotaError, w.finish).result == 5
    assert raises(FotaError, w.activate).result == 5
    good = fakeimage.make(BODY, (1, 1, 0, 0))
    w.open(len(good))
    _feed(w, good[: 2 * SECTOR])
    assert raises(FotaError, w.finish).result == 5  # truncated


def test_ab_stale_longer_image_does_not_leak_in():
    f, boot = _board()
    w = ABWriter(boot, KEYS, fakeimage)
    long = fakeimage.make(BODY, (1, 1, 0, 0))
    w.open(len(long))
    _feed(w, long)
    w.finish()
    short = fakeimage.make(b"s" * 100, (1, 2, 0, 0))
    w.open(len(short))
    _feed(w, short)
    assert w.finish().img_size == 100


def test_ab_downgrade_and_component():
    f, boot = _board()
    old = fakeimage.make(BODY, (0, 9, 0, 0))
    w = ABWriter(boot, KEYS, fakeimage)
    w.open(len(old))
    _feed(w, old)
    assert raises(FotaError, w.finish).result == 6
    w = ABWriter(boot, KEYS, fakeimage, allow_downgrade=True)
    w.open(len(old))
    _feed(w, old)
    w.finish()
    w.activate()
    assert boot.power_on().slot == 1  # the boot honours the explicit permission
    w = ABWriter(boot, KEYS, fakeimage, component="app")
    raises(FotaError, w.open, 10)  # trial running: the fallback slot is not free


def test_the_running_images_security_counter_is_the_floor_from_its_first_boot():
    # a factory image with security counter 7, never "confirmed" (nothing to confirm): its
    # counter is the floor once it booted, so a newer version with counter 2 is refused
    f = Flash(20 * SECTOR, None, TABLE)
    parts = (f.partition("app_a"), f.partition("app_b"))
    parts[0].write(0, fakeimage.make(b"factory", (1, 0, 0, 0), sec=7))
    boot = Boot(RecordStore(f.partition("bootctl")), parts, KEYS, fakeimage)
    assert boot.power_on().slot == 0 and boot.record().min_sec == 7
    seq = boot.record().seq
    boot.power_on()
    assert boot.record().seq == seq  # a second boot writes no record for it
    w = ABWriter(boot, KEYS, fakeimage)
    img = fakeimage.make(BODY, (1, 1, 0, 0), sec=2)
    w.open(len(img))
    _feed(w, img)
    assert raises(FotaError, w.finish).result == 6


def test_ab_open_refused_during_trial_and_abort_drops_activation():
    f, boot = _board()
    img = fakeimage.make(BODY, (1, 1, 0, 0))
    w = ABWriter(boot, KEYS, fakeimage)
    w.open(len(img))
    _feed(w, img)
    w.finish()
    w.activate()
    w.abort()
    assert boot.power_on().slot == 0 and boot.last_update_outcome() is None
    w.open(len(img))
    _feed(w, img)
    w.finish()
    w.activate()
    boot.power_on()
    assert raises(FotaError, ABWriter(boot, KEYS, fakeimage).open, 100).result == 2
    boot.confirm()
    ABWriter(boot, KEYS, fakeimage).open(100)  # slot 0 is free again


def test_ab_resume_after_reset():
    f, boot = _board()
    img = fakeimage.make(BODY, (1, 1, 0, 0))
    w = ABWriter(boot, KEYS, fakeimage)
    w.open(len(img))
    _feed(w, img[: 2 * SECTOR + 500])
    at = w.committed()
    assert at == 2 * SECTOR
    w2 = ABWriter(boot, KEYS, fakeimage)  # a new process after a reset
    w2.open(len(img), at)
    _feed(w2, img, 999, at)
    assert w2.finish().version == (1, 1, 0, 0)
    assert raises(FotaError, w2.open, len(img), 100).result == 5  # not a sector boundary


def test_ab_resume_after_a_reset_inside_a_programmed_sector():
    # two chunks of the third sector were on flash when the power went: the resume point
    # stays at its start, and the resumed download erases that sector again before
    # programming it, so no chunk of the first attempt survives into the image
    f, boot = _board()
    img = fakeimage.make(BODY, (1, 1, 0, 0))
    w = ABWriter(boot, KEYS, fakeimage)
    w.open(len(img))
    _feed(w, img[: 2 * SECTOR + 2 * CHUNK + 100])
    assert w.committed() == 2 * SECTOR
    part = boot.slots[1]
    got = bytearray(2 * CHUNK)
    part.read(2 * SECTOR, memoryview(got))
    assert bytes(got) == img[2 * SECTOR : 2 * SECTOR + 2 * CHUNK]  # programmed, not committed
    f.power_on()
    w2 = ABWriter(boot, KEYS, fakeimage)
    w2.open(len(img), w.committed())
    _feed(w2, img, 999, 2 * SECTOR)
    assert w2.finish().version == (1, 1, 0, 0)
    assert f.erase_counts()[8:12] == [1, 1, 2, 1]
    whole = bytearray(len(img))
    part.read(0, memoryview(whole))
    assert bytes(whole) == img


def test_sector_stream_carries_tails():
    f = Flash(2 * SECTOR, None, (("p", 0, 2 * SECTOR),))
    st = SectorStream(bytearray(SECTOR))
    st.start(f.partition("p"), 2 * SECTOR)
    data = bytes(range(256)) * 20
    for i in range(0, len(data), 7):
        st.write(i, data[i : i + 7])
    st.flush()
    got = bytearray(len(data) + 1)
    f.partition("p").read(0, memoryview(got))
    assert bytes(got) == data + b"\xff"


def test_passthrough_hands_over_verified_payload():
    f, _ = _board()
    got = []

    def install(read, info):
        buf = bytearray(info.img_size)
        read(0, memoryview(buf))
        got.append(bytes(buf))

    w = PassthroughWriter(f.partition("stage"), KEYS, install, lambda: (3, 1, 0, 0),
                          image=fakeimage)
    img = fakeimage.make(BODY, (3, 2, 0, 0))
    w.open(len(img))
    _feed(w, img)
    w.finish()
    w.activate()
    assert got == [BODY] and w.current_version() == (3, 1, 0, 0) and not w.confirm()
    bad = bytearray(img)
    bad[-1] ^= 1
    w.open(len(bad))
    _feed(w, bad)
    assert raises(FotaError, w.finish).result == 5
    assert raises(FotaError, w.activate).result == 5 and len(got) == 1
    assert raises(FotaError, w.open, SLOT + 1).result == 2


class _FakeEsp32:
    # the esp32 module surface the OTA writer uses, over host flash partitions
    def __init__(self, rollback=True):
        f = Flash(20 * SECTOR, None, (("ota_0", 0, 8 * SECTOR), ("ota_1", 8 * SECTOR, 8 * SECTOR)))
        mod = self
        self.flash = f
        self.boot_label = self.running_label = "ota_0"
        self.confirmed = 0

        class P(Partition):
            RUNNING = 1

            def __init__(self, which):
                label = mod.running_label if which == 1 else which
                off, size = {"ota_0": (0, 8 * SECTOR), "ota_1": (8 * SECTOR, 8 * SECTOR)}[label]
                Partition.__init__(self, f, label, off, size)

            def get_next_update(self):
                return P("ota_1" if self.label == "ota_0" else "ota_0")

            def set_boot(self):
                mod.boot_label = self.label

            @staticmethod
            def mark_app_valid_cancel_rollback():
                if not rollback:
                    raise OSError(-261)
                mod.confirmed += 1

        self.Partition = P


def test_esp32_ota_writer_layout_and_flow():
    esp = _FakeEsp32()
    w = Esp32OtaWriter(KEYS, fakeimage, esp32=esp)
    assert w.current_version() is None  # factory runtime without our header
    img = fakeimage.make(BODY, (1, 29, 0, 0))
    w.open(len(img))
    _feed(w, img, 1000)
    info = w.finish()
    assert info.version == (1, 29, 0, 0) and esp.boot_label == "ota_0"
    # the payload starts the partition (where the ESP-IDF bootloader wants its 0xE9 image)
    head = bytearray(8)
    esp.Partition("ota_1").read(0, memoryview(head))
    assert bytes(head) == BODY[:8]
    assert w.activate() == "ota_1" and esp.boot_label == "ota_1"
    esp.running_label = "ota_1"  # the reset
    w2 = Esp32OtaWriter(KEYS, fakeimage, esp32=esp)
    assert w2.running_label() == "ota_1" and w2.current_version() == (1, 29, 0, 0)
    assert w2.confirm() and w2.rollback is True and esp.confirmed == 1


def test_esp32_ota_writer_refusals():
    esp = _FakeEsp32(rollback=False)
    w = Esp32OtaWriter(KEYS, fakeimage, esp32=esp)
    assert not w.confirm() and w.rollback is False  # OSError(-261): no bootloader rollback
    assert raises(FotaError, w.open, 9 * SECTOR + 1).result == 2
    w.open(None)
    big = fakeimage.make(bytes(8 * SECTOR), (2, 0, 0, 0))
    assert raises(FotaError, w.write, 0, big[:4096]).result == 2
    img = bytearray(fakeimage.make(BODY, (1, 29, 0, 0)))
    img[5] ^= 1  # header byte
    w.open(len(img))
    _feed(w, img)
    assert raises(FotaError, w.finish).result == 5
    assert raises(FotaError, w.activate).result == 5 and esp.boot_label == "ota_0"


def test_ab_unmet_dependency():
    f, boot = _board()
    img = fakeimage.make(BODY, (1, 1, 0, 3))  # the stand-in's way to say "needs 3.x"
    w = ABWriter(boot, KEYS, fakeimage, installed=lambda i: (2, 0, 0, 0))
    w.open(len(img))
    _feed(w, img)
    assert raises(FotaError, w.finish).result == 13
    w = ABWriter(boot, KEYS, fakeimage, installed=lambda i: (3, 0, 0, 0))
    w.open(len(img))
    _feed(w, img)
    w.finish()

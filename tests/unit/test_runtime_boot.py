# fota.boot.runtime + fota.slots.esp32_ota: the MicroPython runtime's trial, confirm and
# rollback on ESP32, against a stand-in esp32 module whose "bootloader" follows ESP-IDF's
# OTA states (set_boot -> NEW -> PENDING_VERIFY at first boot -> ABORTED and back to the old
# partition at the next unless marked valid), with and without rollback support.
# SPDX-License-Identifier: MIT
import fakeimage
from fota.boot.record import RecordStore
from fota.boot.runtime import RUN, ROLLED_BACK, TRIAL, RuntimeBoot
from fota.const import FotaError
from fota.slots.esp32_ota import Esp32OtaWriter
from port.flash import SECTOR, Flash, Partition
from support import raises

KEYS = (b"k1",)
BODY = bytes((i * 7 + 3) & 0xFF for i in range(2 * SECTOR + 77))
_AREA = {"ota_0": (0, 8 * SECTOR), "ota_1": (8 * SECTOR, 8 * SECTOR)}


class FakeEsp32:
    def __init__(self, rollback=True):
        f = Flash(20 * SECTOR, None, (("rtctl", 16 * SECTOR, 2 * SECTOR),))
        self.flash = f
        self.can_rollback = rollback
        self.boot_label = self.running_label = "ota_0"
        self.state = {"ota_0": "valid", "ota_1": "empty"}
        self.resets = 0
        mod = self

        class P(Partition):
            RUNNING = 1

            def __init__(self, which):
                label = mod.running_label if which == 1 else which
                off, size = _AREA[label]
                Partition.__init__(self, f, label, off, size)

            def get_next_update(self):
                return P("ota_1" if self.label == "ota_0" else "ota_0")

            def set_boot(self):
                mod.boot_label = self.label
                mod.state[self.label] = "new"

            @staticmethod
            def mark_app_valid_cancel_rollback():
                if not mod.can_rollback:
                    raise OSError(-261)
                mod.state[mod.running_label] = "valid"

        self.Partition = P

    def power_on(self):
        # the ESP-IDF bootloader's choice (with rollback: a NEW image boots once pending; a
        # pending one that was not marked valid is aborted and the other partition boots)
        lab = self.boot_label
        if self.can_rollback:
            if self.state[lab] == "new":
                self.state[lab] = "pending"
            elif self.state[lab] == "pending":
                self.state[lab] = "aborted"
                lab = self.boot_label = "ota_0" if lab == "ota_1" else "ota_1"
        self.running_label = lab

    def reset(self):
        self.resets += 1


def _boot(esp):
    # what boot.py builds at every power-on
    return RuntimeBoot(RecordStore(esp.flash.partition("rtctl")), esp, esp.reset)


def _updated(rollback):
    # ota_0 runs; a new runtime 1.29 is written to ota_1 and activated, then the board resets
    esp = FakeEsp32(rollback)
    assert _boot(esp).power_on() == RUN
    w = Esp32OtaWriter(KEYS, fakeimage, esp32=esp, boot=_boot(esp))
    img = fakeimage.make(BODY, (1, 29, 0, 0))
    w.open(len(img))
    for off in range(0, len(img), 1000):
        w.write(off, img[off : off + 1000])
    w.finish()
    assert w.activate() == "ota_1" and esp.boot_label == "ota_1"
    return esp


def test_confirm_with_bootloader_rollback():
    esp = _updated(True)
    esp.power_on()
    assert esp.running_label == "ota_1" and esp.state["ota_1"] == "pending"
    assert _boot(esp).power_on() == TRIAL
    w = Esp32OtaWriter(KEYS, fakeimage, esp32=esp, boot=_boot(esp))
    assert w.confirm() and w.rollback is True and esp.state["ota_1"] == "valid"
    assert _boot(esp).last_update_outcome()[:2] == (1, 1)
    for _ in range(4):
        esp.power_on()
        assert esp.running_label == "ota_1" and _boot(esp).power_on() == RUN
    assert not w.confirm() and esp.resets == 0


def test_bootloader_rollback_is_reported_as_8():
    esp = _updated(True)
    esp.power_on()
    assert _boot(esp).power_on() == TRIAL
    esp.power_on()  # reset before confirm: the bootloader goes back to ota_0
    b = _boot(esp)
    assert esp.running_label == "ota_0" and b.power_on() == RUN and b.rollback is True
    assert b.last_update_outcome()[:2] == (8, 2) and esp.resets == 0
    assert b.running() == (0, False)


def test_without_bootloader_rollback_the_trial_counter_rolls_back():
    esp = _updated(False)
    for i in range(3):  # fota.boot.TRIALS boots of the new runtime, none confirms
        esp.power_on()
        assert esp.running_label == "ota_1", i  # the bootloader never goes back by itself
        assert _boot(esp).power_on() == TRIAL
    esp.power_on()
    b = _boot(esp)
    assert b.power_on() == ROLLED_BACK and esp.resets == 1 and esp.boot_label == "ota_0"
    assert b.rollback is False and b.last_update_outcome()[:2] == (8, 2)
    esp.power_on()
    b = _boot(esp)
    assert esp.running_label == "ota_0" and b.power_on() == RUN and b.rollback is False
    assert b.last_update_outcome()[:2] == (8, 2) and esp.resets == 1


def test_without_bootloader_rollback_confirm_still_commits():
    esp = _updated(False)
    esp.power_on()
    assert _boot(esp).power_on() == TRIAL
    w = Esp32OtaWriter(KEYS, fakeimage, esp32=esp, boot=_boot(esp))
    assert w.confirm() and w.rollback is False  # ours committed; capability reported
    assert _boot(esp).last_update_outcome()[:2] == (1, 1)
    ops = esp.flash.ops
    for _ in range(5):  # past the budget: confirmed, so never rolled back, and no writes
        esp.power_on()
        assert esp.running_label == "ota_1" and _boot(esp).power_on() == RUN
    assert esp.resets == 0 and esp.flash.ops == ops


def test_confirm_cut_after_the_bootloader_heard_counts_one_more_trial():
    # confirm() tells the bootloader first; a power cut before our record is saved leaves a
    # trial that is counted again and can be confirmed again, never a silent old runtime
    esp = _updated(True)
    esp.power_on()
    b = _boot(esp)
    assert b.power_on() == TRIAL
    b.probe()  # the first half of confirm(), then the cut
    esp.power_on()
    assert esp.running_label == "ota_1" and _boot(esp).power_on() == TRIAL
    assert _boot(esp).confirm() and _boot(esp).last_update_outcome()[:2] == (1, 1)


def test_writer_refuses_a_new_runtime_while_one_is_on_trial():
    esp = _updated(False)
    esp.power_on()
    assert _boot(esp).power_on() == TRIAL
    w = Esp32OtaWriter(KEYS, fakeimage, esp32=esp, boot=_boot(esp))
    assert raises(FotaError, w.open, 100).result == 2
    assert raises(FotaError, _boot(esp).activate, 0).result == 8


def test_activation_cut_before_set_boot_is_reported_as_8():
    # the record says "ota_1 on trial" but the bootloader still boots ota_0
    esp = FakeEsp32(True)
    b = _boot(esp)
    assert b.power_on() == RUN
    from fota.boot import Boot

    Boot.activate(b, 1)  # record only, no set_boot
    esp.power_on()
    b = _boot(esp)
    assert esp.running_label == "ota_0" and b.power_on() == RUN
    assert b.last_update_outcome()[:2] == (8, 2)

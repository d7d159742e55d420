# Power-on glue for boot.py: find the board's flash partitions and trusted keys, run the boot
# decision, mount the chosen application slot. Nothing here may raise out of boot.py.
# SPDX-License-Identifier: MIT
#
# Partitions (partitions.csv / port.flash.DEFAULT_TABLE): bootctl (two sectors of boot
# record), app_a and app_b. Trusted keys: the module written by `updraft keygen --trusted
# lib/trusted_keys.py` (imported by name, so a board can freeze it). On the host the chip is
# <state dir>/flash.bin, persisted across simulated resets.
import sys

from fota.boot import Boot
from fota.boot.record import RecordStore

KEYS_MODULE = "trusted_keys"
APP_MOUNT = "/app"
selected = None  # the Selection of this boot, for main.py


def partitions():
    # -> (bootctl, (app_a, app_b)) for this board
    if sys.platform == "esp32":
        from port.esp32_flash import find

        return find("bootctl"), (find("app_a"), find("app_b"))
    from port.board import state_dir
    from port.flash import Flash

    f = Flash(path=state_dir() + "/flash.bin")
    return f.partition("bootctl"), (f.partition("app_a"), f.partition("app_b"))


def trusted_keys(name=KEYS_MODULE):
    from fota.crypto.keys import from_module

    return from_module(__import__(name))


def make_boot(keys=None):
    bootctl, slots = partitions()
    return Boot(RecordStore(bootctl), slots, keys if keys is not None else trusted_keys())


def run(keys=None):
    # The whole of boot.py's work; returns the Selection. Raises on a broken board setup
    # (boot.py catches that and carries on from the filesystem).
    global selected
    selected = make_boot(keys).power_on()
    if selected.verified and sys.implementation.name == "micropython" and sys.platform != "linux":
        mount(selected)
    return selected


class SlotDevice:
    # Read-only block device over the payload of an app slot (after the MCUboot header, which
    # imgtool --header-size 0x1000 makes a whole sector), for vfs.VfsLfs2.
    def __init__(self, part, start, size):
        self.part = part
        self.start = start
        self.blocks = size // 4096

    def readblocks(self, block, buf, off=0):
        self.part.read(self.start + block * 4096 + off, buf)

    def writeblocks(self, block, buf, off=None):
        raise OSError(30)  # EROFS: a slot only changes through a verified update

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return 4096
        return 0


def mount(sel):
    # Mount the selected slot's LittleFS payload at /app, first on sys.path.
    import vfs

    info = sel.info
    dev = SlotDevice(sel.part, info.hdr_size, info.img_size)
    vfs.mount(vfs.VfsLfs2(dev, readonly=True), APP_MOUNT, readonly=True)
    sys.path.insert(0, APP_MOUNT)

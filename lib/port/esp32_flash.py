# ESP32 flash backend: the port.flash Partition surface on top of esp32.Partition.
# SPDX-License-Identifier: MIT
#
# esp32.Partition (docs/library/esp32.rst) already is a block device over one partition of
# the SPI flash: readblocks(n, buf, off) / writeblocks(n, buf, off) in the extended form do no
# implicit erase, ioctl(6, n) erases one 4 KiB block, ioctl(4)/ioctl(5) give count and size.
# This wrapper only adds the byte helpers the slot writers and the boot record use. `esp32` is
# imported inside functions so the module imports (and is testable for syntax) on the host.
from port import const

SECTOR = const(4096)


def find(label):
    # The partition with this label (e.g. "bootctl", "app_a"), wrapped; OSError if missing.
    import esp32

    found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=label)
    if not found:
        found = esp32.Partition.find(esp32.Partition.TYPE_APP, label=label)
    if not found:
        raise OSError(2)  # ENOENT: the partition table has no such label
    return Partition(found[0])


class Partition:
    def __init__(self, part):
        self.part = part  # an esp32.Partition
        info = part.info()
        self.offset = info[2]
        self.size = info[3]
        self.label = info[4]

    def info(self):
        return self.part.info()

    def read(self, off, mv):
        if off < 0 or off + len(mv) > self.size:
            raise OSError(22)
        self.part.readblocks(off // SECTOR, mv, off % SECTOR)

    def write(self, off, buf):
        # Program without erase. The SPI flash ANDs silently; callers erase first (port.flash
        # on the host is strict about it, so the same code is proven there).
        if off < 0 or off + len(buf) > self.size:
            raise OSError(22)
        self.part.writeblocks(off // SECTOR, buf, off % SECTOR)

    def erase(self, sector):
        if sector < 0 or (sector + 1) * SECTOR > self.size:
            raise OSError(22)
        self.part.ioctl(6, sector)

    def readblocks(self, block, buf, off=0):
        self.part.readblocks(block, buf, off)

    def writeblocks(self, block, buf, off=None):
        if off is None:
            self.part.writeblocks(block, buf)
        else:
            self.part.writeblocks(block, buf, off)

    def ioctl(self, op, arg):
        return self.part.ioctl(op, arg)

# Host flash model: a NOR chip (4 KiB erase sectors, program only 1 -> 0) cut into named
# partitions, with an operation counter, power cut at operation N and per-sector erase counts.
# SPDX-License-Identifier: MIT
#
# Partition objects speak the esp32.Partition block-device protocol (readblocks, writeblocks,
# ioctl) plus the byte helpers read(off, mv) / write(off, buf) / erase(sector) that the slot
# writers use; port/esp32_flash.py offers the same surface on a board. Only programs and
# erases count as operations (reads change nothing a power cut could tear). When power is cut
# the torn operation is partially applied the way a NOR chip can leave it, PowerCut is raised,
# and every later access raises PowerCut too until power_on(): a dead board does nothing more.
#
# Tearing and reading the erase counts live in port.flash_faults, imported only when an armed
# cut fires or a test asks for the counts: this is the device's flash driver on the unix port,
# and on MicroPython every name a loaded module holds is a qstr for good (the update path's
# count decides whether another ~8 KB qstr pool is allocated), so it holds only what a device
# does.
#
# One store behind the chip logic: a file (the host board's flash.bin) or, with path None, an
# io.BytesIO in RAM (unit tests, power-cut replays), read and written at offsets through one
# page-sized scratch buffer, so a simulated board's heap holds no copy of its chip (a RAM chip
# costs its whole size, which would make every heap figure of a firmware update meaningless).
# The store is the chip's bytes followed by one 4-byte little-endian erase count per sector;
# a file is open unbuffered, so every operation is in the kernel (a write(2)) before it
# returns and a killed process loses nothing. No fsync: that only guards against the host OS
# crashing, and on MicroPython (where flush() is fsync) it cost 0.2 ms per operation, 40 % of
# a 1 MiB update.
import os
from io import BytesIO

from port import const

SECTOR = const(4096)
_PAGE = const(256)  # NOR programs page by page; a cut tears at most the page in flight

# (label, offset, size): a small host table shaped like the ESP32 OTA layout (control data in
# the first sectors, application slots on 64 KiB boundaries).
DEFAULT_TABLE = (
    ("bootctl", 0x0000, 0x2000),  # boot-control record, two sectors (like ESP-IDF otadata)
    ("journal", 0x2000, 0x2000),  # FU journal, two sectors
    ("nvs", 0x4000, 0xC000),  # small config store, free for others
    ("app_a", 0x10000, 0x40000),
    ("app_b", 0x50000, 0x40000),
)


_FF = b"\xff" * _PAGE  # one erased page: erases and "is it blank" checks go page by page


class PowerCut(BaseException):
    # BaseException so `except Exception` in device code cannot swallow the board dying.
    pass


class FlashError(OSError):
    # A program that needs a 0 bit to become 1, an unaligned erase, or an access out of range:
    # the caller is wrong (real chips silently AND; the model refuses so such bugs surface).
    pass


class Flash:
    # size: bytes (multiple of SECTOR). path: None keeps the chip in RAM; a file keeps it
    # there instead (contents and erase counts persist across processes; a file of another
    # geometry is replaced by an erased chip).
    def __init__(self, size=0x90000, path=None, table=DEFAULT_TABLE):
        if size % SECTOR:
            raise FlashError("size not a multiple of the sector size")
        for label, off, n in table:
            if off % SECTOR or n % SECTOR or off + n > size:
                raise FlashError("partition %s misaligned or outside the chip" % label)
        self.size = size
        self.table = table
        self.ops = 0  # programs + erases since this object was made (one power-on)
        self.cut_at = -1  # index of the operation that gets torn; -1: never (see arm())
        self.seed = 0
        self.tear = True
        self.dead = False
        self.path = path
        self._pg = bytearray(_PAGE)  # the scratch page of every check and torn operation
        # [_lo, _hi): bytes this object erased and has not programmed since (all 0xff), so a
        # program inside needs no read-back; one range, two ints (streamed sectors are
        # erased just before they are programmed, front to back)
        self._lo = self._hi = 0
        n = size + size // SECTOR * 4  # the store: chip, then the erase counts
        fresh = True
        if path:
            try:
                fresh = os.stat(path)[6] != n
            except OSError:
                pass
            if fresh:  # absent or another geometry: emptied here, made an erased chip below
                open(path, "wb").close()
            f = open(path, "r+b", buffering=0)  # raw: each write is a write(2), no flush
        else:
            f = BytesIO(bytes(n))
        if fresh:  # an erased chip, no erases yet
            for _ in range(size // _PAGE):
                f.write(_FF)
            f.write(bytes(n - size))
        self._f = f

    def close(self):
        # a file chip only: a RAM chip keeps its bytes (and works on) after close()
        if self.path and self._f:
            self._f.close()
            self._f = None

    def power_on(self):
        # a new boot: the chip works again and nothing is armed
        self.dead = False
        self.cut_at = -1
        self.ops = 0

    def arm(self, n, seed=0, tear=True):
        # die at operation number n (counted from 0 on this power-on): torn (partly applied,
        # pattern chosen by seed) or, with tear=False, cleanly before it starts
        self.cut_at = n
        self.seed = seed
        self.tear = tear

    def erase_counts(self):
        # erases per sector (the counts persist with a file chip); tests only: port.flash_faults
        from port import flash_faults

        return flash_faults.erase_counts(self)

    def clear_erase_counts(self):
        # a test's baseline: count only what follows
        from port import flash_faults

        flash_faults.clear_erase_counts(self)

    def partition(self, label):
        for name, off, size in self.table:
            if name == label:
                return Partition(self, name, off, size)
        raise FlashError("no partition " + label)

    # -- the store, at absolute addresses (port.flash_faults uses these too) --

    def _get(self, addr, mv):
        f = self._f
        f.seek(addr)
        if f.readinto(mv) != len(mv):
            raise FlashError("%s is shorter than the chip" % self.path)

    def _put(self, addr, buf):
        f = self._f
        f.seek(addr)
        if f.write(buf) != len(buf):
            raise FlashError("short write to %s" % self.path)

    # -- raw chip operations (absolute addresses); a dead board raises PowerCut at once --

    def read(self, addr, mv):
        if self.dead:
            raise PowerCut()
        if addr < 0 or addr + len(mv) > self.size:
            raise FlashError("read outside the chip")
        self._get(addr, mv)

    def program(self, addr, buf):
        if self.dead:
            raise PowerCut()
        n = len(buf)
        end = addr + n
        if addr < 0 or end > self.size:
            raise FlashError("program outside the chip")
        lo, hi = self._lo, self._hi
        if addr < lo or end > hi:
            # not all known erased: a 1 bit asked for where the chip already holds 0 cannot be
            # programmed; checked page by page against the current bytes (an erased page needs
            # no per-byte look)
            pg = self._pg
            mv = memoryview(pg)
            for i in range(0, n, _PAGE):
                k = min(_PAGE, n - i)
                self._get(addr + i, mv[:k] if k < _PAGE else mv)
                if k == _PAGE and pg == _FF:
                    continue
                for j in range(k):
                    if buf[i + j] & ~pg[j] & 0xFF:
                        raise FlashError("program over unerased bytes at 0x%x" % (addr + i + j))
        # these bytes are no longer known erased, whatever happens next (a cut included)
        if end > lo and addr < hi:
            if addr <= lo:
                self._lo = min(end, hi)
            else:
                self._hi = addr
        op = self.ops
        self.ops += 1
        if op == self.cut_at:  # power fails now: port.flash_faults tears it, raises PowerCut
            from port import flash_faults

            flash_faults.program(self, addr, buf)
        self._put(addr, buf)

    def erase(self, sector):
        if self.dead:
            raise PowerCut()
        addr = sector * SECTOR
        if sector < 0 or addr >= self.size:
            raise FlashError("erase outside the chip")
        op = self.ops
        self.ops += 1
        self._lo = self._hi = 0  # a torn erase leaves nothing known erased
        if op == self.cut_at:  # power fails now: port.flash_faults tears it, raises PowerCut
            from port import flash_faults

            flash_faults.erase(self, sector)
        # one sector of 0xff, page by page from one seek (no sector-sized buffer)
        f = self._f
        f.seek(addr)
        for _ in range(SECTOR // _PAGE):
            if f.write(_FF) != _PAGE:
                raise FlashError("short write to %s" % self.path)
        self._lo = addr
        self._hi = addr + SECTOR
        # count it: sector's 4 bytes after the chip (in the store, not in the heap: a host
        # artefact, not device RAM)
        addr = self.size + 4 * sector
        mv = memoryview(self._pg)[:4]
        self._get(addr, mv)
        self._put(addr, (int.from_bytes(mv, "little") + 1).to_bytes(4, "little"))


class Partition:
    # A named region; offsets are relative to its start. Same surface as port.esp32_flash.
    def __init__(self, flash, label, offset, size):
        self.flash = flash
        self.label = label
        self.offset = offset
        self.size = size

    def info(self):
        # esp32.Partition.info() shape: (type, subtype, addr, size, label, encrypted)
        return (0, 0, self.offset, self.size, self.label, False)

    def _check(self, off, n):
        if off < 0 or n < 0 or off + n > self.size:
            raise FlashError("0x%x+%d outside %s" % (off, n, self.label))

    def read(self, off, mv):
        self._check(off, len(mv))
        self.flash.read(self.offset + off, mv)

    def write(self, off, buf):
        # program only: the bytes must be erased (or only lose bits)
        self._check(off, len(buf))
        self.flash.program(self.offset + off, buf)

    def erase(self, sector):
        self._check(sector * SECTOR, SECTOR)
        self.flash.erase((self.offset // SECTOR) + sector)

    # -- block-device protocol, as esp32.Partition --

    def readblocks(self, block, buf, off=0):
        self.read(block * SECTOR + off, buf)

    def writeblocks(self, block, buf, off=None):
        # simple form (off None) erases the blocks first, extended form only programs
        if off is None:
            for i in range((len(buf) + SECTOR - 1) // SECTOR):
                self.erase(block + i)
            off = 0
        self.write(block * SECTOR + off, buf)

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return self.size // SECTOR
        if op == 5:  # block size
            return SECTOR
        if op == 6:  # erase block
            self.erase(arg)
            return 0
        return None if op in (1, 2, 3) else -1

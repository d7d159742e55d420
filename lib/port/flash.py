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
# Two stores behind the same chip logic: in RAM (path None: unit tests, power-cut replays) or
# a file (the host board's flash.bin), read and written at offsets through one page-sized
# scratch buffer, so a simulated board's heap holds no copy of its chip (a RAM chip costs its
# whole size, which would make every heap figure of a firmware update meaningless). The file
# is the chip's bytes followed by one 4-byte little-endian erase count per sector; it is open
# unbuffered, so every operation is in the kernel (a write(2)) before it returns and a killed
# process loses nothing. No fsync: that only guards against the host OS crashing, and on
# MicroPython (where flush() is fsync) it cost 0.2 ms per operation, 40 % of a 1 MiB update.
import os
from array import array

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


class _Rng:
    # xorshift32: deterministic tearing, identical on both runtimes
    def __init__(self, seed):
        self.s = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s


class Flash:
    # size: bytes (multiple of SECTOR). path: None keeps the chip in RAM; a file keeps it
    # there instead (contents and erase counts persist across processes; a file of another
    # geometry is replaced by an erased chip).
    def __init__(self, size=0x90000, path=None, table=DEFAULT_TABLE):
        if size % SECTOR:
            raise FlashError("size not a multiple of the sector size")
        for label, off, psize in table:
            if off % SECTOR or psize % SECTOR or off + psize > size:
                raise FlashError("partition %s misaligned or outside the chip" % label)
        self.size = size
        self.table = table
        self.ops = 0  # programs + erases since this object was made (one power-on)
        self.reads = 0
        self.cut_at = -1  # index of the operation that gets torn; -1: never
        self.seed = 0
        self.tear = True
        self.dead = False
        self.path = path
        n = self.sectors = size // SECTOR
        self._pg = bytearray(_PAGE)  # the scratch page of every check and torn operation
        self._f = None
        self._mem = None
        self._erases = None  # per-sector erase counts of a RAM chip; a file keeps its own
        # [_lo, _hi): bytes this object erased and has not programmed since (all 0xff), so a
        # program inside needs no read-back; one range, two ints (streamed sectors are
        # erased just before they are programmed, front to back)
        self._lo = self._hi = 0
        if path:
            self._open(path, n)
        else:
            self._erases = array("I", bytearray(4 * n))
            self._mem = bytearray(size)
            for a in range(0, size, _PAGE):
                self._mem[a : a + _PAGE] = _FF

    def _open(self, path, n):
        want = self.size + 4 * n
        try:
            fresh = os.stat(path)[6] != want
        except OSError:
            fresh = True
        if fresh:  # absent or another geometry: an erased chip, no erases yet
            f = open(path, "wb")
            for _ in range(self.size // _PAGE):
                f.write(_FF)
            z = bytes(4)
            for _ in range(n):
                f.write(z)
            f.close()
        self._f = open(path, "r+b", buffering=0)  # raw: each write is a write(2), no flush

    def close(self):
        if self._f:
            self._f.close()
            self._f = None

    def power_on(self):
        # a new boot: the chip works again and nothing is armed
        self.dead = False
        self.cut_at = -1
        self.ops = 0
        self.reads = 0

    def arm(self, n, seed=0, tear=True):
        # die at operation number n (counted from 0 on this power-on): torn (partly applied,
        # pattern chosen by seed) or, with tear=False, cleanly before it starts
        self.cut_at = n
        self.seed = seed
        self.tear = tear

    def erase_counts(self):
        return [self._erase_count(i) for i in range(self.sectors)]

    def clear_erase_counts(self):
        # a test's baseline: count only what follows
        for i in range(self.sectors):
            self._set_erase_count(i, 0)

    def _erase_count(self, sector):
        # kept after the contents in a file (not in the heap: a host artefact, not device RAM)
        if self._erases is not None:
            return self._erases[sector]
        pg = memoryview(self._pg)[:4]
        self._get(self.size + 4 * sector, pg)
        return int.from_bytes(pg, "little")

    def _set_erase_count(self, sector, n):
        if self._erases is not None:
            self._erases[sector] = n
        else:
            self._put(self.size + 4 * sector, n.to_bytes(4, "little"))

    def partition(self, label):
        for name, off, size in self.table:
            if name == label:
                return Partition(self, name, off, size)
        raise FlashError("no partition " + label)

    # -- the store: RAM or file, at absolute addresses --

    def _get(self, addr, mv):
        if self._mem is not None:
            mv[:] = memoryview(self._mem)[addr : addr + len(mv)]
            return
        f = self._f
        f.seek(addr)
        if f.readinto(mv) != len(mv):
            raise FlashError("%s is shorter than the chip" % self.path)

    def _put(self, addr, buf):
        if self._mem is not None:
            self._mem[addr : addr + len(buf)] = buf
            return
        f = self._f
        f.seek(addr)
        if f.write(buf) != len(buf):
            raise FlashError("short write to %s" % self.path)

    def _fill(self, addr):
        # one sector of 0xff, page by page (no sector-sized buffer); a file is written on
        # from one seek
        if self._mem is not None:
            for a in range(addr, addr + SECTOR, _PAGE):
                self._mem[a : a + _PAGE] = _FF
            return
        f = self._f
        f.seek(addr)
        for _ in range(SECTOR // _PAGE):
            if f.write(_FF) != _PAGE:
                raise FlashError("short write to %s" % self.path)

    # -- raw chip operations (absolute addresses) --

    def _alive(self):
        if self.dead:
            raise PowerCut()

    def read(self, addr, mv):
        self._alive()
        n = len(mv)
        if addr < 0 or addr + n > self.size:
            raise FlashError("read outside the chip")
        self.reads += 1
        self._get(addr, mv)

    def _check_program(self, addr, buf):
        # a 1 bit asked for where the chip already holds 0 cannot be programmed; checked page
        # by page against the current bytes (an erased page needs no per-byte look), unless
        # every byte is known erased
        n = len(buf)
        lo, hi = self._lo, self._hi
        if lo <= addr and addr + n <= hi:
            return
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

    def program(self, addr, buf):
        self._alive()
        n = len(buf)
        if addr < 0 or addr + n > self.size:
            raise FlashError("program outside the chip")
        self._check_program(addr, buf)
        # these bytes are no longer known erased, whatever happens next (a cut included)
        end = addr + n
        if end > self._lo and addr < self._hi:
            if addr <= self._lo:
                self._lo = min(end, self._hi)
            else:
                self._hi = addr
        op = self.ops
        self.ops += 1
        if op == self.cut_at:
            if not self.tear:
                self._die()
            self._tear_program(addr, buf)
        self._put(addr, buf)

    def erase(self, sector):
        self._alive()
        if sector < 0 or sector >= self.sectors:
            raise FlashError("erase outside the chip")
        op = self.ops
        self.ops += 1
        addr = sector * SECTOR
        self._lo = self._hi = 0  # a torn erase leaves nothing known erased
        if op == self.cut_at:
            if not self.tear:
                self._die()
            self._tear_erase(addr, sector)
        self._fill(addr)
        self._lo = addr
        self._hi = addr + SECTOR
        self._set_erase_count(sector, self._erase_count(sector) + 1)

    def _die(self):
        self.dead = True
        raise PowerCut()

    def _tear_program(self, addr, buf):
        # Pages before the cut point are programmed, pages after it untouched, and the page in
        # flight holds a random subset of its 1 -> 0 transitions.
        rng = _Rng(self.seed ^ self.cut_at)
        n = len(buf)
        cut = rng.next() % (n + 1)
        page = cut - cut % _PAGE
        if page:
            self._put(addr, memoryview(buf)[:page])
        k = min(_PAGE, n - page)
        if k > 0:
            pg = self._pg
            mv = memoryview(pg)[:k]
            self._get(addr + page, mv)
            for i in range(k):
                old = pg[i]
                clear = old & ~buf[page + i] & 0xFF
                pg[i] = old & ~(clear & rng.next()) & 0xFF
            self._put(addr + page, mv)
        self._die()

    def _tear_erase(self, addr, sector):
        # An interrupted erase leaves each bit either as it was or erased to 1.
        rng = _Rng(self.seed ^ self.cut_at)
        mode = rng.next() & 3  # 0: cut before the erase started; 1: all erased; else bits
        if mode:
            pg = self._pg
            for a in range(addr, addr + SECTOR, _PAGE):
                if mode == 1:
                    self._put(a, _FF)
                    continue
                self._get(a, pg)
                for i in range(_PAGE):
                    pg[i] |= rng.next() & 0xFF
                self._put(a, pg)
        self._set_erase_count(sector, self._erase_count(sector) + 1)
        self._die()


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

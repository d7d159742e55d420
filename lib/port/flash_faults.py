# port.flash's test-only half: tearing the operation a power cut interrupts, and reading or
# clearing the per-sector erase counts. Flash imports this module only when an armed cut
# fires (Flash.arm(), or cut_at set by hand) or a test asks for the counts: on MicroPython
# every name a loaded module holds is a qstr for good, and port.flash is the device's flash
# driver on the unix port, whose update path must not carry what only tests use.
# SPDX-License-Identifier: MIT
#
# Works on a Flash through its store helpers (_get, _put, _pg; the counts are 4 bytes per
# sector after the chip's bytes). A torn operation's pattern depends only on
# flash.seed ^ flash.cut_at (xorshift32): identical on both runtimes, run after run.
from port import const
from port.flash import _FF, SECTOR, PowerCut

_PAGE = const(256)  # port.flash's program page (a private const is not importable)


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


def _die(flash):
    flash.dead = True
    raise PowerCut()


def program(flash, addr, buf):
    # Op flash.cut_at, a program, never completes: with flash.tear, pages before the cut
    # point are programmed, pages after it untouched, and the page in flight holds a random
    # subset of its 1 -> 0 transitions; without, it never started. Raises PowerCut.
    if flash.tear:
        rng = _Rng(flash.seed ^ flash.cut_at)
        n = len(buf)
        cut = rng.next() % (n + 1)
        page = cut - cut % _PAGE
        if page:
            flash._put(addr, memoryview(buf)[:page])
        k = min(_PAGE, n - page)
        if k > 0:
            pg = flash._pg
            mv = memoryview(pg)[:k]
            flash._get(addr + page, mv)
            for i in range(k):
                old = pg[i]
                clear = old & ~buf[page + i] & 0xFF
                pg[i] = old & ~(clear & rng.next()) & 0xFF
            flash._put(addr + page, mv)
    _die(flash)


def erase(flash, sector):
    # Op flash.cut_at, an erase, never completes: with flash.tear, each bit is left either as
    # it was or erased to 1, and the erase counts; without, it never started. Raises PowerCut.
    if flash.tear:
        rng = _Rng(flash.seed ^ flash.cut_at)
        mode = rng.next() & 3  # 0: cut before the erase started; 1: all erased; else bits
        if mode:
            pg = flash._pg
            addr = sector * SECTOR
            for a in range(addr, addr + SECTOR, _PAGE):
                if mode == 1:
                    flash._put(a, _FF)
                    continue
                flash._get(a, pg)
                for i in range(_PAGE):
                    pg[i] |= rng.next() & 0xFF
                flash._put(a, pg)
        # counted as Flash.erase() counts: the sector's 4 bytes after the chip
        addr = flash.size + 4 * sector
        mv = memoryview(flash._pg)[:4]
        flash._get(addr, mv)
        flash._put(addr, (int.from_bytes(mv, "little") + 1).to_bytes(4, "little"))
    _die(flash)


def erase_counts(flash):
    # [erases of sector 0, 1, ...]: one read of the counts behind the chip's bytes
    b = bytearray(flash.size // SECTOR * 4)
    flash._get(flash.size, b)
    return [int.from_bytes(b[i : i + 4], "little") for i in range(0, len(b), 4)]


def clear_erase_counts(flash):
    flash._put(flash.size, bytes(flash.size // SECTOR * 4))

# port.flash: NOR semantics, partitions, operation counter, power cut, persistence.
# SPDX-License-Identifier: MIT
from port.flash import SECTOR, Flash, FlashError, PowerCut
from support import raises, tmpdir

TABLE = (("a", 0, 2 * SECTOR), ("b", 2 * SECTOR, 2 * SECTOR))


def _chip(path=None):
    return Flash(4 * SECTOR, path, TABLE)


def _read(part, off, n):
    b = bytearray(n)
    part.read(off, memoryview(b))
    return bytes(b)


def test_fresh_chip_is_erased():
    a = _chip().partition("a")
    assert _read(a, 0, 16) == b"\xff" * 16
    assert a.size == 2 * SECTOR and a.ioctl(4, 0) == 2 and a.ioctl(5, 0) == SECTOR


def test_program_only_clears_bits():
    a = _chip().partition("a")
    a.write(10, b"\xf0\x0f")
    assert _read(a, 10, 2) == b"\xf0\x0f"
    a.write(10, b"\x30\x01")  # only 1 -> 0: allowed
    assert _read(a, 10, 2) == b"\x30\x01"
    raises(FlashError, a.write, 10, b"\x31\x01")  # needs a 0 -> 1
    assert _read(a, 10, 2) == b"\x30\x01"


def test_erase_sets_ff_and_counts():
    f = _chip()
    b = f.partition("b")
    b.write(SECTOR + 5, b"\x00")
    b.erase(1)
    assert _read(b, SECTOR, SECTOR) == b"\xff" * SECTOR
    assert f.erase_counts() == [0, 0, 0, 1]
    assert f.ops == 2


def test_partitions_are_bounded():
    f = _chip()
    a = f.partition("a")
    raises(FlashError, a.write, 2 * SECTOR - 1, b"\x00\x00")
    raises(FlashError, a.erase, 2)
    raises(FlashError, a.read, -1, memoryview(bytearray(1)))
    raises(FlashError, f.partition, "nope")
    raises(FlashError, Flash, 4 * SECTOR, None, (("x", 100, SECTOR),))


def test_blockdev_protocol():
    a = _chip().partition("a")
    a.writeblocks(1, b"\x00" * 8, 0)  # extended form: program only
    a.writeblocks(1, b"\x11" * 8)  # simple form: erase first
    assert _read(a, SECTOR, 9) == b"\x11" * 8 + b"\xff"
    buf = bytearray(4)
    a.readblocks(1, buf, 6)
    assert bytes(buf) == b"\x11\x11\xff\xff"
    a.ioctl(6, 1)
    assert _read(a, SECTOR, 2) == b"\xff\xff"


def test_power_cut_kills_the_board():
    f = _chip()
    a = f.partition("a")
    f.arm(1)
    a.write(0, b"\x00")  # op 0 completes
    e = raises(PowerCut, a.erase, 0)  # op 1 is torn
    assert isinstance(e, BaseException) and not isinstance(e, Exception)
    raises(PowerCut, a.read, 0, memoryview(bytearray(1)))  # dead until power-on
    f.power_on()
    assert f.ops == 0
    _read(a, 0, 1)


def test_torn_program_only_clears_bits():
    for seed in range(20):
        f = _chip()
        a = f.partition("a")
        a.write(0, b"\xaa" * SECTOR)
        f.arm(1, seed)
        new = bytes((i * 7) & 0xAA for i in range(SECTOR))
        raises(PowerCut, a.write, 0, new)
        f.power_on()
        got = _read(a, 0, SECTOR)
        for i in range(0, SECTOR, 97):
            # every bit is either the old value or the newly programmed one
            assert got[i] & new[i] == new[i] and got[i] | 0xAA == 0xAA


def test_torn_erase_only_sets_bits():
    seen_partial = False
    for seed in range(12):
        f = _chip()
        a = f.partition("a")
        a.write(0, b"\x5a" * SECTOR)
        f.arm(1, seed)
        raises(PowerCut, a.erase, 0)
        f.power_on()
        got = _read(a, 0, SECTOR)
        for i in range(0, SECTOR, 61):
            assert got[i] & 0x5A == 0x5A
        if got != b"\x5a" * SECTOR and got != b"\xff" * SECTOR:
            seen_partial = True
    assert seen_partial


def test_exception_handlers_cannot_swallow_cut():
    f = _chip()
    a = f.partition("a")
    f.arm(0)
    try:
        try:
            a.erase(0)
        except Exception:
            assert False, "PowerCut must not be an Exception"
    except PowerCut:
        pass


def test_persists_across_reopen():
    path = tmpdir("flash") + "/flash.bin"
    f = _chip(path)
    f.partition("b").erase(0)
    f.partition("b").write(3, b"hello")
    f.close()
    g = _chip(path)
    assert _read(g.partition("b"), 0, 8) == b"\xff\xff\xffhello"
    assert g.erase_counts() == [0, 0, 1, 0]
    g.close()


def test_cut_state_persists():
    # what a torn operation left is what the next process sees
    path = tmpdir("flash") + "/flash.bin"
    f = _chip(path)
    f.partition("a").write(0, b"\x00" * 64)
    f.arm(1, 3)
    raises(PowerCut, f.partition("a").erase, 0)
    f.power_on()
    before = _read(f.partition("a"), 0, 64)
    f.close()
    g = _chip(path)
    assert _read(g.partition("a"), 0, 64) == before
    g.close()

# fota.boot.record: two-sector record log with sequence and CRC, torn writes, unset state.
# SPDX-License-Identifier: MIT
from fota.boot.record import Record, RecordStore, pack_version, unpack_version
from fota.const import NO_SLOT
from port.flash import SECTOR, Flash, PowerCut
from support import raises


# a record's fields but its sequence number
FIELDS = ("active", "pending", "trials", "flags", "outcome", "reason", "oslot", "event", "min_sec", "over", "tag",
          "psec", "pver")


def _same(a, b):
    for k in FIELDS:
        if getattr(a, k) != getattr(b, k):
            return False
    return True


def _store():
    f = Flash(2 * SECTOR, None, (("bootctl", 0, 2 * SECTOR),))
    return f, RecordStore(f.partition("bootctl"))


def _rec(tag):
    r = Record()
    r.active = tag & 1
    r.pending = NO_SLOT if tag % 3 else (1 - (tag & 1))
    r.tag = tag
    r.over = pack_version((1, 2, tag & 0xFFFF))
    return r


def test_erased_reads_as_unset():
    _, st = _store()
    r = st.load()
    assert not r.valid and r.active == 0 and r.pending == NO_SLOT and r.outcome == 0


def test_roundtrip_and_sequence():
    _, st = _store()
    r = _rec(5)
    r.min_sec = 0x01020003
    st.save(r)
    got = st.load()
    assert got.valid and _same(got, r) and got.seq == 1
    st.save(_rec(6))
    assert st.load().tag == 6 and st.load().seq == 2
    assert unpack_version(got.over) == (1, 2, 5, 0)


def test_fresh_record_object_still_becomes_newest():
    # seq comes from the flash, not from the object handed in
    _, st = _store()
    for i in range(4):
        st.save(_rec(i))
    st2 = RecordStore(st.part)
    st2.save(_rec(99))
    assert st2.load().tag == 99 and st2.load().seq == 5


def test_log_wraps_between_sectors():
    f, st = _store()
    for i in range(300):
        st.save(_rec(i))
        if i % 37 == 0:
            assert st.load().tag == i  # reloading in between must not disturb the log
    assert RecordStore(f.partition("bootctl")).load().tag == 299
    # 300 saves, 64 per sector: sectors erased in turn at saves 64, 128, 192, 256
    assert f.erase_counts() == [2, 2]


def test_out_of_range_field_refused():
    _, st = _store()
    r = _rec(1)
    r.trials = 256
    raises(ValueError, st.save, r)
    assert not st.load().valid


def test_corrupt_newest_falls_back_to_previous():
    f, st = _store()
    st.save(_rec(1))
    st.save(_rec(2))
    # clear a few bits in the newest record (what a bad program could leave)
    f.partition("bootctl").write(64 + 9, b"\x00")
    assert st.load().tag == 1
    st.save(_rec(3))  # lands after the spoilt slot
    assert st.load().tag == 3


def test_both_copies_corrupt_read_as_unset():
    f, st = _store()
    st.save(_rec(1))
    f.partition("bootctl").write(4, b"\x00\x00")
    assert not st.load().valid
    st.save(_rec(2))
    assert st.load().tag == 2


def test_torn_saves_keep_old_or_new():
    # cut every save (program or erase) around the sector switch, with several tear patterns
    tried = 0
    for k in (0, 1, 62, 63, 64, 65, 127, 128):
        for seed in range(3):
            f, st = _store()
            for i in range(k):
                st.save(_rec(i))
            f.power_on()
            before = st.load()
            ops = 0
            f.arm(ops + seed % 2, seed)  # cut the first or the second op of the save
            try:
                st.save(_rec(1000 + k))
            except PowerCut:
                tried += 1
            f.power_on()
            after = RecordStore(f.partition("bootctl")).load()
            if after.tag != 1000 + k:
                assert after.valid == before.valid
                assert not before.valid or _same(after, before)
            # and the log keeps working afterwards
            st3 = RecordStore(f.partition("bootctl"))
            st3.save(_rec(7))
            assert st3.load().tag == 7
    assert tried >= 16


def test_a_slot_torn_past_its_first_bytes_is_not_taken_for_erased():
    # the scan finds where the next record goes by looking for all-0xff slots: a slot whose
    # program tore after leaving its first 40 bytes erased (0xff) is still used, and the
    # next save goes after it (programming over it would AND old bits into the new record)
    f, st = _store()
    st.save(_rec(1))
    part = f.partition("bootctl")
    part.write(64 + 40, b"\x00")  # slot 1: one byte programmed deep inside, the rest 0xff
    st2 = RecordStore(part)
    assert st2.load().tag == 1
    st2.save(_rec(2))  # into slot 2, not over the torn slot 1
    got = bytearray(64)
    part.read(128, memoryview(got))
    assert got[:4] != b"\xff\xff\xff\xff"
    assert RecordStore(part).load().tag == 2

# fota.journal: round trip, change-only writes, offset rate limit, torn saves at every flash
# operation, wear per update, field validation.
# SPDX-License-Identifier: MIT
from fota.journal import FIELDS, Journal, defaults
from port.flash import SECTOR, Flash, PowerCut
from support import raises


def _flash():
    return Flash(2 * SECTOR, None, (("journal", 0, 2 * SECTOR),))


def _journal(f, every=4096):
    return Journal(f.partition("journal"), every=every)


FULL = {"state": 1, "result": 0, "offset": 8192, "size": 300000, "time": 1700000000,
        "severity": 2, "max_defer": 86400, "deferred_at": 1700000100,
        "uri": "coaps://fw.example.net:5684/" + "x" * 200, "etag": b"\x01\x02\x03\x04",
        "name": "app", "version": "1.2.3+4", "component": "application"}


def test_empty_flash_loads_none_and_defaults():
    j = _journal(_flash())
    assert j.load() is None
    assert j.get() == defaults()
    assert sorted(defaults()) == sorted(FIELDS)


def test_roundtrip_all_fields():
    f = _flash()
    j = _journal(f)
    assert j.save(**FULL)
    got = _journal(f).load()
    for k in FULL:  # compare field by field: dict order means nothing on MicroPython
        assert got[k] == FULL[k], k
    assert got == FULL


def test_longest_strings_leave_the_deferral_fields_alone():
    f = _flash()
    j = _journal(f)
    j.save(uri="u" * 255, etag=b"E" * 64, name="n" * 64, version="v" * 32, component="c" * 32,
           severity=0, max_defer=0xFFFFFFFF, deferred_at=0xFFFFFFFE)
    got = _journal(f).load()
    assert (got["uri"], got["component"]) == ("u" * 255, "c" * 32)
    assert (got["severity"], got["max_defer"], got["deferred_at"]) == (0, 0xFFFFFFFF, 0xFFFFFFFE)


def test_a_record_written_before_the_deferral_fields_reads_with_their_defaults():
    # the same fmt 1: its flags byte was 0 and its tail zero-filled (a journal a firmware
    # before this one left, read after the update that brought this one)
    f = _flash()
    j = _journal(f)
    j.save(state=3, result=0, uri="coap://h/fw")
    buf = j._buf
    buf[11] = 0  # flags as such a firmware wrote them
    for i in range(500, 508):
        buf[i] = 0
    j._append()
    got = _journal(f).load()
    assert (got["state"], got["uri"]) == (3, "coap://h/fw")
    assert (got["severity"], got["max_defer"], got["deferred_at"]) == (1, 0, 0)


def test_unicode_and_longest_strings_fit():
    f = _flash()
    j = _journal(f)
    j.save(uri="http://h/" + "é" * 123, etag=b"E" * 64, name="n" * 64, version="v" * 32,
           component="c" * 32)
    got = _journal(f).load()
    assert got["uri"] == "http://h/" + "é" * 123 and got["etag"] == b"E" * 64
    assert got["name"] == "n" * 64 and got["component"] == "c" * 32


def test_invalid_values_refused_and_nothing_kept():
    f = _flash()
    j = _journal(f)
    j.save(state=2, uri="coap://a/b")
    for bad in ({"state": 256}, {"result": -1}, {"offset": 1 << 32}, {"uri": "u" * 256},
                {"etag": b"e" * 65}, {"name": 5}, {"colour": 1}, {"time": -5}):
        kw = {"state": 0}
        kw.update(bad)
        raises(ValueError, lambda: j.save(**kw))
        assert j.get()["state"] == 2  # the good field in the same call was not applied either
    assert j.writes == 1
    assert _journal(f).load()["uri"] == "coap://a/b"


def test_unchanged_save_writes_nothing():
    f = _flash()
    j = _journal(f)
    assert j.save(state=1, uri="coap://x/fw")
    ops = f.ops
    assert not j.save(state=1, uri="coap://x/fw")
    assert not j.save()
    assert f.ops == ops and j.writes == 1


def test_offset_rate_limited_to_a_sector_and_never_lost_backwards():
    f = _flash()
    j = _journal(f)
    j.save(state=1, offset=0)
    assert not j.save(offset=1024)  # below one sector: kept in RAM only
    assert _journal(f).load()["offset"] == 0
    assert j.get()["offset"] == 1024
    assert j.save(offset=4096)
    assert _journal(f).load()["offset"] == 4096
    assert not j.save(offset=6144)
    assert j.save(result=4, state=0)  # another field changed: the held-back offset goes too
    assert _journal(f).load()["offset"] == 6144
    assert j.save(offset=0)  # going back (a restart from zero) is always written
    assert _journal(f).load()["offset"] == 0


def test_flush_writes_held_back_offset():
    f = _flash()
    j = _journal(f)
    j.save(state=1)
    j.save(offset=512)
    assert j.flush()
    assert _journal(f).load()["offset"] == 512
    assert not j.flush()


def test_etag_view_is_copied():
    f = _flash()
    j = _journal(f)
    buf = bytearray(b"abcd")
    j.save(etag=memoryview(buf))
    buf[0] = ord("z")
    assert j.get()["etag"] == b"abcd"
    assert _journal(f).load()["etag"] == b"abcd"


def test_foreign_or_corrupt_record_reads_as_none():
    f = _flash()
    j = _journal(f)
    j.save(state=2)
    f.partition("journal").write(16, b"\x00")  # clear bits of `size` in the only record
    assert _journal(f).load() is None


def _sequence():
    # the saves of one pull update with a few resumes: enough to wrap both sectors
    seq = [{"state": 1, "result": 0, "uri": "coap://srv/fw", "etag": b"\x07\x08"}]
    for i in range(1, 20):
        seq.append({"offset": 4096 * i})
    seq.append({"state": 2, "name": "app", "version": "2.0.0", "size": 4096 * 20})
    seq.append({"state": 3})
    seq.append({"state": 0, "result": 1, "offset": 0, "etag": None})
    return seq


def _expected():
    # the record on flash after each save of _sequence() (every one changes something)
    out = []
    cur = defaults()
    for s in _sequence():
        cur = dict(cur)
        cur.update(s)
        out.append(cur)
    return out


def test_torn_save_at_every_flash_operation_leaves_old_or_new():
    f = _flash()
    j = _journal(f)
    for s in _sequence():
        j.save(**s)
    total = f.ops
    assert j.writes == len(_sequence()) and total > j.writes  # sector switches erased too
    want = _expected()
    for n in range(total):
        for seed in (1, 2):
            f = _flash()
            j = _journal(f)
            f.arm(n, seed)
            done = 0
            try:
                for s in _sequence():
                    j.save(**s)
                    done += 1
                raise AssertionError("no power cut at op %d" % n)
            except PowerCut:
                pass
            f.power_on()
            got = _journal(f).load()
            old = want[done - 1] if done else None
            assert got == old or got == want[done], (n, seed, done)
            # and the journal keeps working after the cut
            j2 = _journal(f)
            j2.load()
            j2.save(state=3, result=0)
            assert _journal(f).load()["state"] == 3


def test_erases_per_update_stay_low():
    # a 1 MiB pull: offsets every 1 KiB block, committed per 4 KiB sector by the slot
    f = _flash()
    j = _journal(f)
    j.save(state=1, result=0, uri="coap://srv/fw", etag=b"\x01")
    for off in range(1024, 1024 * 1024 + 1, 1024):
        j.save(offset=off - off % 4096)
    j.save(state=2, name="app", version="2.0.0")
    j.save(state=3)
    j.save(state=0, result=1, offset=0, etag=None)
    erases = sum(f.erase_counts())
    # 256 offset records + 4 others, 8 records per sector: one erase per 8 records
    assert j.writes == 260, j.writes
    assert erases <= 260 // 8 + 1, erases
    counts = f.erase_counts()
    assert abs(counts[0] - counts[1]) <= 1  # wear spread over both sectors


def test_wider_offset_step_cuts_wear():
    f = _flash()
    j = _journal(f, every=16384)
    j.save(state=1)
    for off in range(4096, 1024 * 1024 + 1, 4096):
        j.save(offset=off)
    assert j.writes == 1 + 64


def test_two_instances_on_their_own_sectors():
    f = Flash(4 * SECTOR, None, (("journal", 0, 4 * SECTOR),))
    a = Journal(f.partition("journal"), 0)
    b = Journal(f.partition("journal"), 2)
    for i in range(20):
        a.save(offset=4096 * i, component="app")
        b.save(offset=8192 * i, component="modem")
    assert Journal(f.partition("journal"), 0).load()["component"] == "app"
    assert Journal(f.partition("journal"), 2).load()["offset"] == 8192 * 19

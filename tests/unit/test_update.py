# fota.update: every transition T1-T22 of spec 2.3 by name, every cell of the write table 2.4,
# refused requests change nothing, Update Result lifecycle 2.5, cancel, journal offsets, resume
# and the outcome after reboot. Collaborators are the stand-ins of fotatest.
# SPDX-License-Identifier: MIT
from fota.const import (
    STATE_DOWNLOADED, STATE_DOWNLOADING, STATE_IDLE, STATE_UPDATING, FotaError,
)
from fota.update import WRITES, Refused, allowed
from fotatest import Info, Rig
from port.flash import SECTOR
from support import raises

OK, BAD_REQUEST, NOT_ALLOWED = 0, 0x80, 0x85  # go ahead, CoAP 4.00, 4.05 (fota.update's private codes)

IDLE, DLING, DLED, UPD = STATE_IDLE, STATE_DOWNLOADING, STATE_DOWNLOADED, STATE_UPDATING
URI = "coap://fw.example/app.bin"
IMAGE = bytes(range(256)) * 40  # 10 KiB: two whole sectors and a tail


def _pull(rig, size=len(IMAGE)):
    rig.fu.write_uri(URI)
    t = rig.pull.last
    t.head(size)
    return t


def _downloaded(rig):
    t = _pull(rig)
    t.feed(IMAGE)
    t.done()
    assert rig.fu.state == DLED
    return t


def _updating(rig):
    _downloaded(rig)
    rig.fu.execute_update()
    assert rig.fu.state == UPD


def _in(rig, state):
    # bring the machine into `state` (Downloading: a push, so package_more applies)
    if state == DLING:
        rig.fu.write_package_begin(len(IMAGE))
    elif state == DLED:
        _downloaded(rig)
    elif state == UPD:
        _updating(rig)
    assert rig.fu.state == state


def _sr(rig):
    return rig.fu.state, rig.fu.result


def _refused(rig, code, fn, *args):
    # refused with `code`, and nothing changed: state, result, journal, slot, transfers
    before = (_sr(rig), rig.journal.writes, rig.flash.ops, rig.slot.aborts, len(rig.events),
              [t.cancelled for t in rig.pull.transfers])
    e = raises(Refused, fn, *args)
    assert e.code == code, (e.code, code)
    after = (_sr(rig), rig.journal.writes, rig.flash.ops, rig.slot.aborts, len(rig.events),
             [t.cancelled for t in rig.pull.transfers])
    assert before == after, (before, after)


# -- the transition function --

# spec 2.3 (and 2.7 for 12, 13), written out independently of the module's table
LEGAL = (
    (IDLE, IDLE, 0), (IDLE, IDLE, 2), (IDLE, IDLE, 3), (IDLE, IDLE, 5), (IDLE, IDLE, 6),
    (IDLE, IDLE, 7), (IDLE, IDLE, 9),
    (IDLE, DLING, 0), (IDLE, DLED, 0),
    (DLING, IDLE, 0), (DLING, IDLE, 2), (DLING, IDLE, 3), (DLING, IDLE, 4), (DLING, IDLE, 5),
    (DLING, IDLE, 6), (DLING, IDLE, 7), (DLING, IDLE, 9), (DLING, IDLE, 10), (DLING, IDLE, 12),
    (DLING, DLED, 0),
    (DLED, IDLE, 0), (DLED, IDLE, 10), (DLED, DLED, 11), (DLED, UPD, 0),
    (UPD, IDLE, 1), (UPD, IDLE, 5), (UPD, IDLE, 8), (UPD, DLED, 8), (UPD, DLED, 13),
)


def test_allowed_is_exactly_the_spec_table():
    for s in range(4):
        for n in range(4):
            for r in range(14):
                assert allowed(s, n, r) == ((s, n, r) in LEGAL), (s, n, r)
    assert not allowed(IDLE, UPD, 0) and not allowed(DLING, UPD, 0) and not allowed(9, 0, 0)


def test_write_table_is_spec_2_4():
    want = {
        "uri_reset": (OK, OK, OK, NOT_ALLOWED),
        "uri": (OK, BAD_REQUEST, BAD_REQUEST, BAD_REQUEST),
        "package_reset": (OK, OK, OK, NOT_ALLOWED),
        "package": (OK, BAD_REQUEST, BAD_REQUEST, NOT_ALLOWED),
        "package_more": (BAD_REQUEST, OK, BAD_REQUEST, NOT_ALLOWED),
        "update": (NOT_ALLOWED, NOT_ALLOWED, OK, NOT_ALLOWED),
        "cancel": (NOT_ALLOWED, OK, OK, NOT_ALLOWED),
    }
    assert sorted(WRITES) == sorted(want)
    for k in want:
        assert WRITES[k] == want[k], k


def _request(rig, name):
    fu = rig.fu
    if name == "uri_reset":
        fu.write_uri("")
    elif name == "uri":
        fu.write_uri(URI)
    elif name == "package_reset":
        fu.write_package_whole(b"\x00")
    elif name == "package":
        fu.write_package_begin(len(IMAGE))
    elif name == "package_more":
        fu.write_package(0, IMAGE[:1024])
    elif name == "update":
        fu.execute_update()
    else:
        fu.cancel()


# what an accepted request leads to, per state (spec 2.4 cells that say "2.04 ...")
AFTER = {
    ("uri_reset", IDLE): (IDLE, 0), ("uri_reset", DLING): (IDLE, 0),
    ("uri_reset", DLED): (IDLE, 0),
    ("uri", IDLE): (DLING, 0),
    ("package_reset", IDLE): (IDLE, 0), ("package_reset", DLING): (IDLE, 0),
    ("package_reset", DLED): (IDLE, 0),
    ("package", IDLE): (DLING, 0),
    ("package_more", DLING): (DLING, 0),
    ("update", DLED): (UPD, 0),
    ("cancel", DLING): (IDLE, 10), ("cancel", DLED): (IDLE, 10),
}


def test_every_cell_of_the_write_table():
    cells = 0
    for name in WRITES:
        for state in range(4):
            rig = Rig()
            _in(rig, state)
            code = WRITES[name][state]
            if code:
                _refused(rig, code, _request, rig, name)
            else:
                _request(rig, name)
                assert _sr(rig) == AFTER[(name, state)], (name, state, _sr(rig))
                assert rig.on_flash()["state"] == rig.fu.state  # durable as well
            cells += 1
    assert cells == 28


def test_package_continuation_refused_while_a_pull_runs():
    rig = Rig()
    _pull(rig)
    _refused(rig, BAD_REQUEST, rig.fu.write_package, 0, b"x")
    _refused(rig, BAD_REQUEST, rig.fu.write_package_end)
    _refused(rig, BAD_REQUEST, rig.fu.write_package_begin, 10)  # a new push transfer


# -- T1 .. T22 --

def test_T1_uri_in_idle_starts_pull():
    rig = Rig()
    rig.fu.write_uri(URI)
    t = rig.pull.last
    assert _sr(rig) == (DLING, 0) and t.uri == URI and t.offset == 0 and t.etag is None
    j = rig.on_flash()
    assert j["state"] == DLING and j["uri"] == URI and j["component"] == "app"
    assert rig.fields() == ["uri", "time", "state"]


def test_T2_unsupported_scheme_stays_idle_with_9():
    rig = Rig()
    rig.pull.fail = FotaError(9, "no ftp")
    e = raises(FotaError, rig.fu.write_uri, "ftp://h/fw")
    assert e.result == 9 and _sr(rig) == (IDLE, 9)
    assert "state" not in rig.fields() and rig.on_flash()["result"] == 9


def test_T3_invalid_uri_stays_idle_with_7():
    rig = Rig()
    rig.pull.fail = FotaError(7, "no host")
    raises(FotaError, rig.fu.write_uri, "coap://")
    assert _sr(rig) == (IDLE, 7)
    rig.fu.write_uri("")  # clears the error (2.5)
    raises(FotaError, rig.fu.write_uri, "coap://h/" + "x" * 250)  # over 255 bytes
    assert _sr(rig) == (IDLE, 7) and not rig.pull.transfers
    # not shown as /5/0/1 either: the journal cannot hold it, and a reset would change it
    assert rig.fu.uri == "" and rig.on_flash()["uri"] == ""
    rig.reboot()
    assert (rig.fu.state, rig.fu.result, rig.fu.uri) == (IDLE, 7, "")


def test_T3_not_found_once_running_goes_idle_with_7():
    rig = Rig()
    t = _pull(rig)
    t.done(FotaError(7, "4.04"))
    assert _sr(rig) == (IDLE, 7) and rig.slot.aborts == 1


def test_T4_first_push_block():
    rig = Rig()
    rig.fu.write_package_begin(len(IMAGE))
    assert _sr(rig) == (DLING, 0) and rig.slot.opens == [(len(IMAGE), 0)]
    rig.fu.write_package(0, IMAGE[:1024])
    assert rig.fu.progress() == (1024, len(IMAGE))


def test_T5_whole_image_in_one_write():
    rig = Rig()
    rig.fu.write_package_whole(IMAGE)
    assert _sr(rig) == (DLED, 0)
    assert rig.fields().count("state") == 1  # straight to Downloaded
    assert rig.fu.name == "app" and rig.fu.version == "2.0.0"
    rig2 = Rig()
    rig2.slot.fail_finish = FotaError(5, "bad signature")
    raises(FotaError, rig2.fu.write_package_whole, IMAGE)
    assert _sr(rig2) == (IDLE, 5) and rig2.slot.aborts == 1


def test_T6_empty_uri_resets_every_state_but_updating():
    for state in (IDLE, DLING, DLED):
        rig = Rig()
        if state == DLING:
            t = _pull(rig)
            t.feed(IMAGE[:8192])
        else:
            _in(rig, state)
        rig.fu.write_uri("")
        assert _sr(rig) == (IDLE, 0)
        assert rig.fu.uri == "" and rig.fu.name == "" and rig.on_flash()["offset"] == 0
        if state == DLING:
            assert t.cancelled and rig.slot.aborts == 1  # transfer stopped, partial data gone
        if state == DLED:
            assert rig.slot.aborts == 1  # the image is deleted (object 5 v1.1)
    rig = Rig()
    _in(rig, UPD)
    _refused(rig, NOT_ALLOWED, rig.fu.write_uri, "")


def test_T7_null_or_empty_package_resets():
    for null in (b"\x00", b""):
        for state in (IDLE, DLING, DLED):
            rig = Rig()
            _in(rig, state)
            rig.fu.write_package_whole(null)
            assert _sr(rig) == (IDLE, 0)
        rig = Rig()
        _in(rig, UPD)
        _refused(rig, NOT_ALLOWED, rig.fu.write_package_whole, null)
    rig = Rig()
    _in(rig, DLED)
    rig.fu.reset()
    assert _sr(rig) == (IDLE, 0)


def test_T8_transfer_complete_downloaded():
    rig = Rig()
    t = _pull(rig)
    t.feed(IMAGE)
    assert rig.fu.state == DLING
    rig.slot.info = Info("app", (3, 1, 4, 0))
    t.done()
    assert _sr(rig) == (DLED, 0) and rig.fu.version == "3.1.4" and rig.fu.name == "app"
    j = rig.on_flash()
    assert j["state"] == DLED and j["offset"] == len(IMAGE) and j["version"] == "3.1.4"
    # push: the same through write_package_end
    rig = Rig()
    rig.fu.write_package_begin(len(IMAGE))
    for i in range(0, len(IMAGE), 1024):
        rig.fu.write_package(i, IMAGE[i : i + 1024])
    rig.fu.write_package_end()
    assert _sr(rig) == (DLED, 0) and bytes(rig.slot.image[: len(IMAGE)]) == IMAGE


def test_T9_not_enough_flash():
    rig = Rig()
    rig.fu.write_uri(URI)
    t = rig.pull.last
    raises(FotaError, t.head, 10 << 20)  # the declared size does not fit: before any erase
    assert _sr(rig) == (IDLE, 2) and t.cancelled
    rig = Rig()
    e = raises(FotaError, rig.fu.write_package_begin, 10 << 20)  # push: refused in Idle
    assert e.result == 2 and _sr(rig) == (IDLE, 2)


def test_T10_out_of_ram():
    rig = Rig()
    t = _pull(rig)
    rig.slot.fail_write = MemoryError()
    raises(FotaError, t.feed, IMAGE)
    assert _sr(rig) == (IDLE, 3)


class _NoRoomJournal:
    # the journal of a device whose heap (or journal flash) fails exactly when the failure
    # is to be recorded
    def __init__(self, journal, error):
        self.journal = journal
        self.error = error

    def save(self, **fields):
        if fields.get("state") == IDLE and self.error is not None:
            raise self.error
        return self.journal.save(**fields)

    def __getattr__(self, name):
        return getattr(self.journal, name)


def test_a_failure_that_cannot_be_journaled_is_still_reported():
    # no heap (or a flash fault) when Idle/3 is to be written: the server still learns the
    # download ended, never a Downloading with no transfer behind it; the journal keeps the
    # last record (Downloading): after a reset the download resumes, as after a power cut
    for error in (MemoryError("allocating 480 bytes"), OSError(5)):
        rig = Rig()
        t = _pull(rig)
        t.feed(IMAGE[:4096])
        rig.fu.journal = _NoRoomJournal(rig.journal, error)
        t.done(FotaError(3, "no memory to receive a block"))
        assert _sr(rig) == (IDLE, 3) and rig.slot.aborts == 1
        assert rig.on_flash()["state"] == DLING
        assert ("state", IDLE, 3, rig.fu.changed_at) in rig.events


def test_T11_link_lost():
    rig = Rig()
    t = _pull(rig)
    t.done("timeout")
    assert _sr(rig) == (IDLE, 4) and rig.slot.aborts == 1
    rig = Rig()
    rig.fu.write_package_begin(len(IMAGE))
    rig.fu.download_failed(4)  # the push layer gave up on the Block1 transfer
    assert _sr(rig) == (IDLE, 4)


def test_T11_push_whose_server_went_silent():
    # a Block1 push whose blocks stop coming: given up after push_timeout (EXCHANGE_LIFETIME
    # by default), never a Downloading that lasts until the next reboot
    rig = Rig()
    fu = rig.fu
    assert fu.push_timeout == 247
    fu.write_package_begin(len(IMAGE))
    fu.write_package(0, IMAGE[:1024])
    rig.clock.t += 200
    fu.write_package(1024, IMAGE[1024:2048])  # a block renews the deadline
    rig.clock.t += 246
    fu.poll()
    assert _sr(rig) == (DLING, 0) and rig.slot.aborts == 0
    rig.clock.t += 1
    fu.poll()
    assert _sr(rig) == (IDLE, 4) and rig.slot.aborts == 1 and rig.on_flash()["result"] == 4
    _refused(rig, BAD_REQUEST, fu.write_package, 2048, IMAGE[2048:3072])  # a late block
    fu.write_package_begin(len(IMAGE))  # a new push starts over
    assert _sr(rig) == (DLING, 0)


def test_T11_push_whose_blocks_found_no_heap_is_result_3():
    # the server kept sending, but its blocks found no heap (the serving endpoint counts
    # them: starved()); the push stops as before, and its Result says RAM, not the link
    lost = [0]
    rig = Rig(starved=lambda: lost[0])
    fu = rig.fu
    fu.write_package_begin(len(IMAGE))
    lost[0] += 1  # before a block: the blocks that came after it still renew the count
    fu.write_package(0, IMAGE[:1024])
    lost[0] += 2
    rig.clock.t += 247
    fu.poll()
    assert _sr(rig) == (IDLE, 3) and rig.slot.aborts == 1 and rig.on_flash()["result"] == 3
    # nothing lost since its last block: the link it is, as without a counter
    rig = Rig(starved=lambda: lost[0])
    rig.fu.write_package_begin(len(IMAGE))
    rig.fu.write_package(0, IMAGE[:1024])
    rig.clock.t += 247
    rig.fu.poll()
    assert _sr(rig) == (IDLE, 4)


def test_a_pull_never_times_out_as_a_push():
    rig = Rig()
    t = _pull(rig)
    t.feed(IMAGE[:4096])
    rig.clock.t += 10000
    rig.fu.poll()
    assert _sr(rig) == (DLING, 0)


def _pulled_without_heap_to_verify():
    # a whole pull whose check found no heap: Downloading, checked again at the next poll()
    rig = Rig()
    t = _pull(rig)
    t.feed(IMAGE)
    rig.slot.fail_finish = MemoryError("memory allocation failed, allocating 132 bytes")
    t.done()
    assert _sr(rig) == (DLING, 0) and rig.slot.aborts == 0
    rig.slot.fail_finish = None
    return rig


def test_verify_that_finds_no_heap_is_tried_again_from_poll():
    # the whole image is on flash; only its check found no heap (the transfer's objects still
    # alive as it reported): not thrown away, checked again at the next poll()
    rig = _pulled_without_heap_to_verify()
    rig.fu.poll()
    assert _sr(rig) == (DLED, 0) and rig.slot.aborts == 0


def test_verify_that_finds_no_heap_twice_is_T10():
    rig = Rig()
    t = _pull(rig)
    t.feed(IMAGE)
    rig.slot.fail_finish = FotaError(3, "out of memory")
    t.done()
    rig.fu.poll()
    assert _sr(rig) == (IDLE, 3) and rig.slot.aborts == 1 and rig.on_flash()["result"] == 3
    rig.fu.poll()
    assert _sr(rig) == (IDLE, 3)


def test_T12_integrity_failure_at_end():
    rig = Rig()
    t = _pull(rig)
    t.feed(IMAGE)
    rig.slot.fail_finish = FotaError(5, "signature")
    t.done()  # the failure is State/Result, not an exception into the engine's report
    assert _sr(rig) == (IDLE, 5) and rig.on_flash()["result"] == 5


def test_T13_unsupported_package():
    rig = Rig()
    t = _pull(rig)
    rig.slot.fail_write = FotaError(6, "not an image")
    raises(FotaError, t.feed, IMAGE)
    assert _sr(rig) == (IDLE, 6)


def test_T14_update_journals_updating_before_apply():
    rig = Rig()
    _downloaded(rig)
    seen = []
    rig.apply_error = None

    def apply():
        seen.append((rig.fu.state, rig.on_flash()["state"]))
        rig.slot.activate()

    rig.fu.apply = apply
    rig.fu.execute_update()
    assert _sr(rig) == (UPD, 0) and seen == [(UPD, UPD)] and rig.slot.activations == 1


def _deferring(answer=True):
    rig = Rig(defer=lambda severity, max_defer: answer)
    rig.fu.max_defer = 60
    _downloaded(rig)
    return rig


def test_a_deferral_runs_out_after_a_reset_too():
    # Severity, Max Defer Period and the deferral's start are kept as State is (T16 after a
    # reset: the device still says Downloaded / 11, so its deadline must still hold)
    rig = Rig(defer=lambda severity, max_defer: True)
    rig.fu.configure(severity=0, max_defer=60)
    _downloaded(rig)
    rig.fu.execute_update()
    assert _sr(rig) == (DLED, 11)
    rig.clock.t += 30
    fu = rig.reboot()
    assert (fu.severity, fu.max_defer, fu.deferred_at) == (0, 60, rig.clock.t - 30)
    fu.poll()
    assert _sr(rig) == (DLED, 11) and rig.applied == 0
    rig.clock.t += 30
    fu.poll()
    assert _sr(rig) == (UPD, 0) and rig.applied == 1
    assert rig.on_flash()["deferred_at"] == 0 and rig.reboot().deferred_at is None


def test_T15_user_defers():
    rig = _deferring()
    rig.fu.execute_update()
    assert _sr(rig) == (DLED, 11) and rig.applied == 0
    rig = _deferring()
    rig.fu.max_defer = 0  # 0: deferral not allowed
    rig.fu.execute_update()
    assert _sr(rig) == (UPD, 0)
    rig = Rig(v11=False, defer=lambda s, m: True)  # object 5 v1.0 has no result 11
    rig.fu.max_defer = 60
    _downloaded(rig)
    rig.fu.execute_update()
    assert _sr(rig) == (UPD, 0)


def test_T16_accept_or_max_defer_expiry():
    rig = _deferring()
    rig.fu.execute_update()
    rig.fu.accept()
    assert _sr(rig) == (UPD, 0) and rig.applied == 1
    rig = _deferring()
    rig.fu.execute_update()
    rig.clock.t += 30
    rig.fu.execute_update()  # deferred again: the deadline still runs from the first time
    rig.clock.t += 29
    rig.fu.poll()
    assert _sr(rig) == (DLED, 11)
    rig.clock.t += 1
    rig.fu.poll()
    assert _sr(rig) == (UPD, 0) and rig.applied == 1
    rig = Rig()
    _downloaded(rig)
    _refused(rig, NOT_ALLOWED, rig.fu.accept)  # nothing deferred


def test_T17_success_reported_after_reboot():
    rig = Rig()
    _updating(rig)
    fu = rig.reboot()
    assert _sr(rig) == (UPD, 0) and fu.name == "app" and fu.version == "2.0.0"
    assert fu.boot_outcome(1)
    assert _sr(rig) == (IDLE, 1)
    fu = rig.reboot()  # the result is kept while Idle, across reboots too (2.5)
    assert _sr(rig) == (IDLE, 1) and not fu.boot_outcome(1)


def test_T18_update_failed_back_to_downloaded():
    rig = Rig()
    _downloaded(rig)
    rig.apply_error = OSError("activate failed")
    e = raises(FotaError, rig.fu.execute_update)
    assert e.result == 8 and _sr(rig) == (DLED, 8)
    rig.apply_error = None
    rig.fu.execute_update()  # the image is still there: try again
    assert _sr(rig) == (UPD, 0)
    rig = Rig(v11=False)  # object 5 v1.0: a rollback seen after reboot is Downloaded/8
    _updating(rig)
    rig.reboot().boot_outcome(8)
    assert _sr(rig) == (DLED, 8)


def test_T19_unusable_image_back_to_idle():
    for outcome, want in ((5, 5), (8, 8), (None, 8)):
        rig = Rig()
        _updating(rig)
        rig.reboot().boot_outcome(outcome)
        assert _sr(rig) == (IDLE, want), outcome
    rig = Rig()
    _downloaded(rig)
    rig.apply_error = FotaError(5, "image damaged since download")
    raises(FotaError, rig.fu.execute_update)
    assert _sr(rig) == (IDLE, 5) and rig.slot.aborts == 1


def test_T20_cancel_downloading_or_downloaded():
    rig = Rig()
    t = _pull(rig)
    rig.fu.cancel()
    assert _sr(rig) == (IDLE, 10) and t.cancelled and rig.slot.aborts == 1
    rig = Rig()
    _downloaded(rig)
    rig.fu.cancel()
    assert _sr(rig) == (IDLE, 10) and rig.on_flash()["result"] == 10


def test_T21_cancel_refused_in_idle_and_updating():
    for state in (IDLE, UPD):
        rig = Rig()
        _in(rig, state)
        _refused(rig, NOT_ALLOWED, rig.fu.cancel)
    rig = Rig(v11=False)
    _downloaded(rig)
    _refused(rig, NOT_ALLOWED, rig.fu.cancel)  # object 5 v1.0 has no Cancel


def test_T22_update_refused_unless_downloaded():
    for state in (IDLE, DLING, UPD):
        rig = Rig()
        _in(rig, state)
        _refused(rig, NOT_ALLOWED, rig.fu.execute_update)


def test_dependency_error_keeps_downloaded():
    # /33629 (spec 2.7): Update fails with 13, the executed instance stays Downloaded
    rig = Rig()
    _downloaded(rig)
    rig.apply_error = FotaError(13, "needs modem 2.x")
    raises(FotaError, rig.fu.execute_update)
    assert _sr(rig) == (DLED, 13)


# -- result lifecycle (2.5), time, refusals --

def test_result_reset_when_download_or_update_starts():
    rig = Rig()
    rig.pull.fail = FotaError(9)
    raises(FotaError, rig.fu.write_uri, "ftp://x/y")
    rig.fu.write_uri(URI)  # T1 from Idle/9
    assert _sr(rig) == (DLING, 0)
    rig.pull.last.done("reset")
    assert _sr(rig) == (IDLE, 4)
    rig.fu.write_package_begin(10)  # T4 from Idle/4
    assert _sr(rig) == (DLING, 0)
    rig.fu.write_uri("")
    rig.pull.fail = FotaError(7)
    raises(FotaError, rig.fu.write_uri, "coap:x")
    rig.fu.write_package_whole(IMAGE)  # T5 from Idle/7
    assert _sr(rig) == (DLED, 0)
    rig.apply_error = OSError()
    raises(FotaError, rig.fu.execute_update)
    assert _sr(rig) == (DLED, 8)
    rig.apply_error = None
    rig.fu.execute_update()  # T14 from Downloaded/8
    assert _sr(rig) == (UPD, 0)


def test_last_state_change_time_written_before_state():
    rig = Rig()
    rig.clock.t = 1000
    rig.fu.write_uri(URI)
    rig.clock.t = 2000
    rig.pull.last.head(len(IMAGE))
    rig.pull.last.feed(IMAGE)
    rig.pull.last.done()
    times = [e for e in rig.events if e[0] in ("time", "state")]
    # "time" is announced before "state", and the state already carries its new time
    assert [e[0] for e in times] == ["time", "state", "time", "state"]
    assert times[1][3] == 1000 and times[3][3] == 2000
    assert rig.on_flash()["time"] == 2000
    rig.clock.t = 3000
    rig.fu.cancel()
    assert rig.fu.changed_at == 3000


def test_result_only_change_keeps_time():
    rig = Rig()
    rig.clock.t = 500
    rig.pull.fail = FotaError(9)
    raises(FotaError, rig.fu.write_uri, "ftp://x")
    assert rig.fu.changed_at == 0 and "time" not in rig.fields()


def test_download_outcome_refused_when_not_downloading():
    rig = Rig()
    _refused(rig, NOT_ALLOWED, rig.fu.download_finished, Info())
    _refused(rig, NOT_ALLOWED, rig.fu.download_failed, 4)


def test_unmapped_failure_results_fall_back():
    rig = Rig()
    t = _pull(rig)
    t.done(FotaError(8, "nonsense for a download"))
    assert _sr(rig) == (IDLE, 4)
    rig = Rig()
    t = _pull(rig)
    t.done(ValueError("engine bug"))
    assert _sr(rig) == (IDLE, 4)


def test_stale_callbacks_after_reset_are_ignored():
    rig = Rig()
    t = _pull(rig)
    rig.fu.write_uri("")
    raises(FotaError, t.feed, IMAGE[:1024])  # the engine is told to stop
    t.done()
    assert _sr(rig) == (IDLE, 0) and rig.slot.pos == 0
    rig.fu.write_uri(URI)
    t.done("timeout")  # the old transfer's on_done cannot fail the new one
    assert _sr(rig) == (DLING, 0)


# -- offsets, resume, reboot --

def test_journal_offset_never_ahead_of_committed():
    for push in (False, True):
        rig = Rig()
        if push:
            rig.fu.write_package_begin(len(IMAGE))
        else:
            t = _pull(rig)
        for i in range(0, len(IMAGE), 1000):  # blocks not aligned to sectors
            if push:
                rig.fu.write_package(i, IMAGE[i : i + 1000])
            else:
                t.sink(i, IMAGE[i : i + 1000])
            off = rig.on_flash()["offset"]
            assert off <= rig.slot.committed() and off % SECTOR == 0, (i, off)
            assert rig.fu.progress()[0] == min(i + 1000, len(IMAGE))
        assert rig.on_flash()["offset"] == 8192


def test_resume_after_reboot_from_committed_offset():
    rig = Rig()
    t = _pull(rig)
    t.feed(IMAGE[:6000])  # one sector on flash, the rest buffered and lost with power
    fu = rig.reboot()
    assert _sr(rig) == (DLING, 0) and fu.uri == URI
    assert fu.resume()
    t = rig.pull.last
    assert t.offset == 4096 and t.etag == b"E1"
    t.head(len(IMAGE), b"E1")
    assert rig.slot.opens == [(len(IMAGE), 4096)]
    rig.slot.image[:4096] = IMAGE[:4096]  # what the previous boot had put on flash
    t.feed(IMAGE[4096:])
    t.done()
    assert _sr(rig) == (DLED, 0) and bytes(rig.slot.image[: len(IMAGE)]) == IMAGE
    assert not fu.resume()


def test_resume_with_every_byte_committed_verifies_without_a_transfer():
    # size a whole number of sectors, cut after the last one reached flash, before State 2:
    # a transfer from offset == size would ask past the end (CoAP 4.02 -> Result 4)
    rig = Rig()
    t = _pull(rig, 8192)
    t.feed(IMAGE[:8192])
    assert rig.on_flash()["offset"] == 8192
    fu = rig.reboot()
    assert fu.resume()
    assert rig.pull.transfers == [] and rig.slot.opens == [(8192, 8192)]
    assert _sr(rig) == (DLED, 0) and rig.on_flash()["state"] == DLED
    assert rig.on_flash()["version"] == "2.0.0"


def test_transfer_that_ends_without_a_head_still_opens_the_slot():
    # HTTP 416 to the resume's Range when the size was unknown: done, no head, no data
    rig = Rig()
    t = _pull(rig, None)
    t.feed(IMAGE[:8192])
    rig.reboot().resume()
    t = rig.pull.last
    assert t.offset == 8192
    t.done()
    assert rig.slot.opens == [(None, 8192)]
    assert _sr(rig) == (DLED, 0)


def test_resume_starts_over_when_etag_changed_or_range_ignored():
    for etag, at in ((b"E2", None), (b"E1", 0)):
        rig = Rig()
        t = _pull(rig)
        t.feed(IMAGE[:8192])
        fu = rig.reboot()
        fu.resume()
        rig.pull.last.head(len(IMAGE), etag, at)
        assert rig.slot.opens == [(len(IMAGE), 0)]
        assert rig.on_flash()["offset"] == 0 and rig.on_flash()["etag"] == etag


def test_resume_without_etag_starts_from_zero():
    rig = Rig()
    rig.fu.write_uri(URI)
    t = rig.pull.last
    t.head(len(IMAGE), None)
    t.feed(IMAGE[:8192])
    rig.reboot().resume()
    assert rig.pull.last.offset == 0 and rig.pull.last.etag is None


def test_weak_etag_not_persisted():
    rig = Rig()
    rig.fu.write_uri(URI)
    rig.pull.last.head(len(IMAGE), b'W/"abc"')
    assert rig.on_flash()["etag"] is None


def test_push_cannot_resume_after_reboot():
    rig = Rig()
    rig.fu.write_package_begin(len(IMAGE))
    rig.fu.write_package(0, IMAGE[:4096])
    fu = rig.reboot()
    assert _sr(rig) == (DLING, 0)
    assert fu.resume()
    assert _sr(rig) == (IDLE, 4)


def test_downloaded_survives_reboot():
    rig = Rig()
    _downloaded(rig)
    fu = rig.reboot()
    assert _sr(rig) == (DLED, 0) and fu.name == "app" and not fu.resume()
    fu.execute_update()
    assert _sr(rig) == (UPD, 0)


def test_link_loss_retries_from_committed_offset_then_4():
    rig = Rig(retries=2)
    t = _pull(rig)
    t.feed(IMAGE[:5000])
    t.done("timeout")
    assert _sr(rig) == (DLING, 0) and len(rig.pull.transfers) == 1
    rig.clock.t += 1
    rig.fu.poll()
    assert len(rig.pull.transfers) == 1  # backoff not over yet
    rig.clock.t += 1
    rig.fu.poll()
    t = rig.pull.last
    assert len(rig.pull.transfers) == 2 and t.offset == 4096 and t.etag == b"E1"
    t.head(len(IMAGE))
    t.done("timeout")
    rig.clock.t += 4  # the second pause is twice as long
    rig.fu.poll()
    assert len(rig.pull.transfers) == 3
    rig.pull.last.done("timeout")  # retries spent
    assert _sr(rig) == (IDLE, 4)


def test_a_retry_that_finds_no_heap_ends_the_download_not_the_polling():
    # poll() is what drives every deadline: what a retry raises is State/Result (no heap: 3)
    rig = Rig(retries=2)
    t = _pull(rig)
    t.feed(IMAGE[:5000])
    t.done("timeout")
    rig.pull.fail = MemoryError("memory allocation failed, allocating 1280 bytes")
    rig.clock.t += 2
    rig.fu.poll()  # must not raise
    assert _sr(rig) == (IDLE, 3) and rig.slot.aborts == 1 and rig.on_flash()["result"] == 3


def _no_heap_to_journal(rig, state):
    # the journal finds no heap whenever it is to record `state`
    save = rig.journal.save

    def full(**fields):
        if fields.get("state") == state:
            raise MemoryError("memory allocation failed, allocating 480 bytes")
        return save(**fields)

    rig.journal.save = full


def test_a_verified_download_the_journal_cannot_take_ends_idle():
    # a Downloaded the journal did not take would be forgotten at the next reset: not
    # reported; the download ends, and poll() (the verify's second try here) does not raise
    rig = _pulled_without_heap_to_verify()
    _no_heap_to_journal(rig, DLED)
    rig.fu.poll()
    assert _sr(rig) == (IDLE, 3) and rig.slot.aborts == 1 and rig.on_flash()["result"] == 3


def test_a_pull_the_journal_has_no_heap_to_start_is_stopped_idle_3():
    # the Package URI write started the transfer, then the journal found no heap for
    # Downloading: the transfer is cancelled and the write ends in Result 3, never a
    # MemoryError out of the request with a download running behind an Idle state
    rig = Rig()
    _no_heap_to_journal(rig, DLING)
    e = raises(FotaError, rig.fu.write_uri, URI)
    assert e.result == 3 and _sr(rig) == (IDLE, 3) and rig.pull.last.cancelled
    assert rig.on_flash()["result"] == 3 and rig.fu.uri == URI


def test_two_instances_are_independent():
    # /33629: one FirmwareUpdate per instance, each with its own journal and slot
    a, b = Rig(), Rig()
    _downloaded(a)
    b.fu.write_package_begin(100)
    a.fu.execute_update()
    assert _sr(a) == (UPD, 0) and _sr(b) == (DLING, 0)


def test_expired_deferral_failing_does_not_raise_from_poll():
    rig = _deferring()
    rig.fu.execute_update()
    rig.apply_error = OSError("flash")
    rig.clock.t += 60
    rig.fu.poll()
    assert _sr(rig) == (DLED, 8)


def test_failures_found_once_running_and_push_refusals():
    rig = Rig()
    _pull(rig).done(FotaError(9, "coaps without DTLS"))  # 5.2: 9 found when connecting
    assert _sr(rig) == (IDLE, 9)
    rig = Rig()
    _pull(rig)
    rig.fu.download_failed(12)  # /33629 multi-component package conflict (2.7)
    assert _sr(rig) == (IDLE, 12)
    for err, want in ((MemoryError(), 3), (FotaError(6, "not ours"), 6)):
        rig = Rig()
        rig.slot.fail_write = err
        raises(FotaError, rig.fu.write_package_whole, IMAGE)  # T5 refused: stays Idle
        assert _sr(rig) == (IDLE, want) and "state" not in rig.fields()


def test_journal_erases_per_update():
    # a 256 KiB pull in 1 KiB blocks, Update, success after reboot: journal wear per update
    rig = Rig()
    rig.slot = rig.fu.slot = type(rig.slot)(256 * 1024, keep=False)
    t = _pull(rig, 256 * 1024)
    for _ in range(64):
        t.feed(IMAGE[:4096])  # the bytes do not matter here, only how far they got
    t.done()
    rig.fu.execute_update()
    rig.reboot().boot_outcome(1)
    writes = 64 + 4  # one offset record per committed sector, T1, head, T8, T14 ... T17
    erases = sum(rig.flash.erase_counts())
    assert _sr(rig) == (IDLE, 1)
    assert erases <= writes // 8 + 1, erases

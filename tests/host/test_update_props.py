# fota.update under random event sequences (hypothesis): every observed change of State and
# Result is one allowed() permits, a refused request changes nothing, the journal on flash
# always matches what observers saw, its offset never runs ahead of the slot's committed
# bytes, and a reboot at any point restores the same State and Result.
# SPDX-License-Identifier: MIT
from hypothesis import given, settings
from hypothesis import strategies as st

from fota.const import FotaError
from fota.update import Refused, allowed
from fotatest import Rig

IMAGE = bytes(range(256)) * 40

EVENTS = (
    "uri", "uri_reset", "bad_scheme", "head", "feed", "done", "done_fail", "link_lost",
    "push_begin", "push_block", "push_end", "push_whole", "null", "update", "update_fail",
    "cancel", "defer_update", "accept", "tick", "reboot", "resume", "boot_ok", "boot_fail",
    "finish_fail", "too_big", "oom", "bad_package", "no_dtls", "conflict", "boot_damaged",
    "dependency",
)


def _do(rig, ev):
    fu, pull = rig.fu, rig.pull
    t = pull.transfers[-1] if pull.transfers else None
    if ev == "uri":
        fu.write_uri("coap://h/fw")
    elif ev == "uri_reset":
        fu.write_uri("")
    elif ev == "bad_scheme":
        pull.fail = FotaError(9)
        try:
            fu.write_uri("ftp://h/fw")
        finally:
            pull.fail = None
    elif ev == "head" and t is not None:
        t.head(len(IMAGE))
    elif ev == "feed" and t is not None:
        n = min(3000, len(IMAGE) - t.offset)
        if n > 0:
            t.feed(IMAGE[t.offset : t.offset + n], 1000)
    elif ev == "done" and t is not None:
        t.done()
    elif ev == "done_fail" and t is not None:
        t.done(FotaError(7))
    elif ev == "link_lost" and t is not None:
        t.done("timeout")
    elif ev == "push_begin":
        fu.write_package_begin(len(IMAGE))
    elif ev == "push_block":
        at = rig.slot.pos
        fu.write_package(at, IMAGE[at : at + 1000])
    elif ev == "push_end":
        fu.write_package_end()
    elif ev == "push_whole":
        fu.write_package_whole(IMAGE)
    elif ev == "null":
        fu.write_package_whole(b"\x00")
    elif ev in ("update", "update_fail", "defer_update"):
        rig.apply_error = OSError() if ev == "update_fail" else None
        rig.defer_answer = ev == "defer_update"
        fu.execute_update()
    elif ev == "cancel":
        fu.cancel()
    elif ev == "accept":
        fu.accept()
    elif ev == "tick":
        rig.clock.t += 7
        fu.poll()
    elif ev == "reboot":
        rig.reboot()
    elif ev == "resume":
        rig.fu.resume()
    elif ev == "boot_ok":
        fu.boot_outcome(1)
    elif ev == "boot_fail":
        fu.boot_outcome(8)
    elif ev == "finish_fail":
        rig.slot.fail_finish = FotaError(5)
    elif ev == "too_big":
        if t is not None:
            t.head(1 << 30)
        else:
            fu.write_package_begin(1 << 30)
    elif ev in ("oom", "bad_package"):
        rig.slot.fail_write = MemoryError() if ev == "oom" else FotaError(6)
        try:
            if t is not None and fu.state == 1 and not fu.pushing:
                t.feed(IMAGE[t.offset : t.offset + 1000])
            else:
                fu.write_package_whole(IMAGE)
        finally:
            rig.slot.fail_write = None
    elif ev == "no_dtls" and t is not None:
        t.done(FotaError(9))  # coaps:// accepted, no DTLS once connecting
    elif ev == "conflict":
        fu.download_failed(12)
    elif ev == "boot_damaged":
        fu.boot_outcome(5)
    elif ev == "dependency":
        rig.apply_error = FotaError(13)
        try:
            fu.execute_update()
        finally:
            rig.apply_error = None


def _snapshot(rig):
    return rig.fu.state, rig.fu.result


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(EVENTS), max_size=40), st.booleans())
def test_random_sequences_keep_the_invariants(events, v11):
    rig = Rig(v11=v11, defer=lambda s, m: rig.defer_answer, retries=1)
    rig.defer_answer = False
    rig.fu.max_defer = 20
    seen = []
    rig.events = seen
    for ev in events:
        before = _snapshot(rig)
        writes = rig.journal.writes
        del seen[:]
        try:
            _do(rig, ev)
            refused = False
        except Refused:
            refused = True
        except FotaError:
            refused = False
        rig.slot.fail_finish = None if ev != "finish_fail" else rig.slot.fail_finish
        after = _snapshot(rig)
        if refused:
            assert after == before and rig.journal.writes == writes and not seen, ev
        if ev != "reboot" and after != before:
            # every step the observers could see was legal; a step may pass through
            # Downloading (a start that fails at once) but each hop is checked
            hops = [before]
            for field, state, result, _ in seen:
                if field in ("state", "result") and (state, result) != hops[-1]:
                    hops.append((state, result))
            assert hops[-1] == after, (ev, hops, after)
            for a, b in zip(hops, hops[1:]):
                assert allowed(a[0], b[0], b[1]), (ev, a, b)
        j = rig.on_flash()
        assert (j["state"], j["result"]) == after, (ev, j, after)
        if rig.fu.state == 1 and rig.slot.is_open:
            assert j["offset"] <= rig.slot.committed()
        if not v11:
            assert rig.fu.result not in (10, 11), ev
    rig.reboot()
    assert _snapshot(rig) == (rig.on_flash()["state"], rig.on_flash()["result"])

# Firmware update failures and a third-party push, at system level: `updraft sim` boards
# (boot.py, main.py, the real agent, flash.bin) on CPython and the MicroPython unix port,
# driven through the dev server's API.
# - a v2 whose app resets before it registers never confirms its trial; boot rolls back after
#   the trial budget and v1 reports State 0 / Result 8 (object 5 v1.1, spec 2.5), /3/0/3 v1;
# - libcoap's `coap-client -m put` pushes a slot-sized image straight to the device's /5/0/0
#   (Content-Format 42, Block1): State 2, then Update through the API: v2 runs, Result 1;
# - garbage pushed: Result 6 (not an image for us) and v1 keeps running (no reset);
# - the Package URI points at a closed port: Result 4 after the bounded retries, Idle;
# - a power cut right after State 3 was journaled but before the slot was activated (flash
#   left as that cut leaves it) reports 8 on the old version, never the success of the
#   update before it.
# SPDX-License-Identifier: MIT
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from peers import free_port, require
from sysfw import big_image, journal, read, RUNTIMES, server, Sim, slot_bytes, value, wait_value  # noqa: F401 (server: a fixture)
from updraft import board

# v2's app shadows lib/agent (the slot is first on sys.path): it resets before registering,
# as a firmware that crashes at start-up under a watchdog would
RESETTER = """\
from port import board
print("v2 app: resetting before registering")
board.reset()
"""


@pytest.fixture(scope="module")
def images():
    d = tempfile.mkdtemp(prefix="updraft-fail-")
    try:
        key, trusted = board.make_key(d)
        bad = board.make_app(os.path.join(d, "v2-resets"), "2.0.0", {"agent.py": RESETTER})
        garbage = os.path.join(d, "garbage.bin")
        with open(garbage, "wb") as f:
            f.write(random.Random(9).randbytes(64 * 1024))
        yield {"dir": d, "trusted": trusted, "v1": board.make_image(d, key, "1.0.0"),
               "v2": big_image(d, key, "2.0.0", 2), "v3": board.make_image(d, key, "3.0.0"),
               "v2-resets": board.make_image(d, key, "2.0.0", name="v2-resets", src=bad),
               "garbage": garbage}
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def sim(server, images, tmp_path, request):
    s = Sim(server, request.param, tmp_path / "state", images["trusted"], images["v1"], "fail")
    try:
        assert value(server.api, s.ep, "/3/0/3") == "1.0.0"
        yield s
    finally:
        s.stop()


def _report(what, **kw):
    print("\n%s: %s" % (what, ", ".join("%s=%s" % kv for kv in sorted(kw.items()))))


def _rt(sim):
    return sim.ep.split("-")[1]


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
def test_trial_that_never_registers_rolls_back_and_reports_8(server, sim, images):
    api, ep = sim.api, sim.ep
    t0 = time.monotonic()
    rc, st = _job(api, ep, images["v2-resets"], "pull-coap")
    # the job sees the device register again on v1 and judges the outcome
    assert not st["ok"] and st["result"] == 8 and st["state"] == 0, st
    assert st.get("version_after") == "1.0.0", st
    out = sim.log(200)
    assert out.count("v2 app: resetting before registering") == 3, out  # fota.boot.TRIALS
    assert value(api, ep, "/5/0/3") == 0 and value(api, ep, "/5/0/5") == 8
    assert value(api, ep, "/3/0/3") == "1.0.0"
    j = journal(sim.flash)
    assert (j["state"], j["result"]) == (0, 8), j  # persisted: a later reboot reports it again
    _report("rollback %s" % _rt(sim), seconds=round(time.monotonic() - t0, 2))


def _job(api, ep, path, method):
    name = "%s-%s" % (ep, os.path.basename(path))
    api.put_file(name, read(path))
    seq = api.health()["seq"]
    api.update(ep, name, method, timeout=120)
    deadline = time.monotonic() + 150
    while True:
        ev = api.wait(ep, "update", timeout=max(1, deadline - time.monotonic()), since=seq)
        seq = ev["seq"]
        if ev.get("done"):
            return ev, api.update_status(ep)


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
def test_coap_client_push_then_update(server, sim, images, tmp_path):
    api, ep = sim.api, sim.ep
    client = require("coap-client-notls")
    addr = api.client(ep)["address"]  # host:port the device registered from
    img = read(images["v2"])
    t0 = time.monotonic()
    p = subprocess.run([client, "-m", "put", "-t", "42", "-b", "1024", "-f", images["v2"],
                        "coap://%s/5/0/0" % addr], capture_output=True, timeout=60)
    dt = time.monotonic() - t0
    assert p.returncode == 0, (p.stdout, p.stderr, sim.log())
    assert value(api, ep, "/5/0/3") == 2, (p.stdout, p.stderr, sim.log())
    assert value(api, ep, "/5/0/5") == 0
    assert value(api, ep, "/5/0/7") == "2.0.0"
    assert slot_bytes(sim.flash, "app_b", len(img)) == img
    seq = api.health()["seq"]
    r = api.execute(ep, "/5/0/2")
    assert r["code"] == "2.04", r
    assert wait_value(api, ep, "/5/0/5", lambda v: v not in (None, 0), 60, since=seq) == 1, sim.log()
    assert value(api, ep, "/5/0/3") == 0
    assert value(api, ep, "/3/0/3") == "2.0.0"
    _report("coap-client push %s" % _rt(sim), size=len(img), push_s=round(dt, 2),
            total_s=round(time.monotonic() - t0, 2))


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
def test_garbage_pushed_is_refused_and_v1_keeps_running(server, sim, images):
    api, ep = sim.api, sim.ep
    client = require("coap-client-notls")
    addr = api.client(ep)["address"]
    p = subprocess.run([client, "-m", "put", "-t", "42", "-b", "1024", "-f", images["garbage"],
                        "coap://%s/5/0/0" % addr], capture_output=True, timeout=60)
    state, result = value(api, ep, "/5/0/3"), value(api, ep, "/5/0/5")
    assert state == 0 and result in (5, 6), (state, result, p.stdout, p.stderr, sim.log())
    assert value(api, ep, "/3/0/3") == "1.0.0"
    assert "sim: board reset" not in sim.log(400)  # never reset: v1 ran all along
    assert api.execute(ep, "/5/0/2")["code"] == "4.05"  # nothing to update to
    _report("garbage push %s" % _rt(sim), result=result, coap_client_rc=p.returncode,
            coap_client_err=p.stderr.decode(errors="replace").strip()[-80:])


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_server_offline_at_start_ends_with_result_4(server, images, runtime, tmp_path):
    # two boards at once (the retries take ~17 s): one pulls coap://, one http://, from a
    # port nothing listens on
    api = server.api
    boards = {}
    try:
        for scheme in ("coap", "http"):
            boards[scheme] = Sim(server, runtime, tmp_path / scheme, images["trusted"], images["v1"], "off")
        t0 = time.monotonic()
        for scheme, b in boards.items():
            uri = "%s://127.0.0.1:%d/fw/v2.bin" % (scheme, free_port())  # nothing listens there
            r = api.write(b.ep, "/5/0/1", value=uri, format="text")
            assert r["code"] == "2.04", r  # errors are reported through Result only (spec 2.2)
            assert value(api, b.ep, "/5/0/3") == 1
        for scheme, b in boards.items():
            res = wait_value(api, b.ep, "/5/0/5", lambda v: v not in (None, 0), 60)
            dt = time.monotonic() - t0
            assert res == 4, b.log()
            assert value(api, b.ep, "/5/0/3") == 0
            r = api.read(b.ep, "/5/0/1", "text")
            assert r["ok"] and r["payload_hex"] == "", r  # Idle: URI and partial image dropped
            # bounded: the engine's 3 retries (0.5, 1, 2 s) per pull, the machine's 2 (2, 4 s)
            assert dt < 30, dt
            _report("offline %s %s" % (scheme, runtime), seconds_to_result_4=round(dt, 2))
    finally:
        for b in boards.values():
            b.stop()


def _push(api, ep, path):
    client = require("coap-client-notls")
    r = subprocess.run([client, "-m", "put", "-t", "42", "-b", "1024", "-f", path,
                        "coap://%s/5/0/0" % api.client(ep)["address"]], capture_output=True, timeout=60)
    assert r.returncode == 0 and value(api, ep, "/5/0/3") == 2, (r.stdout, r.stderr)


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
def test_cut_before_activation_reports_8_not_the_previous_success(server, sim, images):
    api, ep = sim.api, sim.ep
    _push(api, ep, images["v2"])
    seq = api.health()["seq"]
    assert api.execute(ep, "/5/0/2")["code"] == "2.04"
    assert wait_value(api, ep, "/5/0/5", lambda v: v not in (None, 0), 60, since=seq) == 1
    assert value(api, ep, "/3/0/3") == "2.0.0"
    _push(api, ep, images["v3"])
    sim.power_cut()
    # Execute Update journals State 3 first, then activates the slot: cut in between
    from fota.journal import Journal
    from port.flash import Flash

    f = Flash(path=sim.flash)
    try:
        assert Journal(f.partition("journal")).save(state=3, result=0)
    finally:
        f.close()
    seq = sim.power_on()
    res = wait_value(api, ep, "/5/0/5", lambda v: v not in (None, 0), 30, since=seq)
    assert res == 8, sim.log()  # not 1: v3 never ran
    assert value(api, ep, "/5/0/3") == 0
    assert value(api, ep, "/3/0/3") == "2.0.0"


if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", __file__]))

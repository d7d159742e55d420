# Power cut mid-download, at system level: an `updraft sim` board (boot.py, main.py, the real
# agent, flash.bin) on CPython and the MicroPython unix port pulls a slot-sized signed image
# through a gate (tests/host/gate.py) that cuts the link after ~45 % of it; the device process
# is then SIGKILLed (sim power cut) and powered on again. It must resume from the journal's
# committed offset (the file server serves only the rest), reach State 2 with a slot that is
# byte for byte the file, and run the new version after Update (State 0 / Result 1, /3/0/3).
# Variants: the file changed while the board was off (ETag) -> starts over and ends with the
# new file's version; the HTTP server ignores Range (nginx max_ranges 0) -> starts over; a
# push (libcoap coap-client) cut mid-way reports Result 4 after the reboot and a new push from
# block 0 succeeds; a cut in Downloaded keeps State 2 and the image, and Update still works.
# SPDX-License-Identifier: MIT
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from dlpeers import Nginx
from peers import require
from gate import TcpGate, UdpGate
from sysfw import big_image, journal, read, RUNTIMES, server, Sim, slot_bytes, value, wait_value  # noqa: F401 (server: a fixture)
from updraft import board

CUT_AT = 0.45  # fraction of the image the gate lets through before the link dies


@pytest.fixture(scope="module")
def images():
    d = tempfile.mkdtemp(prefix="updraft-resume-")
    try:
        key, trusted = board.make_key(d)
        out = {"dir": d, "trusted": trusted, "v1": board.make_image(d, key, "1.0.0"),
               "v2": big_image(d, key, "2.0.0", 2), "v3": big_image(d, key, "3.0.0", 3)}
        yield out
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    root = tmp / "root"
    root.mkdir()
    n = Nginx(tmp, root)
    n.root = root
    try:
        yield n
    finally:
        n.stop()


@pytest.fixture
def sim(server, images, tmp_path, request):
    s = Sim(server, request.param, tmp_path / "state", images["trusted"], images["v1"], "resume")
    try:
        assert value(server.api, s.ep, "/3/0/3") == "1.0.0"
        yield s
    finally:
        s.stop()


def _cut(sim, gate, uri, size):
    # Write the Package URI, let CUT_AT of the image through, cut the board's power; -> the
    # journal as the dead board left it
    api = sim.api
    gate.arm(int(size * CUT_AT))
    r = api.write(sim.ep, "/5/0/1", value=uri, format="text")
    assert r["code"] == "2.04", r
    gate.wait_closed(60)
    sim.wait_progress(gate.down - 8192)  # the device took what came (TCP may buffer some)
    sim.power_cut()
    j = journal(sim.flash)
    assert j is not None and j["state"] == 1 and j["uri"] == uri, j
    # only bytes on flash count: the offset is sector-aligned and behind what was received
    assert 0 < j["offset"] <= gate.down and j["offset"] % 4096 == 0, (j, gate.down)
    assert j["etag"], j
    j["delivered"] = gate.down  # bytes the link carried to the device before it died
    return j


def _resume(sim, gate, timeout=90):
    # power on through an open link; -> (State when the download ended, seconds)
    t = time.monotonic()
    gate.open()
    seq = sim.power_on()
    try:
        st = wait_value(sim.api, sim.ep, "/5/0/3", lambda v: v in (0, 2), timeout, since=seq)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, sim.log(80)))
    return st, time.monotonic() - t


def _update(sim, version):
    api, ep = sim.api, sim.ep
    seq = api.health()["seq"]
    r = api.execute(ep, "/5/0/2")
    assert r["code"] == "2.04", r
    res = wait_value(api, ep, "/5/0/5", lambda v: v not in (None, 0), 60, since=seq)
    assert res == 1, sim.log()
    assert value(api, ep, "/5/0/3") == 0
    assert value(api, ep, "/3/0/3") == version


def _report(what, **kw):
    print("\n%s: %s" % (what, ", ".join("%s=%s" % kv for kv in sorted(kw.items()))))


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
@pytest.mark.parametrize("proto", ["coap", "http"])
def test_power_cut_mid_download_resumes_from_journal(server, sim, images, proto):
    name = "resume-%s-%s.bin" % (proto, sim.ep)
    img = read(images["v2"])
    size = len(img)
    server.api.put_file(name, img)
    if proto == "coap":
        gate = UdpGate(server.coap_port)
        uri = "coap://127.0.0.1:%d/fw/%s" % (gate.port, name)
    else:
        gate = TcpGate(server.http_port)
        uri = "http://127.0.0.1:%d/fw/%s" % (gate.port, name)
    try:
        t0 = time.monotonic()
        j = _cut(sim, gate, uri, size)
        first = server.served(name, proto)
        st, dt = _resume(sim, gate)
        assert st == 2, (value(server.api, sim.ep, "/5/0/5"), sim.log())
        second = server.served(name, proto) - first
        # the rest of the file and at most a block before the committed offset; not the whole
        assert size - j["offset"] <= second <= size - j["offset"] + 4096, (second, j["offset"], size)
        assert second < 0.7 * size
        assert slot_bytes(sim.flash, "app_b", size) == img  # byte-identical in the free slot
        assert journal(sim.flash)["offset"] >= size - 4096
        _update(sim, "2.0.0")
        _report("resume %s %s" % (proto, sim.ep.split("-")[1]), size=size, first_run_delivered=j["delivered"],
                committed_at_cut=j["offset"], second_run_served=second, resume_to_state2_s=round(dt, 2),
                total_s=round(time.monotonic() - t0, 2))
    finally:
        gate.close()


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
@pytest.mark.parametrize("proto", ["coap", "http"])
def test_etag_changed_while_off_starts_over_with_the_new_file(server, sim, images, proto):
    # The file is replaced by another signed image (v3) while the board is off: the resumed
    # Block2 request meets a new ETag (HTTP: If-Match -> 412), the device starts over from 0
    # and ends with v3.
    name = "etag-%s-%s.bin" % (proto, sim.ep)
    v2, v3 = read(images["v2"]), read(images["v3"])
    server.api.put_file(name, v2)
    if proto == "coap":
        gate = UdpGate(server.coap_port)
        uri = "coap://127.0.0.1:%d/fw/%s" % (gate.port, name)
    else:
        gate = TcpGate(server.http_port)
        uri = "http://127.0.0.1:%d/fw/%s" % (gate.port, name)
    try:
        j = _cut(sim, gate, uri, len(v2))
        new = server.api.put_file(name, v3)
        assert bytes.fromhex(new["etag"]) not in (j["etag"], j["etag"].strip(b'"'))
        first = server.served(name, proto)
        st, dt = _resume(sim, gate)
        assert st == 2, (value(server.api, sim.ep, "/5/0/5"), sim.log())
        second = server.served(name, proto) - first
        assert second >= len(v3), (second, len(v3))  # all of it: nothing of v2 was kept
        assert "starting over" in sim.log(400)
        assert slot_bytes(sim.flash, "app_b", len(v3)) == v3
        assert value(server.api, sim.ep, "/5/0/7") == "3.0.0"
        _update(sim, "3.0.0")
        _report("etag change %s %s" % (proto, sim.ep.split("-")[1]), committed_at_cut=j["offset"], second_run_served=second,
                resume_to_state2_s=round(dt, 2))
    finally:
        gate.close()


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
def test_server_ignoring_range_on_resume_starts_over(server, nginx, sim, images):
    # nginx with max_ranges 0 answers the resumed Range request with 200 and the whole body
    name = "norange-%s.bin" % sim.ep
    img = read(images["v2"])
    (nginx.root / name).write_bytes(img)
    gate = TcpGate(nginx.port)
    uri = "http://127.0.0.1:%d/norange/%s" % (gate.port, name)
    try:
        j = _cut(sim, gate, uri, len(img))
        st, dt = _resume(sim, gate)
        assert st == 2, (value(server.api, sim.ep, "/5/0/5"), sim.log())
        assert gate.down >= len(img), (gate.down, len(img))  # the whole file went again
        log = open(os.path.join(nginx.tmp, "access.log")).read()
        assert log.count(name) >= 2
        assert slot_bytes(sim.flash, "app_b", len(img)) == img
        _update(sim, "2.0.0")
        _report("range ignored %s" % sim.ep.split("-")[1], committed_at_cut=j["offset"], second_run=gate.down,
                resume_to_state2_s=round(dt, 2))
    finally:
        gate.close()


def _push(api, ep, path, uri=None):
    # libcoap's coap-client PUTs the file to /5/0/0 (Content-Format 42, Block1 1024)
    client = require("coap-client-notls")
    uri = uri or "coap://%s/5/0/0" % api.client(ep)["address"]
    return [client, "-m", "put", "-t", "42", "-b", "1024", "-f", path, uri]


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
def test_power_cut_mid_push_reports_4_and_a_new_push_works(server, sim, images):
    # A Block1 transfer cannot continue after a reboot (the server's transfer died with the
    # device): Result 4, Idle; the server pushes again from block 0 (anchors 3 item 4)
    api, ep = sim.api, sim.ep
    img = read(images["v2"])
    port = int(api.client(ep)["address"].rsplit(":", 1)[1])
    gate = UdpGate(port, up=True)  # coap-client -> gate -> device; counts the pushed bytes
    gate.arm(int(len(img) * CUT_AT))
    p = subprocess.Popen(_push(api, ep, images["v2"], "coap://127.0.0.1:%d/5/0/0" % gate.port),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        gate.wait_closed(30)
        assert value(api, ep, "/5/0/3") == 1
        sim.power_cut()
        j = journal(sim.flash)
        assert j["state"] == 1 and j["uri"] == "" and 0 < j["offset"] <= gate.down, (j, gate.down)
    finally:
        p.kill()
        p.wait(5)
        gate.close()
    seq = sim.power_on()
    assert wait_value(api, ep, "/5/0/5", lambda v: v not in (None, 0), 30, since=seq) == 4, sim.log()
    assert value(api, ep, "/5/0/3") == 0
    t = time.monotonic()
    r = subprocess.run(_push(api, ep, images["v2"]), capture_output=True, timeout=60)
    assert r.returncode == 0 and value(api, ep, "/5/0/3") == 2, (r.stderr, sim.log())
    assert slot_bytes(sim.flash, "app_b", len(img)) == img
    _update(sim, "2.0.0")
    _report("push cut %s" % sim.ep.split("-")[1], pushed_before_cut=gate.down, committed_at_cut=j["offset"],
            second_push_to_v2_s=round(time.monotonic() - t, 2))


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
def test_power_cut_in_downloaded_keeps_state_2_and_update_works(server, sim, images):
    # "FU state lost on reboot" (anchors 3 item 1): Downloaded, package name and version
    # survive a power cut; Update re-verifies the slot and runs it
    api, ep = sim.api, sim.ep
    r = subprocess.run(_push(api, ep, images["v2"]), capture_output=True, timeout=60)
    assert r.returncode == 0 and value(api, ep, "/5/0/3") == 2, (r.stderr, sim.log())
    sim.power_cut()
    j = journal(sim.flash)
    assert (j["state"], j["result"], j["version"]) == (2, 0, "2.0.0"), j
    seq = sim.power_on()
    api.wait(ep, "registered", timeout=30, since=seq)
    assert (value(api, ep, "/5/0/3"), value(api, ep, "/5/0/5")) == (2, 0)
    assert value(api, ep, "/5/0/7") == "2.0.0"
    _update(sim, "2.0.0")


@pytest.mark.parametrize("sim", RUNTIMES, indirect=True)
@pytest.mark.parametrize("proto", ["coap", "http"])
def test_power_cut_after_the_last_sector_before_state_2(server, sim, images, proto):
    # An image whose size is a whole number of sectors, cut after its last sector reached
    # flash but before State 2 was journaled: the journal's offset is the file size. The
    # resume must not ask for bytes past the end (CoAP 4.02) but verify what is there.
    api, ep = sim.api, sim.ep
    img = read(images["v2"])
    img += b"\xff" * (-len(img) % 4096)  # erased-flash padding after the TLVs
    name = "whole-%s-%s.bin" % (proto, ep)
    api.put_file(name, img)
    uri = server.uris[proto] + name
    seq = api.health()["seq"]
    assert api.write(ep, "/5/0/1", value=uri, format="text")["code"] == "2.04"
    assert wait_value(api, ep, "/5/0/3", lambda v: v in (0, 2), 30) == 2, sim.log()
    sim.power_cut()
    from fota.journal import Journal
    from port.flash import Flash

    f = Flash(path=sim.flash)
    try:
        j = Journal(f.partition("journal"))
        assert j.load()["offset"] == len(img)
        j.save(state=1, name="", version="")  # as the journal stood before State 2
    finally:
        f.close()
    first = server.served(name, proto)
    seq = sim.power_on()
    st = wait_value(api, ep, "/5/0/3", lambda v: v in (0, 2), 30, since=seq)
    assert (st, value(api, ep, "/5/0/5")) == (2, 0), sim.log()
    assert server.served(name, proto) == first  # nothing fetched again
    assert value(api, ep, "/5/0/7") == "2.0.0"
    _update(sim, "2.0.0")


if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", __file__]))

# Whole firmware updates through the dev server: `updraft sim` boards (boot.py, main.py, the
# real agent on CPython and the MicroPython unix port) provisioned with keys and a factory
# v1, updated to v2 by push, CoAP pull and HTTP pull (updraft.update, the CLI's own code);
# a v2 signed by a key the board does not trust ends with Result 5 and v1 still running.
# SPDX-License-Identifier: MIT
import io
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOT
from lineproc import LineProc
from peers import free_port, require
from updraft import board, update
from updraft.devserver.apiclient import ApiError, DevServer

RUNTIMES = ("cpython", "micropython")


@pytest.fixture(scope="module")
def images():
    d = tempfile.mkdtemp(prefix="updraft-upd-")
    try:
        key, trusted = board.make_key(d)
        other, _ = board.make_key(d, "other")
        out = {"dir": d, "trusted": trusted, "v1": board.make_image(d, key, "1.0.0"),
               "v2": board.make_image(d, key, "2.0.0")}
        bad_dir = os.path.join(d, "bad")
        os.makedirs(bad_dir)
        out["v2-other-key"] = board.make_image(bad_dir, other, "2.0.0")
        yield out
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    coap = free_port()
    srv = LineProc([sys.executable, "-m", "updraft.cli", "server", "--coap-port", str(coap), "--api-port", "0"])
    try:
        api = DevServer(srv.expect("updraft server: api", 20).split()[-1])
        yield api, "coap://127.0.0.1:%d" % coap, srv
    finally:
        srv.stop()


_n = [0]


@pytest.fixture
def device(server, images, tmp_path, request):
    # -> (api, endpoint, sim LineProc): a fresh board with v1, registered
    runtime = request.param
    if runtime == "micropython":
        require("micropython")
    api, uri, _ = server
    _n[0] += 1
    ep = "upd-%s-%d-%d" % (runtime, os.getpid(), _n[0])
    sim = LineProc([sys.executable, "-m", "updraft.cli", "sim", "--server", uri, "--endpoint", ep,
                    "--state", str(tmp_path / "state"), "--runtime", runtime, "--keys", images["trusted"],
                    "--factory", images["v1"]])
    try:
        api.wait(ep, "registered", timeout=30)
        assert api.read(ep, "/3/0/3", "text")["value"] == "1.0.0"
        yield api, ep, sim
    finally:
        sim.stop()


def _update(api, ep, path, method):
    out = io.StringIO()
    rc, status = update.run(api, ep, path, method, timeout=60, out=out)
    return rc, status, out.getvalue()


@pytest.mark.parametrize("device", RUNTIMES, indirect=True)
@pytest.mark.parametrize("method", ["push", "pull-coap", "pull-http"])
def test_update_end_to_end(device, images, method):
    api, ep, sim = device
    rc, st, out = _update(api, ep, images["v2"], method)
    assert rc == 0, out + "\n".join(sim.seen[-30:])
    assert st["ok"] and st["state"] == 0 and st["result"] == 1, st
    assert st["version_before"] == "1.0.0" and st["version_after"] == "2.0.0"
    phases = [e["phase"] for e in st["events"]]
    for p in ("start", "download", "downloaded", "updating", "registered", "done"):
        assert p in phases, phases
    assert "update: OK in " in out
    assert api.read(ep, "/3/0/3", "text")["value"] == "2.0.0"
    assert (api.read(ep, "/5/0/3", "text")["value"], api.read(ep, "/5/0/5", "text")["value"]) == (0, 1)
    if method != "push":  # the file server saw the whole image go out
        proto = "coap" if method == "pull-coap" else "http"
        served = [f for f in api.files()["files"] if f["name"] == os.path.basename(images["v2"])]
        assert served[0]["served"].get(proto, 0) >= os.path.getsize(images["v2"])


@pytest.mark.parametrize("device", RUNTIMES, indirect=True)
@pytest.mark.parametrize("method", ["push", "pull-coap"])
def test_image_signed_by_an_untrusted_key_ends_with_result_5(device, images, method):
    api, ep, sim = device
    rc, st, out = _update(api, ep, images["v2-other-key"], method)
    assert rc == 1 and not st["ok"], out
    assert st["result"] == 5 and st["state"] == 0, st
    assert "Update Result 5: integrity check failure" in out
    assert api.read(ep, "/3/0/3", "text")["value"] == "1.0.0"  # still v1, never reset
    assert "updating" not in [e["phase"] for e in st["events"]]  # Update never executed


@pytest.mark.parametrize("device", ["cpython"], indirect=True)
def test_cli_exit_code(device, images, server):
    api, ep, _ = device
    p = subprocess.run([sys.executable, "-m", "updraft.cli", "update", "--endpoint", ep, "--file", images["v2"],
                        "--method", "pull-coap", "--api", api.base], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "update: done: State 0, Result 1" in p.stdout and "/3/0/3 1.0.0 -> 2.0.0" in p.stdout
    p = subprocess.run([sys.executable, "-m", "updraft.cli", "update", "--endpoint", "nobody", "--file",
                        images["v2"], "--api", api.base], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no client 'nobody' registered" in p.stdout, p.stdout + p.stderr


def test_api_refuses_bad_jobs(server, images):
    api = server[0]
    with open(images["v2"], "rb") as f:
        api.put_file("v2.bin", f.read())
    for body, status in (({"method": "ftp"}, 400), ({"file": "missing.bin"}, 404), ({"object": "/3/0"}, 400)):
        with pytest.raises(ApiError) as e:
            api.update("nobody", body.get("file", "v2.bin"), body.get("method", "push"), body.get("object", "/5/0"))
        assert e.value.status == status, (body, e.value)
    seq = api.health()["seq"]
    api.update("nobody", "v2.bin", "push")  # taken, then fails: nobody is registered
    ev = api.wait("nobody", "update", timeout=10, since=seq)
    assert ev["done"] and not ev["ok"] and "no client 'nobody' registered" in ev["message"]
    assert api.update_status("nobody")["error"] == ev["message"]


if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", __file__]))

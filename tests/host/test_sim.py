# `updraft sim`: provisioning file, boot.py then main.py in one interpreter with the state dir
# in UPDRAFT_STATE, restart on port.board.reset(), stop on SIGTERM, other exit codes reported.
# Runs a stand-in board tree (--root) so it does not depend on the LwM2M client's progress.
# SPDX-License-Identifier: MIT
import json
import os
import signal
import sys

import pytest

from conftest import ROOT
from lineproc import LineProc
from peers import require
from updraft import sim

BOOT = """\
import os
d = os.getenv("UPDRAFT_STATE")
try:
    n = int(open(d + "/boots").read())
except OSError:
    n = 0
f = open(d + "/boots", "w")
f.write(str(n + 1))
f.close()
boots = n + 1
print("boot", boots)
"""
MAIN = """\
import json, sys, time
import port.board
cfg = json.load(open(port.board.state_dir() + "/config.json"))
print("main", boots, cfg["endpoint"], cfg["servers"][0]["uri"], sys.implementation.name)
if boots < 3:
    port.board.reset()
if "forever" in cfg["endpoint"]:
    print("idle")  # both runtimes write unbuffered here (python -u)
    while True:
        time.sleep(0.05)
sys.exit(3)
"""


def tree(tmp_path):
    root = tmp_path / "board"
    root.mkdir()
    (root / "boot.py").write_text(BOOT)
    (root / "main.py").write_text(MAIN)
    os.symlink(os.path.join(ROOT, "lib"), root / "lib")
    return str(root)


def run_sim(root, state, *extra):
    return LineProc([sys.executable, "-m", "updraft.cli", "sim", "--root", root, "--state", state] + list(extra))


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_reset_restarts_through_boot(tmp_path, runtime):
    if runtime == "micropython":
        require("micropython")
    p = run_sim(tree(tmp_path), str(tmp_path / "st"), "--runtime", runtime, "--endpoint", "b1", "--heap", "512K")
    try:
        p.expect("sim: board b1 -> coap://127.0.0.1:5683", 10)
        for boot in (1, 2, 3):
            p.expect("boot %d" % boot, 20)
            line = p.expect("main %d" % boot, 20)
            assert line.split()[2:] == ["b1", "coap://127.0.0.1:5683", runtime], line
            if boot < 3:
                p.expect("sim: board reset", 10)
        p.expect("sim: board exited with code 3", 10)
        assert p.p.wait(10) == 3
    finally:
        p.stop()


def test_sigterm_stops_the_board(tmp_path):
    st = str(tmp_path / "st")
    sim.provision(st, "forever", "coap://127.0.0.1:1")
    with open(os.path.join(st, "boots"), "w") as f:
        f.write("5")  # past the reset phase: main.py idles
    p = run_sim(tree(tmp_path), st, "--runtime", "cpython")
    try:
        p.expect("idle", 20)
        p.p.send_signal(signal.SIGTERM)
        p.expect("sim: board stopped", 10)
        assert p.p.wait(10) == 0
    finally:
        p.stop()


def test_provisioning_file(tmp_path):
    st = str(tmp_path / "st")
    cfg = sim.provision(st, "dev1", None)
    assert cfg == {"endpoint": "dev1", "servers": [{"uri": "coap://127.0.0.1:5683", "ssid": 1, "lifetime": 60,
                                                    "binding": "U"}]}
    with open(os.path.join(st, "config.json")) as f:
        assert json.load(f) == cfg
    # the device changed its lifetime: a new --server keeps that, an absent one keeps the uri
    cfg["servers"][0]["lifetime"] = 300
    with open(os.path.join(st, "config.json"), "w") as f:
        json.dump(cfg, f)
    assert sim.provision(st, None, None)["servers"][0] == {"uri": "coap://127.0.0.1:5683", "ssid": 1,
                                                          "lifetime": 300, "binding": "U"}
    new = sim.provision(st, "dev2", "coap://127.0.0.1:5999")
    assert new["endpoint"] == "dev2" and new["servers"][0]["uri"] == "coap://127.0.0.1:5999"
    assert new["servers"][0]["lifetime"] == 300
    # a broken file is replaced by a fresh one
    with open(os.path.join(st, "config.json"), "w") as f:
        f.write("{nope")
    assert sim.provision(st, "dev3", None)["servers"][0]["lifetime"] == 60


FAILING_AGENT = """\
import os
d = os.getenv("UPDRAFT_STATE")


def run():
    n = int(open(d + "/boots").read())
    print("agent", n)
    if n < 2:
        raise MemoryError("memory allocation failed, allocating 1280 bytes")
    raise SystemExit(3)
"""


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_main_resets_when_the_agent_dies(tmp_path, runtime):
    # the real main.py over an agent that raises at start-up (a full heap): the board resets
    # through boot.py instead of stopping for good (on a board: idling in the REPL)
    if runtime == "micropython":
        require("micropython")
    root = tmp_path / "board"
    lib = root / "lib"
    lib.mkdir(parents=True)
    (root / "boot.py").write_text(BOOT)
    with open(os.path.join(ROOT, "main.py")) as f:
        (root / "main.py").write_text(f.read())
    os.symlink(os.path.join(ROOT, "lib", "port"), lib / "port")
    (lib / "agent.py").write_text(FAILING_AGENT)
    p = run_sim(str(root), str(tmp_path / "st"), "--runtime", runtime, "--endpoint", "b1")
    try:
        p.expect("agent 1", 20)
        p.expect("main: agent stopped: MemoryError", 10)
        p.expect("sim: board reset", 15)
        p.expect("agent 2", 20)
        p.expect("sim: board exited with code 3", 10)
    finally:
        p.stop()

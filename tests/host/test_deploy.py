# `updraft deploy` without a board: the dry run's mpremote command (order, port, paths), the
# ROMFS image it deploys mounted on the MicroPython unix port as a board mounts it (/rom,
# /rom/lib on sys.path, only .mpy inside), the --no-romfs .mpy tree, and clean errors.
# SPDX-License-Identifier: MIT
import json
import os
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT
from updraft import board, cli, deploy, romfs

PROBE = """\
import os
def walk(d):
    for e in os.ilistdir(d):
        p = d + "/" + e[0]
        if e[1] == 0x4000:
            yield from walk(p)
        else:
            yield p
files = list(walk("/rom"))
import agent, fota.update, lwm2m.client
print("PY", [f for f in files if f.endswith(".py")])
print("MPY", len([f for f in files if f.endswith(".mpy")]))
print("FILES", agent.__file__, fota.update.__file__, lwm2m.client.__file__)
import io, sys
from coap.uri import split
try:
    split("coap://[::1")
except Exception as e:
    s = io.StringIO()
    sys.print_exception(e, s)
    print("WHERE", [ln.split('"')[1] for ln in s.getvalue().splitlines() if ln.strip().startswith("File")][-1])
"""


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return board.make_key(str(tmp_path_factory.mktemp("keys")))  # (pem, trusted module)


def dry_run(capsys, *args):
    rc = cli.main(["deploy", "--dry-run"] + list(args))
    out = capsys.readouterr().out
    assert rc == 0
    argv = shlex.split(out.replace("\\\n", " "))
    assert argv[:3] == [sys.executable, "-m", "mpremote"]
    steps, cur = [], []
    for a in argv[3:]:
        if a == "+":
            steps.append(cur)
            cur = []
        else:
            cur.append(a)
    return steps + [cur]


def test_dry_run_commands_in_order(capsys, keys, tmp_path):
    image = str(tmp_path / "dev.romfs")
    steps = dry_run(capsys, "--port", "/dev/ttyACM0", "--keys", keys[1], "--image", image,
                    "--server", "coap://192.0.2.1:5683", "--endpoint", "board-1")
    assert steps[0] == ["connect", "/dev/ttyACM0", "romfs", "deploy", image]
    assert steps[1] == ["cp", os.path.join(ROOT, "boot.py"), ":boot.py"]
    assert steps[2] == ["cp", os.path.join(ROOT, "main.py"), ":main.py"]
    assert steps[3] == ["cp", keys[1], ":trusted_keys.py"]
    assert steps[4][0] == "exec" and 'os.mkdir("/state")' in steps[4][1]
    assert steps[5][0] == "cp" and steps[5][2] == ":/state/config.json"
    assert steps[6] == ["reset"] and len(steps) == 7
    assert os.path.getsize(image) > 0  # --image keeps it
    assert deploy.make_config(server="coap://192.0.2.1:5683", endpoint="board-1") == {
        "endpoint": "board-1", "servers": [{"uri": "coap://192.0.2.1:5683", "ssid": 1, "lifetime": 60, "binding": "U"}]}


def test_dry_run_defaults_and_config_file(capsys, keys, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"endpoint": "e", "servers": [{"uri": "coap://h", "ssid": 1}]}))
    steps = dry_run(capsys, "--keys", keys[1], "--config", str(cfg), "--state-dir", "/flash", "--no-reset")
    assert steps[0][:4] == ["connect", "auto", "romfs", "deploy"]
    assert steps[0][4].endswith(".romfs")
    assert [s[-1] for s in steps[1:]] == [":boot.py", ":main.py", ":trusted_keys.py", steps[4][-1],
                                          ":/flash/config.json"]
    # no config asked: nothing written to the state dir, the board keeps its own
    steps = dry_run(capsys, "--keys", keys[1])
    assert [s[0] for s in steps[1:]] == ["cp", "cp", "cp", "reset"]


def test_image_mounts_on_unix_port_all_mpy(tmp_path):
    image = str(tmp_path / "dev.romfs")
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    deploy.build(image, extra=(("deploy_probe.py", str(probe)),))
    p = subprocess.run(romfs.argv(image, "deploy_probe"), cwd=str(tmp_path), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = dict(ln.split(" ", 1) for ln in p.stdout.splitlines() if " " in ln)
    assert lines["PY"] == "[]"
    assert int(lines["MPY"]) > 50
    for f in lines["FILES"].split():
        assert f.startswith("/rom/lib/") and f.endswith(".mpy"), f
    # a traceback names the file the board runs (one qstr with its __file__), not the
    # directory the image was built in
    assert lines["WHERE"] == "/rom/lib/coap/uri.mpy", lines["WHERE"]


def test_no_romfs_copies_mpy_tree(capsys, keys, tmp_path):
    out = str(tmp_path / "mpy")
    steps = dry_run(capsys, "--no-romfs", "--keys", keys[0], "--image", out, "--port", "COM3")
    assert steps[0] == ["connect", "COM3", "cp", "-r", os.path.join(out, "lib"), ":"]
    assert [s[-1] for s in steps[1:4]] == [":boot.py", ":main.py", ":trusted_keys.py"]
    got = sorted(os.path.relpath(os.path.join(d, f), os.path.join(out, "lib"))
                 for d, _, fs in os.walk(out) for f in fs)
    want = sorted(os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "lib"))[:-3] + ".mpy"
                  for d, _, fs in os.walk(os.path.join(ROOT, "lib")) if "__pycache__" not in d
                  for f in fs if f.endswith(".py"))
    assert got == want


@pytest.mark.parametrize("args, why", [
    (["--keys", "/nonexistent/trusted.py"], "keys file not found: /nonexistent/trusted.py"),
    (["--keys", "K", "--config", "/nonexistent/c.json"], "config /nonexistent/c.json"),
    (["--keys", "K", "--endpoint", "x"], "need --server or --config"),
    (["--keys", "K", "--image", "lib.bin"], "--image must end with .img or .romfs"),
])
def test_errors_are_one_line(capsys, keys, args, why):
    args = [keys[1] if a == "K" else a for a in args]
    assert cli.main(["deploy", "--dry-run"] + args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("updraft deploy: ") and why in err and "\n" not in err, err


def test_keys_file_not_a_module(capsys, tmp_path):
    bad = tmp_path / "keys.py"
    bad.write_text("KEYS = ()\n")
    assert cli.main(["deploy", "--dry-run", "--keys", str(bad)]) == 2
    assert "holds no keys" in capsys.readouterr().err


def test_mpremote_parses_the_chain(keys, tmp_path, monkeypatch):
    # the real mpremote 1.29 command line parser, its handlers replaced by a recorder
    from mpremote import main as mpmain

    seen = []

    def recorder(name):
        def handle(state, args):
            state.did_action()  # else mpremote ends in its REPL
            seen.append((name, args))
        return handle

    for name, (_, parser) in list(mpmain._COMMANDS.items()):
        monkeypatch.setitem(mpmain._COMMANDS, name, (recorder(name), parser))
    config = str(tmp_path / "c.json")
    argv = deploy.commands("/dev/ttyUSB0", "img.romfs", keys[1], config, keys[0])
    monkeypatch.setattr(sys, "argv", ["mpremote"] + argv)
    assert mpmain.main() == 0
    got = [(n, a.device if n == "connect" else a.command if n in ("fs", "romfs") else a.expr, getattr(a, "path", None))
           for n, a in seen]
    assert got == [
        ("connect", ["/dev/ttyUSB0"], None),
        ("romfs", ["deploy"], "img.romfs"),
        ("fs", ["cp"], [os.path.join(ROOT, "boot.py"), ":boot.py"]),
        ("fs", ["cp"], [os.path.join(ROOT, "main.py"), ":main.py"]),
        ("fs", ["cp"], [keys[1], ":trusted_keys.py"]),
        ("exec", [argv[argv.index("exec") + 1]], None),
        ("fs", ["cp"], [config, ":/state/config.json"]),
        ("fs", ["cp"], [keys[0], ":/state/ca.crt"]),
        ("exec", ["import time, machine; time.sleep_ms(100); machine.reset()"], None),
    ]
    assert not seen[-1][1].follow  # reset: mpremote does not wait for the board

# The real boot path end to end, as a board lives it: each power-on is a new process (CPython
# or the MicroPython unix port) that runs boot.py -> fota.boot.start.run() on a file-backed
# flash in its state dir, then a tiny main. Images are real: `updraft pack` (LittleFS with a
# hello.py), `updraft sign`, keys from `updraft keygen` (through updraft.board, which also
# flashes the factory image); the update goes through fota.slots.ab.
# SPDX-License-Identifier: MIT
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

from updraft import board, sign

BIN = os.path.join(ROOT, ".venv", "bin")
BOARD = os.path.join(ROOT, "tests", "host", "e2e_board.py")
RUNTIMES = ("python", "micropython")
APP_B = 0x50000
_CACHE = {}


def _images():
    # key + trusted-keys module, and signed app images v1, v2 (LittleFS holding hello.py) and
    # v2bad (a signed image whose payload is not a filesystem), made once per session with
    # the same tools `updraft sim --keys --factory` provisions from (updraft.board)
    if _CACHE:
        return _CACHE
    d = "/tmp/updraft-e2e-%d" % os.getpid()
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    key, trusted = board.make_key(d)
    shutil.copy(trusted, d + "/trusted_keys.py")
    for ver in ("1.0.0", "2.0.0"):
        board.make_image(d, key, ver, name="v" + ver[0], component=None)
    with open(d + "/junk.img", "wb") as f:
        f.write(bytes(range(256)) * 32)  # 8 KiB, not a LittleFS
    sign.sign(key, d + "/junk.img", d + "/v2bad.bin", "2.0.0", header_size=board.HEADER_SIZE)
    with open(d + "/v2.bin", "rb") as f:
        bad = bytearray(f.read())
    bad[0x1000 + 100] ^= 1  # one payload bit: the signature no longer holds
    with open(d + "/v2tampered.bin", "wb") as f:
        f.write(bad)
    _CACHE["dir"] = d
    return _CACHE


class Board:
    # One simulated board: a state dir with the trusted-keys module and flash.bin.
    def __init__(self, runtime, tmp_path):
        self.d = _images()["dir"]
        self.state = str(tmp_path / "state")
        board.install_keys(self.state, self.d + "/trusted_keys.py")  # the host board's provisioning
        self.exe = os.path.join(BIN, runtime) if runtime == "micropython" else sys.executable
        self.runtime = runtime

    def run(self, *args):
        env = dict(os.environ, UPDRAFT_STATE=self.state)
        env.pop("MICROPYPATH", None)
        p = subprocess.run([self.exe, BOARD, ROOT] + list(args), env=env, cwd=self.state,
                           capture_output=True, text=True, timeout=60)
        out = p.stdout
        assert p.returncode == 0, out + p.stderr
        assert "slot selection failed" not in out, out  # boot.py caught something
        return out

    def factory_and_update(self, image="v2.bin"):
        board.flash_factory(self.state, self.d + "/v1.bin")
        return self.run("update", self.d + "/" + image)

    def power_on(self, confirm=False):
        # -> dict of what main saw: SEL (slot, trial, verified, action, version), MOUNT, HELLO,
        # OUTCOME, CONFIRM
        out = self.run("poweron", "confirm") if confirm else self.run("poweron")
        seen = {}
        for line in out.splitlines():
            key, _, rest = line.partition(" ")
            if key in ("SEL", "MOUNT", "HELLO", "OUTCOME", "CONFIRM", "DECIDER"):
                seen[key] = rest
        seen["out"] = out
        return seen

    def app_dir(self):
        # where boot put the app: /app (vfs.VfsLfs2) or the host copy (CPython)
        if self.runtime == "micropython":
            return "/app"
        return os.path.join(self.state, "app")


def _sel(seen):
    slot, trial, verified, action, version = seen["SEL"].split()
    return int(slot), trial == "1", verified == "1", version


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_unconfirmed_trials_roll_back_and_report_8(runtime, tmp_path):
    b = Board(runtime, tmp_path)
    assert b.factory_and_update().startswith("UPDATE ok 1 2.0.0")
    for _ in range(3):  # fota.boot.TRIALS: every boot runs v2 in trial, reset before confirm
        s = b.power_on()
        assert _sel(s) == (1, True, True, "2.0.0"), s["out"]
        assert s["MOUNT"] == b.app_dir()
        assert s["HELLO"] == "2.0.0 %s/hello.py" % b.app_dir(), s["out"]
        assert s["OUTCOME"] == "None"
    for _ in range(2):  # budget spent: v1 again, and it stays so
        s = b.power_on()
        assert _sel(s) == (0, False, True, "1.0.0"), s["out"]
        assert s["HELLO"].startswith("1.0.0 ")
        assert s["OUTCOME"] == "(8, 2, 1, (2, 0, 0, 0))", s["out"]  # failed, trials, tag 1, v2


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_confirmed_trial_sticks_and_reports_1(runtime, tmp_path):
    b = Board(runtime, tmp_path)
    b.factory_and_update()
    s = b.power_on(confirm=True)
    assert _sel(s) == (1, True, True, "2.0.0") and s["CONFIRM"] == "True", s["out"]
    assert s["OUTCOME"] == "(1, 1, 1, (2, 0, 0, 0))"
    assert s["DECIDER"] == "[]", "the firmware keeps boot's decision code loaded"
    for _ in range(4):  # past the trial budget: confirmed means no more trials
        s = b.power_on(confirm=True)
        assert _sel(s) == (1, False, True, "2.0.0"), s["out"]
        assert s["CONFIRM"] == "False"  # nothing left to confirm, and no flash write
        assert s["HELLO"].startswith("2.0.0 ") and s["OUTCOME"] == "(1, 1, 1, (2, 0, 0, 0))"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_slot_tampered_after_activation_never_boots_and_reports_5(runtime, tmp_path):
    b = Board(runtime, tmp_path)
    assert b.factory_and_update().startswith("UPDATE ok 1")
    with open(os.path.join(b.state, "flash.bin"), "r+b") as f:  # damage after the download
        f.seek(APP_B + 0x1000 + 100)
        c = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([c[0] ^ 1]))
    for _ in range(2):
        s = b.power_on(confirm=True)
        assert _sel(s) == (0, False, True, "1.0.0"), s["out"]
        assert s["HELLO"].startswith("1.0.0 ") and s["CONFIRM"] == "False"
        assert s["OUTCOME"] == "(5, 3, 1, (2, 0, 0, 0))", s["out"]  # integrity, at boot


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tampered_download_is_refused_and_never_activated(runtime, tmp_path):
    b = Board(runtime, tmp_path)
    assert b.factory_and_update("v2tampered.bin").strip() == "UPDATE 5"
    s = b.power_on(confirm=True)
    assert _sel(s) == (0, False, True, "1.0.0") and s["HELLO"].startswith("1.0.0 ")
    assert s["OUTCOME"] == "None"  # no update was activated: nothing for boot to report


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_app_that_does_not_mount_never_confirms_and_rolls_back(runtime, tmp_path):
    # signed but not a filesystem: boot reports it and carries on; the trial cannot run its
    # app, so it never confirms and the trial budget brings v1 back
    b = Board(runtime, tmp_path)
    assert b.factory_and_update("v2bad.bin").startswith("UPDATE ok 1 2.0.0")
    for _ in range(3):
        s = b.power_on(confirm=True)  # the firmware registers and asks to confirm: refused
        assert _sel(s)[:2] == (1, True) and s["MOUNT"] == "None", s["out"]
        assert "boot: app slot 1 not mounted" in s["out"] and s["HELLO"].startswith("none")
        assert s["CONFIRM"] == "False" and s["OUTCOME"] == "None"
    s = b.power_on()
    assert _sel(s) == (0, False, True, "1.0.0") and s["HELLO"].startswith("1.0.0 ")
    assert s["OUTCOME"].startswith("(8, 2, 1"), s["out"]


if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", __file__]))

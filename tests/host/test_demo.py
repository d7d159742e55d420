# `updraft demo` end to end on both runtimes: dev server + `updraft sim` running the real
# device client (boot.py, main.py, lib/): registration, Read /3/0, Observe with notifications.
# SPDX-License-Identifier: MIT
import subprocess
import sys

import pytest

from conftest import ROOT
from peers import require


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_demo(runtime):
    if runtime == "micropython":
        require("micropython")
    out = subprocess.run([sys.executable, "-m", "updraft.cli", "demo", "--runtime", runtime, "--notifications", "2",
                          "--register-timeout", "20"], cwd=ROOT, capture_output=True, text=True, timeout=90)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    lines = [line for line in text.splitlines() if line.startswith("demo: ")]
    assert any(line.startswith("demo: registered: updraft-demo at /rd/") for line in lines), text[-4000:]
    assert "demo: Read /3/0 -> 2.05" in "\n".join(lines)
    assert "Manufacturer" in text and "Current Time" in text
    assert sum(line.startswith("demo: notification ") for line in lines) == 2
    assert "board  | sim: board stopped" in text and "server | updraft server: stopped" in text

# `updraft demo` end to end on both runtimes: dev server + `updraft sim` running the real
# device client (boot.py, main.py, lib/): registration, Read /3/0, Observe with notifications,
# then the update of the provisioned v1 to v2 by CoAP pull (State 0 / Result 1, /3/0/3 2.0.0).
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
    assert "demo: update: done: State 0, Result 1 (updated successfully); /3/0/3 1.0.0 -> 2.0.0" in text, text[-4000:]
    assert "demo: Read /3/0/3 Firmware Version -> 2.05 2.0.0" in lines
    assert any(line.startswith("demo: State/Result seen: 1/0 -> 2/0 -> 3/0") and line.endswith("0/1")
               for line in lines), lines
    assert "board  | sim: board stopped" in text and "server | updraft server: stopped" in text

# STYLE 7.5.10 as a test: no `assert` in device code (mpy-cross -O1 strips it, so a check
# written as an assert would silently vanish on a board).
# SPDX-License-Identifier: MIT
import ast
import os

from conftest import ROOT


def asserts(paths):
    found = []
    for path in paths:
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        found += ["%s:%d" % (path, n.lineno) for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    return found


def device_files():
    out = [os.path.join(ROOT, n) for n in ("boot.py", "main.py")]
    for top, _, files in os.walk(os.path.join(ROOT, "lib")):
        out += [os.path.join(top, f) for f in files if f.endswith(".py")]
    return [p for p in out if os.path.exists(p)]


def test_device_code_has_no_assert():
    assert not asserts(device_files())


def test_checker_finds_an_assert(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("def f(n):\n    assert n > 0\n")
    assert asserts([str(p)]) == ["%s:2" % p]

# Precompile lib/ with mpy-cross (as a board would run frozen or .mpy code, not compile .py
# on its heap), and bisect for the smallest heap a run needs (romfs.min_heap uses it).
# SPDX-License-Identifier: MIT
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MICROPYTHON = os.path.join(BIN, "micropython")


def build(out, src=None, prefix="/lib"):
    # Mirror lib/ as .mpy files under out; returns out. Each is named (in tracebacks) by the
    # path a board imports it from, prefix + its place in the tree (see compile_file()).
    src = src or os.path.join(ROOT, "lib")
    for dirpath, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != "__pycache__"]  # CPython's, not device code
        rel = os.path.relpath(dirpath, src)
        os.makedirs(os.path.join(out, rel), exist_ok=True)
        for f in files:
            if f.endswith(".py"):
                name = "/".join(p for p in (prefix, rel.replace(os.sep, "/"), f[:-3] + ".mpy") if p not in ("", "."))
                compile_file(os.path.join(dirpath, f), os.path.join(out, rel, f[:-3] + ".mpy"), name)
    return out


def compile_file(src, dst, name):
    # mpy-cross src -> dst, naming the file `name` inside it: the path the board imports it
    # from, which is also the module's __file__ there, so both are one qstr on the device
    # (not this machine's path, which exists nowhere on the board and costs one more).
    p = subprocess.run([os.path.join(BIN, "mpy-cross"), "-s", name, "-o", dst, src], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError("mpy-cross %s: %s" % (src, p.stderr.strip()))


def bisect(passes, lo, hi, step=1024):
    # Smallest n in [lo, hi] (in `step` bytes) with passes(n), assuming more never hurts;
    # None when even `hi` fails.
    if not passes(hi):
        return None
    lo, hi = lo // step, hi // step
    while lo < hi:
        mid = (lo + hi) // 2
        if passes(mid * step):
            hi = mid
        else:
            lo = mid + 1
    return hi * step

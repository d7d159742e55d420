# Precompile lib/ with mpy-cross (as a board would run frozen or .mpy code, not compile .py
# on its heap), and bisect for the smallest heap a run needs (romfs.min_heap uses it).
# SPDX-License-Identifier: MIT
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MICROPYTHON = os.path.join(BIN, "micropython")


def build(out, src=None):
    # Mirror lib/ as .mpy files under out; returns out.
    src = src or os.path.join(ROOT, "lib")
    for dirpath, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != "__pycache__"]  # CPython's, not device code
        rel = os.path.relpath(dirpath, src)
        os.makedirs(os.path.join(out, rel), exist_ok=True)
        for f in files:
            if f.endswith(".py"):
                dst = os.path.join(out, rel, f[:-3] + ".mpy")
                subprocess.run([os.path.join(BIN, "mpy-cross"), "-o", dst, os.path.join(dirpath, f)],
                               check=True, capture_output=True)
    return out


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

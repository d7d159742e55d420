# Precompile lib/ with mpy-cross (as a board would run frozen or .mpy code, not compile .py
# on its heap) and find the smallest MicroPython heap a script runs in.
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


def min_heap(argv, ok, lo=8 * 1024, hi=4 << 20, step=1024, env=None, timeout=30):
    # Smallest -X heapsize (in `step` bytes) for which `micropython -X heapsize=N *argv`
    # satisfies ok(completed_process); None when even `hi` fails.
    def passes(n):
        # a run that hangs (an allocation failing inside a callback) counts as a failure
        try:
            p = subprocess.run([MICROPYTHON, "-X", "heapsize=%d" % n] + list(argv), cwd=ROOT,
                               capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return False
        return ok(p)

    return bisect(passes, lo, hi, step)


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

# Benchmark of the device image check (fota.image.verify) on a 1 MiB imgtool image, as a
# ratio to SHA-256 alone over the same bytes in the same runtime, on the MicroPython unix
# port and CPython, plus the smallest MicroPython heap (-X heapsize) the check runs in.
# `run()` is the hook the bench driver calls; `python -m updraft.bench_image` runs it alone.
# The image is signed with the P-256 test key of tests/vectors (never a production key).
# SPDX-License-Identifier: MIT
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MICROPYTHON = os.path.join(BIN, "micropython")
VEC = os.path.join(ROOT, "tests", "vectors")
SIZE = 1 << 20

# Runs on both runtimes. argv: image path, lib dir, key module dir, runs, buffer size, mode
# (unused), key module name (one trusted key, as a board of that key type would hold).
# Prints the medians as JSON.
SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[3])
import gc
import hashlib
from fota import image
keymod = __import__(sys.argv[7])
try:
    from time import ticks_us, ticks_diff
except ImportError:
    from time import perf_counter
    def ticks_us():
        return int(perf_counter() * 1000000)
    def ticks_diff(a, b):
        return a - b
path, runs, bufsize, mode = sys.argv[1], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
keys = image.from_module(keymod)
del keymod
gc.collect()
with open(path, "rb") as f:
    data = f.read()
src = memoryview(data)
def read(off, mv):
    mv[:] = src[off : off + len(mv)]
def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]
buf = bytearray(bufsize)
t_sha, t_chunk, t_ver = [], [], []
mv = memoryview(buf)
for i in range(runs):
    gc.collect()
    t0 = ticks_us()
    hashlib.sha256(data).digest()
    t1 = ticks_us()
    h = hashlib.sha256()
    n = len(data)
    pos = 0
    while pos < n:
        m = mv if n - pos >= bufsize else mv[: n - pos]
        read(pos, m)
        h.update(m)
        pos += bufsize
    h.digest()
    t2 = ticks_us()
    info = image.verify(read, keys, 1 << 21, "app", buf)
    t3 = ticks_us()
    t_sha.append(ticks_diff(t1, t0))
    t_chunk.append(ticks_diff(t2, t1))
    t_ver.append(ticks_diff(t3, t2))
print('{"sha256_s": %f, "sha256_read_s": %f, "verify_s": %f}' % (
    med(t_sha) / 1e6, med(t_chunk) / 1e6, med(t_ver) / 1e6))
"""


# The heap probe: nothing but the imports, the key module and one verify that reads the
# image from a file as from flash (the image never sits in the heap). argv: image, lib dir,
# key module dir, buffer size, key module name.
HEAP_SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, sys.argv[3])
from fota import image
keys = image.from_module(__import__(sys.argv[5]))
f = open(sys.argv[1], "rb")
def read(off, mv):
    f.seek(off)
    f.readinto(mv)
image.verify(read, keys, 1 << 21, "app", bytearray(int(sys.argv[4])))
print("OK")
"""


def make_image(tmp, kind="ec"):
    # 1 MiB random payload signed with the test key -> path of the image
    sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "lib")]

    src = os.path.join(tmp, "payload.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(SIZE))
    from updraft import keys, sign

    out = os.path.join(tmp, "image-%s.bin" % kind)
    pem = os.path.join(VEC, "keys", kind + ".pem")
    sign.sign(pem, src, out, "1.0.0", "app", check=False, stream=open(os.devnull, "w"))
    keys.add_trusted(os.path.join(tmp, "keys_%s.py" % kind), pem)
    return out


def _run(exe, script, img, runs, bufsize, mode, heap=None, libdir=None):
    # the image sits next to its one-key trusted module, keys_<kind>.py
    cmd = [exe]
    if heap:
        cmd += ["-X", "heapsize=%d" % heap]
    d, name = os.path.split(img)
    cmd += [script, img, libdir or os.path.join(ROOT, "lib"), d, str(runs), str(bufsize), mode,
            "keys_" + name.split("-")[1].split(".")[0]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def timing(exe, script, img, runs, bufsize):
    p = _run(exe, script, img, runs, bufsize, "time")
    if p.returncode:
        raise RuntimeError("%s failed: %s" % (exe, p.stderr.strip() or p.stdout.strip()))
    return json.loads(p.stdout.strip().splitlines()[-1])


def peak_heap(script, img, bufsize, libdir=None, lo=4096, hi=1 << 20):
    # smallest -X heapsize (1 KiB steps) for which HEAP_SCRIPT verifies the image
    d, name = os.path.split(img)
    mod = "keys_" + name.split("-")[1].split(".")[0]

    def ok(n):
        p = subprocess.run([MICROPYTHON, "-X", "heapsize=%d" % n, script, img,
                            libdir or os.path.join(ROOT, "lib"), d, str(bufsize), mod],
                           capture_output=True, text=True, timeout=60)
        return p.returncode == 0 and p.stdout.startswith("OK")

    if not ok(hi):
        return None
    lo //= 1024
    hi //= 1024
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid * 1024):
            hi = mid
        else:
            lo = mid + 1
    return hi * 1024


def _mpy_lib(tmp):
    # lib/fota and lib/port precompiled with mpy-cross (code not compiled on the heap)
    out = os.path.join(tmp, "mpylib")
    lib = os.path.join(ROOT, "lib")
    for d in ("fota", "fota/image", "fota/crypto", "port"):
        os.makedirs(os.path.join(out, d), exist_ok=True)
        for f in os.listdir(os.path.join(lib, d)):
            if f.endswith(".py") and (d != "fota" or f in ("__init__.py", "const.py")):
                subprocess.run([os.path.join(BIN, "mpy-cross"), "-o",
                                os.path.join(out, d, f[:-3] + ".mpy"),
                                os.path.join(lib, d, f)], check=True)
    return out


def _ratios(mp, cp):
    return {
        "micropython_verify_s": mp["verify_s"],
        "micropython_sha256_s": mp["sha256_s"],
        "ratio_micropython": round(mp["verify_s"] / mp["sha256_s"], 3),
        "cpython_verify_s": cp["verify_s"],
        "cpython_sha256_s": cp["sha256_s"],
        "ratio_cpython": round(cp["verify_s"] / cp["sha256_s"], 3),
    }


def run(runs=15, bufsize=4096, heap=True):
    # {"verify_1mib": {...}}: P-256 (the default key type) with a `bufsize` hash buffer at the
    # top level; the same with the 1 KiB default buffer and Ed25519 as nested dicts. Times
    # are medians of `runs`; sha256 is hashlib over the whole image bytes in one call, the
    # verify includes reading the image through read(offset, mv) from a bytes object.
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "bench_verify.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        hscript = os.path.join(tmp, "heap_verify.py")
        with open(hscript, "w") as f:
            f.write(HEAP_SCRIPT)
        mpy = _mpy_lib(tmp) if heap else None
        out = {}
        for kind in ("ec", "ed"):
            img = make_image(tmp, kind)
            r = {}
            for b in (bufsize, 1024):
                mp = timing(MICROPYTHON, script, img, runs, b)
                cp = timing(sys.executable, script, img, runs, b)
                rr = _ratios(mp, cp)
                rr["micropython_sha256_read_s"] = mp["sha256_read_s"]
                rr["buffer_bytes"] = b
                if b == bufsize:
                    r.update(rr)
                else:
                    r["buffer_1k"] = rr
            if heap:
                r["micropython_peak_heap_bytes"] = peak_heap(hscript, img, 1024)
                r["micropython_peak_heap_bytes_mpy"] = peak_heap(hscript, img, 1024, mpy)
                r["heap_note"] = ("smallest -X heapsize (1 KiB steps) for imports + one verify "
                                  "(1 KiB buffer), modules from .py / precompiled .mpy; frozen "
                                  "modules (a board) need less: tables and code stay in flash")
            r["runs"] = runs
            r["key"] = "ecdsa-p256" if kind == "ec" else "ed25519"
            out[kind] = r
        res = out["ec"]
        res["ed25519"] = out["ed"]
        res["target"] = "ratio_micropython <= 2"
        res["target_met"] = res["ratio_micropython"] <= 2
        return {"verify_1mib": res}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    res = run(heap="--no-heap" not in argv)
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

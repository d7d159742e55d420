# The power-cut suite (issue 4): a full A/B update of imgtool-signed P-256 images, replayed
# with power cut at every flash operation, at random operations of the download, twice in a
# row, on a file-backed chip, and on the MicroPython unix port. Prints what it tried.
# SPDX-License-Identifier: MIT
import os
import random
import subprocess
import sys
import time

import pcsim
from conftest import ROOT
from fota.crypto.keys import load_key

BIN = os.path.join(ROOT, ".venv", "bin")
_CACHE = {}


def _images():
    # key + three signed images (old 0.5, confirmed 1.0, update 2.0), made once per session
    if _CACHE:
        return _CACHE["dir"], _CACHE["keys"], _CACHE["imgs"]
    d = "/tmp/updraft-powercut-%d" % os.getpid()
    os.makedirs(d, exist_ok=True)
    imgtool = os.path.join(BIN, "imgtool")
    key = os.path.join(d, "key.pem")
    subprocess.check_call([imgtool, "keygen", "-k", key, "-t", "ecdsa-p256"])
    rng = random.Random(4)
    out = []
    for name, ver, size in (("old", "0.5.0", 60000), ("v1", "1.0.0", 80000),
                            ("v2", "2.0.0", 100 * 1024 + 123), ("v3", "3.0.0", 90000)):
        body = os.path.join(d, name + ".body")
        with open(body, "wb") as f:
            f.write(bytes(rng.getrandbits(8) for _ in range(size)))
        dst = os.path.join(d, name + ".bin")
        subprocess.check_call([imgtool, "sign", "-k", key, "--header-size", "0x1000",
                               "--pad-header", "-S", str(pcsim.SLOT), "-v", ver, "-s", "auto",
                               body, dst], stdout=subprocess.DEVNULL)
        with open(dst, "rb") as f:
            out.append(f.read())
    from cryptography.hazmat.primitives import serialization

    with open(key, "rb") as f:
        priv = serialization.load_pem_private_key(f.read(), None)
    raw = priv.public_key().public_bytes(serialization.Encoding.X962,
                                         serialization.PublicFormat.UncompressedPoint)
    with open(os.path.join(d, "key.raw"), "wb") as f:
        f.write(raw)
    _CACHE.update(dir=d, keys=[load_key(raw)], imgs=tuple(out))
    return d, _CACHE["keys"], _CACHE["imgs"]


def _plans(imgs):
    # two updates in a row (v1 -> v2 into slot B, then v2 -> v3 into slot A), and one that
    # never confirms (v1 -> v2, every trial resets before registration)
    return ((imgs[2], True), (imgs[3], True)), ((imgs[2], False),)


def test_cut_at_every_operation_of_two_updates():
    _, keys, imgs = _images()
    t = time.time()
    tried, total, erases = pcsim.replay(keys, imgs, _plans(imgs)[0])
    print("\npowercut: %d cut points (every op of two updates, %d ops), all consistent, %.1f s"
          % (tried, total, time.time() - t))
    slots = erases[0x10000 // 4096 : 0x50000 // 4096]
    print("powercut: erases per slot sector max %d, boot-record sectors %r"
          % (max(slots), erases[:2]))
    assert tried == total and total > 2 * (26 + 23)  # sectors erased + programmed, records
    assert max(slots) == 1 and erases[:2] == [0, 1]  # the record log switched sectors once


def test_cut_at_random_operations_of_the_download():
    _, keys, imgs = _images()
    rng = random.Random(1234)
    lo, hi = pcsim.write_ops(keys, imgs, imgs[2])
    cuts = [rng.randrange(lo, hi) for _ in range(150)]
    seeds = [rng.getrandbits(31) for _ in cuts]
    tried = pcsim.replay(keys, imgs, _plans(imgs)[0], cuts=cuts, seeds=seeds)[0]
    print("\npowercut: %d random cut points (random tear patterns) in the download" % tried)
    assert tried == 150


def test_cut_twice_in_a_row():
    # a cut, then another cut during the very next boot's first flash write
    _, keys, imgs = _images()
    tried, total, _ = pcsim.replay(keys, imgs, _plans(imgs)[0], double=True)
    print("\npowercut: %d double cut points" % tried)
    assert tried == total


def test_reset_during_trial_rolls_back_as_8_at_every_cut():
    _, keys, imgs = _images()
    tried, total, _ = pcsim.replay(keys, imgs, _plans(imgs)[1])
    print("\npowercut: %d cut points of a never-confirmed update; all end rolled back, "
          "reported 8" % tried)
    assert tried == total


def test_file_backed_chip_across_reopen():
    # the chip lives in a file and is reopened at every power-on, as a restarted process would
    d, keys, imgs = _images()
    path = os.path.join(d, "flash.bin")
    total = pcsim.replay(keys, imgs, _plans(imgs)[0], cuts=())[1]
    cuts = list(range(0, total, 9)) + [total - 1]
    tried = pcsim.replay(keys, imgs, _plans(imgs)[0], cuts=cuts, path=path)[0]
    print("\npowercut: %d cut points on a file-backed chip" % tried)
    assert tried == len(cuts)


def test_on_micropython_unix_port():
    d, _, _ = _images()
    mp = os.path.join(BIN, "micropython")
    env = dict(os.environ, MICROPYPATH=":".join(
        [os.path.join(ROOT, "lib"), os.path.join(ROOT, "tests", "host"), ".frozen"]))
    t = time.time()
    out = subprocess.run([mp, "-X", "heapsize=32m", os.path.join(ROOT, "tests", "host", "pcsim.py"), d],
                         env=env, capture_output=True, text=True, timeout=300)
    print("\n" + out.stdout.strip() + " (MicroPython, %.1f s)" % (time.time() - t))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all consistent" in out.stdout


if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", __file__]))

# `updraft pack`: a directory -> the LittleFS image an app slot holds, in the geometry
# fota.boot.appfs mounts; .mpy compilation; the image mounts and imports on MicroPython.
# SPDX-License-Identifier: MIT
import os
import subprocess

import littlefs
from conftest import ROOT
from fota.boot import appfs
from updraft import pack

MP = os.path.join(ROOT, ".venv", "bin", "micropython")

# runs on the unix port: mount IMAGE through fota.boot.appfs as boot.py would, then import
MOUNT = """
import sys
sys.path.insert(0, sys.argv[2] + "/lib")
from fota.boot import appfs
class Part:
    def __init__(self, path):
        self.f = open(path, "rb")
    def read(self, off, mv):
        self.f.seek(off)
        self.f.readinto(mv)
class Info:
    hdr_size = 0
    img_size = int(sys.argv[3])
appfs.mount(Part(sys.argv[1]), Info(), "/app")
import pkg.mod, main
print("OK", pkg.mod.X, main.M, pkg.mod.__file__)
"""


def _tree(d):
    os.makedirs(os.path.join(d, "pkg"))
    os.makedirs(os.path.join(d, "__pycache__"))
    files = {"main.py": "M = 'main'\n", "pkg/__init__.py": "", "pkg/mod.py": "X = 41 + 1\n",
             "data.json": '{"a": 1}', ".hidden": "x", "__pycache__/junk.pyc": "x"}
    for name, body in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(body)


def _listing(img):
    with open(img, "rb") as f:
        data = bytearray(f.read())
    fs = littlefs.LittleFS(context=littlefs.UserContext(buffer=data), block_size=appfs.BLOCK,
                           block_count=len(data) // appfs.BLOCK, read_size=appfs.READ_SIZE,
                           prog_size=appfs.PROG_SIZE, cache_size=appfs.CACHE_SIZE,
                           lookahead_size=appfs.LOOKAHEAD, mount=False)
    fs.mount()
    out = []
    for top, _, files in fs.walk("/"):
        out += [(top.rstrip("/") + "/" + n).lstrip("/") for n in files]
    return sorted(out), len(data)


def test_pack_mpy_mounts_and_imports_on_micropython(tmp_path):
    src = str(tmp_path / "app")
    _tree(src)
    img = str(tmp_path / "app.img")
    n, blocks = pack.pack(src, img, mpy=True)
    names, size = _listing(img)
    # main.py stays source (a board runs it by name), the rest is precompiled; no hidden files
    assert names == ["data.json", "main.py", "pkg/__init__.mpy", "pkg/mod.mpy"] and n == 4
    assert size == blocks * 4096
    out = subprocess.run([MP, "-c", MOUNT, img, ROOT, str(size)], capture_output=True,
                         text=True, timeout=30)
    assert out.stdout.strip() == "OK 42 main /app/pkg/mod.mpy", out.stdout + out.stderr


def test_pack_cli_refuses_an_empty_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    assert pack.main([str(tmp_path / "empty"), "--out", str(tmp_path / "x.img")]) == 1
    assert not os.path.exists(tmp_path / "x.img")


def test_pack_grows_until_everything_fits(tmp_path):
    # 8190-byte files need 3 blocks each (littlefs keeps a pointer in each later block), one
    # more than the first estimate: pack must grow the image, not fail or drop files
    src = tmp_path / "big"
    src.mkdir()
    for i in range(10):
        (src / ("b%d.bin" % i)).write_bytes(os.urandom(8190))
    n, blocks = pack.pack(str(src), str(tmp_path / "big.img"))
    names, size = _listing(str(tmp_path / "big.img"))
    assert n == 10 and len(names) == 10 and size == blocks * 4096
    assert blocks > 2 + 2 + 10 * 2  # more than the first estimate: it grew

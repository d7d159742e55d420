# `updraft pack`: the payload of an application image, a LittleFS image of a directory of
# .py/.mpy files (and any data files), built with littlefs-python in the geometry boot.py
# mounts with (fota.boot.appfs). Sign the result with `updraft sign --header-size 0x1000`, so
# the filesystem starts on a flash sector right after the MCUboot header.
# SPDX-License-Identifier: MIT
import argparse
import os
import sys

from updraft.keys import ROOT  # noqa: F401 (puts lib/ on sys.path)
from fota.boot.start import APP_MOUNT

HEADER_SIZE = 0x1000  # what `updraft sign --header-size` must be for a packed app


def files_of(src):
    # (path inside the image, path on disk), sorted; hidden entries and __pycache__ skipped
    out = []
    for top, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = os.path.join(top, name)
            out.append((os.path.relpath(path, src).replace(os.sep, "/"), path))
    return out


def compile_mpy(path, name):
    # .py -> .mpy bytes (what a board imports without compiling on its heap), named by the
    # path boot.py's mount gives it on the board (mpy.compile_file)
    from updraft import mpy

    out = path + ".mpy.tmp"
    try:
        mpy.compile_file(path, out, name)
        with open(out, "rb") as f:
            return f.read()
    finally:
        if os.path.exists(out):
            os.remove(out)


def _build(entries, blocks):
    import littlefs
    from fota.boot import appfs

    fs = littlefs.LittleFS(block_size=appfs.BLOCK, block_count=blocks,
                           read_size=appfs.READ_SIZE, prog_size=appfs.PROG_SIZE,
                           cache_size=appfs.CACHE_SIZE, lookahead_size=appfs.LOOKAHEAD)
    for name, body in entries:
        parent = name.rpartition("/")[0]
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(name, "wb") as f:
            f.write(body)
    return bytes(fs.context.buffer)


def pack(src, out, mpy=False, blocks=None):
    # Build the image of directory `src` into file `out`; returns (files, blocks). mpy:
    # compile each .py except main.py/boot.py with mpy-cross. blocks: image size in 4096-byte
    # blocks (default: the smallest that holds everything, found by trying).
    import littlefs
    from fota.boot import appfs

    entries = []
    for name, path in files_of(src):
        if mpy and name.endswith(".py") and name.rpartition("/")[2] not in ("main.py", "boot.py"):
            entries.append((name[:-3] + ".mpy", compile_mpy(path, APP_MOUNT + "/" + name[:-3] + ".mpy")))
        else:
            with open(path, "rb") as f:
                entries.append((name, f.read()))
    if not entries:
        raise ValueError("%s: no files to pack" % src)
    n = blocks
    if n is None:  # superblock pair + a pair per directory + data blocks; then grow until it fits
        dirs = {e[0].rpartition("/")[0] for e in entries}
        n = 2 + 2 * len(dirs) + sum(len(b) // appfs.BLOCK + 1 for _, b in entries)
    while True:
        try:
            img = _build(entries, n)
            break
        except littlefs.LittleFSError as e:
            if blocks is not None or e.code != littlefs.LittleFSError.Error.LFS_ERR_NOSPC:
                raise
            n += max(1, n // 8)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(img)
    os.replace(tmp, out)
    return len(entries), n


def main(argv=None):
    ap = argparse.ArgumentParser(prog="updraft pack", description=(
        "Pack a directory into the LittleFS image an application slot holds (mounted "
        "read-only at /app by boot.py). Then: updraft sign --header-size 0x1000 ..."))
    ap.add_argument("src", help="directory of .py/.mpy (and data) files")
    ap.add_argument("--out", "-o", required=True, help="image file to write")
    ap.add_argument("--mpy", action="store_true", help="compile .py to .mpy (not main.py)")
    ap.add_argument("--blocks", type=int, help="image size in 4096-byte blocks")
    args = ap.parse_args(argv)
    try:
        n, blocks = pack(args.src, args.out, args.mpy, args.blocks)
    except Exception as e:
        print("updraft pack: %s" % e, file=sys.stderr)
        return 1
    print("%s: %d files, %d blocks of 4096 (%d bytes); sign with --header-size 0x%x"
          % (args.out, n, blocks, blocks * 4096, HEADER_SIZE))
    return 0


if __name__ == "__main__":
    sys.exit(main())

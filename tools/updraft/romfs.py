# Run device code on the MicroPython unix port the way a board with a ROMFS partition runs it
# (MicroPython >= 1.25: `mpremote romfs deploy`): lib/ precompiled to .mpy inside a read-only
# VfsRom image that is memory-mapped, so bytecode, constant strings and qstr text are used in
# place and only what a running program creates (modules, functions, classes, qstr entries,
# buffers) takes heap. A plain .mpy import copies all of it into the heap instead (~60 % more
# for our update path), which no board with lib/ in flash pays.
#
# The unix port has no ROM partition: `run` maps the image file copy-on-write into this
# process (outside MicroPython's GC heap, like a board's memory-mapped flash), then runs the
# same MicroPython the `micropython` command runs (micropython_run, in process) with a
# bootstrap that mounts the mapping at /rom as a board's firmware does, puts /rom and /rom/lib
# on sys.path, and imports the given module as the program:
#   python romfs.py run IMAGE [-X heapsize=N] MODULE [ARGS...]
#   python romfs.py build OUT DIR [NAME=FILE ...]   (DIR as /lib, each FILE as /NAME)
# SPDX-License-Identifier: MIT
import contextlib
import io
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = "UPDRAFT_ROMFS"  # "address:length" of the mapped image, for the bootstrap
MOUNT = "/rom"  # where a board (and the bootstrap below) mounts the image

# The bootstrap (compiled from source in the heap; a few hundred bytes). sys.argv on the
# port with -c is ["-c", MODULE, ARGS...]: the module sees [MODULE, ARGS...] as a script would.
BOOT = """
import os, sys, uctypes, vfs
a, n = os.getenv("%s").split(":")
vfs.mount(vfs.VfsRom(uctypes.bytearray_at(int(a), int(n))), "/rom")
sys.path[:0] = ["/rom", "/rom/lib"]
del sys.argv[0], a, n
__import__(sys.argv[0])
""" % ENV


def build(out, lib=None, extra=(), mount=MOUNT):
    # Write a ROMFS image to `out`: the tree `lib` (default: our lib/) as /lib, .py compiled
    # with mpy-cross, plus (name, path) files at the root (a driver script, trusted keys).
    # Returns the image size.
    from mpremote.romfs import make_romfs

    with tempfile.TemporaryDirectory() as stage:
        shutil.copytree(lib or os.path.join(ROOT, "lib"), os.path.join(stage, "lib"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        for name, path in extra:
            shutil.copyfile(path, os.path.join(stage, name))
        _compile(stage, mount)
        log = io.StringIO()
        with contextlib.redirect_stdout(log):  # make_romfs prints the tree
            image = make_romfs(stage, mpy_cross=False)
    with open(out, "wb") as f:
        f.write(image)
    return len(image)


def _compile(stage, mount):
    # Every .py under `stage` to .mpy, named by where the board imports it from (mpremote's
    # own build names each by this machine's staging directory: see mpy.compile_file).
    from updraft import mpy

    for dirpath, _, files in os.walk(stage):
        for f in files:
            if f.endswith(".py"):
                src = os.path.join(dirpath, f)
                dst = src[:-3] + ".mpy"
                mpy.compile_file(src, dst, mount + "/" + os.path.relpath(dst, stage).replace(os.sep, "/"))
                os.remove(src)


def argv(image, module, args=(), heap=None):
    # The command line that runs `module` from `image` (a subprocess of this Python).
    return ([sys.executable, os.path.abspath(__file__), "run", image] +
            (["-X", "heapsize=%d" % heap] if heap else []) + [module] + [str(a) for a in args])


def min_heap(image, module, args, ok, env=None, lo=8 * 1024, hi=4 << 20, timeout=30):
    # Smallest -X heapsize (1 KiB steps) for which running `module` from `image` gives a
    # completed process that ok(p) accepts; None when even `hi` fails. A run short of heap
    # can hang (a MemoryError inside a loop callback): a timeout is a failure.
    import subprocess

    from updraft import mpy

    def passes(heap):
        try:
            p = subprocess.run(argv(image, module, args, heap), cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return ok(p)

    return mpy.bisect(passes, lo, hi)


def run(image, mp_args):
    import ctypes
    import mmap

    import micropython_run  # the unix port, as the `micropython` command loads it

    with open(image, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    rom = (ctypes.c_char * len(m)).from_buffer(m)
    os.environ[ENV] = "%d:%d" % (ctypes.addressof(rom), len(m))
    opts = []
    while mp_args[:1] == ["-X"]:
        opts += mp_args[:2]
        mp_args = mp_args[2:]
    return micropython_run.run_main(["micropython"] + opts + ["-c", BOOT] + mp_args)


def main(args):
    if args[:1] == ["run"] and len(args) >= 3:
        return run(args[1], args[2:])
    if args[:1] == ["build"] and len(args) >= 3:
        extra = [a.split("=", 1) for a in args[3:]]
        print(build(args[1], args[2], extra), "bytes")
        return 0
    print("usage: romfs.py run IMAGE [-X heapsize=N] MODULE [ARGS...]\n"
          "       romfs.py build OUT DIR [NAME=FILE ...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

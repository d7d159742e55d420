# The host "board" (CPython and the MicroPython unix port): state lives in a directory,
# reset() ends the process with RESET_EXIT so the simulator restarts it through boot.py,
# as a real board would reboot.
# SPDX-License-Identifier: MIT
import os
import sys

from port import MICROPYTHON, random_bytes

name = "host"
RESET_EXIT = 75  # the simulator restarts a process that exits with this code


def state_dir():
    d = os.getenv("UPDRAFT_STATE") or "state"
    try:
        os.mkdir(d)
    except OSError:
        pass  # exists (no FileExistsError on MicroPython)
    return d


def unique_id():
    # Stable per state directory, like a chip id is stable per board.
    path = state_dir() + "/board_id"
    try:
        with open(path, "rb") as f:
            b = f.read()
        if len(b) == 6:
            return b
    except OSError:
        pass
    b = random_bytes(6)
    with open(path, "wb") as f:
        f.write(b)
    return b


def reset():
    try:
        sys.stdout.flush()
    except AttributeError:
        pass
    sys.exit(RESET_EXIT)


def mem_free():
    # Free heap in bytes, or None where the runtime cannot tell (CPython).
    if MICROPYTHON:
        import gc

        return gc.mem_free()
    return None


def network_info():
    # Honest loopback values: bearer 41 (Ethernet-like wired), no radio signal.
    return {"bearer": 41, "available": (41,), "rssi": 0, "link_quality": 0,
            "ips": ("127.0.0.1",), "router_ips": ()}



def mount_app(part, start, size, geometry, required=None):
    # CPython's stand-in for mounting the app slot (no vfs module here): unpack the LittleFS
    # image at [start, start+size) of `part` (the payload of a verified app image) into
    # <state dir>/app, a fresh copy each boot, and put that first on sys.path. geometry:
    # (block, read, prog, cache, lookahead) as fota.boot.appfs builds images. Needs
    # littlefs-python (tools/requirements.txt); without it nothing is mounted (None), or
    # ImportError when `required`. The copy is plain files: unlike a board's read-only
    # mount, the host could change it; the sim never does.
    try:
        import littlefs
    except ImportError:
        if required:
            raise
        return None
    import shutil

    block, rd, prog, cache, look = geometry
    data = bytearray(size)
    part.read(start, memoryview(data))
    fs = littlefs.LittleFS(
        context=littlefs.UserContext(buffer=data), block_size=block, block_count=size // block,
        read_size=rd, prog_size=prog, cache_size=cache, lookahead_size=look, mount=False)
    fs.mount()  # explicitly: LittleFS(mount=True) formats what it cannot mount
    dst = os.path.abspath(state_dir() + "/app")
    shutil.rmtree(dst, ignore_errors=True)
    for top, dirs, files in fs.walk("/"):
        rel = top.strip("/")
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for name in files:
            with fs.open(top.rstrip("/") + "/" + name, "rb") as src:
                body = src.read()
            with open(os.path.join(dst, rel, name), "wb") as out:
                out.write(body)
    if dst not in sys.path:
        sys.path.insert(0, dst)
    return dst

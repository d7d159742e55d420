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

# A host board for test_boot_e2e.py, run as one process per step on CPython or the MicroPython
# unix port, with UPDRAFT_STATE set to the board's state dir (flash.bin with the factory image
# and trusted_keys.py, both put there by updraft.board on the host):
#   e2e_board.py ROOT update IMG     stream IMG through fota.slots.ab into the free slot in
#                                    1 KiB blocks, verify, activate (prints UPDATE ok|<result>)
#   e2e_board.py ROOT poweron [confirm]
#                                    a power-on: ROOT/boot.py, then a tiny main in the same
#                                    interpreter (as a board runs main.py) printing what it sees
# SPDX-License-Identifier: MIT
import sys

ROOT = sys.argv[1]
sys.path.insert(0, ROOT + "/lib")

MAIN = """
import sys
import fota.boot.start as start
sel = start.selected
print("SEL", sel.slot, int(sel.trial), int(sel.verified), sel.action,
      sel.info.version_str() if sel.info else None)
print("MOUNT", start.mounted)
print("DECIDER", sorted(m for m in ("fota.boot.select", "fota.boot.table") if m in sys.modules))
try:
    import hello
    print("HELLO", hello.V, hello.__file__)
except ImportError as e:
    print("HELLO none", repr(e))
if CONFIRM:
    print("CONFIRM", start.confirm())
print("OUTCOME", start.boot().last_update_outcome())
"""


def read(path):
    with open(path, "rb") as f:
        return f.read()


def update(img):
    import fota.boot.start as start
    from fota.const import FotaError
    from fota.slots.ab import ABWriter

    boot = start.make_boot()
    w = ABWriter(boot, boot.keys)
    try:
        w.open(len(img))
        for off in range(0, len(img), 1024):
            w.write(off, img[off : off + 1024])
        info = w.finish()
        w.activate()
        print("UPDATE ok", w.slot, info.version_str())
    except FotaError as e:
        w.abort()
        print("UPDATE", e.result)


def poweron(confirm):
    g = {"__name__": "__main__", "__file__": "boot.py"}
    exec(compile(read(ROOT + "/boot.py").decode(), "boot.py", "exec"), g)
    g["CONFIRM"] = confirm
    exec(compile(MAIN, "main.py", "exec"), g)


cmd = sys.argv[2]
if cmd == "update":
    update(read(sys.argv[3]))
elif cmd == "poweron":
    poweron(sys.argv[3:] == ["confirm"])

# A device-side firmware update on the host board's file-backed flash, for heap tests and the
# bench; runs on CPython and the MicroPython unix port (lib/ from UPDRAFT_LIB: the heap bench
# runs it as a module of a ROMFS image, tools/updraft/romfs.py).
#   fota_node.py CHIP SLOT pull URI [probe] [formats]
#                                            -> FirmwareUpdate.write_uri(URI) until State 2
#                                               (fota_pull.py)
#   fota_node.py CHIP SLOT push PORT [probe] [starve=N] [ops] [formats]
#                                            -> serves /5/0/0 (Object 5's push stream on a CoAP
#                                               endpoint, no registration: fota_push.py) until State 2
#                                               (starve=N: receives find no heap after N datagrams;
#                                               ops: requests through a Registry and lwm2m.ops)
#   formats: with the content-format layer a registered client has loaded (lwm2m.formats;
#   a pull's URI decoded by formats.text, as from a text/plain Write)
# CHIP: the flash file (provisioned by the host: factory image in app_a); SLOT: the app slot
# size in bytes; the table is slot_table(SLOT). Trusted keys: module `trusted_keys` on
# sys.path (env UPDRAFT_KEYS: its directory). The update is the device's: fota.update +
# fota.journal + fota.slots.ab (with fota.image verify) + a fota.download engine or
# lwm2m.objects.firmware's Block1 push.
# Prints "MEM <label> <gc.mem_alloc after a collection>" at checkpoints (probe: also the
# largest live heap seen, collected every 64 KiB of the transfer), "READY <port>" (push),
# then ("REFUSED <result>" when the Package URI write failed at once) "FOTA <state> <result>
# <bytes in the slot> <us> <version>" and "MODS <modules loaded>"
# (what a board would have frozen; `code.py` below measures what they cost in the heap).
import gc
import os
import sys

sys.path.insert(0, os.getenv("UPDRAFT_LIB") or "lib")
if os.getenv("UPDRAFT_KEYS"):
    sys.path.append(os.getenv("UPDRAFT_KEYS"))


def out(*a):
    print(*a)
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def mem(label):
    if hasattr(gc, "mem_alloc"):  # MicroPython: CPython has no heap figure to give
        gc.collect()
        out("MEM", label, gc.mem_alloc())


def slot_table(slot):
    # DEFAULT_TABLE's control partitions, then two app slots of `slot` bytes
    return (("bootctl", 0x0000, 0x2000), ("journal", 0x2000, 0x2000), ("nvs", 0x4000, 0xC000),
            ("app_a", 0x10000, slot), ("app_b", 0x10000 + slot, slot))


def main(argv):
    mem("start")
    from port import ticks_us, ticks_diff
    from port.flash import Flash
    from coap.loop import Loop
    from fota.boot import Boot
    from fota.boot.record import RecordStore
    from fota.crypto.keys import from_module
    from fota.slots.ab import ABWriter

    chip, slot, mode, arg = argv[1], int(argv[2], 0), argv[3], argv[4]
    probe = "probe" in argv[5:]
    mem("imports")
    table = slot_table(slot)
    flash = Flash(0x10000 + 2 * slot, chip, table)
    mem("flash")
    import trusted_keys

    keys = from_module(trusted_keys)
    del trusted_keys
    mem("keys")
    boot = Boot(RecordStore(flash.partition("bootctl")), (flash.partition("app_a"), flash.partition("app_b")),
                keys)
    writer = ABWriter(boot, keys, component="app")
    mem("writer")
    loop = Loop()
    peak = [0]
    got = [0, 0]  # bytes seen, next probe point

    def watch(n):
        got[0] += n
        if probe and got[0] >= got[1]:
            got[1] = got[0] + 0x10000
            gc.collect()
            a = gc.mem_alloc()
            if a > peak[0]:
                peak[0] = a

    if mode == "pull":
        # each half in its own module: a module's names are interned when it loads, and a
        # pull must not carry the push's, nor a push the pull's (a qstr pool is ~8 KB here)
        import fota_pull

        fu, t0 = fota_pull.start(loop, flash, writer, arg, mem, out, watch if probe else None, "formats" in argv[5:])
    else:
        import fota_push

        starve = [int(a[7:]) for a in argv[5:] if a.startswith("starve=")]
        fu = fota_push.serve(loop, flash, writer, slot, int(arg), mem, out, watch if probe else None,
                             starve[0] if starve else None, "ops" in argv[5:], "formats" in argv[5:])
        t0 = ticks_us()  # the first block arrived

    def poll():
        # as agent.firmware does: the state machine's deadlines (a verify tried again)
        fu.poll()
        loop.later(1000, poll)

    loop.later(1000, poll)
    loop.run_until(lambda: fu.state == 2 or (fu.state == 0 and fu.result != 0), 120000)
    us = ticks_diff(ticks_us(), t0)
    if probe:
        out("MEM peak", peak[0])
    mem("done")
    out("FOTA", fu.state, fu.result, writer.committed(), us, fu.version or "-")
    out("MODS", " ".join(sorted(k for k in sys.modules if k != "__main__")))


main(sys.argv)

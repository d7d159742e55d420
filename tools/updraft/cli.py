# The `updraft` command: one verb per host tool (DESIGN.md lists them).
import argparse
import importlib
import sys


# verb -> (module whose main(argv) runs it, imported only when used; help)
VERBS = {
    "keygen": ("updraft.keys", "make an image signing key and the device trusted-keys module"),
    "sign": ("updraft.sign", "sign an image (MCUboot/imgtool) with version, component, dependencies"),
    "pack": ("updraft.pack", "pack a directory of .py/.mpy files into an app image (LittleFS) to sign"),
    "bench": ("updraft.bench", "run the benchmarks, write bench/latest.json and print a table"),
    "server": ("updraft.devserver.main", "the dev LwM2M server (CoAP registration + DM) with a JSON API"),
    "sim": ("updraft.sim", "a simulated board: boot.py then main.py under CPython or MicroPython, restart on reset"),
    "update": ("updraft.update", "update a device through the dev server: pull (CoAP/HTTP) or push, execute, check"),
    "deploy": ("updraft.deploy", "put updraft on a board over USB (mpremote): lib/ as .mpy in ROMFS, boot.py, main.py, keys, config"),
    "flash": ("updraft.flash", "put a factory layout on an ESP32 over USB (esptool): partition table, firmware, erased otadata/boot records, app"),
    "demo": ("updraft.demo", "dev server + simulated board: register, read /3/0, observe, update v1 -> v2 by CoAP pull"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in VERBS:
        # hand everything after the verb to it untouched: argparse's REMAINDER would refuse
        # a first argument that looks like an option (`updraft sign --key K ...`)
        return _run(argv[0], argv[1:])
    ap = argparse.ArgumentParser(prog="updraft", description="updraft host tools")
    sub = ap.add_subparsers(dest="verb", required=True)
    for name, (_, help_) in sorted(VERBS.items()):
        sub.add_parser(name, help=help_).add_argument("rest", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    return _run(args.verb, args.rest)


def _run(verb, rest):
    return importlib.import_module(VERBS[verb][0]).main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())

# The `updraft` command: one verb per host tool (DESIGN.md lists them).
import argparse
import sys


def _bench(args):
    from updraft import bench

    return bench.main(args.rest)


def _keygen(args):
    from updraft import keys

    return keys.main(args.rest)


def _sign(args):
    from updraft import sign

    return sign.main(args.rest)


def _pack(args):
    from updraft import pack

    return pack.main(args.rest)


def _server(args):
    from updraft.devserver import main

    return main.main(args.rest)


def _sim(args):
    from updraft import sim

    return sim.main(args.rest)


def _update(args):
    from updraft import update

    return update.main(args.rest)


def _deploy(args):
    from updraft import deploy

    return deploy.main(args.rest)


def _flash(args):
    from updraft import flash

    return flash.main(args.rest)


def _demo(args):
    from updraft import demo

    return demo.main(args.rest)


VERBS = {
    "keygen": (_keygen, "make an image signing key and the device trusted-keys module"),
    "sign": (_sign, "sign an image (MCUboot/imgtool) with version, component, dependencies"),
    "pack": (_pack, "pack a directory of .py/.mpy files into an app image (LittleFS) to sign"),
    "bench": (_bench, "run the benchmarks, write bench/latest.json and print a table"),
    "server": (_server, "the dev LwM2M server (CoAP registration + DM) with a JSON API"),
    "sim": (_sim, "a simulated board: boot.py then main.py under CPython or MicroPython, restart on reset"),
    "update": (_update, "update a device through the dev server: pull (CoAP/HTTP) or push, execute, check"),
    "deploy": (_deploy, "put updraft on a board over USB (mpremote): lib/ as .mpy in ROMFS, boot.py, main.py, keys, config"),
    "flash": (_flash, "put a factory layout on an ESP32 over USB (esptool): partition table, firmware, erased otadata/boot records, app"),
    "demo": (_demo, "dev server + simulated board: register, read /3/0, observe, update v1 -> v2 by CoAP pull"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in VERBS:
        # hand everything after the verb to it untouched: argparse's REMAINDER would refuse
        # a first argument that looks like an option (`updraft sign --key K ...`)
        return VERBS[argv[0]][0](argparse.Namespace(verb=argv[0], rest=argv[1:])) or 0
    ap = argparse.ArgumentParser(prog="updraft", description="updraft host tools")
    sub = ap.add_subparsers(dest="verb", required=True)
    for name, (fn, help_) in sorted(VERBS.items()):
        p = sub.add_parser(name, help=help_)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(fn=fn)
    args = ap.parse_args(argv)
    return args.fn(args) or 0


if __name__ == "__main__":
    sys.exit(main())

# `updraft deploy`: put updraft on a real board over USB with mpremote (one invocation, its
# commands chained with "+"): lib/ precompiled to .mpy in a ROMFS image (`romfs deploy`; the
# board mounts it at /rom with /rom/lib on sys.path and runs the bytecode in place from flash,
# as tools/updraft/romfs.py does on the host), or with --no-romfs the same .mpy tree copied to
# /lib; then boot.py, main.py and the trusted keys into the board's current directory ('' is
# first on sys.path, fota.boot.start imports trusted_keys by name), the provisioning
# (config.json, ca.crt) into its state directory, and a hard reset: /rom is unmounted while
# it is written and mounted again only at the next start.
# SPDX-License-Identifier: MIT
import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile

from updraft.keys import ROOT

KEYS_FILE = "trusted_keys.py"  # fota.boot.start.KEYS_MODULE
STATE_DIR = "/state"  # port.esp32.state_dir(); nrf boards keep it in /flash
IMAGE_SUFFIXES = (".img", ".romfs")  # anything else `romfs deploy` takes for a directory
LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_SERVER = {"ssid": 1, "lifetime": 60, "binding": "U"}  # as `updraft sim` provisions


class Error(Exception):
    pass  # a one-line reason for the user; no traceback


def read_keys(path, tmp):
    # The trusted-keys module to copy: `updraft keygen --trusted` output as it is, or a key
    # PEM turned into one (its public half) in tmp by the sim's own provisioning.
    if not os.path.isfile(path):
        raise Error("keys file not found: %s" % path)
    if path.endswith(".py"):
        from updraft import keys

        try:
            ok = bool(keys.read_module(path))
        except Exception as e:
            raise Error("%s: not a trusted-keys module (%s)" % (path, e))
        if not ok:
            raise Error("%s: holds no keys" % path)
        return path
    from updraft import board

    try:
        return board.install_keys(tmp, path)
    except Exception as e:
        raise Error("%s: not a trusted-keys module nor a supported key PEM (%s)" % (path, e))


def make_config(path=None, server=None, endpoint=None, log=None):
    # config.json for the board (lwm2m.config): a --config file, with --server/--endpoint/--log
    # replacing fields as `updraft sim` does; None when nothing was asked (the board keeps its
    # own). Without an endpoint the board names itself updraft-<unique id>.
    cfg = None
    if path:
        try:
            with open(path) as f:
                cfg = json.load(f)
        except (OSError, ValueError) as e:
            raise Error("config %s: %s" % (path, e))
    elif server:
        cfg = {"servers": [dict(DEFAULT_SERVER, uri=server)]}
    elif endpoint or log:
        raise Error("--endpoint/--log need --server or --config")
    if cfg is None:
        return None
    servers = cfg.get("servers") if isinstance(cfg, dict) else None
    if not servers or not isinstance(servers, list) or not all(isinstance(s, dict) and s.get("uri") for s in servers):
        raise Error("config %s: needs \"servers\": [{\"uri\": ...}, ...]" % (path or "--server"))
    if server:
        servers[0]["uri"] = server
    if endpoint:
        cfg["endpoint"] = endpoint
    if log:
        cfg["log"] = log
    return cfg


def commands(port, lib, keys, config=None, ca=None, state=STATE_DIR, romfs=True, reset=True):
    # -> the mpremote argument list. lib: the ROMFS image, or (romfs=False) a directory whose
    # lib/ holds the .mpy tree (`cp -r` makes missing directories and keeps existing ones).
    argv = ["connect", port or "auto"]
    steps = [["romfs", "deploy", lib] if romfs else ["cp", "-r", os.path.join(lib, "lib"), ":"],
             ["cp", os.path.join(ROOT, "boot.py"), ":boot.py"],
             ["cp", os.path.join(ROOT, "main.py"), ":main.py"],
             ["cp", keys, ":" + KEYS_FILE]]
    state = state.rstrip("/")
    parent, name = os.path.split(state)
    if (config or ca) and name:
        # `mkdir` fails on an existing directory and would end the chain
        steps.append(["exec", 'import os;"%s" in os.listdir("%s") or os.mkdir("%s")' % (name, parent or ".", state)])
    if config:
        steps.append(["cp", config, ":%s/config.json" % state])
    if ca:
        steps.append(["cp", ca, ":%s/ca.crt" % state])  # agent.download_tuning's default
    if reset:
        steps.append(["reset"])
    for i, s in enumerate(steps):
        argv += (["+"] if i else []) + s
    return argv


def mpremote():
    return [sys.executable, "-m", "mpremote"]  # the venv's, pinned in tools/requirements.txt


def render(argv):
    # One shell command, a chained mpremote step per line (copy-pasteable).
    lines, cur = [], []
    for a in argv:
        if a == "+":
            lines.append(cur)
            cur = []
        cur.append(a)
    lines.append(cur)
    return " \\\n  ".join(shlex.join(ln) for ln in lines)


def build(out, romfs=True, extra=()):
    # ROMFS image (romfs.build; extra: (name, file) at its root, for tests) or the .mpy tree
    # out/lib (mpy.build); -> a short description
    from updraft import mpy
    from updraft import romfs as rf

    if romfs:
        return "%d bytes" % rf.build(out, extra=extra)
    mpy.build(os.path.join(out, "lib"))
    n = sum(len([f for f in fs if f.endswith(".mpy")]) for _, _, fs in os.walk(out))
    return "%d .mpy files" % n


def main(argv=None):
    ap = argparse.ArgumentParser(prog="updraft deploy", description=(
        "Put updraft on a board over USB with mpremote: lib/ as .mpy in a ROMFS image (or "
        "/lib with --no-romfs), boot.py, main.py, the trusted keys, optionally config.json, "
        "then reset the board."))
    ap.add_argument("--port", help="mpremote connect target (default: auto)")
    ap.add_argument("--keys", required=True, help="trusted-keys module from `updraft keygen` "
                    "(or a key PEM: its public half)")
    ap.add_argument("--config", help="config.json to provision (lwm2m/config.py has its fields)")
    ap.add_argument("--server", help="LwM2M server URI (alone: a config with this one server)")
    ap.add_argument("--endpoint", help="endpoint client name (default: updraft-<unique id>)")
    ap.add_argument("--log", choices=LOG_LEVELS, help="the device log's level")
    ap.add_argument("--ca", help="trust anchors for https/coaps downloads, copied as STATE/ca.crt")
    ap.add_argument("--state-dir", default=STATE_DIR, help="the board's state directory "
                    "(default %s, ESP32; nrf: /flash)" % STATE_DIR)
    ap.add_argument("--no-romfs", action="store_true",
                    help="copy the .mpy files to /lib instead (boards without a ROMFS partition)")
    ap.add_argument("--image", help="keep the built ROMFS image here (*.img or *.romfs); with "
                    "--no-romfs a directory to keep the .mpy tree in")
    ap.add_argument("--no-reset", action="store_true", help="leave the board running (a ROMFS "
                    "written now is mounted at its next start)")
    ap.add_argument("--dry-run", action="store_true",
                    help="build, print the mpremote command, touch no device")
    args = ap.parse_args(argv)
    try:
        return deploy(args)
    except Error as e:
        print("updraft deploy: %s" % e, file=sys.stderr)
        return 2


def deploy(args):
    if not os.path.isfile(args.keys):  # before any work
        raise Error("keys file not found: %s" % args.keys)
    if args.ca and not os.path.isfile(args.ca):
        raise Error("ca file not found: %s" % args.ca)
    cfg = make_config(args.config, args.server, args.endpoint, args.log)
    if args.image and not args.no_romfs and not args.image.endswith(IMAGE_SUFFIXES):
        raise Error("--image must end with .img or .romfs (mpremote builds from any other path)")
    with tempfile.TemporaryDirectory(prefix="updraft-deploy-") as tmp:
        keys = read_keys(args.keys, tmp)
        if args.no_romfs:
            lib = args.image or os.path.join(tmp, "mpy")
        else:
            lib = args.image or os.path.join(tmp, "updraft.romfs")
        try:
            what = build(lib, not args.no_romfs)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
            raise Error("building lib/ failed: %s" % e)
        print("deploy: lib/ built: %s%s" % (what, "" if args.image else " (temporary)"), file=sys.stderr)
        config = None
        if cfg is not None:
            config = os.path.join(tmp, "config.json")
            with open(config, "w") as f:
                json.dump(cfg, f, indent=1, sort_keys=True)
                f.write("\n")
        argv = mpremote() + commands(args.port, lib, keys, config, args.ca, args.state_dir,
                                     not args.no_romfs, not args.no_reset)
        print(render(argv), flush=True)
        if args.dry_run:
            return 0
        rc = subprocess.call(argv)
        if rc:
            print("updraft deploy: mpremote failed (exit %d)" % rc, file=sys.stderr)
        return rc

# `updraft sim`: a simulated board. Provisions DIR/config.json, then runs boot.py and main.py
# in one interpreter (CPython or the MicroPython unix port) and restarts it on port.board.reset().
# SPDX-License-Identifier: MIT
#
# Contract with the device side (lib/port/host.py, main.py):
# - env UPDRAFT_STATE=<DIR, absolute>: the board's state (flash.bin, board_id, config.json).
# - --keys / --factory (updraft.board): DIR/trusted_keys.py and a fresh DIR/flash.bin with
#   the factory image in app_a, so boot.py boots it and /3/0/3 reports its version.
# - DIR/config.json, the provisioning the device reads at start:
#     {"endpoint": NAME, "servers": [{"uri": URI, "ssid": 1, "lifetime": 60, "binding": "U"}]}
#   Written when absent; when present, --endpoint/--server given on the command line replace
#   the endpoint / the first server's uri and every other field is kept (the device may have
#   changed its lifetime). Written atomically (tmp file + rename). --log LEVEL sets its "log"
#   field (debug, info, warning, error): the device log's level (info shows download progress).
# - One process runs boot.py then main.py with lib/ first on sys.path and shared globals, as
#   MicroPython does on a board. Exit code 75 (port.host.RESET_EXIT) is a reset: start again
#   through boot.py. Ctrl-C / SIGTERM stop the board (exit 0). Any other exit is printed and
#   ends the sim with that code (1 when it was 0: main.py is not supposed to return).
# - Power cut (tests): SIGUSR1 kills the device process with SIGKILL (no flush, no atexit:
#   what is in flash.bin stays, what was in RAM is lost) and the board stays off; SIGUSR2
#   powers it on again through boot.py. Each boot prints "sim: boot N pid P".
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from updraft.devserver import ROOT
from updraft.devserver.main import DEFAULT_URI

RESET_EXIT = 75  # port.host.RESET_EXIT
CONFIG = "config.json"
DEFAULT_SERVER = {"ssid": 1, "lifetime": 60, "binding": "U"}
_FAST = 1.0  # a run shorter than this is followed by a short pause: a reset loop must not spin

# Runs in the simulated board's interpreter (both runtimes): argv[1] is the repo root.
LAUNCHER = """\
import sys
root = sys.argv[1]
sys.path.insert(0, root + "/lib")
g = {"__name__": "__main__"}
for name in ("boot.py", "main.py"):
    f = open(root + "/" + name)
    src = f.read()
    f.close()
    g["__file__"] = name
    exec(compile(src, name, "exec"), g)
"""


def provision(state, endpoint=None, server=None, log=None):
    # Writes/updates state/config.json; returns the config in force.
    os.makedirs(state, exist_ok=True)
    path = os.path.join(state, CONFIG)
    try:
        with open(path) as f:
            cfg = json.load(f)
    except (OSError, ValueError):
        cfg = None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("servers"), list) or not cfg["servers"]:
        cfg = {"endpoint": endpoint or default_endpoint(), "servers": [dict(DEFAULT_SERVER, uri=server or DEFAULT_URI)]}
    else:
        if endpoint:
            cfg["endpoint"] = endpoint
        if server:
            cfg["servers"][0]["uri"] = server
    if log:
        cfg["log"] = log
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(cfg, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return cfg


def default_endpoint():
    import socket

    return "updraft-sim-" + socket.gethostname().split(".")[0]


def micropython():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    return here if os.path.exists(here) else shutil.which("micropython")


def command(runtime, launcher, heap=None, root=ROOT):
    if runtime == "micropython":
        mp = micropython()
        if not mp:
            raise SystemExit("sim: no micropython binary (make setup installs it into .venv)")
        argv = [mp]
        if heap:
            argv += ["-X", "heapsize=" + heap]
        return argv + [launcher, root]
    return [sys.executable, "-u", launcher, root]


class Board:
    # The restart loop; stop() may be called from a signal handler.
    def __init__(self, argv, env, log, root=ROOT):
        self.argv = argv
        self.root = root
        self.env = env
        self.log = log
        self.proc = None
        self.stopping = False
        self.off = False  # power cut (SIGUSR1) until power_on (SIGUSR2)
        self.boots = 0

    def stop(self, *_):
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def power_cut(self, *_):
        # SIGKILL, as a power cut: the device gets no chance to flush or clean up
        self.off = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def power_on(self, *_):
        self.off = False

    def run(self):
        while not self.stopping:
            self.boots += 1
            started = time.monotonic()
            self.proc = subprocess.Popen(self.argv, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL)
            self.log("sim: boot %d pid %d" % (self.boots, self.proc.pid))
            try:
                rc = self.proc.wait()
            except KeyboardInterrupt:  # Ctrl-C reaches the child too (same process group)
                self.stop()
                rc = self._reap()
            if self.stopping:
                self.log("sim: board stopped")
                return 0
            if self.off:
                # the device died mid-line perhaps (it shares our stdout): start a fresh line
                print(flush=True)
                self.log("sim: power cut: device pid %d killed (rc %d), board off" % (self.proc.pid, rc))
                while self.off and not self.stopping:
                    time.sleep(0.05)  # signal handlers run between the sleeps
                if self.stopping:
                    self.log("sim: board stopped")
                    return 0
                self.log("sim: power on, starting again through boot.py")
                continue
            if rc == RESET_EXIT:
                self.log("sim: board reset (boot %d done), starting again through boot.py" % self.boots)
                if time.monotonic() - started < _FAST:
                    time.sleep(0.5)
                continue
            self.log("sim: board exited with code %d%s" % (rc, " (main.py returned)" if rc == 0 else ""))
            return rc if rc > 0 else 1
        return 0

    def _reap(self):
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def main(argv):
    ap = argparse.ArgumentParser(prog="updraft sim", description="run a simulated board (boot.py, then main.py)")
    ap.add_argument("--server", help="LwM2M server URI (default: the config's, else the dev server %s)" % DEFAULT_URI)
    ap.add_argument("--endpoint", help="endpoint client name (default: the config's, else updraft-sim-<host>)")
    ap.add_argument("--state", default="state", help="the board's state directory (flash, config, journal)")
    ap.add_argument("--log", choices=("debug", "info", "warning", "error"),
                    help="the device log's level, kept in the config (default: warning; info shows progress)")
    ap.add_argument("--runtime", choices=("cpython", "micropython"), default="micropython")
    ap.add_argument("--heap", help="MicroPython heap size, e.g. 256K or 2M (default: the port's)")
    ap.add_argument("--root", default=ROOT, help="tree with boot.py, main.py and lib/ (default: this checkout)")
    ap.add_argument("--keys", help="provision the trusted image keys: a module from `updraft keygen "
                    "--trusted` or a key PEM (its public half)")
    ap.add_argument("--factory", help="provision a fresh flash with this signed app image in slot A "
                    "(erases the board's flash.bin first: boot record, journal, slots)")
    args = ap.parse_args(argv)

    state = os.path.abspath(args.state)
    cfg = provision(state, args.endpoint, args.server, args.log)
    if args.keys or args.factory:
        from updraft import board as boardmod

        try:
            for path in boardmod.provision(state, args.keys, args.factory):
                print("sim: provisioned %s" % path, flush=True)
        except (OSError, ValueError) as e:
            print("sim: provisioning failed: %s" % e, file=sys.stderr)
            return 2
    launcher = os.path.join(state, ".sim_launch.py")
    with open(launcher, "w") as f:
        f.write(LAUNCHER)
    env = dict(os.environ, UPDRAFT_STATE=state, PYTHONUNBUFFERED="1")

    def log(line):
        print(line, flush=True)

    log("sim: board %s -> %s, state %s, %s%s" % (cfg["endpoint"], cfg["servers"][0]["uri"], state, args.runtime,
                                                 " heap " + args.heap if args.heap else ""))
    root = os.path.abspath(args.root)
    board = Board(command(args.runtime, launcher, args.heap, root), env, log, root)
    signal.signal(signal.SIGTERM, board.stop)
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, board.power_cut)
        signal.signal(signal.SIGUSR2, board.power_on)
    return board.run()

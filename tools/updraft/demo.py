# `updraft demo` (behind `make demo`): the dev server and a simulated board on the MicroPython
# unix port provisioned with a signed v1 app; shows the registration, reads /3/0, observes
# Current Time, then updates the board to v2 by CoAP pull (or --update-method) and stops both.
# SPDX-License-Identifier: MIT
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from updraft.devserver import ROOT
from updraft.devserver.apiclient import ApiError, DevServer

ENDPOINT = "updraft-demo"
_OUT = threading.Lock()  # one whole line at a time: the echo threads and the demo share stdout
OBSERVED = "/3/0/13"  # Current Time: with pmax it notifies every few seconds


class Child:
    # A child process whose output is echoed with a prefix; lines are kept for wait_line().
    def __init__(self, argv, prefix):
        self.p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, text=True, bufsize=1)
        self.prefix = prefix
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.p.stdout:
            line = line.rstrip("\n")
            emit("  %s | %s" % (self.prefix, line))
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def wait_line(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    if line is None:
                        raise Failure("%s exited (code %s) early" % (self.prefix, self.p.poll()))
                    if line.startswith(prefix):
                        return line
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("%s printed no %r within %ss" % (self.prefix, prefix, timeout))
                self.cond.wait(left)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        return self.p.returncode


class Failure(Exception):
    pass


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def emit(line):
    with _OUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def say(msg):
    emit("demo: " + msg)


class _Lines:
    # a file-like for updraft.update's progress: each whole line goes out as "demo: ..."
    def __init__(self):
        self.buf = ""

    def write(self, text):
        self.buf += text
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            say(line)

    def flush(self):
        pass

    def isatty(self):
        return False


def make_images(d):
    # a throw-away signing key and two signed app images (component "app") of a tiny app
    from updraft import board

    key, trusted = board.make_key(d)
    v1 = board.make_image(d, key, "1.0.0")
    v2 = board.make_image(d, key, "2.0.0")
    say("keygen %s; packed and signed app images %s (%d bytes), %s (%d bytes)" % (
        os.path.basename(key), os.path.basename(v1), os.path.getsize(v1), os.path.basename(v2),
        os.path.getsize(v2)))
    return trusted, v1, v2


def show_update(api, v2, method):
    from updraft import update

    say("updating %s to %s by %s" % (ENDPOINT, os.path.basename(v2), method))
    rc, status = update.run(api, ENDPOINT, v2, method, timeout=120, out=_Lines())
    if rc != 0:
        raise Failure("the update did not succeed: %s%s" % (status.get("error"), _pull_hint(status, method)))
    states = []
    for ev in status["events"]:
        sr = (ev.get("state"), ev.get("result"))
        if sr[0] is not None and (not states or states[-1] != sr):
            states.append(sr)
    say("State/Result seen: %s" % " -> ".join("%s/%s" % sr for sr in states))
    after = api.read(ENDPOINT, "/3/0/3", "text")
    say("Read /3/0/3 Firmware Version -> %s %s" % (after["code"], after.get("value")))
    if after.get("value") != "2.0.0":
        raise Failure("the board reports %r after the update, not 2.0.0" % after.get("value"))


def _pull_hint(status, method):
    if method != "push" and "cannot pull" in (status.get("error") or ""):
        return " (the device side's %s path is not wired yet: try --update-method push)" % method
    return ""


def run(runtime, register_timeout, notifications, method="pull-coap"):
    updraft = [sys.executable, "-m", "updraft.cli"]
    coap_port = free_udp_port()
    server = board = None
    with tempfile.TemporaryDirectory(prefix="updraft-demo-") as state:
        try:
            sim_extra = []
            if method:
                trusted, v1, v2 = make_images(os.path.join(state, "images"))
                sim_extra = ["--keys", trusted, "--factory", v1]
            say("starting the dev LwM2M server")
            server = Child(updraft + ["server", "--coap-port", str(coap_port), "--api-port", "0"], "server")
            api = DevServer(server.wait_line("updraft server: api", 20).split()[-1])
            uri = "coap://127.0.0.1:%d" % coap_port
            say("starting a simulated board (%s, fresh state in %s)" % (runtime, state))
            board = Child(updraft + ["sim", "--server", uri, "--endpoint", ENDPOINT, "--state",
                                     os.path.join(state, "board"), "--runtime", runtime] + sim_extra, "board ")
            try:
                reg = api.wait(ENDPOINT, "registered", timeout=register_timeout)["registration"]
            except ApiError:
                raise Failure("the board did not register within %ss (is the LwM2M client in lib/lwm2m "
                              "started by main.py yet?)" % register_timeout)
            say("registered: %s at %s, lifetime %ss, LwM2M %s, binding %s" % (
                reg["endpoint"], reg["location"], reg["lifetime"], reg["lwm2m"], reg["binding"]))
            root = [o["attrs"].get("ct") for o in reg["objects"] if o["path"] == "/"]
            say("objects: %s%s" % (" ".join(o["path"] for o in reg["objects"] if o["path"] != "/"),
                                   "; formats ct=%s" % root[0] if root and root[0] else ""))

            r = api.read(ENDPOINT, "/3/0")
            if not r["ok"]:
                raise Failure("Read /3/0 answered %s" % r["code"])
            say("Read /3/0 -> %s (%s)" % (r["code"], r.get("format_name") or r.get("format")))
            for line in r.get("pretty", []):
                emit("        " + line)
            if r.get("decode_error"):
                raise Failure("cannot decode /3/0: " + r["decode_error"])

            a = api.write_attributes(ENDPOINT, OBSERVED, pmin=1, pmax=2)
            say("Write-Attributes %s pmin=1 pmax=2 -> %s" % (OBSERVED, a["code"]))
            o = api.observe(ENDPOINT, OBSERVED, format="text")
            if not o.get("observing"):
                raise Failure("Observe %s answered %s without Observe" % (OBSERVED, o["code"]))
            say("observing %s, first value %s" % (OBSERVED, o.get("value")))
            seq = api.notifications(ENDPOINT)["seq"]
            for i in range(notifications):
                try:
                    n = api.wait(ENDPOINT, "notification", timeout=15, since=seq, path=OBSERVED)
                except ApiError:
                    raise Failure("no notification %d of %s within 15s" % (i + 1, OBSERVED))
                seq = n["seq"]
                say("notification %d: %s = %s" % (i + 1, OBSERVED, n.get("value", n.get("payload_hex"))))
            api.cancel(ENDPOINT, OBSERVED)
            say("cancelled the observation")
            if method:
                show_update(api, v2, method)
            say("stopping")
            return 0
        except Failure as e:
            say("FAILED: %s" % e)
            return 1
        finally:
            if board is not None:
                board.stop()
            if server is not None:
                server.stop()


def main(argv):
    ap = argparse.ArgumentParser(prog="updraft demo", description=__doc__)
    ap.add_argument("--runtime", choices=("cpython", "micropython"), default="micropython")
    ap.add_argument("--register-timeout", type=float, default=60)
    ap.add_argument("--notifications", type=int, default=3)
    ap.add_argument("--update-method", choices=("pull-coap", "pull-http", "push"), default="pull-coap",
                    help="how the final update reaches the board (default pull-coap)")
    ap.add_argument("--no-update", action="store_true", help="stop after the observation (no images, no update)")
    args = ap.parse_args(argv)
    rc = run(args.runtime, args.register_timeout, args.notifications, None if args.no_update else args.update_method)
    say("done" if rc == 0 else "exit %d" % rc)
    return rc


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))

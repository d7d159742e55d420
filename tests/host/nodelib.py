# pytest helper around tests/peers/nodelib/server.js: the npm lwm2m-node-lib LwM2M server as
# an interop peer, driven by JSON lines (commands in, events and answers out).
# SPDX-License-Identifier: MIT
#
#   srv = NodeLib(); srv.start(port)
#   ev = srv.wait_event("registration", timeout=10)        # {"event", "endpoint", ...}
#   srv.read("ep", "/3/0/9") -> "95"                         # values are text (see server.js)
#   srv.write / execute / discover / write_attributes / observe / cancel / list
#   srv.stop()
# A failed operation raises NodeLibError with .code ("4.04", "4.15", ...). In CI a missing
# node or npm package fails the test (peers.require style), never skips it.
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import ROOT
from peers import require

DIR = os.path.join(ROOT, "tests", "peers", "nodelib")


class NodeLibError(Exception):
    def __init__(self, code, msg):
        Exception.__init__(self, "%s %s" % (code, msg))
        self.code = code


def require_nodelib():
    node = require("node")
    if not os.path.isdir(os.path.join(DIR, "node_modules", "lwm2m-node-lib")):
        msg = "npm package lwm2m-node-lib is not installed in %s (make setup runs npm ci)" % DIR
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return node


class NodeLib:
    def __init__(self):
        self.p = None
        self.events = []  # events not consumed yet
        self.log = []  # every line, for failure messages
        self.answers = {}
        self.cond = threading.Condition()
        self.ids = 0

    def start(self, port, write_format="text/plain", accept="text/plain", lifetime_check_ms=200, timeout=20):
        node = require_nodelib()
        self.port = port
        argv = [node, "--no-warnings", "server.js", "--port", str(port), "--write-format", str(write_format),
                "--accept", str(accept), "--lifetime-check-ms", str(lifetime_check_ms)]
        self.p = subprocess.Popen(argv, cwd=DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_event("ready", timeout)
        return self

    def _read(self):
        for line in self.p.stdout:
            line = line.strip()
            with self.cond:
                self.log.append(line)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # a stray library log line
                if "id" in msg and "event" not in msg:
                    self.answers[msg["id"]] = msg
                elif "event" in msg:
                    self.events.append(msg)
                self.cond.notify_all()
        with self.cond:
            self.log.append("<exit %s>" % self.p.poll())
            self.cond.notify_all()

    def wait_event(self, kind, timeout=10, endpoint=None, path=None):
        # Removes and returns the first unconsumed event of that kind (and endpoint/path).
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ev in self.events:
                    if ev["event"] == kind and endpoint in (None, ev.get("endpoint")) and path in (None, ev.get("path")):
                        self.events.remove(ev)
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise AssertionError("no %r event from lwm2m-node-lib within %ss; output: %s"
                                         % (kind, timeout, self.log[-20:]))
                self.cond.wait(min(left, 0.5))

    def call(self, cmd, timeout=15, **kw):
        with self.cond:
            self.ids += 1
            mid = self.ids
        kw.update(id=mid, cmd=cmd)
        self.p.stdin.write(json.dumps(kw) + "\n")
        self.p.stdin.flush()
        deadline = time.monotonic() + timeout
        with self.cond:
            while mid not in self.answers:
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise AssertionError("no answer to %s from lwm2m-node-lib within %ss; output: %s"
                                         % (kw, timeout, self.log[-20:]))
                self.cond.wait(min(left, 0.5))
            ans = self.answers.pop(mid)
        if not ans["ok"]:
            raise NodeLibError(ans.get("code"), ans.get("error"))
        return ans["result"]

    def list(self):
        return self.call("list")

    def read(self, ep, path, accept=None):
        return self.call("read", endpoint=ep, path=path, **({"accept": accept} if accept is not None else {}))

    def write(self, ep, path, value):
        return self.call("write", endpoint=ep, path=path, value=value)

    def execute(self, ep, path, args=""):
        return self.call("execute", endpoint=ep, path=path, args=args)

    def discover(self, ep, path):
        return self.call("discover", endpoint=ep, path=path)

    def write_attributes(self, ep, path, **attrs):
        return self.call("writeAttributes", endpoint=ep, path=path, attrs=attrs)

    def observe(self, ep, path, accept=None):
        return self.call("observe", endpoint=ep, path=path, **({"accept": accept} if accept is not None else {}))

    def cancel(self, ep, path):
        return self.call("cancel", endpoint=ep, path=path)

    def stop(self):
        if self.p is None:
            return
        if self.p.poll() is None:
            try:
                self.p.stdin.close()  # server.js exits when stdin closes
                self.p.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.p.kill()
                self.p.wait(5)
        self.p.stdout.close()

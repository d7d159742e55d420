# Real peers for interop tests: libcoap's coap-server/coap-client, aiocoap, and our own
# node (tests/peers/node.py) under CPython or the MicroPython unix port. In CI a missing
# peer is a failure, never a skip.
import hashlib
import os
import random
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT

BIN = os.path.dirname(sys.executable)
RUNTIMES = {
    "cpython": [sys.executable],
    "micropython": [os.path.join(BIN, "micropython")],
}


def require(name):
    path = shutil.which(name) or (os.path.exists(os.path.join(BIN, name)) and os.path.join(BIN, name))
    if not path:
        msg = "peer %r is not installed (make setup installs it)" % name
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def blob(size, seed=1):
    return random.Random(seed).randbytes(size)


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Proc:
    # A child process whose stdout we read line by line with a deadline.
    def __init__(self, argv, cwd=ROOT):
        self.p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, text=True)
        self.lines = []

    def expect(self, prefix, timeout=30):
        deadline = time.monotonic() + timeout
        import select

        while time.monotonic() < deadline:
            for line in self.lines:
                if line.startswith(prefix):
                    self.lines.remove(line)
                    return line.split()
            r, _, _ = select.select([self.p.stdout], [], [], 0.2)
            if r:
                line = self.p.stdout.readline()
                if not line:
                    break
                self.lines.append(line.strip())
        raise AssertionError("no %r from %s; output so far: %s" % (prefix, self.p.args, self.lines[-20:]))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
        self.p.stdout.close()


def node(runtime, *args):
    return Proc(RUNTIMES[runtime] + ["tests/peers/node.py"] + [str(a) for a in args])


def node_pull(runtime, port, path, szx, timeout=300, extra=()):
    out = subprocess.run(RUNTIMES[runtime] + ["tests/peers/node.py", "pull", "127.0.0.1", str(port), path, str(szx)]
                         + [str(a) for a in extra],
                         cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            _, err, n, digest, us = line.split()
            return err, int(n), digest, int(us)
    raise AssertionError("node pull printed no result: %s %s" % (out.stdout[-2000:], out.stderr[-2000:]))


class LibcoapServer:
    # coap-server with dynamic resources; files are uploaded with coap-client -m put.
    def __init__(self):
        self.server = require("coap-server-notls")
        self.client = require("coap-client-notls")
        self.port = free_port()
        self.p = subprocess.Popen([self.server, "-A", "127.0.0.1", "-p", str(self.port), "-d", "20", "-v", "0"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)

    def put(self, path, data, tmp_path):
        f = os.path.join(str(tmp_path), "put-" + path.replace("/", "_"))
        with open(f, "wb") as fh:
            fh.write(data)
        subprocess.run([self.client, "-m", "put", "-b", "1024", "-f", f, self.uri(path)],
                       check=True, capture_output=True, timeout=120)

    def uri(self, path):
        return "coap://127.0.0.1:%d/%s" % (self.port, path)

    def stop(self):
        self.p.terminate()
        self.p.wait(5)

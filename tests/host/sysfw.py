# Shared pieces of the system-level firmware update tests (test_update_resume.py,
# test_update_failures.py): signed images that fill the app slot, the dev server, a sim board
# with power cut (SIGUSR1 / SIGUSR2, tools/updraft/sim.py), State/Result waits by observation
# (bounded, through the API's wait), and readers for the board's flash.bin (journal, slot).
# SPDX-License-Identifier: MIT
import os
import random
import re
import signal
import sys
import time

import pytest

from lineproc import LineProc
from peers import free_port, require
from updraft import board
from updraft.devserver.apiclient import DevServer, Timeout

RUNTIMES = ("cpython", "micropython")
PAD = 216 * 1024  # random bytes in the app: the signed image fills ~95 % of the 256 KiB slot


def big_image(d, key, version, seed, files=None):
    # a signed app image of `version` as large as the slot allows (incompressible padding)
    src = board.make_app(os.path.join(d, "src-%s-%d" % (version, seed)), version, files)
    with open(os.path.join(src, "pad.bin"), "wb") as f:
        f.write(random.Random(seed).randbytes(PAD))
    return board.make_image(d, key, version, name="big-%s-%d" % (version, seed), src=src)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Server:
    # the dev server (LwM2M, files over CoAP and HTTP, JSON API) on free ports
    def __init__(self):
        self.coap_port = free_port()
        self.p = LineProc([sys.executable, "-m", "updraft.cli", "server", "--coap-port", str(self.coap_port),
                           "--api-port", "0"])
        try:
            self.api = DevServer(self.p.expect("updraft server: api", 20).split()[-1])
        except Exception:
            self.p.stop()
            raise
        self.uri = "coap://127.0.0.1:%d" % self.coap_port
        self.uris = self.api.files()["uris"]
        self.http_port = int(self.uris["http"].split(":")[2].split("/")[0])

    def served(self, name, proto):
        for f in self.api.files()["files"]:
            if f["name"] == name:
                return f["served"].get(proto, 0)
        return 0

    def stop(self):
        self.p.stop()


@pytest.fixture(scope="module")
def server():
    # one dev server per test module (import it into the module: `from sysfw import server`)
    s = Server()
    try:
        yield s
    finally:
        s.stop()


_n = [0]
_PROGRESS = re.compile(r"fw: \d+% (\d+)/\d+ bytes")


class Sim:
    # one `updraft sim` board provisioned with keys and a factory image, registered
    def __init__(self, server, runtime, state, trusted, factory, prefix="sys"):
        if runtime == "micropython":
            require("micropython")
        _n[0] += 1
        self.api = server.api
        self.ep = "%s-%s-%d-%d" % (prefix, runtime, os.getpid(), _n[0])
        self.state = str(state)
        self.p = LineProc([sys.executable, "-m", "updraft.cli", "sim", "--server", server.uri, "--endpoint", self.ep,
                           "--state", self.state, "--runtime", runtime, "--keys", trusted, "--factory", factory, "--log", "info"])
        try:
            self.api.wait(self.ep, "registered", timeout=30)
        except Exception:
            self.stop()
            raise

    @property
    def flash(self):
        return os.path.join(self.state, "flash.bin")

    def wait_progress(self, at_least, timeout=30):
        # until the device logged a download progress line ("fw: P% N/S bytes ...") with
        # N >= at_least: the bytes the link delivered went through the device, not only into
        # its socket buffer; -> N
        deadline = time.monotonic() + timeout
        while True:
            line = self.p.next_line(deadline - time.monotonic())
            if line is None:
                raise AssertionError("the sim ended: " + self.log())
            m = _PROGRESS.search(line)
            if m and int(m.group(1)) >= at_least:
                return int(m.group(1))

    def power_cut(self):
        # SIGKILL of the device process (the sim stays, the board is off until power_on)
        self.p.p.send_signal(signal.SIGUSR1)
        return self.p.expect("sim: power cut", 10)

    def power_on(self):
        seq = self.api.health()["seq"]
        self.p.p.send_signal(signal.SIGUSR2)
        self.p.expect("sim: power on", 10)
        return seq

    def log(self, n=40):
        return "\n".join(self.p.seen[-n:])

    def stop(self):
        self.p.stop()


def journal(flash_path):
    # the FU journal's newest record on a board's flash.bin (the board must be off or idle)
    from fota.journal import Journal
    from port.flash import Flash

    f = Flash(path=flash_path)
    try:
        return Journal(f.partition("journal")).load()
    finally:
        f.close()


def slot_bytes(flash_path, label, n):
    from port.flash import DEFAULT_TABLE

    off = [t[1] for t in DEFAULT_TABLE if t[0] == label][0]
    with open(flash_path, "rb") as f:
        f.seek(off)
        return f.read(n)


def value(api, ep, path):
    r = api.read(ep, path, "text")
    assert r["ok"], r
    return r["value"]


def wait_value(api, ep, path, pred, timeout, since=None):
    # Observe path and wait (API long-poll, bounded) until pred(value); returns the value.
    # since: an event seq to wait for a registration after (the device rebooted) first.
    deadline = time.monotonic() + timeout
    if since is not None:
        api.wait(ep, "registered", timeout=timeout, since=since)
    seq = api.health()["seq"]
    o = api.observe(ep, path, "text")
    v = o.get("value")
    while not pred(v):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("%s %s stayed %r for %ss" % (ep, path, v, timeout))
        try:
            ev = api.wait(ep, "notification", timeout=min(left, 5), since=seq, path=path)
            seq = ev["seq"]
            if ev.get("ok"):
                v = ev.get("value")
        except Timeout:
            v = value(api, ep, path)  # a lost notification: ask
    return v

# A CoAP node built on our stack, for interop tests; runs on CPython and MicroPython.
#   node.py pull HOST PORT PATH SZX [ACK_TIMEOUT_MS [BLOCK_RETRIES]]
#                                                     -> "RESULT <error> <bytes> <sha256> <us>"
#   node.py serve PORT SECONDS                          -> serves until POST /stop or time out
#   node.py relife HOST PORT PATH LOCAL_PORT            -> "RELIFE <payload ok> <renewed> <ms>"
#     two lives of a device at one address (LOCAL_PORT): each GETs PATH with its own token,
#     the second under the MID the first used (a reboot whose random MID start landed there)
# serve resources: /upload (Block1 into a SHA-256 sink; prints "UPLOAD <bytes> <sha256>"),
# /obs (observable counter, notifies every 50 ms), /obs-count, /big (64 KiB, Block2), /stop.
import os
import sys

# UPDRAFT_LIB points at a precompiled (.mpy) copy of lib/ for heap measurements
sys.path.insert(0, os.getenv("UPDRAFT_LIB") or "lib")
import binascii
import hashlib

from port import ticks_ms, ticks_us, ticks_diff
from port.net import udp_socket, resolve
from coap.loop import Loop
from coap.endpoint import Endpoint, Params
from coap.message import Message
from coap.block import Block1Receiver
from coap.transfer import BlockPull
from coap.observe import Observers
from coap import const as C


def out(*a):
    print(*a)
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def hexdigest(h):
    return binascii.hexlify(h.digest()).decode()


def pull(host, port, path, szx, ack_ms=2000, retries=2):
    loop = Loop()
    ep = Endpoint(loop, udp_socket("0.0.0.0", 0), None, Params(ack_timeout=ack_ms))
    h = hashlib.sha256()
    n = [0]

    def sink(off, data):
        h.update(data)
        n[0] += len(data)

    peer = resolve(host, port)
    ep.connect(peer)
    t0 = ticks_us()
    p = BlockPull(ep, peer, path.split("/"), sink, szx=szx, retries=retries).start()
    loop.run_until(lambda: p.done, 600000)
    us = ticks_diff(ticks_us(), t0)
    out("RESULT", p.error, n[0], hexdigest(h), us)
    out("STATS", ep.stats["retransmits"], ep.stats["dups"])


class ShaSink:
    def begin(self, size):
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, off, data):
        self.h.update(data)
        self.n += len(data)

    def end(self):
        out("UPLOAD", self.n, hexdigest(self.h))


def serve(port, seconds):
    loop = Loop()
    rx = Block1Receiver(ShaSink(), 4 << 20)
    big = bytes((i * 7 + (i >> 9)) & 255 for i in range(65536))
    state = {"count": 0}
    stop = []

    def handler(req, peer):
        p = req.path()
        if p == ("upload",):
            return rx.handle(req, peer)
        if p == ("obs",):
            r = Message(code=C.CONTENT, payload=str(state["count"]).encode())
            seq = obs.register(req, peer, "obs")
            if seq is not None:
                r.add(C.OBSERVE, seq)
            return r
        if p == ("obs-count",):
            return Message(code=C.CONTENT, payload=str(len(obs.items)).encode())
        if p == ("big",):
            return Message(code=C.CONTENT, payload=big)
        if p == ("stop",):
            stop.append(1)
            return Message(code=C.CHANGED)
        return Message(code=C.NOT_FOUND)

    ep = Endpoint(loop, udp_socket("127.0.0.1", port), handler)
    obs = Observers(ep)

    def tick():
        state["count"] += 1
        for o in obs.of("obs"):
            obs.notify(o, Message(code=C.CONTENT, payload=str(state["count"]).encode()), state["count"] % 5 == 0)
        loop.later(50, tick)

    loop.later(50, tick)
    out("READY", port)
    loop.run_until(lambda: stop, seconds * 1000)
    ep.close()
    out("STOPPED")


def relife(host, port, path, local):
    peer = resolve(host, port)
    answers = []
    mid = None
    renewed = ms = 0
    for life in (0, 1):
        loop = Loop()
        ep = Endpoint(loop, udp_socket("0.0.0.0", local), None, Params(ack_timeout=10000))
        if mid is not None:
            ep._mid = (mid - 1) & 0xFFFF  # the next request goes out under the first life's MID
        got = []
        t0 = ticks_ms()
        ex = ep.request(peer, Message(code=C.GET).add(C.URI_PATH, path), lambda ex, m: got.append(m))
        mid = ex.mid
        loop.run_until(lambda: got, 30000)
        ms = ticks_diff(ticks_ms(), t0)
        answers.append(got[0] is not None and got[0].token_is(ex.token) and bytes(got[0].payload))
        renewed = ep.stats["renewed"]
        ep.close()
    out("RELIFE", int(bool(answers[1]) and answers[0] == answers[1]), renewed, ms)


def main(argv):
    if argv[1] == "pull":
        extra = [int(a) for a in argv[6:8]]
        pull(argv[2], int(argv[3]), argv[4], int(argv[5]), *extra)
    elif argv[1] == "serve":
        serve(int(argv[2]), int(argv[3]))
    elif argv[1] == "relife":
        relife(argv[2], int(argv[3]), argv[4], int(argv[5]))


main(sys.argv)

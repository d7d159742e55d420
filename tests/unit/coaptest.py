# Loopback fixtures for the CoAP unit tests, on both runtimes: an event loop, endpoints on
# real UDP sockets, and a raw socket for sending hand-made datagrams.
import socket

from port import random_int
from port.net import udp_socket, resolve, recvfrom
from coap.loop import Loop
from coap.endpoint import Endpoint, Params


def fast_params(**kw):
    p = Params(ack_timeout=60, random_factor=1.0, max_retransmit=3, separate_timeout=2000,
               non_timeout=500)
    for k in kw:
        setattr(p, k, kw[k])
    return p


def bind_free(host="127.0.0.1"):
    # A socket on a free port (MicroPython has no getsockname, so pick ports ourselves).
    for _ in range(50):
        port = 20000 + random_int(15) % 40000
        try:
            return udp_socket(host, port), port
        except OSError:
            pass
    raise OSError("no free port")


def endpoint(loop, handler=None, params=None):
    sock, port = bind_free()
    ep = Endpoint(loop, sock, handler, params or fast_params())
    return ep, resolve("127.0.0.1", port)


class Raw:
    # A bare UDP socket that sends bytes and collects what comes back.
    def __init__(self, loop):
        self.sock, self.port = bind_free()
        self.loop = loop
        self.got = []
        loop.add_reader(self.sock, self._rd)

    def _rd(self):
        while True:
            r = recvfrom(self.sock, 1500)
            if r is None:
                return
            self.got.append(r[0])
            self.last_from = r[1]

    def send(self, data, peer):
        self.sock.sendto(data, peer)

    def reply(self, data):
        self.sock.sendto(data, self.last_from)

    def wait(self, n=1, ms=1000):
        self.loop.run_until(lambda: len(self.got) >= n, ms)
        return self.got

    def close(self):
        self.loop.remove_reader(self.sock)
        self.sock.close()


class Starved:
    # A real UDP socket on a nearly full, fragmented MicroPython heap: its first `fail`
    # receives find no heap, and so does any receive asking for more than `hole` bytes
    def __init__(self, sock, fail=0, hole=None):
        self.sock = sock
        self.pollable = sock
        self.fail = fail
        self.hole = hole
        self.calls = 0
        self.sizes = []

    def recvfrom(self, n):
        self.calls += 1
        self.sizes.append(n)
        if self.fail or (self.hole is not None and n > self.hole):
            self.fail = max(self.fail - 1, 0)
            raise MemoryError("memory allocation failed, allocating %d bytes" % n)
        return self.sock.recvfrom(n)

    def __getattr__(self, name):
        return getattr(self.sock, name)


def run(loop, cond, ms=3000):
    ok = loop.run_until(cond, ms)
    assert ok, "timed out"

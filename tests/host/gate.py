# Gates for system tests: relays on loopback (UDP for CoAP, TCP for HTTP) that count the bytes
# going from the server to the device and, once `close_after` of them went through, cut the
# link (everything is dropped / held, as a radio that went away) until open(). A test can
# stop a download at a known point without racing a fast transfer, then cut the device's
# power while it waits on a dead link.
# SPDX-License-Identifier: MIT
import select
import socket
import threading


class _Gate:
    def __init__(self, close_after=None):
        self.close_after = close_after
        self.down = 0  # bytes server -> device forwarded since the last open()
        self.total = 0  # all of them since start
        self.shut = threading.Event()  # set while the gate is closed
        self._stop = False
        self.lock = threading.Lock()

    def _count(self, n):
        # called before forwarding n bytes down; False once the gate is closed
        with self.lock:
            if self.shut.is_set():
                return False
            self.down += n
            self.total += n
            if self.close_after is not None and self.down >= self.close_after:
                self.shut.set()  # this chunk still goes; nothing after it
            return True

    def arm(self, close_after):
        with self.lock:
            self.down = 0
            self.close_after = close_after

    def open(self):
        with self.lock:
            self.down = 0
            self.close_after = None
            self._reopen()
            self.shut.clear()

    def _reopen(self):
        pass

    def wait_closed(self, timeout):
        if not self.shut.wait(timeout):
            raise AssertionError("the gate saw only %d bytes within %ss" % (self.down, timeout))


class UdpGate(_Gate):
    # CoAP: the device talks to self.port; datagrams go on to server_port. Counts payloads of
    # datagrams down to the device (CoAP header and options included); up=True counts those
    # going the other way (a push: the "device" is whoever sends to self.port).
    def __init__(self, server_port, close_after=None, up=False):
        _Gate.__init__(self, close_after)
        self.up = up
        self.server = ("127.0.0.1", server_port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.client = None
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self._stop:
            r, _, _ = select.select([self.front, self.back], [], [], 0.05)
            for s in r:
                try:
                    data, addr = s.recvfrom(2048)
                except OSError:
                    continue
                if s is self.front:
                    if self.up and self._count(len(data)) or not self.up and not self.shut.is_set():
                        self.client = addr
                        self.back.sendto(data, self.server)
                elif self.client and (self._count(len(data)) if not self.up else not self.shut.is_set()):
                    try:
                        self.front.sendto(data, self.client)
                    except OSError:
                        pass

    def close(self):
        self._stop = True
        self.t.join(2)
        self.front.close()
        self.back.close()


class TcpGate(_Gate):
    # HTTP: accepts on self.port and connects each client to server_port. While closed, open
    # connections are held silent (no bytes either way) and new ones are accepted and held;
    # open() drops the held ones, later connections are relayed again.
    def __init__(self, server_port, close_after=None):
        _Gate.__init__(self, close_after)
        self.server = ("127.0.0.1", server_port)
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.pairs = {}  # socket -> its peer socket (both directions), relayed
        self.held = []  # sockets kept silent while the gate is closed
        self._drop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _reopen(self):
        self._drop = True  # the relay thread closes the held sockets

    def _kill(self, s):
        peer = self.pairs.pop(s, None)
        if peer is not None:
            self.pairs.pop(peer, None)
            peer.close()
        s.close()

    def _run(self):
        while not self._stop:
            if self._drop:
                self._drop = False
                for s in self.held:
                    s.close()
                self.held = []
            live = [self.ls] + ([] if self.shut.is_set() else list(self.pairs))
            r, _, _ = select.select(live, [], [], 0.05)
            for s in r:
                if s is self.ls:
                    c, _ = self.ls.accept()
                    if self.shut.is_set():
                        self.held.append(c)
                        continue
                    try:
                        up = socket.create_connection(self.server, 5)
                    except OSError:
                        c.close()
                        continue
                    self.pairs[c] = up
                    self.pairs[up] = c
                    continue
                if s not in self.pairs:
                    continue
                if self.shut.is_set():
                    break
                try:
                    data = s.recv(16384)
                except OSError:
                    data = b""
                if not data:
                    self._kill(s)
                    continue
                if self._is_up(s) and not self._count(len(data)):
                    continue
                try:
                    self.pairs[s].sendall(data)
                except (OSError, KeyError):
                    self._kill(s)
            if self.shut.is_set() and self.pairs:
                # the link is gone: what is open now stays silent, never relayed again
                for s in list(self.pairs):
                    self.held.append(s)
                self.pairs = {}

    def _is_up(self, s):
        # True for the sockets we opened to the server (their data goes down to the device)
        try:
            return s.getpeername() == self.server
        except OSError:
            return False

    def close(self):
        self._stop = True
        self.t.join(2)
        for s in list(self.pairs) + self.held:
            s.close()
        self.ls.close()

# A lossy UDP relay for tests: sits between a client and a server on loopback and drops,
# duplicates and reorders datagrams in both directions, from a seeded random generator.
import random
import select
import socket
import threading


class LossyRelay:
    def __init__(self, server_port, drop=0.0, dup=0.0, reorder=0.0, seed=7):
        self.server = ("127.0.0.1", server_port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.drop, self.dup, self.reorder = drop, dup, reorder
        self.rng = random.Random(seed)
        self.client = None
        self.held = {}
        self.stats = {"in": 0, "dropped": 0, "duplicated": 0, "reordered": 0}
        self._stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _out(self, sock, data, dest):
        r = self.rng.random()
        if r < self.drop:
            self.stats["dropped"] += 1
            return
        held = self.held.pop(sock, None)
        if held is None and self.rng.random() < self.reorder:
            self.held[sock] = (data, dest)  # send after the next datagram that way
            self.stats["reordered"] += 1
            return
        sock.sendto(data, dest)
        if self.rng.random() < self.dup:
            self.stats["duplicated"] += 1
            sock.sendto(data, dest)
        if held is not None:
            sock.sendto(*held)

    def _run(self):
        while not self._stop:
            r, _, _ = select.select([self.front, self.back], [], [], 0.05)
            if not r:
                # a held datagram must not wait forever when traffic stops
                for sock, held in list(self.held.items()):
                    sock.sendto(*held)
                self.held.clear()
            for s in r:
                data, addr = s.recvfrom(2048)
                self.stats["in"] += 1
                if s is self.front:
                    self.client = addr
                    self._out(self.back, data, self.server)
                elif self.client:
                    self._out(self.front, data, self.client)

    def close(self):
        self._stop = True
        self.t.join(2)
        self.front.close()
        self.back.close()

# A CoAP endpoint on one UDP socket, client and server at once (RFC 7252 sections 4-5):
# message IDs, CON retransmission with exponential back-off, NSTART per peer, duplicate
# detection that replays the cached response, piggybacked and separate responses, empty
# ACK, RST for unexpected CON and for pings. Knows nothing of resources: requests go to one
# handler(request, peer) that returns a response Message, or None to answer later.
# SPDX-License-Identifier: MIT
from port import const, ticks_ms, ticks_add, ticks_diff, random_int, random_bytes, jitter
from port import log
from port.net import drop, recvfrom, peer_str
from coap.message import Message, CoapError, decode

# CoAP numbers as private constants (coap.const has them all, with their RFC names): a
# private const is inlined by mpy-cross and costs no dict entry or qstr on the device
# (tests/unit/test_coap_const.py keeps the copies equal to coap.const)
_CON = const(0)
_NON = const(1)
_ACK = const(2)
_RST = const(3)
_EMPTY = const(0)
_BAD_OPTION = const(0x82)  # 4.02
_INTERNAL_SERVER_ERROR = const(0xA0)  # 5.00
_SERVICE_UNAVAILABLE = const(0xA3)  # 5.03


_MTU = const(1280)  # largest datagram taken: 1152 is the RFC's safe size, leave room for options
_DRAIN = const(16)  # datagrams handled per wake-up before timers get their turn
# Options this stack understands; an unknown critical (odd) one gets 4.02 (RFC 7252 5.4.1).
_KNOWN_OPTIONS = const((1, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 17, 20, 23, 27, 28, 35, 39, 60, 258))


class Params:
    # RFC 7252 4.8 transmission parameters, in milliseconds; tests and FOTA tune them.
    def __init__(self, ack_timeout=2000, random_factor=1.5, max_retransmit=4,
                 exchange_lifetime=247000, non_timeout=93000, separate_timeout=93000,
                 nstart=1, dedup_slots=8, max_szx=6):
        self.ack_timeout = ack_timeout
        self.random_factor = random_factor
        self.max_retransmit = max_retransmit
        self.exchange_lifetime = exchange_lifetime
        self.non_timeout = non_timeout  # wait for the response to a NON request
        self.separate_timeout = separate_timeout  # wait after an empty ACK
        self.nstart = nstart
        self.dedup_slots = dedup_slots
        self.max_szx = max_szx  # largest block we serve (6 = 1024 B)


class Exchange:
    # One outgoing message that expects an ACK and/or a response. Reusable: a block-wise
    # transfer sends every block through the same Exchange and buffer.
    def __init__(self, size=_MTU):
        self.buf = bytearray(size)
        self.view = memoryview(self.buf)
        self.n = 0
        self.peer = None
        self.mid = 0
        self.token = b""
        self.con = True
        self.expect_response = True
        self.cb = None  # cb(exchange, response Message or None); error set when None
        self.error = None  # None, "timeout", "reset" or "nomem" (no heap to receive the answer)
        self.acked = False
        self.retries = 0
        self.timeout = 0
        self.deadline = 0
        self.done = True


class Endpoint:
    def __init__(self, loop, sock, handler=None, params=None):
        self.loop = loop
        self.sock = sock
        self.handler = None
        self.params = params or Params()
        self.on_reset = None  # on_reset(peer, mid) for RSTs that match no exchange
        self._rx = Message()  # decode target, reused for every datagram
        self._tx = None  # response buffer: a client-only endpoint (a download) has none
        self._slice = None  # coap.block.serve_block2, loaded by serve()
        self._dedup = None  # ring of [peer, mid, reply, time]: a server's, or made when a
        # client first acknowledges a CON (a separate response); a download rarely does
        self._dedup_next = 0
        if handler is not None:
            self.serve(handler)
        self._mid = random_int(16)
        self._inflight = []
        self._queue = []
        self._connected = None
        # Largest datagram this endpoint takes. MicroPython has no recvfrom_into: every
        # datagram is a fresh allocation of this size, so an endpoint that knows what it
        # will get (a download asking for blocks of one size) asks the heap for no more.
        self.rx_size = _MTU
        self.stats = {"rx": 0, "tx": 0, "retransmits": 0, "dups": 0, "malformed": 0, "nomem": 0,
                      "renewed": 0}
        loop.add_reader(sock, self._on_readable)
        loop.add_ticker(self)

    def connect(self, peer):
        # Talk to one peer only (a download): a connected socket skips the route lookup of
        # every sendto and drops datagrams from anyone else in the kernel.
        self.sock.connect(peer)
        self._connected = peer

    def close(self):
        self.loop.remove_reader(self.sock)
        self.loop.remove_ticker(self)
        for ex in self._inflight + self._queue:
            ex.done = True
        self._inflight = []
        self._queue = []
        self.sock.close()

    # -- ids ------------------------------------------------------------------------------
    def next_mid(self):
        self._mid = (self._mid + 1) & 0xFFFF
        return self._mid

    @staticmethod
    def new_token(n=4):
        return random_bytes(n)

    # -- client side --------------------------------------------------------------------
    def request(self, peer, msg, cb, con=True, ex=None):
        # Send a request (or a separate response / notification) built as a Message.
        # cb(ex, response) is called once: with the response, or None and ex.error set.
        ex = ex or Exchange()
        msg.type = _CON if con else _NON
        request = 1 <= msg.code <= 31  # codes 0.01-0.31 (RFC 7252 12.1); else a response
        if not msg.token and request:
            msg.token = self.new_token()
        msg.mid = 0
        ex.n = msg.encode_into(ex.buf)
        ex.token = msg.token
        ex.expect_response = request
        return self.send_exchange(ex, peer, cb, con)

    def send_exchange(self, ex, peer, cb, con=True):
        # Send ex.buf[:ex.n] (header + token + options already in place) with a new MID.
        ex.peer = peer
        ex.cb = cb
        ex.con = con
        ex.mid = mid = self.next_mid()
        ex.buf[2] = mid >> 8
        ex.buf[3] = mid & 0xFF
        ex.error = None
        ex.acked = False
        ex.retries = 0
        ex.done = False
        if con and self._busy(peer):
            self._queue.append(ex)  # NSTART: wait for the peer's outstanding exchange
        else:
            self._start(ex)
        return ex

    def cancel(self, ex):
        # Forget an exchange without calling back (e.g. the transfer was aborted).
        ex.done = True
        if ex in self._inflight:
            self._inflight.remove(ex)
            self._dequeue(ex.peer)
        elif ex in self._queue:
            self._queue.remove(ex)

    def _busy(self, peer):
        n = 0
        for e in self._inflight:
            if e.con and e.peer == peer:
                n += 1
        return n >= self.params.nstart

    def _start(self, ex):
        p = self.params
        now = ticks_ms()
        if ex.con:
            # initial timeout uniformly in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]
            spread = int(p.ack_timeout * (p.random_factor - 1))
            ex.timeout = p.ack_timeout + (jitter(16) * spread >> 16 if spread > 0 else 0)
        else:
            ex.timeout = p.non_timeout
        ex.deadline = ticks_add(now, ex.timeout)
        if ex.con or ex.expect_response:
            self._inflight.append(ex)
        else:
            ex.done = True  # a NON with nothing to wait for: fire and forget
        self._send(ex.view[: ex.n], ex.peer)

    def _send(self, data, peer):
        try:
            if peer == self._connected:
                self.sock.send(data)
            else:
                self.sock.sendto(data, peer)
            self.stats["tx"] += 1
        except OSError as e:
            # an unreachable peer must not kill the loop; retransmission will try again
            log.info("coap: sendto failed, peer", peer_str(peer), e)

    def _finish(self, ex, msg, error=None):
        if ex.done:
            return
        ex.done = True
        ex.error = error
        if ex in self._inflight:
            self._inflight.remove(ex)
        cb = ex.cb
        if cb is not None:
            try:
                cb(ex, msg)
            except Exception as e:
                log.error("coap: response callback failed", e)
        self._dequeue(ex.peer)

    def _dequeue(self, peer):
        q = self._queue
        for i in range(len(q)):
            if q[i].peer == peer:
                if not self._busy(peer):
                    self._start(q.pop(i))
                return

    # ticker interface for the loop: retransmissions and response timeouts
    def deadline(self):
        best = None
        for ex in self._inflight:
            if best is None or ticks_diff(ex.deadline, best) < 0:
                best = ex.deadline
        return best

    def tick(self, now):
        p = self.params
        for ex in list(self._inflight):
            if ticks_diff(ex.deadline, now) > 0:
                continue
            if ex.con and not ex.acked and ex.retries < p.max_retransmit:
                ex.retries += 1
                ex.timeout *= 2
                ex.deadline = ticks_add(now, ex.timeout)
                self.stats["retransmits"] += 1
                log.info("coap: retransmit", ex.retries, "of message id", ex.mid, "to the peer", peer_str(ex.peer))
                self._send(ex.view[: ex.n], ex.peer)
            else:
                self._finish(ex, None, "timeout")

    # -- receive --------------------------------------------------------------------------
    def _on_readable(self):
        for _ in range(_DRAIN):
            n = self.rx_size
            try:
                r = recvfrom(self.sock, n + 1)
            except OSError as e:
                return self._unreachable(e)
            except MemoryError:
                return self._no_room()
            if r is None:
                return
            self.stats["rx"] += 1
            if len(r[0]) > n:
                # cut short by the receive size: never decode a truncated message
                self.stats["malformed"] += 1
                log.warning_once("oversize", "coap: dropped a datagram over", n, "bytes long from", peer_str(r[1]))
                self._oversize(r[0], r[1])
                continue
            self.datagram(r[0], r[1])

    def _unreachable(self, e):
        # A connected socket reports an ICMP error of an earlier send (ECONNREFUSED: nothing
        # listens there) on the next receive: the peer cannot answer, so every exchange with
        # it ends now as "reset" instead of retransmitting for ~90 s (a pull of a file server
        # that is offline fails fast, then retries). Unconnected sockets get no such errors.
        log.info("coap: receive failed", e)
        self._end_connected("reset")

    def _no_room(self):
        # No heap for the next datagram (nearly full and fragmented; MicroPython already
        # collected before raising): read it away as a lossy link would lose it, rather than
        # fail on it again at every wake-up. A server peer retransmits its CON; on a
        # download's own connected socket the datagram was the answer, and asking again
        # would find the heap just as full: its exchanges end now with "nomem".
        self.stats["nomem"] += 1
        drop(self.sock)
        log.warning_once("nomem", "coap: no memory to receive a datagram: dropped")
        self._end_connected("nomem")

    def _oversize(self, head, peer):
        # Its header and token are whole: the exchange it answers (on a download's own
        # socket, asking again gets the same) ends now with "oversize". A late answer to an
        # earlier, larger block (its own token) is only dropped: it must not end this one.
        if peer != self._connected:
            return
        n = head[0] & 15
        tok = head[4 : 4 + n]
        for ex in self._inflight:
            if ex.peer == peer and ex.expect_response and ex.token == tok:
                return self._finish(ex, None, "oversize")

    def _end_connected(self, error):
        peer = self._connected
        if peer is None:
            return
        for ex in list(self._inflight):
            if ex.peer == peer:
                self._finish(ex, None, error)

    def datagram(self, data, peer):
        # Handle one received datagram. Never raises.
        try:
            m = decode(data, self._rx)
        except CoapError as e:
            self.stats["malformed"] += 1
            log.warning_once("malformed", "coap: malformed datagram from", peer_str(peer), e)
            # RFC 7252 4.2/4.3: reject a CON we can read the header of with RST, drop the rest
            if len(data) >= 4 and data[0] >> 4 == 4:
                self._send_empty(_RST, (data[2] << 8) | data[3], peer)
            return
        try:
            self._dispatch(m, peer)
        except Exception as e:
            log.error("coap: dispatch failed", e)

    def _dispatch(self, m, peer):
        t = m.type
        code = m.code
        if code == _EMPTY:
            if t == _CON:
                self._send_empty(_RST, m.mid, peer)  # CoAP ping
            elif t == _ACK or t == _RST:
                self._match_mid(m, peer)
            return
        if t == _CON or t == _NON:
            slot = self._dedup_find(peer, m.mid)
            if slot is not None:
                self.stats["dups"] += 1
                if slot[2] is not None:
                    self._send(slot[2], peer)  # replay, never re-execute
                return
        if 1 <= code <= 31:  # a request (RFC 7252 12.1)
            if t == _CON or t == _NON:
                self._serve(m, peer)
            return
        if code < 64:  # not a response either: class 1 and reserved codes are ignored
            return
        if t == _ACK:
            self._match_mid(m, peer)
        elif t == _CON or t == _NON:
            self._match_token(m, peer)

    def _match_mid(self, m, peer):
        for ex in self._inflight:
            if ex.mid == m.mid and ex.peer == peer and not ex.acked:
                if m.type == _RST:
                    self._finish(ex, None, "reset")
                elif m.code == _EMPTY:
                    # separate response will follow (RFC 7252 5.2.2)
                    ex.acked = True
                    if ex.expect_response:
                        ex.deadline = ticks_add(ticks_ms(), self.params.separate_timeout)
                    else:
                        self._finish(ex, m)
                elif m.token_is(ex.token):
                    self._finish(ex, m)
                elif ex.retries < self.params.max_retransmit:
                    self._renew(ex)
                return
        if m.type == _RST and self.on_reset is not None:
            self.on_reset(peer, m.mid)

    def _renew(self, ex):
        # A piggybacked answer to this MID with another token: the peer's duplicate cache
        # replays what it sent an earlier life of this device at the same address (a reboot
        # restarts the MIDs at a random point, RFC 7252 4.4). Retransmitting would get the
        # same replay until the exchange times out; ask again now under a new MID. Counted
        # as a retransmission, so a peer that keeps doing it cannot hold the exchange.
        log.info("coap: answer to mid", ex.mid, "for another token: asking again")
        ex.retries += 1
        ex.mid = mid = self.next_mid()
        ex.buf[2] = mid >> 8
        ex.buf[3] = mid & 0xFF
        self.stats["renewed"] += 1
        self._send(ex.view[: ex.n], ex.peer)

    def _match_token(self, m, peer):
        for ex in self._inflight:
            if ex.expect_response and ex.peer == peer and m.token_is(ex.token):
                if m.type == _CON:
                    self._ack_and_remember(m.mid, peer)
                self._finish(ex, m)
                return
        # a response nobody waits for (late, or an unwanted notification): reject it
        self._send_empty(_RST, m.mid, peer)

    def _send_empty(self, type, mid, peer):
        data = bytes((0x40 | (type << 4), 0, mid >> 8, mid & 0xFF))
        self._send(data, peer)
        return data

    def _ack_and_remember(self, mid, peer):
        self._dedup_store(peer, mid, self._send_empty(_ACK, mid, peer))

    # -- server side ----------------------------------------------------------------------
    def serve(self, handler):
        # Answer requests with handler(request, peer) -> response Message, or None to answer
        # later with respond(). What serving needs is taken now, while the heap is young: the
        # response buffer and the Block2 slicer, not at the first request in a heap that a
        # transfer has filled and fragmented.
        from coap import block  # server side only: a client that only pulls never loads it

        self._slice = block.serve_block2
        if self._tx is None:
            self._tx = bytearray(_MTU)
        if self._dedup is None:
            self._ring()
        self.handler = handler

    def _serve(self, req, peer):
        resp = None
        crit = req.critical_unknown(_KNOWN_OPTIONS)
        if crit is not None:
            resp = Message(code=_BAD_OPTION)
        elif self.handler is None:
            resp = Message(code=0xA1)  # 5.01 Not Implemented
        else:
            try:
                resp = self.handler(req, peer)
            except CoapError as e:
                log.warning("coap: bad request from", peer_str(peer), e)
                resp = Message(code=0x80)  # 4.00: the request itself is malformed
            except MemoryError:
                # counted with the datagrams that found no heap (an update's push reads it)
                self.stats["nomem"] += 1
                log.warning_once("nomem-serve", "coap: no memory to answer a request")
                resp = Message(code=_SERVICE_UNAVAILABLE)  # 5.03: nothing wrong with the request
            except Exception as e:
                log.error("coap: handler failed", e)
                resp = Message(code=_INTERNAL_SERVER_ERROR)
        if resp is None:
            # the handler answers later with respond(); acknowledge now (RFC 7252 5.2.2)
            if req.type == _CON:
                self._ack_and_remember(req.mid, peer)
            return
        if self._slice is not None:
            resp = self._slice(req, resp, self.params.max_szx)
        resp.token = req.token
        if req.type == _CON:
            resp.type = _ACK
            resp.mid = req.mid
        else:
            resp.type = _NON
            resp.mid = self.next_mid()
        if self._tx is None:
            self._tx = bytearray(_MTU)  # a client-only endpoint refusing a request (5.01, 4.02)
        try:
            n = resp.encode_into(self._tx)
        except CoapError as e:
            log.error("coap: response does not fit", e)
            resp = Message(_ACK if req.type == _CON else _NON, _INTERNAL_SERVER_ERROR, resp.mid, req.token)
            n = resp.encode_into(self._tx)
        data = bytes(self._tx[:n])
        self._send(data, peer)
        self._dedup_store(peer, req.mid, data)

    def respond(self, peer, token, resp, con=True, cb=None):
        # A separate response, or a notification: a new message with the request's token.
        resp.token = token
        return self.request(peer, resp, cb, con)

    # -- duplicate detection: a small ring, not a dict that grows (STYLE 7.5.2) ----------
    def _ring(self):
        self._dedup = [[None, -1, None, 0] for _ in range(self.params.dedup_slots)]

    def _dedup_find(self, peer, mid):
        if self._dedup is None:
            return None
        life = self.params.exchange_lifetime
        now = ticks_ms()
        for s in self._dedup:
            if s[1] == mid and s[0] == peer and ticks_diff(now, s[3]) < life:
                return s
        return None

    def _dedup_store(self, peer, mid, data):
        if self._dedup is None:
            self._ring()
        s = self._dedup[self._dedup_next]
        self._dedup_next = (self._dedup_next + 1) % len(self._dedup)
        s[0] = peer
        s[1] = mid
        s[2] = data
        s[3] = ticks_ms()

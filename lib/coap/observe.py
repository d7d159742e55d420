# Observe, server side (RFC 7641): a fixed pool of observers, 24-bit sequence numbers,
# CON or NON notifications (at least one CON a day), cancellation by RST or GET Observe=1,
# and large notifications sent as Block2 block 0 (the observer fetches the rest).
# SPDX-License-Identifier: MIT
from port import const, ticks_ms, ticks_diff
from port import log
from coap import block

# CoAP numbers as private constants (coap.const has them all, with their RFC names): a
# private const is inlined by mpy-cross and costs no dict entry or qstr on the device
# (tests/unit/test_coap_const.py keeps the copies equal to coap.const)
_OBSERVE = const(6)

_DAY_MS = const(86400000)
_SEQ_MASK = const(0xFFFFFF)


class Observer:
    def __init__(self, peer, token, key, seq, info):
        self.peer = peer
        self.token = token
        self.key = key
        self.seq = seq
        self.info = info  # whatever the resource layer needs to render (format, attributes)
        self.last_mid = -1
        self.last_con = ticks_ms()


class Observers:
    def __init__(self, endpoint, max_observers=8):
        self.ep = endpoint
        self.max = max_observers
        self.items = []
        endpoint.on_reset = self._on_reset

    def register(self, req, peer, key, info=None):
        # Call from a GET handler. Returns the Observe value to put in the 2.05 response,
        # or None when the request does not (or can no longer) observe.
        obs = req.opt_uint(_OBSERVE)
        if obs == 1:
            self.cancel(peer, req.token)
            return None
        if obs != 0:
            return None
        self.cancel(peer, req.token)  # re-registration with the same token replaces
        if len(self.items) >= self.max:
            log.warning("observe: pool full, not observing", key)
            return None
        o = Observer(peer, req.token, key, ticks_ms() & _SEQ_MASK, info)
        self.items.append(o)
        return o.seq

    def cancel(self, peer, token):
        for o in self.items:
            if o.peer == peer and o.token == token:
                self.items.remove(o)
                return True
        return False

    def cancel_key(self, key):
        self.items = [o for o in self.items if o.key != key]

    def observing(self, key):
        for o in self.items:
            if o.key == key:
                return True
        return False

    def of(self, key):
        return [o for o in self.items if o.key == key]

    def notify(self, o, resp, con=False):
        # Send resp (a 2.05 Message, or an error that ends the observation) to observer o.
        o.seq = (o.seq + 1) & _SEQ_MASK
        if resp.code >> 5 == 2:
            resp.set(_OBSERVE, o.seq)
        else:
            self.items.remove(o)  # RFC 7641 3.2: an error response ends it
        now = ticks_ms()
        if ticks_diff(now, o.last_con) >= _DAY_MS:
            con = True  # RFC 7641 4.5: at least one CON notification every 24 hours
        if con:
            o.last_con = now
        resp = block.serve_block2(_NO_BLOCK, resp, self.ep.params.max_szx)
        ex = self.ep.respond(o.peer, o.token, resp, con, self._on_sent)
        ex.observer = o
        o.last_mid = ex.mid

    def _on_sent(self, ex, m):
        o = getattr(ex, "observer", None)
        if m is None and o is not None and o in self.items:
            # a CON notification not acknowledged, or rejected: the observer is gone
            log.info("observe: dropping observer after", ex.error)
            self.items.remove(o)

    def _on_reset(self, peer, mid):
        for o in self.items:
            if o.peer == peer and o.last_mid == mid:
                self.items.remove(o)
                return


class _NoBlock:
    # A request with no Block2 option, for slicing notifications to their first block.
    def opt_uint(self, num, default=None):
        return default


_NO_BLOCK = _NoBlock()

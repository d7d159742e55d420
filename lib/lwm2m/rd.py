# Registration client (LwM2M 1.1 6.2, spec 3.1): Register, Update before the lifetime runs
# out and when objects change, De-register; Location-Path echoed exactly as received;
# re-Register when an Update is refused; exponential back-off while the server is away,
# never a busy loop.
# SPDX-License-Identifier: MIT
from port import const
from port import log
from coap.message import Message, code_str
from lwm2m.formats import link

# CoAP numbers as private constants (coap.const has them all, with their RFC names): a
# private const is inlined by mpy-cross and costs no dict entry or qstr on the device
# (tests/unit/test_coap_const.py keeps the copies equal to coap.const)
_CHANGED = const(0x44)  # 2.04
_CONTENT_FORMAT = const(12)
_CREATED = const(0x41)  # 2.01
_DELETE = const(4)
_LOCATION_PATH = const(8)
_POST = const(2)
_URI_PATH = const(11)
_URI_QUERY = const(15)

IDLE = "idle"
REGISTERING = "registering"
REGISTERED = "registered"
UPDATING = "updating"
DEREGISTERING = "deregistering"
DEREGISTERED = "deregistered"

_MAX_TRANSMIT_WAIT_S = const(93)
_BACKOFF_MAX_S = const(300)
_CF_TEXT = const(0)
_CF_LINK = const(40)
_CF_OPAQUE = const(42)
_CF_CBOR = const(60)
_CF_SENML_JSON = const(110)
_CF_SENML_CBOR = const(112)
_CF_LWM2M_TLV = const(11542)
_FORMATS = const((_CF_TEXT, _CF_LINK, _CF_OPAQUE, _CF_CBOR, _CF_SENML_JSON, _CF_SENML_CBOR, _CF_LWM2M_TLV))


class Registration:
    def __init__(self, loop, endpoint, registry, peer, name, lifetime=86400, binding="U",
                 version="1.1", retry_s=2, on_state=None):
        self.loop = loop
        self.ep = endpoint
        self.reg = registry
        self.peer = peer
        self.name = name
        self.lifetime = lifetime
        self.binding = binding
        self.version = version
        self.retry_s = retry_s
        self.on_state = on_state  # on_state(registration) after every state change
        self.state = IDLE
        self.location = []
        self.attempts = 0
        self.registrations = 0
        self._timer = None
        self._dirty = False  # objects changed: next Update carries the link payload
        self._params = False  # lifetime/binding changed: next Update carries them
        self._busy = False

    # -- public -------------------------------------------------------------------------
    def start(self):
        self._register()

    def update(self, objects=False, params=False):
        # Registration Update Trigger, or objects/instances/params changed.
        self._dirty = self._dirty or objects
        self._params = self._params or params
        if self.state == REGISTERED and not self._busy:
            self._update()

    def deregister(self, done=None):
        self._cancel_timer()
        if self.state not in (REGISTERED, UPDATING) or not self.location:
            self._set(DEREGISTERED)
            if done:
                done()
            return
        self._set(DEREGISTERING)
        m = Message(code=_DELETE)
        for seg in self.location:
            m.add(_URI_PATH, seg)

        def fin(ex, resp):
            self.location = []
            self._set(DEREGISTERED)
            if done:
                done()

        self.ep.request(self.peer, m, fin)

    def payload(self):
        links = [((), (("rt", "oma.lwm2m"), ("ct", _FORMATS)))]
        return link.encode(links + self.reg.register_links(), sort=False)

    # -- internals ----------------------------------------------------------------------
    def _set(self, state):
        if state != self.state:
            log.info("rd:", self.state, "->", state)
            self.state = state
            if self.on_state is not None:
                self.on_state(self)

    def _cancel_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _later(self, seconds, fn):
        self._cancel_timer()
        self._timer = self.loop.later(int(seconds * 1000), fn)

    def _register(self):
        self._cancel_timer()
        self._set(REGISTERING)
        try:
            m = Message(code=_POST, payload=self.payload())
            m.add(_URI_PATH, "rd").add(_CONTENT_FORMAT, _CF_LINK)
            m.add(_URI_QUERY, "ep=" + self.name)
            m.add(_URI_QUERY, "lt=%d" % self.lifetime)
            m.add(_URI_QUERY, "lwm2m=" + self.version)
            m.add(_URI_QUERY, "b=" + self.binding)
            self.ep.request(self.peer, m, self._registered)
        except MemoryError:
            # no heap for the message or its exchange: a failed attempt like a lost one,
            # never an exception out of start() or a registration stuck in Registering
            return self._retry("register: out of memory")
        self._dirty = self._params = False
        self._busy = True

    def _registered(self, ex, resp):
        self._busy = False
        if resp is not None and resp.code == _CREATED:
            loc = resp.opt_all(_LOCATION_PATH)
            if loc:
                self.location = loc  # echoed exactly (lwm2m-node-lib sends one segment)
                self.attempts = 0
                self.registrations += 1
                log.info("rd: registered at /" + "/".join(s.decode() for s in loc))
                self._set(REGISTERED)
                self._schedule_update()
                return
        why = ex.error if resp is None else code_str(resp.code)
        self._retry("register failed: %s" % why)

    def _retry(self, why):
        # Exponential back-off from retry_s, capped: a server that is away costs one
        # datagram burst per period, never a spin.
        delay = min(self.retry_s * (1 << min(self.attempts, 10)), _BACKOFF_MAX_S)
        self.attempts += 1
        log.warning("rd:", why, "- retrying in", delay, "s")
        self._set(IDLE)
        self._later(delay, self._register)

    def _schedule_update(self):
        # Anjay's rule: update at max(lifetime / 2, lifetime - MAX_TRANSMIT_WAIT), so the
        # Update (with its retransmissions) lands before the server forgets us.
        lt = self.lifetime
        if lt <= 0:
            return  # infinite lifetime (1.2): no periodic Update
        self._later(max(lt / 2, lt - _MAX_TRANSMIT_WAIT_S), self._update)

    def _update(self):
        self._cancel_timer()
        if self.state != REGISTERED:
            return
        self._set(UPDATING)
        try:
            m = Message(code=_POST)
            for seg in self.location:
                m.add(_URI_PATH, seg)
            if self._params:
                m.add(_URI_QUERY, "lt=%d" % self.lifetime).add(_URI_QUERY, "b=" + self.binding)
            if self._dirty:
                m.payload = self.payload()
                m.add(_CONTENT_FORMAT, _CF_LINK)
            self.ep.request(self.peer, m, self._updated)
        except MemoryError:
            # likewise; the registration stands until its lifetime, so the Update (with
            # whatever it was to carry) is tried again after the retry period
            log.warning("rd: update: out of memory - trying again in", self.retry_s, "s")
            self._set(REGISTERED)
            return self._later(self.retry_s, self._update)
        self._dirty = self._params = False
        self._busy = True

    def _updated(self, ex, resp):
        self._busy = False
        if resp is not None and resp.code == _CHANGED:
            self._set(REGISTERED)
            self._schedule_update()
            if self._dirty or self._params:
                self._update()
            return
        # 4.04 (the server forgot us), any other refusal, or no answer: register afresh
        why = ex.error if resp is None else code_str(resp.code)
        log.warning("rd: update failed:", why, "- registering again")
        self.location = []
        if resp is None:
            self._retry("update timed out")
        else:
            self._register()

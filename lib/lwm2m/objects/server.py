# Object 1, LwM2M Server (spec/lwm2m-fota.md 1.2): one instance per DM server, values
# validated on write, executes and configuration changes handed to the client facade.
# SPDX-License-Identifier: MIT
from port import const
from lwm2m.obj import Object, LwError, R, W, E, RW

_BAD_REQUEST = const(0x80)  # 4.00
_METHOD_NOT_ALLOWED = const(0x85)  # 4.05
_NOT_FOUND = const(0x84)  # 4.04
_INTERNAL_SERVER_ERROR = const(0xA0)  # 5.00

_SSID = const(0)
_LIFETIME = const(1)
_PMIN = const(2)
_PMAX = const(3)
_DISABLE = const(4)
_DIS_TIMEOUT = const(5)
_STORING = const(6)
_BINDING = const(7)
_UPDATE = const(8)
_RETRY_COUNT = const(17)
_RETRY_TIMER = const(18)
_SEQ_DELAY = const(19)
_SEQ_RETRY = const(20)

_MAX_S = const(0x7FFFFFFF)  # any period in seconds: fits a signed 32-bit TLV integer

# Resource <-> configuration key (lwm2m/config.py persists these names). The same table
# drives validation, so provisioning and a server's Write obey the same rules.
KEYS = (
    (_LIFETIME, "lifetime"),
    (_PMIN, "pmin"),
    (_PMAX, "pmax"),
    (_DIS_TIMEOUT, "disable_timeout"),
    (_STORING, "storing"),
    (_BINDING, "binding"),
    (_RETRY_COUNT, "retry_count"),
    (_RETRY_TIMER, "retry_timer"),
    (_SEQ_DELAY, "seq_delay"),
    (_SEQ_RETRY, "seq_retry_count"),
)

# Defaults for an instance that was provisioned without them. Disable Timeout and
# Notification Storing are the spec's defaults; the four 1.1 retry values are Anjay's
# (ANJAY_COMMUNICATION_RETRY_PARAMS_DEFAULT) so backoff behaves like a common client.
# pmin/pmax stay absent unless set: absent pmin means 0 and absent pmax no maximum.
DEFAULTS = (
    ("lifetime", 86400),
    ("disable_timeout", 86400),
    ("storing", True),
    ("binding", "U"),
    ("retry_count", 5),
    ("retry_timer", 60),
    ("seq_delay", 86400),
    ("seq_retry_count", 1),
)

# Bindings this client can actually serve (Object 3 res 16 says the same). "T" joins when a
# TCP transport exists; Queue mode ("Q" in 1.0 strings) is not implemented, so refused.
BINDINGS = "U"


def check(rid, value, bindings=BINDINGS):
    # -> value, or raises LwError(4.00). Lifetime 0 ("infinite" in LwM2M 1.2) is refused:
    # we register as LwM2M 1.1, where lt=0 has no meaning and servers treat it differently.
    # Communication retry counts must be >= 1 so the registration client always tries.
    if rid == _STORING:
        if value is True or value is False:
            return value
        raise LwError(_BAD_REQUEST, "boolean expected")
    if rid == _BINDING:
        if not isinstance(value, str) or not value:
            raise LwError(_BAD_REQUEST, "binding expected")
        for i in range(len(value)):
            c = value[i]
            if c not in bindings or c in value[i + 1 :]:
                raise LwError(_BAD_REQUEST, "unsupported binding")
        return value
    if not isinstance(value, int) or value is True or value is False:
        raise LwError(_BAD_REQUEST, "integer expected")
    low = 1 if rid in (_LIFETIME, _RETRY_COUNT, _SEQ_RETRY) else 0
    if not low <= value <= _MAX_S:
        raise LwError(_BAD_REQUEST, "value out of range")
    return value


class Server(Object):
    # Hooks (set by the client facade; each gets the instance id, not the SSID):
    #   on_update_trigger(iid)        Execute /1/x/8: send an Update to that server
    #   on_disable(iid, timeout_s)    Execute /1/x/4: after the response, De-register,
    #                                 stay silent timeout_s seconds, then Register again
    #   on_config_change(iid)         Lifetime or Binding changed by a Write: send an Update
    #                                 (may be called twice for one Write of both: coalesce)
    #   persist(iid, key, value)      set by lwm2m.config.build: save a written value
    #                                 (raises OSError when it cannot; the Write then fails)
    # Hooks run inside the request handler, before the response is sent: they must only
    # record what to do, never block or send.
    ID = 1
    VERSION = "1.1"
    MULTI = True
    RES = (
        (_SSID, R, "int"),
        (_LIFETIME, RW, "int"),
        (_PMIN, RW, "int"),
        (_PMAX, RW, "int"),
        (_DISABLE, E, "none"),
        (_DIS_TIMEOUT, RW, "int"),
        (_STORING, RW, "bool"),
        (_BINDING, RW, "str"),
        (_UPDATE, E, "none"),
        # 1.1 has these without DM access; 1.2 makes them RW, which we follow so a server
        # can tune the backoff the registration client uses.
        (_RETRY_COUNT, RW, "uint"),
        (_RETRY_TIMER, RW, "uint"),
        (_SEQ_DELAY, RW, "uint"),
        (_SEQ_RETRY, RW, "uint"),
    )

    def __init__(self, bindings=BINDINGS):
        Object.__init__(self)
        self.bindings = bindings
        self.on_update_trigger = None
        self.on_disable = None
        self.on_config_change = None
        self.persist = None

    # -- instances: created by provisioning (config.build), never by a DM server ----------
    def add(self, iid, ssid, values):
        # values: {key: value} with KEYS names; unknown keys are ignored, bad values raise
        # LwError(4.00) so a broken provisioning file is noticed.
        if not 1 <= ssid <= 65534:
            raise LwError(_BAD_REQUEST, "short server id out of range")
        inst = {_SSID: ssid}
        for rid, key in KEYS:
            if key in values:
                inst[rid] = check(rid, values[key], self.bindings)
        for key, v in DEFAULTS:
            rid = _rid(key)
            if rid not in inst:
                inst[rid] = v
        self.data[iid] = inst
        return iid

    def create(self, iid):
        # Only the Bootstrap interface may create /1 instances (LwM2M 1.1 6.1.7.2).
        raise LwError(_METHOD_NOT_ALLOWED, "server accounts come from provisioning")

    # -- values -------------------------------------------------------------------------
    def check(self, iid, rid, value):
        # Validation without side effects (a registry may call it before applying a Write).
        return check(rid, value, self.bindings)

    def set(self, iid, rid, value):
        inst = self.data.get(iid)
        if inst is None:
            raise LwError(_NOT_FOUND)
        value = check(rid, value, self.bindings)
        if rid in inst and inst[rid] == value:
            return  # unchanged: no flash write, no registration Update
        if self.persist is not None:
            key = _key(rid)
            if key is not None:
                try:
                    self.persist(iid, key, value)
                except OSError:
                    # not saved -> not applied: the server sees 5.00 and may retry
                    raise LwError(_INTERNAL_SERVER_ERROR, "cannot save configuration")
        inst[rid] = value
        if (rid == _LIFETIME or rid == _BINDING) and self.on_config_change is not None:
            self.on_config_change(iid)

    def execute(self, iid, rid, args):
        # Arguments are ignored: neither resource defines any.
        if rid == _UPDATE:
            hook = self.on_update_trigger
            if hook is None:
                raise LwError(_INTERNAL_SERVER_ERROR, "no registration client")
            hook(iid)
        elif rid == _DISABLE:
            hook = self.on_disable
            if hook is None:
                raise LwError(_INTERNAL_SERVER_ERROR, "no registration client")
            hook(iid, self.value(iid, _DIS_TIMEOUT, 86400))
        else:
            raise LwError(_METHOD_NOT_ALLOWED)

    # -- what the registration client and notifications read --------------------------------
    def value(self, iid, rid, default=None):
        inst = self.data.get(iid)
        if inst is None:
            return default
        return inst.get(rid, default)

    def ssid(self, iid):
        return self.data[iid][_SSID]

    def by_ssid(self, ssid):
        # -> iid of the account with that Short Server ID, or None
        for iid in self.instances():
            if self.data[iid].get(_SSID) == ssid:
                return iid
        return None

    def lifetime(self, iid):
        return self.value(iid, _LIFETIME, 86400)

    def binding(self, iid):
        return self.value(iid, _BINDING, "U")

    def periods(self, iid):
        # Default (pmin, pmax) for observations without their own; pmax None = no maximum.
        pmax = self.value(iid, _PMAX)
        return self.value(iid, _PMIN, 0), pmax if pmax else None

    def storing(self, iid):
        return self.value(iid, _STORING, True)

    def retry(self, iid):
        # (retry count, retry timer s, sequence delay s, sequence retry count): spec 1.2
        # res 17-20; the timer doubles per attempt within a sequence.
        return (self.value(iid, _RETRY_COUNT, 5), self.value(iid, _RETRY_TIMER, 60),
                self.value(iid, _SEQ_DELAY, 86400), self.value(iid, _SEQ_RETRY, 1))


def _rid(key):
    for r, k in KEYS:
        if k == key:
            return r
    return None


def _key(rid):
    for r, k in KEYS:
        if r == rid:
            return k
    return None

# Object 0, LwM2M Security (spec/lwm2m-fota.md 1.1): server URIs and credentials, for the
# client's own use only. Never listed at registration, every DM access refused (HIDDEN).
# SPDX-License-Identifier: MIT
from port import const
from lwm2m.obj import Object, LwError, W

_BAD_REQUEST = const(0x80)  # 4.00
_METHOD_NOT_ALLOWED = const(0x85)  # 4.05

_URI = const(0)
_BOOTSTRAP = const(1)
_MODE = const(2)
_IDENTITY = const(3)
_SERVER_KEY = const(4)
_SECRET = const(5)
_SSID = const(10)
_HOLD_OFF = const(11)
_BS_TIMEOUT = const(12)

MODE_PSK = const(0)
MODE_RPK = const(1)
MODE_CERT = const(2)
MODE_NOSEC = const(3)

_MAX_URI = const(255)  # spec: 0..255 bytes


class Security(Object):
    # Flags say W only: the Bootstrap interface may write these, nobody reads them over the
    # network, so even with HIDDEN lifted no Read could return a key. DM servers get 4.01
    # from the registry for any operation (HIDDEN). Keys are bytes kept here and handed to
    # the transport by credentials(); nothing in this module prints or logs them.
    ID = 0
    MULTI = True
    HIDDEN = True
    RES = (
        (_URI, W, "str"),
        (_BOOTSTRAP, W, "bool"),
        (_MODE, W, "int"),
        (_IDENTITY, W, "opaque"),
        (_SERVER_KEY, W, "opaque"),
        (_SECRET, W, "opaque"),
        (_SSID, W, "int"),
        (_HOLD_OFF, W, "int"),
        (_BS_TIMEOUT, W, "int"),
    )

    def add(self, iid, uri, ssid=None, bootstrap=False, mode=MODE_NOSEC, identity=b"",
            server_key=b"", secret=b"", hold_off=None, bs_timeout=None):
        # One account, from provisioning (lwm2m.config). Raises LwError(4.00) on values
        # that cannot describe a usable account.
        if not isinstance(uri, str) or not uri or len(uri) > _MAX_URI or "://" not in uri:
            raise LwError(_BAD_REQUEST, "bad server URI")
        if mode not in (MODE_PSK, MODE_RPK, MODE_CERT, MODE_NOSEC):
            raise LwError(_BAD_REQUEST, "unsupported security mode")
        if not bootstrap and (ssid is None or not 1 <= ssid <= 65534):
            raise LwError(_BAD_REQUEST, "a server account needs a short server id")
        if mode == MODE_NOSEC:
            if uri.startswith("coaps"):
                raise LwError(_BAD_REQUEST, "coaps URI with NoSec mode")
        elif not uri.startswith("coaps"):
            raise LwError(_BAD_REQUEST, "secure mode needs a coaps URI")
        inst = {_URI: uri, _BOOTSTRAP: bool(bootstrap), _MODE: mode,
                _IDENTITY: bytes(identity), _SERVER_KEY: bytes(server_key),
                _SECRET: bytes(secret)}
        if ssid is not None:
            inst[_SSID] = ssid
        if hold_off is not None:
            inst[_HOLD_OFF] = hold_off
        if bs_timeout is not None:
            inst[_BS_TIMEOUT] = bs_timeout
        self.data[iid] = inst
        return iid

    def create(self, iid):
        raise LwError(_METHOD_NOT_ALLOWED, "security accounts come from provisioning")

    # -- for the client itself --------------------------------------------------------------
    def uri(self, iid):
        return self.data[iid][_URI]

    def mode(self, iid):
        return self.data[iid][_MODE]

    def ssid(self, iid):
        return self.data[iid].get(_SSID)

    def is_bootstrap(self, iid):
        return self.data[iid][_BOOTSTRAP]

    def by_ssid(self, ssid):
        # -> iid of the non-bootstrap account for that Short Server ID, or None
        for iid in self.instances():
            inst = self.data[iid]
            if inst.get(_SSID) == ssid and not inst[_BOOTSTRAP]:
                return iid
        return None

    def credentials(self, iid):
        # -> (mode, identity, server key, secret key) for the DTLS layer. Do not log.
        inst = self.data[iid]
        return inst[_MODE], inst[_IDENTITY], inst[_SERVER_KEY], inst[_SECRET]

    def __repr__(self):
        return "<Security %d accounts>" % len(self.data)

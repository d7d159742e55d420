# Object 4, Connectivity Monitoring (spec/lwm2m-fota.md 1.4): bearer, signal and addresses
# as the board reports them (port.board.network_info(); loopback values on the host).
# SPDX-License-Identifier: MIT
from port import const, ticks_ms, ticks_diff
from port import board
from lwm2m.obj import Object, LwError, R, M

_NOT_FOUND = const(0x84)  # 4.04
_METHOD_NOT_ALLOWED = const(0x85)  # 4.05

_BEARER = const(0)
_AVAILABLE = const(1)
_RSSI = const(2)
_LINK_QUALITY = const(3)
_IPS = const(4)
_ROUTERS = const(5)

_MAX_AGE_MS = const(1000)  # one network_info() call serves a whole instance Read

# resource -> network_info() key; a key that is missing or None leaves the resource absent
_FIELDS = (
    (_BEARER, "bearer"),
    (_AVAILABLE, "available"),
    (_RSSI, "rssi"),
    (_LINK_QUALITY, "link_quality"),
    (_IPS, "ips"),
    (_ROUTERS, "router_ips"),
)


class ConnMon(Object):
    # ConnMon(info=None): info() -> dict like port.board.network_info() (the default).
    # Reads are computed from a snapshot at most 1 s old. Values change without anyone
    # writing them, so observers only hear of it when the client calls update()
    # periodically (e.g. at each registration Update or every few pmin).
    ID = 4
    RES = (
        (_BEARER, R, "int"),
        (_AVAILABLE, R | M, "int"),
        (_RSSI, R, "int"),
        (_LINK_QUALITY, R, "int"),
        (_IPS, R | M, "str"),
        (_ROUTERS, R | M, "str"),
    )

    def __init__(self, info=None):
        Object.__init__(self)
        self._info = info or board.network_info
        self._at = None
        self._snap = {}
        self.data[0] = {}
        # values as of the last update(): what observers have been told about
        self._sent = self._values(True)

    def create(self, iid):
        raise LwError(_METHOD_NOT_ALLOWED, "single-instance object")

    def _values(self, fresh=False):
        now = ticks_ms()
        if fresh or self._at is None or ticks_diff(now, self._at) > _MAX_AGE_MS:
            d = self._info()
            snap = {}
            for rid, key in _FIELDS:
                v = d.get(key)
                if v is None:
                    continue
                if self.res(rid)[1] & M:
                    v = [(i, x) for i, x in enumerate(v)]
                snap[rid] = v
            self._snap = snap
            self._at = now
        return self._snap

    def has(self, iid, rid):
        return iid == 0 and rid in self._values()

    def get(self, iid, rid):
        v = self._values().get(rid)
        if iid != 0 or v is None:
            raise LwError(_NOT_FOUND)
        return v

    def update(self):
        # Re-read the board now and tell observers about each resource that changed since
        # the previous update(). -> list of the changed resource ids.
        snap = self._values(True)
        out = []
        for rid, _ in _FIELDS:
            if snap.get(rid) != self._sent.get(rid):
                out.append(rid)
        self._sent = snap
        for rid in out:
            self.changed(0, rid)
        return out

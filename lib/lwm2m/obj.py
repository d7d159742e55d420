# The data model's building block: one LwM2M object, declared compactly (STYLE 7.3), with
# per-instance resource values. The registry (lwm2m/registry.py) enforces operations and
# types from the declaration; an object only stores and computes values.
# SPDX-License-Identifier: MIT
from port import const

# Resource flags in a declaration (rid, flags, kind)
R = const(1)  # readable
W = const(2)  # writable
E = const(4)  # executable
M = const(8)  # multiple instances
RW = const(3)

# CoAP response codes (coap.const's, as private copies: each module that raises one keeps
# its own `_NAME = const(...)`, inlined by mpy-cross, no qstr or dict entry on the device)
_NOT_FOUND = const(0x84)  # 4.04
_METHOD_NOT_ALLOWED = const(0x85)  # 4.05


class LwError(Exception):
    # An operation refused with a CoAP code (4.00, 4.04, 4.05, ...).
    def __init__(self, code, why=""):
        super().__init__(why)
        self.code = code
        self.why = why


class Object:
    # Subclasses set ID, VERSION ("1.0" means: do not announce ver=), MULTI (more than one
    # instance allowed), RES = ((rid, flags, kind), ...) and implement what they need:
    #   get(iid, rid) -> value; for an M resource a list of (riid, value)
    #   set(iid, rid, value)  -> store; for an M resource value is a list of (riid, value)
    #   execute(iid, rid, args) -> None; args is a list of (digit, str or None)
    #   create(iid) / delete(iid)
    # The default instance store is a dict iid -> {rid: value}; get/set use it.
    ID = 0
    VERSION = "1.0"
    MULTI = False
    RES = ()
    HIDDEN = False  # not listed at registration and refused to DM servers (Security)

    def __init__(self):
        self.data = {}
        self.registry = None  # set by Registry.add
        self._res = {}
        for r in self.RES:
            self._res[r[0]] = r

    # -- declaration -------------------------------------------------------------------
    def res(self, rid):
        return self._res.get(rid)

    def rids(self, iid):
        # Resources present in an instance, sorted. Optional resources without a value are
        # absent (Read skips them, Discover does not list them).
        out = []
        for r in self.RES:
            if self.has(iid, r[0]):
                out.append(r[0])
        return out

    def has(self, iid, rid):
        r = self._res.get(rid)
        if r is None:
            return False
        if r[1] & E:
            return True
        inst = self.data.get(iid)
        return inst is not None and rid in inst or self._computed(rid)

    def _computed(self, rid):
        # Subclasses whose get() computes a value on the fly list those rids here.
        return rid in self.COMPUTED

    COMPUTED = ()

    # -- instances ---------------------------------------------------------------------
    def instances(self):
        return sorted(self.data)

    def create(self, iid):
        if not self.MULTI and self.data:
            raise LwError(_METHOD_NOT_ALLOWED, "single-instance object")
        self.data[iid] = {}

    def delete(self, iid):
        raise LwError(_METHOD_NOT_ALLOWED, "instance cannot be deleted")

    # -- values ------------------------------------------------------------------------
    def get(self, iid, rid):
        inst = self.data.get(iid)
        if inst is None or rid not in inst:
            raise LwError(_NOT_FOUND)
        return inst[rid]

    def set(self, iid, rid, value):
        self.data.setdefault(iid, {})[rid] = value

    def execute(self, iid, rid, args):
        raise LwError(_METHOD_NOT_ALLOWED)

    def changed(self, iid=None, rid=None):
        # Tell observers a value changed (call after any change the device makes itself).
        if self.registry is not None:
            path = (self.ID,)
            if iid is not None:
                path = (self.ID, iid) if rid is None else (self.ID, iid, rid)
            self.registry.changed(path)

    def put(self, iid, rid, value):
        # Device-side update of a value: store and notify only when it really changed.
        inst = self.data.setdefault(iid, {})
        if inst.get(rid) != value or rid not in inst:
            inst[rid] = value
            self.changed(iid, rid)

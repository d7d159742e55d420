# The object registry: resolves paths, enforces operations and instance rules from each
# object's declaration, and turns reads and writes into format-neutral records
# (lwm2m/formats/__init__.py describes records). Knows no CoAP and no content format.
# SPDX-License-Identifier: MIT
from port import const
from lwm2m.obj import R, W, E, M, LwError

_BAD_REQUEST = const(0x80)  # 4.00
_UNAUTHORIZED = const(0x81)  # 4.01
_NOT_FOUND = const(0x84)  # 4.04
_METHOD_NOT_ALLOWED = const(0x85)  # 4.05


class Registry:
    def __init__(self):
        self.objects = {}
        self.on_change = None  # on_change(path): observers (lwm2m/notify.py)
        self.on_structure = None  # instances created/deleted: registration update

    def add(self, obj):
        self.objects[obj.ID] = obj
        obj.registry = self
        return obj

    def ids(self):
        return sorted(self.objects)

    def changed(self, path):
        if self.on_change is not None:
            self.on_change(path)

    # -- resolving ------------------------------------------------------------------------
    def obj(self, oid):
        o = self.objects.get(oid)
        if o is None:
            raise LwError(_NOT_FOUND, "no such object")
        if o.HIDDEN:
            raise LwError(_UNAUTHORIZED, "object not accessible to servers")
        return o

    def _inst(self, o, iid):
        if iid not in o.data and iid not in o.instances():
            raise LwError(_NOT_FOUND, "no such instance")

    def kind(self, path):
        # Type resolver for the codecs: never raises.
        if len(path) < 3:
            return None
        o = self.objects.get(path[0])
        if o is None:
            return None
        r = o.res(path[2])
        return r[2] if r is not None else None

    def flags(self, path):
        o = self.obj(path[0])
        r = o.res(path[2])
        if r is None:
            raise LwError(_NOT_FOUND, "no such resource")
        return r[1]

    def check(self, path):
        # That path names something here: 4.04 (4.01 for the Security object) otherwise.
        # Reads only what a resource instance needs (its resource's instance list).
        o = self.obj(path[0])
        if len(path) > 1:
            self._inst(o, path[1])
        if len(path) > 2 and (o.res(path[2]) is None or not o.has(path[1], path[2])):
            raise LwError(_NOT_FOUND, "no such resource")
        if len(path) > 3:
            r = o.res(path[2])
            v = o.get(path[1], path[2]) if r[1] & M and r[1] & R else ()
            if not any(ri == path[3] for ri, _ in v):
                raise LwError(_NOT_FOUND, "no such resource instance")

    # -- read -----------------------------------------------------------------------------
    def read(self, path):
        # -> list of records under path (sorted by the encoders). Unreadable resources are
        # skipped in object/instance reads and refused (4.05) when addressed directly.
        o = self.obj(path[0])
        out = []
        if len(path) == 1:
            for iid in o.instances():
                self._read_inst(o, iid, out)
            return out
        self._inst(o, path[1])
        if len(path) == 2:
            self._read_inst(o, path[1], out)
            return out
        r = o.res(path[2])
        if r is None or not o.has(path[1], path[2]):
            raise LwError(_NOT_FOUND, "no such resource")
        if not r[1] & R:
            raise LwError(_METHOD_NOT_ALLOWED, "resource not readable")
        self._read_res(o, path[1], r, out)
        if len(path) == 4:
            out = [rec for rec in out if rec[0] == path]
            if not out:
                raise LwError(_NOT_FOUND, "no such resource instance")
        return out

    def _read_inst(self, o, iid, out):
        for rid in o.rids(iid):
            r = o.res(rid)
            if r[1] & R:
                try:
                    self._read_res(o, iid, r, out)
                except LwError:
                    pass  # a resource without a value right now is simply absent

    def _read_res(self, o, iid, r, out):
        v = o.get(iid, r[0])
        if r[1] & M:
            if not v:
                out.append(((o.ID, iid, r[0]), ()))  # an empty multiple resource
            for riid, x in v:
                out.append(((o.ID, iid, r[0], riid), x))
        else:
            out.append(((o.ID, iid, r[0]), v))

    # -- write ----------------------------------------------------------------------------
    def write(self, path, records, replace):
        # Write records (already decoded against path) into the object. replace=True is a
        # PUT (the addressed resources are replaced whole), False a POST partial update.
        # Every record is checked before anything is applied, so a bad write changes nothing.
        o = self.obj(path[0])
        if len(path) < 2:
            raise LwError(_METHOD_NOT_ALLOWED, "write on an object")
        self._inst(o, path[1])
        iid = path[1]
        plan = {}
        check = getattr(o, "check", None)  # an object's value validation (no side effects)
        for rp, value in records:
            if len(rp) < 3 or rp[0] != path[0] or rp[1] != iid:
                raise LwError(_BAD_REQUEST, "record outside the target")
            if len(path) >= 3 and rp[2] != path[2]:
                raise LwError(_BAD_REQUEST, "record outside the target")
            r = o.res(rp[2])
            if r is None:
                raise LwError(_NOT_FOUND, "no such resource")
            if not r[1] & W:
                raise LwError(_METHOD_NOT_ALLOWED, "resource not writable")
            if check is not None and value != ():
                value = check(iid, r[0], value)
            if r[1] & M:
                lst = plan.setdefault(r[0], [])
                if len(rp) == 4:
                    lst.append((rp[3], value))
                elif value != ():
                    raise LwError(_BAD_REQUEST, "multiple resource needs instances")
            else:
                if len(rp) != 3 or value == ():
                    raise LwError(_BAD_REQUEST, "single resource given instances")
                plan[r[0]] = value
        if len(path) == 4 and not replace:
            raise LwError(_METHOD_NOT_ALLOWED, "partial update of a resource instance")
        for rid in sorted(plan):
            v = plan[rid]
            if o.res(rid)[1] & M:
                v.sort(key=_first)
                if not replace or len(path) == 4:
                    # partial update / one instance: merge into the existing instances
                    try:
                        old = dict(o.get(iid, rid))
                    except LwError:
                        old = {}
                    for riid, x in v:
                        old[riid] = x
                    v = sorted(old.items(), key=_first)
            o.set(iid, rid, v)
            self.changed((o.ID, iid, rid))

    # -- execute, create, delete ------------------------------------------------------
    def execute(self, path, args):
        if len(path) != 3:
            raise LwError(_METHOD_NOT_ALLOWED, "execute needs a resource")
        o = self.obj(path[0])
        self._inst(o, path[1])
        r = o.res(path[2])
        if r is None:
            raise LwError(_NOT_FOUND, "no such resource")
        if not r[1] & E:
            raise LwError(_METHOD_NOT_ALLOWED, "resource not executable")
        o.execute(path[1], path[2], args)

    def create(self, path, records):
        # POST /o: the new instance id comes from the records or is the lowest free one.
        if len(path) != 1:
            raise LwError(_METHOD_NOT_ALLOWED, "create on an object only")
        o = self.obj(path[0])
        iid = None
        for rp, _ in records:
            if len(rp) >= 2 and rp[1] != 65535:
                iid = rp[1]
        if iid is None:
            iid = 0
            while iid in o.data:
                iid += 1
        elif iid in o.data:
            raise LwError(_BAD_REQUEST, "instance exists")
        o.create(iid)
        try:
            recs = [((rp[0], iid) + rp[2:], v) for rp, v in records if len(rp) >= 3]
            if recs:
                self.write((o.ID, iid), recs, True)
        except LwError:
            o.data.pop(iid, None)  # a refused create leaves nothing behind
            raise
        self.changed((o.ID,))
        self._structure()
        return iid

    def delete(self, path):
        if len(path) != 2:
            raise LwError(_METHOD_NOT_ALLOWED, "delete needs an instance")
        o = self.obj(path[0])
        self._inst(o, path[1])
        o.delete(path[1])
        self.changed(path)  # observers of the instance get 4.04, of the object a new list
        self._structure()

    def _structure(self):
        if self.on_structure is not None:
            self.on_structure()

    # -- links ----------------------------------------------------------------------------
    def register_links(self):
        # The Register/Update payload: object versions and instances (spec 3.1); Security
        # is never listed.
        links = []
        for oid in self.ids():
            o = self.objects[oid]
            if o.HIDDEN:
                continue
            insts = o.instances()
            if o.VERSION != "1.0" or not insts:
                attrs = (("ver", o.VERSION),) if o.VERSION != "1.0" else ()
                links.append(((oid,), attrs))
            for iid in insts:
                links.append(((oid, iid), ()))
        return links

    def discover_links(self, path, attrs_of):
        # Discover (spec 3.2): the object (with ver), its instances and resources, with
        # the attributes written at each level. Resource-level Discover lists the resource
        # (and "dim" for multiple resources). attrs_of(path) -> tuple of (name, value).
        o = self.obj(path[0])
        links = []
        if len(path) == 1:
            a = attrs_of(path)
            if o.VERSION != "1.0":
                a = (("ver", o.VERSION),) + a
            links.append(((o.ID,), a))
            insts = o.instances()
        else:
            self._inst(o, path[1])
            insts = [path[1]]
        for iid in insts:
            if len(path) <= 2:
                links.append(((o.ID, iid), attrs_of((o.ID, iid))))
            for rid in o.rids(iid):
                if len(path) == 3 and rid != path[2]:
                    continue
                rp = (o.ID, iid, rid)
                a = attrs_of(rp)
                r = o.res(rid)
                if r[1] & M and r[1] & R:
                    try:
                        a = (("dim", len(o.get(iid, rid))),) + a
                    except LwError:
                        pass
                links.append((rp, a))
        if len(path) == 3 and len(links) == 0:
            raise LwError(_NOT_FOUND, "no such resource")
        return links


def _first(t):
    return t[0]


def parse_execute_args(text):
    # LwM2M 1.1 5.4.5 argument grammar: arg *("," arg); arg = DIGIT ["=" "'" *CHAR "'"],
    # CHAR printable ASCII except "'" (and the list may be empty). -> [(digit, str|None)]
    # Raises LwError(4.00) on anything else.
    out = []
    if not text:
        return out
    i = 0
    n = len(text)
    while True:
        if i >= n or not "0" <= text[i] <= "9":
            raise LwError(_BAD_REQUEST, "bad execute argument")
        digit = ord(text[i]) - 48
        i += 1
        value = None
        if i < n and text[i] == "=":
            if i + 1 >= n or text[i + 1] != "'":
                raise LwError(_BAD_REQUEST, "bad execute argument value")
            j = text.find("'", i + 2)
            if j < 0:
                raise LwError(_BAD_REQUEST, "unterminated execute argument")
            value = text[i + 2 : j]
            for c in value:
                if not (" " <= c <= "~"):
                    raise LwError(_BAD_REQUEST, "bad character in execute argument")
            i = j + 1
        out.append((digit, value))
        if i == n:
            return out
        if text[i] != ",":
            raise LwError(_BAD_REQUEST, "bad execute argument list")
        i += 1

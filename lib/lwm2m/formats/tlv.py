# OMA TLV (CF 11542, and the pre-registration 1542): spec/lwm2m-fota.md 3.5.
# SPDX-License-Identifier: MIT
import struct

from port import const
from lwm2m.formats import FormatError, ObjLink, sorted_records, kind_of, collect
from lwm2m.formats import utf8, to_utf8

# The instance id of a Create's records sent without an Object Instance wrapper: 65535, which
# LwM2M reserves (the registry then picks a free one)
NEW_INST = const(65535)

# Type byte bits 7-6 (spec 3.5 "Type byte in detail")
_INST = const(0)  # Object Instance: nested resource TLVs
_RI = const(1)  # Resource Instance: one value, inside a Multiple Resource
_MULTI = const(2)  # Multiple Resource: nested Resource Instance TLVs
_RES = const(3)  # Resource with a single value
_MAXLEN = const(0xFFFFFF)  # 24-bit length field

# Per entry type: the path position of its id, and the entry types allowed inside it.
_LEVEL = (1, 3, 2, 2)
_CHILD = ((_RES, _MULTI), (), (_RI,), ())

_INT_FMT = {1: ">b", 2: ">h", 4: ">i", 8: ">q"}
_UINT_FMT = {1: ">B", 2: ">H", 4: ">I", 8: ">Q"}

SINGLE = False


# ---- encoding -------------------------------------------------------------------------


def header(typ, ident, length):
    # Type byte, 8- or 16-bit id (16 only when id > 255), then the shortest length form:
    # 0-7 in the type byte, else an 8/16/24-bit length field.
    if length > _MAXLEN:
        raise FormatError("TLV value longer than 16 MiB")
    b = bytearray(6)
    t = typ << 6
    i = 1
    if ident > 255:
        t |= 0x20
        b[1] = ident >> 8
        b[2] = ident & 0xFF
        i = 3
    else:
        b[1] = ident
        i = 2
    if length < 8:
        t |= length
    elif length < 0x100:
        t |= 0x08
        b[i] = length
        i += 1
    elif length < 0x10000:
        t |= 0x10
        b[i] = length >> 8
        b[i + 1] = length & 0xFF
        i += 2
    else:
        t |= 0x18
        b[i] = length >> 16
        b[i + 1] = (length >> 8) & 0xFF
        b[i + 2] = length & 0xFF
        i += 3
    b[0] = t
    return bytes(b[:i])


def value_bytes(value, kind=None):
    # One LwM2M value as TLV bytes (spec 3.5 "Value encodings").
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        if kind == "float":
            return _float(float(value))
        if kind == "uint" or value >= 1 << 63:
            if not 0 <= value < 1 << 64:
                raise FormatError("unsigned out of range")
            for n in (1, 2, 4, 8):
                if value < 1 << (8 * n):
                    return struct.pack(_UINT_FMT[n], value)
        # Shortest two's complement of 1/2/4/8 bytes (Anjay does the same). Range-checked
        # first: struct truncates silently on MicroPython (spec/micropython.md 5).
        for n in (1, 2, 4, 8):
            lim = 1 << (8 * n - 1)
            if -lim <= value < lim:
                return struct.pack(_INT_FMT[n], value)
        raise FormatError("integer out of range")
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return to_utf8(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    if isinstance(value, ObjLink):
        return struct.pack(">HH", value.obj, value.inst)
    raise FormatError("value not representable in TLV")


def _float(x):
    # 4 bytes when binary32 holds the value exactly (1.5), else 8 (0.1). NaN never equals
    # itself, so it takes 8 bytes, which is still a valid encoding.
    try:
        b = struct.pack(">f", x)
        if struct.unpack(">f", b)[0] == x:
            return b
    except OverflowError:  # CPython; MicroPython packs inf, and the compare fails
        pass
    return struct.pack(">d", x)


def _entry(typ, ident, body, size):
    # -> (pieces, total size); pieces keep big values uncopied until the sink sees them.
    h = header(typ, ident, size)
    return [h] + body, len(h) + size


def _resource(recs, i, n, lvl, kind):
    # recs[i:n] share path[:lvl+1]; -> (pieces, size) of one Resource or Multiple Resource.
    path, value = recs[i]
    rid = path[lvl]
    if len(path) == lvl + 1:
        if n - i != 1:
            raise FormatError("resource both single and multiple")
        if isinstance(value, tuple) and not value:
            return _entry(_MULTI, rid, [], 0)
        v = value_bytes(value, kind_of(kind, path))
        return _entry(_RES, rid, [v], len(v))
    body = []
    size = 0
    for j in range(i, n):
        p, v = recs[j]
        if len(p) != lvl + 2:
            raise FormatError("bad resource instance path")
        vb = value_bytes(v, kind_of(kind, p))
        pieces, sz = _entry(_RI, p[lvl + 1], [vb], len(vb))
        body += pieces
        size += sz
    return _entry(_MULTI, rid, body, size)


def _resources(recs, i, n, lvl, kind):
    # All resources in recs[i:n] (sorted), id at path[lvl].
    body = []
    size = 0
    while i < n:
        rid = recs[i][0][lvl]
        j = i + 1
        while j < n and recs[j][0][lvl] == rid:
            j += 1
        pieces, sz = _resource(recs, i, j, lvl, kind)
        body += pieces
        size += sz
        i = j
    return body, size


def write(records, sink, base=(), kind=None):
    # Nesting follows the request path (spec 3.5 "Nesting rules"): /o -> Object Instance
    # entries; /o/i -> resources; /o/i/r -> one Resource or Multiple Resource; /o/i/r/ri -> one
    # Resource Instance. Records must be complete paths (3 or 4 ids).
    base = tuple(base)
    recs = sorted_records(records, base)
    if not base:
        raise FormatError("TLV needs at least an object path")
    for p, _ in recs:
        if len(p) < 3:
            raise FormatError("TLV record needs a resource path")
    n = len(recs)
    if len(base) == 1:
        i = 0
        while i < n:
            iid = recs[i][0][1]
            j = i + 1
            while j < n and recs[j][0][1] == iid:
                j += 1
            body, size = _resources(recs, i, j, 2, kind)
            for piece in [header(_INST, iid, size)] + body:
                sink(piece)
            i = j
        return
    if len(base) == 4:
        if n != 1:
            raise FormatError("one resource instance expected")
        p, v = recs[0]
        vb = value_bytes(v, kind_of(kind, p))
        sink(header(_RI, p[3], len(vb)))
        sink(vb)
        return
    body, size = _resources(recs, 0, n, 2, kind)
    for piece in body:
        sink(piece)


def encode(records, base=(), kind=None):
    return collect(write, records, base, kind)


# ---- decoding -------------------------------------------------------------------------


def _head(mv, i, end):
    # -> (type, id, value start, value end). Length-field forms need not be minimal; bits 2-0
    # are ignored when a length field is present (robustness; no ambiguity).
    if end - i < 2:
        raise FormatError("truncated TLV header")
    t = mv[i]
    i += 1
    if t & 0x20:
        if end - i < 2:
            raise FormatError("truncated TLV id")
        ident = (mv[i] << 8) | mv[i + 1]
        i += 2
    else:
        ident = mv[i]
        i += 1
    lf = (t >> 3) & 3
    if lf == 0:
        length = t & 7
    else:
        if end - i < lf:
            raise FormatError("truncated TLV length")
        length = 0
        for _ in range(lf):
            length = (length << 8) | mv[i]
            i += 1
    if length > end - i:
        raise FormatError("TLV value runs past its container")
    return t >> 6, ident, i, i + length


def _walk(mv, i, end, allowed, rel, out):
    # Flattens entries in mv[i:end] into out as (relative ids, top type, value view or ()).
    # Recursion depth is bounded by the format (instance > multiple > instance).
    while i < end:
        typ, ident, vs, ve = _head(mv, i, end)
        if typ not in allowed:
            raise FormatError("TLV entry type not allowed here")
        ids = rel + (ident,)
        if typ == _INST or typ == _MULTI:
            if typ == _MULTI and vs == ve:
                out.append((ids, ()))
            else:
                _walk(mv, vs, ve, _CHILD[typ], ids, out)
        else:
            out.append((ids, mv[vs:ve]))
        i = ve


def decode(data, base=(), kind=None):
    # -> [(full path, value)] in payload order. base is the request path; the ids in the
    # payload must agree with it (spec 3.5). A redundant Object Instance wrapper around a
    # /o/i write is accepted; resources at top level of a /o payload (Create without an
    # instance id) get inst NEW_INST. Repeated paths, or a resource sent both as single and
    # multiple, are refused.
    base = tuple(base)
    nb = len(base)
    if not nb:
        raise FormatError("TLV needs at least an object path")
    mv = memoryview(data)
    end = len(mv)
    flat = []
    tops = 0
    i = 0
    while i < end:
        typ, ident, vs, ve = _head(mv, i, end)
        lvl = _LEVEL[typ]
        if lvl > nb:
            if lvl == 3 or nb == 0:
                raise FormatError("resource instance outside a resource")
            prefix = (base[0], NEW_INST)
        else:
            prefix = base[:lvl]
        tops |= 1 << lvl
        start = len(flat)
        _walk(mv, i, ve, (typ,), (), flat)
        for k in range(start, len(flat)):
            flat[k] = (prefix + flat[k][0], flat[k][1])
        i = ve
    if nb == 1 and tops & 2 and tops & 4:
        raise FormatError("instances mixed with bare resources")
    out = []
    seen = set()
    multi = set()
    for path, raw in flat:
        if len(path) < nb or path[:nb] != base:
            raise FormatError("TLV id does not match the request path")
        res = path[:3]
        if path in seen or (len(path) == 4 and res in seen) or (len(path) == 3 and path in multi):
            raise FormatError("duplicate TLV entry")
        seen.add(path)
        if len(path) == 4:
            multi.add(res)
        out.append((path, _value(raw, path, kind)))
    return out


def _value(raw, path, kind):
    if isinstance(raw, tuple):  # empty Multiple Resource
        return ()
    k = kind_of(kind, path)
    n = len(raw)
    if k is None or k == "opaque":
        return bytes(raw)
    if k == "str" or k == "corelnk":
        return utf8(raw)
    if k == "int" or k == "time":
        # 1/2/4/8 bytes by the spec; any length up to 8 is taken (robustness).
        if not 1 <= n <= 8:
            raise FormatError("bad integer length")
        v = int.from_bytes(bytes(raw), "big")
        if raw[0] & 0x80:
            v -= 1 << (8 * n)
        return v
    if k == "uint":
        if not 1 <= n <= 8:
            raise FormatError("bad unsigned length")
        return int.from_bytes(bytes(raw), "big")
    if k == "float":
        if n == 4:
            return struct.unpack(">f", raw)[0]
        if n == 8:
            return struct.unpack(">d", raw)[0]
        raise FormatError("float must be 4 or 8 bytes")
    if k == "bool":
        if n != 1 or raw[0] > 1:
            raise FormatError("boolean must be one byte 0 or 1")
        return raw[0] == 1
    if k == "objlnk":
        if n != 4:
            raise FormatError("objlnk must be 4 bytes")
        o, iid = struct.unpack(">HH", raw)
        return ObjLink(o, iid)
    if k == "none":
        if n:
            raise FormatError("no value expected")
        return None
    raise FormatError("unknown kind")

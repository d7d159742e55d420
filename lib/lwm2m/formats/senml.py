# SenML records <-> LwM2M records, shared by SenML JSON (CF 110) and SenML CBOR (CF 112).
# RFC 8428 sections 4-6 plus the LwM2M 1.1 rules (spec/lwm2m-fota.md 3.4).
# SPDX-License-Identifier: MIT
from port import const
from lwm2m.formats import FormatError, ObjLink, sorted_records, kind_of, parse_path, under
from lwm2m.formats import parse_objlnk

_VALUES = ("v", "vs", "vb", "vd", "vlo")
_INT_MIN = const(-(1 << 63))
_UINT_LIM = const(1 << 64)


# ---- encoding -------------------------------------------------------------------------


def fields(records, base, kind):
    # -> list of records, each a tuple of (label, value) in wire order: bn (first record only),
    # n, then one value field. vd values stay bytes; each format encodes them its own way.
    base = tuple(base)
    recs = []
    for path, value in sorted_records(records, base):
        # An empty multiple resource has no SenML form (RFC 8428 has no "empty" record).
        if not (isinstance(value, tuple) and not value):
            recs.append((path, value))
    # Base name: the request path, or its parent when a record sits at the path itself, so
    # that every "n" is non-empty (Leshan writes {"bn":"/3/0/","n":"0"} for a Read of /3/0/0).
    bnp = base
    for path, _ in recs:
        if len(path) == len(base):
            bnp = base[:-1]
            break
    out = []
    for path, value in recs:
        rest = path[len(bnp) :]
        name = "/".join([str(p) for p in rest])
        f = []
        if not out and bnp:
            f.append(("bn", "/" + "/".join([str(p) for p in bnp]) + "/"))
        f.append(("n", name if bnp else "/" + name))
        k = kind_of(kind, path) if len(path) >= 3 else None
        if value is None:
            pass
        elif isinstance(value, bool):
            f.append(("vb", value))
        elif isinstance(value, int):
            f.append(("v", float(value) if k == "float" else value))
        elif isinstance(value, float):
            f.append(("v", value))
        elif isinstance(value, str):
            f.append(("vs", value))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            f.append(("vd", value))
        elif isinstance(value, ObjLink):
            f.append(("vlo", "%d:%d" % (value.obj, value.inst)))
        else:
            raise FormatError("value not representable in SenML")
        out.append(tuple(f))
    return out


# ---- decoding -------------------------------------------------------------------------


def records(items, base, kind, vd_text):
    # items: the decoded SenML pack, a list of dicts keyed by field name (CBOR labels already
    # mapped to names). vd_text: JSON carries vd as base64url text, CBOR as a byte string.
    # -> [(path, value)] in pack order; value None for a record without value (the name
    # lists of Read-/Observe-Composite). Raises FormatError on anything malformed.
    base = tuple(base)
    if not isinstance(items, list):
        raise FormatError("SenML pack must be an array")
    bn = ""
    bv = None
    out = []
    seen = set()
    for r in items:
        if not isinstance(r, dict):
            raise FormatError("SenML record must be a map")
        vkey = None
        for key in r:
            if not isinstance(key, str):  # MicroPython's json takes {1:2}
                raise FormatError("SenML label must be text")
            if key.endswith("_"):
                # RFC 8428 4.4: labels ending in "_" must be understood; we know none.
                raise FormatError("unsupported must-understand field")
            if key in _VALUES:
                if vkey is not None:
                    raise FormatError("SenML record with two values")
                vkey = key
        if "bn" in r:
            bn = _str(r["bn"])
        if "bv" in r:
            bv = _num(r["bv"])
        for key in ("bt", "t", "bver"):
            if key in r:
                _num(r[key])
        name = bn + _str(r.get("n", ""))
        path = parse_path(name)
        if not path:
            raise FormatError("SenML record without a name")
        if not under(path, base):
            raise FormatError("SenML name outside the request path")
        if path in seen:
            raise FormatError("duplicate SenML name")
        seen.add(path)
        raw = None if vkey is None else r[vkey]
        if vkey == "v":
            raw = _num(raw)
            if bv is not None:
                raw = raw + bv
        k = kind_of(kind, path) if len(path) >= 3 else None
        out.append((path, _value(vkey, raw, k, vd_text)))
    return out


def _str(x):
    if not isinstance(x, str):
        raise FormatError("SenML name must be a string")
    return x


def _num(x):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise FormatError("SenML number expected")
    return x


def _value(vkey, raw, k, vd_text):
    if vkey is None:
        return None
    if k == "none":
        raise FormatError("no value expected")
    if vkey == "v":
        if k is None or k == "float":
            return float(raw) if k else raw
        if k == "int" or k == "time" or k == "uint":
            if isinstance(raw, float):
                if raw - raw != 0 or raw != int(raw):
                    raise FormatError("integer expected")
                raw = int(raw)
            lo, hi = (0, _UINT_LIM) if k == "uint" else (_INT_MIN, -_INT_MIN)
            if not lo <= raw < hi:
                raise FormatError("integer out of range")
            return raw
    elif vkey == "vs":
        if isinstance(raw, str) and (k is None or k == "str" or k == "corelnk"):
            return raw
    elif vkey == "vb":
        if isinstance(raw, bool) and (k is None or k == "bool"):
            return raw
    elif vkey == "vd":
        if k is None or k == "opaque":
            if vd_text:
                if isinstance(raw, str):
                    from lwm2m.formats import b64

                    return b64.decode(raw)
            elif isinstance(raw, bytes):
                return raw
    elif vkey == "vlo":
        if isinstance(raw, str) and (k is None or k == "objlnk"):
            return parse_objlnk(raw)
    raise FormatError("SenML value does not match the resource type")

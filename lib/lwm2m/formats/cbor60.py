# application/cbor (CF 60, LwM2M 1.1): one resource value as a single CBOR data item.
# SPDX-License-Identifier: MIT
# Objlnk travels as the text "oid:iid" (as in SenML vlo); a tag (e.g. 1, epoch time) is
# accepted and dropped on decode, never written.
from lwm2m.formats import FormatError, ObjLink, sorted_records, kind_of, collect, parse_objlnk
from lwm2m.formats import cbor

SINGLE = True


def write(records, sink, base=(), kind=None):
    recs = sorted_records(records, base)
    if len(base) < 3 or len(recs) != 1 or recs[0][0] != base:
        raise FormatError("CBOR carries exactly one resource value")
    path, value = recs[0]
    if isinstance(value, ObjLink):
        value = "%d:%d" % (value.obj, value.inst)
    elif isinstance(value, int) and not isinstance(value, bool):
        if kind_of(kind, path) == "float":
            value = float(value)
    elif value is None or isinstance(value, (list, tuple, dict)):
        raise FormatError("value not representable as a CBOR value")
    cbor.write(value, sink)


def encode(records, base=(), kind=None):
    return collect(write, records, base, kind)


def decode(data, base=(), kind=None):
    if len(base) < 3:
        raise FormatError("CBOR needs a resource path")
    path = tuple(base)
    v = cbor.loads(data)
    k = kind_of(kind, path)
    t = type(v)
    if k is None:
        if t in (int, float, bool, str, bytes):
            return [(path, v)]
    elif k == "int" or k == "time" or k == "uint":
        if t is int:
            lo, hi = (0, 1 << 64) if k == "uint" else (-(1 << 63), 1 << 63)
            if lo <= v < hi:
                return [(path, v)]
    elif k == "float":
        if t is float or t is int:
            return [(path, float(v))]
    elif k == "bool":
        if t is bool:
            return [(path, v)]
    elif k == "str" or k == "corelnk":
        if t is str:
            return [(path, v)]
    elif k == "opaque":
        if t is bytes:
            return [(path, v)]
    elif k == "objlnk":
        if t is str:
            return [(path, parse_objlnk(v))]
    raise FormatError("CBOR value does not match the resource type")

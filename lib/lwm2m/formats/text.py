# text/plain (CF 0): one resource or resource-instance value as UTF-8 text (spec 3.4).
# SPDX-License-Identifier: MIT
from port import const
from lwm2m.formats import to_utf8, FormatError, ObjLink, sorted_records, kind_of, utf8, collect
from lwm2m.formats import parse_objlnk

SINGLE = True

_INT_MIN = const(-(1 << 63))
_INT_LIM = const(1 << 63)
_UINT_LIM = const(1 << 64)


def encode_value(value, kind=None):
    # -> bytes. Spec 3.4: booleans "0"/"1", objlnk "oid:iid", opaque as base64 (Anjay).
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"1" if value else b"0"
    if isinstance(value, int):
        if kind == "float":
            return _float(float(value))
        return str(value).encode()
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return to_utf8(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        from lwm2m.formats import b64

        return b64.encode(value).encode()
    if isinstance(value, ObjLink):
        return ("%d:%d" % (value.obj, value.inst)).encode()
    raise FormatError("value not representable as text")


def _float(x):
    if x - x != 0:  # inf or nan: no text form a server would accept
        raise FormatError("non-finite float")
    # repr is the shortest round-trip form on both runtimes (checked on MicroPython 1.29).
    return repr(x).encode()


def write(records, sink, base=(), kind=None):
    recs = sorted_records(records, base)
    if len(base) < 3 or len(recs) != 1 or recs[0][0] != base:
        raise FormatError("text/plain carries exactly one resource value")
    path, value = recs[0]
    sink(encode_value(value, kind_of(kind, path)))


def encode(records, base=(), kind=None):
    return collect(write, records, base, kind)


def decode(data, base=(), kind=None):
    if len(base) < 3:
        raise FormatError("text/plain needs a resource path")
    return [(tuple(base), decode_value(data, kind_of(kind, tuple(base))))]


def decode_value(data, kind=None):
    s = utf8(data)
    if kind is None or kind == "str" or kind == "corelnk":
        return s
    if kind == "int" or kind == "time":
        v = parse_int(s)
        if not _INT_MIN <= v < _INT_LIM:
            raise FormatError("integer out of range")
        return v
    if kind == "uint":
        v = parse_int(s)
        if not 0 <= v < _UINT_LIM:
            raise FormatError("unsigned out of range")
        return v
    if kind == "float":
        return parse_float(s)
    if kind == "bool":
        if s == "1":
            return True
        if s == "0":
            return False
        raise FormatError("boolean must be 0 or 1")
    if kind == "opaque":
        from lwm2m.formats import b64

        return b64.decode(s)
    if kind == "objlnk":
        return parse_objlnk(s)
    if kind == "none":
        if s:
            raise FormatError("no value expected")
        return None
    raise FormatError("unknown kind")


def parse_int(s):
    # Strict: optional sign then digits. int() would also take spaces and "1_0".
    d = s[1:] if s[:1] in ("-", "+") else s
    if not d or len(d) > 20 or not _digits(d):
        raise FormatError("bad integer")
    return int(s)


def parse_float(s):
    # Strict decimal grammar [sign] digits [. digits] [e [sign] digits]; float() would also
    # take "inf", "nan", spaces and underscores.
    i = 1 if s[:1] in ("-", "+") else 0
    n = len(s)
    j = i
    while j < n and "0" <= s[j] <= "9":
        j += 1
    seen = j > i
    if j < n and s[j] == ".":
        j += 1
        k = j
        while j < n and "0" <= s[j] <= "9":
            j += 1
        seen = seen or j > k
    if not seen:
        raise FormatError("bad float")
    if j < n and s[j] in "eE":
        j += 1
        if j < n and s[j] in "+-":
            j += 1
        k = j
        while j < n and "0" <= s[j] <= "9":
            j += 1
        if j == k:
            raise FormatError("bad float exponent")
    if j != n or n > 64:
        raise FormatError("bad float")
    v = float(s)
    if v - v != 0:
        raise FormatError("float out of range")
    return v


def _digits(s):
    for c in s:
        if c < "0" or c > "9":
            return False
    return True

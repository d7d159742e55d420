# Minimal CBOR (RFC 8949) for SenML CBOR and CF 60: MicroPython ships no cbor module.
# SPDX-License-Identifier: MIT
# Decodes every well-formed item except bignums (tags are read and dropped, their content
# kept); integers up to 64 bits, half/single/double floats, indefinite-length strings, arrays
# and maps. Anything else, including trailing bytes, nesting deeper than _DEPTH, duplicate map
# keys, keys other than integers and text, and invalid UTF-8, raises FormatError.
import struct

from port import const
from lwm2m.formats import to_utf8, FormatError, utf8

_DEPTH = const(16)
_BREAK = const(0xFF)


class _Undefined:
    def __repr__(self):
        return "undefined"


# CBOR "undefined" (simple 23) decodes to this, so it stays distinct from null (None).
UNDEFINED = _Undefined()


# ---- encoding -------------------------------------------------------------------------


def head(major, n):
    # Initial byte plus the shortest argument (RFC 8949 4.2.1 preferred serialization).
    m = major << 5
    if n < 24:
        return bytes((m | n,))
    if n < 0x100:
        return bytes((m | 24, n))
    if n < 0x10000:
        return struct.pack(">BH", m | 25, n)
    if n < 0x100000000:
        return struct.pack(">BI", m | 26, n)
    if n < 0x10000000000000000:
        return struct.pack(">BQ", m | 27, n)
    raise FormatError("integer too large for CBOR")


def write(obj, sink, depth=0):
    # Streams one item to sink(bytes). dict keys are ordered by their encoded bytes (RFC 8949
    # 4.2.1 deterministic order), so output never depends on MicroPython's dict order.
    if depth > _DEPTH:
        raise FormatError("nesting too deep")
    if obj is None:
        sink(b"\xf6")
    elif obj is UNDEFINED:
        sink(b"\xf7")
    elif isinstance(obj, bool):
        sink(b"\xf5" if obj else b"\xf4")
    elif isinstance(obj, int):
        sink(head(0, obj) if obj >= 0 else head(1, -1 - obj))
    elif isinstance(obj, float):
        sink(float_bytes(obj))
    elif isinstance(obj, str):
        b = to_utf8(obj)
        sink(head(3, len(b)))
        sink(b)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        sink(head(2, len(obj)))
        sink(obj)
    elif isinstance(obj, (list, tuple)):
        sink(head(4, len(obj)))
        for x in obj:
            write(x, sink, depth + 1)
    elif isinstance(obj, dict):
        items = []
        for k in obj:
            items.append((dumps(k), obj[k]))
        items.sort(key=_first)
        sink(head(5, len(items)))
        for kb, v in items:
            sink(kb)
            write(v, sink, depth + 1)
    else:
        raise FormatError("type not encodable as CBOR")


def _first(t):
    return t[0]


def float_bytes(x):
    # Single precision when exact, else double (half precision is decoded, never written).
    try:
        b = struct.pack(">f", x)
        if struct.unpack(">f", b)[0] == x:
            return b"\xfa" + b
    except OverflowError:  # CPython; MicroPython packs inf and the compare fails
        pass
    return b"\xfb" + struct.pack(">d", x)


def dumps(obj):
    parts = []
    write(obj, parts.append)
    return b"".join(parts)


# ---- decoding -------------------------------------------------------------------------


def loads(data):
    mv = memoryview(data)
    obj, i = item(mv, 0, len(mv), 0)
    if i != len(mv):
        raise FormatError("trailing bytes after CBOR item")
    return obj


def _arg(mv, i, end):
    # -> (major, argument or None for indefinite, additional info, next index)
    if i >= end:
        raise FormatError("truncated CBOR")
    ib = mv[i]
    major = ib >> 5
    ai = ib & 31
    i += 1
    if ai < 24:
        return major, ai, ai, i
    if ai > 27:
        if ai == 31:
            return major, None, ai, i
        raise FormatError("reserved CBOR additional info")
    n = 1 << (ai - 24)
    if end - i < n:
        raise FormatError("truncated CBOR argument")
    v = 0
    for k in range(i, i + n):
        v = (v << 8) | mv[k]
    return major, v, ai, i + n


def item(mv, i, end, depth):
    # -> (object, next index). Recursion bounded by _DEPTH.
    if depth > _DEPTH:
        raise FormatError("CBOR nesting too deep")
    major, n, ai, i = _arg(mv, i, end)
    if major == 0:
        if n is None:
            raise FormatError("indefinite integer")
        return n, i
    if major == 1:
        if n is None:
            raise FormatError("indefinite integer")
        return -1 - n, i
    if major == 2 or major == 3:
        if n is None:
            parts = []
            while True:
                if i >= end:
                    raise FormatError("unterminated CBOR string")
                if mv[i] == _BREAK:
                    i += 1
                    break
                m2, n2, _, i = _arg(mv, i, end)
                if m2 != major or n2 is None:
                    raise FormatError("bad CBOR string chunk")
                if n2 > end - i:
                    raise FormatError("truncated CBOR string")
                parts.append(bytes(mv[i : i + n2]))
                i += n2
            raw = b"".join(parts)
        else:
            if n > end - i:
                raise FormatError("truncated CBOR string")
            raw = bytes(mv[i : i + n])
            i += n
        return (raw if major == 2 else utf8(raw)), i
    if major == 4:
        out = []
        if n is None:
            while True:
                if i >= end:
                    raise FormatError("unterminated CBOR array")
                if mv[i] == _BREAK:
                    return out, i + 1
                x, i = item(mv, i, end, depth + 1)
                out.append(x)
        if n > end - i:  # every item takes at least one byte
            raise FormatError("CBOR array longer than its data")
        for _ in range(n):
            x, i = item(mv, i, end, depth + 1)
            out.append(x)
        return out, i
    if major == 5:
        out = {}
        k = 0
        while n is None or k < n:
            if n is None:
                if i >= end:
                    raise FormatError("unterminated CBOR map")
                if mv[i] == _BREAK:
                    return out, i + 1
            elif 2 * (n - k) > end - i:
                raise FormatError("CBOR map longer than its data")
            key, i = item(mv, i, end, depth + 1)
            val, i = item(mv, i, end, depth + 1)
            # Only integer and text keys: all SenML needs, and it keeps MicroPython from
            # comparing bytes with str (it prints a warning) or hashing a list.
            if not isinstance(key, (int, str)) or isinstance(key, bool):
                raise FormatError("CBOR map key must be an integer or text")
            dup = key in out
            out[key] = val
            if dup:
                raise FormatError("duplicate CBOR map key")
            k += 1
        return out, i
    if major == 6:
        if n is None:
            raise FormatError("indefinite tag")
        return item(mv, i, end, depth + 1)
    # major 7: simple values and floats
    if ai == 20:
        return False, i
    if ai == 21:
        return True, i
    if ai == 22:
        return None, i
    if ai == 23:
        return UNDEFINED, i
    if ai == 25:
        return _half(n), i
    if ai == 26:
        return struct.unpack(">f", mv[i - 4 : i])[0], i
    if ai == 27:
        return struct.unpack(">d", mv[i - 8 : i])[0], i
    if ai == 31:
        raise FormatError("unexpected CBOR break")
    raise FormatError("unsupported CBOR simple value")


def _half(h):
    # IEEE 754 binary16 (RFC 8949 Appendix D)
    e = (h >> 10) & 31
    m = h & 1023
    if e == 0:
        v = m / 16777216.0
    elif e == 31:
        v = float("inf") if m == 0 else float("nan")
    else:
        v = (m + 1024) * 2.0 ** (e - 25)
    return -v if h & 0x8000 else v

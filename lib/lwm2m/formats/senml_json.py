# SenML JSON (CF 110): RFC 8428 JSON representation with the LwM2M "vlo" field.
# SPDX-License-Identifier: MIT
# Output is written by hand from tuples: json.dumps has no sort_keys on MicroPython and its
# dicts are unordered, so field order would vary between runtimes.
# Input goes through the runtime's json. MicroPython 1.29's parser is lax (it takes [1 2] and
# {1:2}); the SenML checks after it catch wrong types, but a payload with missing commas that
# CPython refuses can decode on the board. Known gap: no strict JSON syntax check of our own.
import json

from lwm2m.formats import to_utf8, FormatError, utf8, collect
from lwm2m.formats import senml

SINGLE = False


def _json(label, value):
    if label == "vd":
        from lwm2m.formats import b64

        return '"%s"' % b64.encode(value, True)  # RFC 8428 4.3: base64url, no padding
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value - value != 0:
            raise FormatError("JSON cannot carry inf or nan")
        return repr(value)  # shortest round-trip form on both runtimes; valid JSON
    return str(value)


def write(records, sink, base=(), kind=None):
    first = True
    sink(b"[")
    for rec in senml.fields(records, base, kind):
        parts = []
        for label, value in rec:
            parts.append('"%s":%s' % (label, _json(label, value)))
        sink(("{" if first else ",{").encode())
        sink(to_utf8(",".join(parts)))
        sink(b"}")
        first = False
    sink(b"]")


def encode(records, base=(), kind=None):
    return collect(write, records, base, kind)


def decode(data, base=(), kind=None):
    text = utf8(bytes(data))
    try:
        items = json.loads(text)
    except Exception:
        # ValueError for bad JSON, but also RecursionError (CPython) or MemoryError
        # (MicroPython) for deep nesting: all of them are a malformed payload to us.
        raise FormatError("bad JSON")
    if isinstance(items, list):
        for r in items:
            if isinstance(r, dict):
                vs = r.get("vs")
                if isinstance(vs, str):
                    r["vs"] = _unsurrogate(vs)
                # CPython's json takes NaN/Infinity, which are not JSON (RFC 8259 6).
                for key in ("v", "bv"):
                    v = r.get(key)
                    if isinstance(v, float) and v - v != 0:
                        raise FormatError("non-finite number")
    return senml.records(items, base, kind, True)


def _unsurrogate(s):
    # MicroPython's json leaves an escaped pair such as "\ud800\udd51" as two surrogate code
    # points where CPython joins them into U+10151; a lone surrogate is not text on either.
    for c in s:
        if 0xD800 <= ord(c) <= 0xDFFF:
            break
    else:
        return s
    out = []
    hi = 0
    for c in s:
        o = ord(c)
        if hi:
            if not 0xDC00 <= o <= 0xDFFF:
                raise FormatError("lone surrogate")
            out.append(chr(0x10000 + ((hi - 0xD800) << 10) + (o - 0xDC00)))
            hi = 0
        elif 0xD800 <= o <= 0xDBFF:
            hi = o
        elif 0xDC00 <= o <= 0xDFFF:
            raise FormatError("lone surrogate")
        else:
            out.append(c)
    if hi:
        raise FormatError("lone surrogate")
    return "".join(out)

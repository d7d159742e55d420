# application/octet-stream (CF 42): one Opaque resource value, the bytes as they are (spec 3.4).
# SPDX-License-Identifier: MIT
# Package (/5/0/0) writes should not come through decode(): the CoAP Block1 glue hands each
# payload view straight to the slot writer (STYLE 7.5.5). This module is for small values.
from lwm2m.formats import to_utf8, FormatError, sorted_records, kind_of, collect

SINGLE = True


def write(records, sink, base=(), kind=None):
    recs = sorted_records(records, base)
    if len(base) < 3 or len(recs) != 1 or recs[0][0] != base:
        raise FormatError("opaque carries exactly one resource value")
    value = recs[0][1]
    if isinstance(value, str):
        value = to_utf8(value)
    elif value is None:
        value = b""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise FormatError("value not opaque")
    sink(value)


def encode(records, base=(), kind=None):
    return collect(write, records, base, kind)


def decode(data, base=(), kind=None):
    if len(base) < 3:
        raise FormatError("opaque needs a resource path")
    k = kind_of(kind, tuple(base))
    if k is not None and k != "opaque":
        # Anjay and Leshan refuse CF 42 for non-opaque resources; the caller maps to 4.00/4.15.
        raise FormatError("resource is not opaque")
    return [(tuple(base), bytes(data))]

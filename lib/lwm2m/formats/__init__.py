# LwM2M content formats: shared value model, error type, content-format numbers, codec table.
# Implements the plumbing around spec/lwm2m-fota.md 3.4; one module per format lives beside it.
# SPDX-License-Identifier: MIT
#
# The contract between the codecs and their callers (data model, registration, CoAP glue):
#
# Record      (path, value). path is a tuple of ints: (obj, inst, res) or (obj, inst, res, ri);
#             SenML may also carry shorter paths ((obj,), (obj, inst)) for composite requests.
#             Every id is 0..65535. tlv.NEW_INST (65535, reserved by LwM2M) stands for
#             "instance id not given": a TLV Create on /o without an Object Instance wrapper.
# value       int, float, bool, str, bytes, ObjLink(obj, inst), None (empty/execute, or a SenML
#             record without value as in Read-Composite), or () at a 3-element path meaning a
#             multiple resource with zero instances (TLV `80 rr`; needed for POST partial
#             updates that clear a multi-resource). bool is tested before int everywhere.
# kind        optional resolver kind(path) -> 'int' | 'uint' | 'float' | 'bool' | 'str' |
#             'opaque' | 'time' | 'objlnk' | 'corelnk' | 'none' | None. Called with the full
#             record path (4 elements for a resource instance: the resolver should ignore ri).
#             TLV and text need it to decode (integers, floats and booleans are untyped on the
#             wire); without it, or when it returns None (unknown resource), TLV yields raw bytes
#             and text yields str, and the caller decides (usually 4.04). SenML uses it to coerce
#             (JSON 1 -> 1.0 for a float resource) and to reject mismatches. Encoders use it only
#             for 'uint' (unsigned TLV form) and 'float' (an int value written as a float).
#             The resolver must not raise: return None for paths it does not know.
#
# Every codec module except link exposes the same three functions:
#   encode(records, base=(), kind=None) -> bytes
#   write(records, sink, base=(), kind=None)   # sink(bytes) gets the output piece by piece
#   decode(data, base=(), kind=None) -> [records]   # data: bytes, bytearray or memoryview
# base is the request path (Read /3/0 -> (3, 0)). TLV nests by it (spec 3.5); SenML derives
# "bn" from it; text/opaque/cbor60 need base = the one resource (instance) they carry. Records
# outside base are refused. Encoders sort records by path (MicroPython dicts are unordered,
# spec/micropython.md 5), so output never depends on the caller's container.
# Module attribute SINGLE = True marks formats that carry one resource value only (text,
# opaque, cbor): the caller answers 4.06 when asked for more than that.
#
# Errors: decoders raise FormatError (a ValueError) on any malformed input, nothing else
# (no IndexError, UnicodeError, struct.error leaking) -> caller answers 4.00. Encoders raise
# FormatError for values the format cannot carry (e.g. None in TLV, a non-finite float in
# SenML JSON, a 300-digit int) -> caller answers 5.00 or 4.06.
#
# Floats: the unix port and CPython use doubles; boards built with single-precision floats
# decode 8-byte floats with rounding and encode every float in 4 bytes where exact.
from port import const, MICROPYTHON

# Content-Format numbers as private constants (coap.const has them, public, for host tools
# and tests): inlined by mpy-cross, no qstr or dict entry on the device.
_CF_TEXT = const(0)
_CF_LINK = const(40)
_CF_OPAQUE = const(42)
_CF_CBOR = const(60)
_CF_SENML_JSON = const(110)
_CF_SENML_CBOR = const(112)
_CF_LEGACY_TLV = const(1542)
_CF_LWM2M_TLV = const(11542)

_MAX_ID = const(65535)  # reserved by LwM2M: tlv's NEW_INST

# CF -> module under lwm2m.formats. Formats without a module (LwM2M JSON/CBOR, legacy text
# and opaque drafts) are absent: codec() returns None and the caller answers 4.15 / 4.06.
# 1542 is the pre-registration number for the same TLV (Anjay and Leshan still accept it).
_FORMATS = const(((_CF_TEXT, "text"), (_CF_LINK, "link"), (_CF_OPAQUE, "opaque"), (_CF_CBOR, "cbor60"),
                  (_CF_SENML_JSON, "senml_json"), (_CF_SENML_CBOR, "senml_cbor"), (_CF_LWM2M_TLV, "tlv"),
                  (_CF_LEGACY_TLV, "tlv")))


class FormatError(ValueError):
    pass


class ObjLink:
    # Object link value (LwM2M Objlnk): obj and inst, each 0..65535.
    def __init__(self, obj, inst):
        if not (0 <= obj <= 65535 and 0 <= inst <= 65535):
            raise FormatError("objlnk out of range")
        self.obj = obj
        self.inst = inst

    def __eq__(self, other):
        return isinstance(other, ObjLink) and other.obj == self.obj and other.inst == self.inst

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return (self.obj << 16) | self.inst

    def __repr__(self):
        return "ObjLink(%d, %d)" % (self.obj, self.inst)


def codec(cf):
    # Lazy import: a format's code is loaded only when a request first uses it (STYLE 7.5.12).
    for n, name in _FORMATS:
        if n == cf:
            full = "lwm2m.formats." + name
            __import__(full)
            import sys

            return sys.modules[full]
    return None


def path_str(path):
    # (3, 0, 1) -> "/3/0/1"; () -> "/"
    if not path:
        return "/"
    return "/" + "/".join([str(p) for p in path])


def _id(s):
    # One decimal path segment, 0..65535; no sign, spaces or underscores (int() allows those).
    if not s or len(s) > 5:
        raise FormatError("bad id")
    for c in s:
        if c < "0" or c > "9":
            raise FormatError("bad id")
    v = int(s)
    if v > _MAX_ID:
        raise FormatError("id out of range")
    return v


def parse_objlnk(s):
    # "33629:1" -> ObjLink(33629, 1); the text form of text/plain and SenML "vlo".
    c = s.find(":")
    if c < 0:
        raise FormatError("objlnk must be oid:iid")
    return ObjLink(_id(s[:c]), _id(s[c + 1 :]))


def parse_path(s):
    # "/3/0/1" -> (3, 0, 1); "/" or "" -> (); at most 4 segments. Raises FormatError.
    if s == "" or s == "/":
        return ()
    if s[0] != "/":
        raise FormatError("path must start with /")
    parts = s[1:].split("/")
    if len(parts) > 4:
        raise FormatError("path too deep")
    return tuple([_id(p) for p in parts])


def under(path, base):
    # True when path lies at or below base.
    return len(path) >= len(base) and tuple(path[: len(base)]) == tuple(base)


def check_path(path):
    # Validates an encoder's record path; returns it as a tuple.
    if not isinstance(path, tuple) or len(path) > 4:
        raise FormatError("bad path")
    for p in path:
        if not isinstance(p, int) or isinstance(p, bool) or p < 0 or p > _MAX_ID:
            raise FormatError("bad path id")
    return path


def sorted_records(records, base):
    # Encoders' common front: validate, keep records under base, sort by path, refuse
    # duplicates. Returns a new list (the caller's container may be a dict view or a generator).
    out = []
    for path, value in records:
        check_path(path)
        if not under(path, base):
            raise FormatError("record outside base path")
        out.append((path, value))
    out.sort(key=_key)
    for i in range(1, len(out)):
        if out[i][0] == out[i - 1][0]:
            raise FormatError("duplicate path")
    return out


def _key(rec):
    return rec[0]


def kind_of(kind, path):
    return kind(path) if kind is not None else None


def utf8(data):
    # MicroPython's decoder lets overlong forms, surrogates and code points past U+10FFFF
    # through (checked on 1.29), so it gets the RFC 3629 check CPython does natively.
    if MICROPYTHON and data and max(data) >= 0x80:
        _check_utf8(data)
    try:
        return str(data, "utf-8")
    except Exception:  # UnicodeError on MicroPython, UnicodeDecodeError on CPython
        raise FormatError("invalid UTF-8")


def to_utf8(s):
    # str -> bytes for encoders; a lone surrogate (CPython) is a value we cannot carry.
    try:
        return s.encode()
    except Exception:
        raise FormatError("string not encodable as UTF-8")


def _check_utf8(d):
    n = len(d)
    i = 0
    while i < n:
        b = d[i]
        i += 1
        if b < 0x80:
            continue
        lo, hi = 0x80, 0xBF
        if 0xC2 <= b <= 0xDF:
            k = 1
        elif 0xE0 <= b <= 0xEF:
            k = 2
            if b == 0xE0:
                lo = 0xA0  # overlong
            elif b == 0xED:
                hi = 0x9F  # surrogates
        elif 0xF0 <= b <= 0xF4:
            k = 3
            if b == 0xF0:
                lo = 0x90  # overlong
            elif b == 0xF4:
                hi = 0x8F  # past U+10FFFF
        else:
            raise FormatError("invalid UTF-8")
        if i + k > n or not lo <= d[i] <= hi:
            raise FormatError("invalid UTF-8")
        for j in range(i + 1, i + k):
            if not 0x80 <= d[j] <= 0xBF:
                raise FormatError("invalid UTF-8")
        i += k


def collect(write, records, base, kind):
    # encode() in terms of write(): pieces go to a list joined once (no bytes += loop).
    parts = []
    write(records, parts.append, base, kind)
    return b"".join(parts)

# Base64 for opaque values: standard (text/plain, Anjay style) and base64url without padding
# (SenML "vd", RFC 8428 4.3). MicroPython has no base64 module, only binascii.
# SPDX-License-Identifier: MIT
import binascii

from lwm2m.formats import FormatError

_ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"


def encode(data, url=False):
    s = binascii.b2a_base64(bytes(data)).decode().rstrip("\n")
    if url:
        s = s.rstrip("=").replace("+", "-").replace("/", "_")
    return s


def decode(s):
    # Accepts either alphabet, with or without padding. binascii alone is not enough: both
    # runtimes silently skip characters outside the alphabet ("!!!!" decodes to b"").
    n = len(s)
    pad = 0
    while pad < n and s[n - 1 - pad] == "=":
        pad += 1
    if pad:
        if pad > 2 or n % 4:
            raise FormatError("bad base64 padding")
        s = s[: n - pad]
        n -= pad
    if n % 4 == 1:
        raise FormatError("bad base64 length")
    for c in s:
        if c not in _ALPHA:
            raise FormatError("bad base64 character")
    s = s.replace("-", "+").replace("_", "/") + "=" * ((4 - n % 4) % 4)
    try:
        return binascii.a2b_base64(s)
    except Exception:
        raise FormatError("bad base64")

# Strict DER for the few structures an image check meets: the ECDSA-Sig-Value of MCUboot's
# ECDSASIG TLV (RFC 5480 / SEC 1: SEQUENCE { INTEGER r, INTEGER s }); the fixed
# SubjectPublicKeyInfo prefixes that the KEYHASH TLV hashes are fota.crypto.keys'
# (spec/micropython.md section 3).
# SPDX-License-Identifier: MIT
from port import const

_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)


def _integer(b, i, end):
    # One positive INTEGER at b[i]: minimal length, no sign bit, 1 <= value < n.
    if i + 2 > end or b[i] != 0x02:
        raise ValueError("DER: INTEGER expected")
    n = b[i + 1]
    i += 2
    if n == 0 or n > 33 or i + n > end:
        raise ValueError("DER: INTEGER length")
    if b[i] & 0x80:
        raise ValueError("DER: negative INTEGER")
    if n > 1 and b[i] == 0 and not b[i + 1] & 0x80:
        raise ValueError("DER: INTEGER not minimal")
    v = int.from_bytes(bytes(b[i : i + n]), "big")
    if not 0 < v < _N:
        raise ValueError("DER: INTEGER out of range")
    return v, i + n


def ecdsa_sig(b):
    # (r, s) from a DER ECDSA-Sig-Value; ValueError on anything but the one valid encoding.
    # Trailing zero bytes are allowed: imgtool --pad-sig pads the TLV to 72 bytes (for
    # MCUboot < 1.5) after the SEQUENCE.
    if len(b) < 8 or b[0] != 0x30 or b[1] & 0x80:
        raise ValueError("DER: SEQUENCE expected")
    end = 2 + b[1]
    if end > len(b):
        raise ValueError("DER: SEQUENCE length")
    for i in range(end, len(b)):
        if b[i]:
            raise ValueError("DER: trailing bytes")
    r, i = _integer(b, 2, end)
    s, i = _integer(b, i, end)
    if i != end:
        raise ValueError("DER: trailing bytes in SEQUENCE")
    return r, s

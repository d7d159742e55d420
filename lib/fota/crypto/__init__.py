# fota.crypto: pure-Python signature checks for MCUboot images (ECDSA P-256, Ed25519), shared
# helpers here. Both curves cut each scalar into 4 chunks of 64 bits and walk them with
# precomputed tables of 2^(64 j) * point, so a verify doubles 64 times instead of 256.
# SPDX-License-Identifier: MIT
from port import const

_SPLIT = const(4)  # chunks per scalar; gen_tables.py and the key tables use the same
_CHUNK = const(64)  # bits per chunk
_ROW = const(65)  # digits per chunk: 64 bits plus the final wNAF carry
_Z = bytes(_SPLIT * _ROW)


def inv(a, m):
    # Extended Euclid. Never pow(a, -1, m): MicroPython returns 0 for it, and its 3-argument
    # pow (Fermat) is 6 to 9x slower than this loop (spec/micropython.md section 1).
    a %= m
    if a == 0:
        raise ValueError("no inverse exists")
    x0, x1, r0, r1 = 0, 1, m, a
    while r1:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        x0, x1 = x1, x0 - q * x1
    if r0 != 1:
        raise ValueError("no inverse exists")
    return x0 % m


def inverses(zs, m):
    # 1/z mod m for every z in zs with one inversion (Montgomery's trick), in zs's order.
    acc = [1]
    for z in zs:
        acc.append(acc[-1] * z % m)
    t = inv(acc[-1], m)
    out = [0] * len(zs)
    for i in range(len(zs) - 1, -1, -1):
        out[i] = t * acc[i] % m
        t = t * zs[i] % m
    return out


def wnaf(k, out, off, w, neg):
    # Width-w NAF of each 64-bit chunk of k (0 <= k < 2^256) into out[off + j*65 + i]: 0 for
    # no digit, else the odd digit d (|d| < 2^(w-1)) stored as d & 0xff, negated when `neg`.
    # Works on the bytes of k with small ints only (no big-int shifts, no list growth); the
    # carry out of a chunk becomes its digit 64. Algorithm as libsecp256k1 ecmult_wnaf.
    kb = k.to_bytes(34, "little")  # 2 spare bytes so a 2-byte read never runs off
    out[off : off + 260] = _Z
    for j in range(4):
        bit = j << 6
        end = bit + 64
        o = off + j * 65 - bit
        carry = 0
        while bit < end:
            if (kb[bit >> 3] >> (bit & 7)) & 1 == carry:
                bit += 1
                continue
            now = end - bit
            if now > w:
                now = w
            word = ((kb[bit >> 3] | (kb[(bit >> 3) + 1] << 8)) >> (bit & 7)) & ((1 << now) - 1)
            word += carry
            carry = (word >> (w - 1)) & 1
            word -= carry << w
            if neg:
                word = -word
            out[o + bit] = word & 0xFF
            bit += now
        if carry:
            out[o + end] = 255 if neg else 1

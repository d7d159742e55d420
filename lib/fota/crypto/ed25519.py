# Ed25519 signature check (RFC 8032 section 5.1.7, cofactorless) in pure Python. Extended
# coordinates, Straus interleaving of [S]B - [k]A with wNAF digits over 64-bit chunks, niels
# tables for B (frozen constant module) and for the trusted key A (built once per key).
# MCUboot (imgtool 2.x, not --pure) signs the 32-byte SHA-256 of the image, so the message
# here is that digest and SHA-512 runs over one 128-byte block only.
# SPDX-License-Identifier: MIT
from port import const
from fota.crypto import inv, inverses, wnaf
from fota.crypto import ed25519_table as _B
from fota.crypto.sha512 import sha512

P = const(0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFED)
L = const(0x1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED)
D = const(0x52036CEE2B6FFE738CC740797779E89800700A4D4141D8AB75EB4DCA135978A3)
_SQRTM1 = const(0x2B8324804FC1DF0B2B4D00993DFBD7A72F431806AD2FE478C4EE1B274A0EA0B0)
AW = const(5)  # wNAF width for A: 8 odd multiples per chunk
_AN = const(8)
_DIG = bytearray(520)  # S digits at [0, 260), -k digits at [260, 520)


def decode(b):
    # RFC 8032 5.1.3: 32 bytes -> affine (x, y); ValueError when not a curve point.
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if len(b) != 32 or y >= P:
        raise ValueError("bad point")
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P) % P, (P - 5) >> 3, P) % P
    if (v * x * x - u) % P:
        if (v * x * x + u) % P:
            raise ValueError("bad point")
        x = x * _SQRTM1 % P
    if x == 0 and sign:
        raise ValueError("bad point")
    if x & 1 != sign:
        x = P - x
    return x, y


def _dbl(X, Y, Z):
    p = P
    xx = X * X % p
    yy = Y * Y % p
    b2 = (Z * Z << 1) % p
    aa = (X + Y) * (X + Y) % p
    y3 = yy + xx
    z3 = yy - xx
    x3 = aa - y3
    t3 = b2 - z3
    return x3 * t3 % p, y3 * z3 % p, z3 * t3 % p, x3 * y3 % p


def _add(X1, Y1, Z1, T1, X2, Y2, Z2, T2):
    # add-2008-hwcd-3 (a = -1); table building only
    p = P
    a = (Y1 - X1) * (Y2 - X2) % p
    b = (Y1 + X1) * (Y2 + X2) % p
    c = T1 * 2 * D * T2 % p
    d = Z1 * 2 * Z2 % p
    e, f, g, h = b - a, d - c, d + c, b + a
    return e * f % p, g * h % p, f * g % p, e * h % p


def key_tables(x, y):
    # Niels (y+x, y-x, 2dxy) of (2k+1) * 2^(64 j) * A, k < 8, one bytes object per chunk
    # j < 4, laid out as ed25519_table.T (96 bytes per entry).
    p = P
    pts = []
    b = (x, y, 1, x * y % p)
    for j in range(4):
        two = _dbl(b[0], b[1], b[2])
        pt = b
        for k in range(_AN):
            pts.append(pt)
            if k < _AN - 1:
                pt = _add(*(pt + two))
        if j < 3:
            for _ in range(64):
                b = _dbl(b[0], b[1], b[2])
    zinv = inverses([pt[2] for pt in pts], p)
    out = bytearray(96 * len(pts))
    for i in range(len(pts)):
        zi = zinv[i]
        ax = pts[i][0] * zi % p
        ay = pts[i][1] * zi % p
        o = 96 * i
        out[o : o + 32] = ((ay + ax) % p).to_bytes(32, "big")
        out[o + 32 : o + 64] = ((ay - ax) % p).to_bytes(32, "big")
        out[o + 64 : o + 96] = (2 * D * ax * ay % p).to_bytes(32, "big")
    return tuple(bytes(out[768 * j : 768 * j + 768]) for j in range(4))


def verify(atab, a32, msg, sig):
    # True when sig (64 bytes R || S) signs msg under the public key a32 whose key_tables()
    # are atab. Checks encode([S]B - [k]A) == R, so R is never decoded (one inversion).
    if len(sig) != 64:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L:  # RFC 8032: reject non-canonical S (malleability)
        return False
    h = sha512(sig[:32])
    h.update(a32)
    h.update(msg)
    k = int.from_bytes(h.digest(), "little") % L
    dig = _DIG
    wnaf(s, dig, 0, _B.WIDTH, False)
    wnaf(k, dig, 260, AW, True)
    B = _B.T
    tabs = (memoryview(B[0]), memoryview(B[1]), memoryview(B[2]), memoryview(B[3]),
            memoryview(atab[0]), memoryview(atab[1]), memoryview(atab[2]), memoryview(atab[3]))
    p = P
    X = 0
    Y = Z = 1
    te = 0  # T = te * th, computed only when an addition needs it
    th = 0
    for i in range(64, -1, -1):
        if X:
            # ref10 ge_p2_dbl: 4S + 3M (+1M for T, deferred)
            xx = X * X % p
            yy = Y * Y % p
            b2 = (Z * Z << 1) % p
            aa = (X + Y) * (X + Y) % p
            th = yy + xx
            z3 = yy - xx
            te = aa - th
            t3 = b2 - z3
            X = te * t3 % p
            Y = th * z3 % p
            Z = z3 * t3 % p
        for j in range(8):
            c = dig[j * 65 + i]
            if not c:
                continue
            tb = tabs[j]
            # ref10 ge_madd / ge_msub: 7M (+1M for T); entries are bytes (see p256.py)
            if c < 128:
                n = (c >> 1) * 96
                a = (Y + X) * int.from_bytes(tb[n : n + 32], "big") % p
                b = (Y - X) * int.from_bytes(tb[n + 32 : n + 64], "big") % p
                cc = te * th % p * int.from_bytes(tb[n + 64 : n + 96], "big") % p
            else:
                n = ((256 - c) >> 1) * 96
                a = (Y + X) * int.from_bytes(tb[n + 32 : n + 64], "big") % p
                b = (Y - X) * int.from_bytes(tb[n : n + 32], "big") % p
                cc = -(te * th % p * int.from_bytes(tb[n + 64 : n + 96], "big")) % p
            d2 = Z << 1
            te = a - b
            th = a + b
            g = d2 + cc
            f = d2 - cc
            X = te * f % p
            Y = th * g % p
            Z = g * f % p
    zi = inv(Z, p)
    x = X * zi % p
    return (Y * zi % p) | ((x & 1) << 255) == int.from_bytes(sig[:32], "little")

# ECDSA P-256 signature check (FIPS 186-5 section 6.4.4, SEC 1 4.1.4) in pure Python for
# MicroPython and CPython. Jacobian coordinates (a = -3), Straus interleaving of wNAF digits,
# affine tables for G (frozen constant module) and for the trusted key Q (built once per key).
# SPDX-License-Identifier: MIT
from port import const
from fota.crypto import inv, inverses, wnaf
from fota.crypto import p256_table as _G

_P = const(0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF)
_N = const(0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
_B = const(0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B)
_QW = const(5)  # wNAF width for Q: 8 odd multiples per chunk; 6 costs more to build than it saves
_QN = const(8)  # 2^(_QW-2)
_DIG = bytearray(520)  # wNAF digits: u1 at [0, 260), u2 at [260, 520); reused, no growth


def on_curve(x, y):
    return 0 <= x < _P and 0 <= y < _P and (y * y - x * x * x + 3 * x - _B) % _P == 0


def _dbl(a):
    # dbl-2001-b (a = -3); only for building tables, the hot loop inlines it. Points come as
    # (X, Y, Z) tuples: a parameter's name is a qstr on the device, a local's is not.
    X, Y, Z = a
    p = _P
    d = Z * Z % p
    g = Y * Y % p
    b = X * g % p
    a = 3 * (X - d) * (X + d) % p
    X3 = (a * a - (b << 3)) % p
    return X3, (a * ((b << 2) - X3) - ((g * g) << 3)) % p, (Y * Z << 1) % p


def _add(a, b):
    # add-2007-bl, general Jacobian addition; table building only (operands never equal)
    X1, Y1, Z1 = a
    X2, Y2, Z2 = b
    p = _P
    z1 = Z1 * Z1 % p
    z2 = Z2 * Z2 % p
    u1 = X1 * z2 % p
    s1 = Y1 * Z2 * z2 % p
    h = (X2 * z1 - u1) % p
    r = (Y2 * Z1 * z1 - s1) * 2 % p
    i = (h * h << 2) % p
    j = h * i % p
    v = u1 * i % p
    X3 = (r * r - j - 2 * v) % p
    return X3, (r * (v - X3) - 2 * s1 * j) % p, 2 * Z1 * Z2 * h % p


def key_tables(x, y):
    # Affine odd multiples (2k+1) * 2^(64 j) * Q, k < 8, one bytes object per chunk j < 4,
    # laid out as p256_table.T (x then y, 32 bytes big-endian each). Done once per trusted
    # key (a few ms on MicroPython) or precomputed by `updraft keygen` into its module.
    if not on_curve(x, y):
        raise ValueError("not a P-256 point")
    pts = []
    bx, by, bz = x, y, 1
    for j in range(4):
        t = _dbl((bx, by, bz))
        px, py, pz = bx, by, bz
        for k in range(_QN):
            pts.append((px, py, pz))
            if k < _QN - 1:
                px, py, pz = _add((px, py, pz), t)
        if j < 3:
            for _ in range(64):
                bx, by, bz = _dbl((bx, by, bz))
    zinv = inverses([pt[2] for pt in pts], _P)  # one inversion for all 32 points
    out = bytearray(64 * len(pts))
    for i in range(len(pts)):
        zi = zinv[i]
        z2 = zi * zi % _P
        out[64 * i : 64 * i + 32] = (pts[i][0] * z2 % _P).to_bytes(32, "big")
        out[64 * i + 32 : 64 * i + 64] = (pts[i][1] * z2 * zi % _P).to_bytes(32, "big")
    return tuple(bytes(out[512 * j : 512 * j + 512]) for j in range(4))


def verify(qtab, e, r, s):
    # True when (r, s) is a valid signature of the hash integer e under the key whose
    # key_tables() are qtab. r and s come from der.ecdsa_sig (already range-checked).
    if not (0 < r < _N and 0 < s < _N):
        return False
    w = inv(s, _N)
    dig = _DIG
    wnaf(e * w % _N, dig, 0, _G.WIDTH, False)
    wnaf(r * w % _N, dig, 260, _QW, False)
    G = _G.T
    tabs = (memoryview(G[0]), memoryview(G[1]), memoryview(G[2]), memoryview(G[3]),
            memoryview(qtab[0]), memoryview(qtab[1]), memoryview(qtab[2]), memoryview(qtab[3]))
    p = _P
    X = Y = Z = 0
    inf = True
    for i in range(64, -1, -1):
        if not inf:
            # dbl-2001-b, a = -3: 3M + 5S, reductions only where a value is multiplied again
            d = Z * Z % p
            g = Y * Y % p
            b = X * g % p
            a = 3 * (X - d) * (X + d) % p
            Z = (Y * Z << 1) % p
            X = (a * a - (b << 3)) % p
            Y = (a * ((b << 2) - X) - ((g * g) << 3)) % p
        for j in range(8):
            c = dig[j * 65 + i]
            if not c:
                continue
            # table entries are bytes (frozen in flash on a board): ~0.4 us per int here
            tb = tabs[j]
            if c < 128:
                k = (c >> 1) << 6
                y2 = int.from_bytes(tb[k + 32 : k + 64], "big")
            else:
                k = ((256 - c) >> 1) << 6
                y2 = p - int.from_bytes(tb[k + 32 : k + 64], "big")
            x2 = int.from_bytes(tb[k : k + 32], "big")
            if inf:
                X = x2
                Y = y2
                Z = 1
                inf = False
                continue
            # madd-2007-bl with Z3 = 2*Z1*H: 7M + 4S. Equal operands give Z = 0, which
            # stays 0 and is rejected below (fails closed; only a forged input gets there).
            zz = Z * Z % p
            h = (x2 * zz - X) % p
            rr = (y2 * Z % p * zz - Y) << 1
            hh = h * h % p
            i4 = hh << 2
            jj = h * i4 % p
            v = X * i4 % p
            Z = (Z * h << 1) % p
            X = (rr * rr - jj - (v << 1)) % p
            Y = (rr * (v - X) - ((Y * jj) << 1)) % p
    if inf or Z == 0:
        return False
    # x(R) mod n == r without an inversion: X == x * Z^2 for x in {r, r + n} (x < p)
    zz = Z * Z % p
    if (X - r * zz) % p == 0:
        return True
    return r + _N < p and (X - (r + _N) * zz) % p == 0

# Random LwM2M record lists for the format interop tests; plain code that also runs on the
# MicroPython unix port (tests/host/formats_mpy.py), so both runtimes draw the same shapes.
import struct

from lwm2m.formats import ObjLink

_CHARS = ("a", "Z", "0", " ", '"', "\\", "/", "\n", "\t", "\x01", "\x7f", "\u00e9", "\u6c34",
          "\U00010151", "=", ":", "{")


def _bits(rng, n):
    v = 0
    while n > 0:
        k = 32 if n > 32 else n
        v = (v << k) | rng.getrandbits(k)
        n -= k
    return v


def value(rng, finite=True):
    t = rng.getrandbits(3)
    if t == 0:
        return rng.getrandbits(1) == 1
    if t == 1:
        edge = (0, 1, -1, 23, 24, 255, 256, 65535, 65536, (1 << 63) - 1, -(1 << 63),
                (1 << 64) - 1, 1 << 53, -(1 << 32))
        return edge[rng.getrandbits(4) % len(edge)]
    if t == 2:
        return _bits(rng, 1 + rng.getrandbits(6)) * (1 if rng.getrandbits(1) else -1)
    if t == 3:
        while True:
            x = struct.unpack(">d", struct.pack(">Q", _bits(rng, 64)))[0]
            if x == x and (not finite or x - x == 0):
                return x
    if t == 4:
        return "".join([_CHARS[rng.getrandbits(5) % len(_CHARS)] for _ in range(rng.getrandbits(4))])
    if t == 5:
        return bytes([rng.getrandbits(8) for _ in range(rng.getrandbits(5))])
    if t == 6:
        return ObjLink(rng.getrandbits(16), rng.getrandbits(16))
    return float(rng.getrandbits(10)) / 8


def records(rng, finite=True):
    # 1..12 records with distinct paths, some under one /o/i, some resource instances.
    out = {}
    o = rng.getrandbits(16)
    i = rng.getrandbits(3)
    for _ in range(1 + rng.getrandbits(3) + rng.getrandbits(2)):
        if rng.getrandbits(2) == 0:
            o2, i2 = rng.getrandbits(16), rng.getrandbits(16)
        else:
            o2, i2 = o, i
        r = rng.getrandbits(9)
        if rng.getrandbits(2) == 0:
            path = (o2, i2, r, rng.getrandbits(16))
        else:
            path = (o2, i2, r)
        out[path] = value(rng, finite)
    # a resource cannot be both single and multiple: drop the single one
    for p in list(out):
        if len(p) == 4 and p[:3] in out:
            del out[p[:3]]
    return sorted(out.items())

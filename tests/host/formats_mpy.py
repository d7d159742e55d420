# Run by the MicroPython unix port from tests/host/test_formats_interop.py:
#   micropython tests/host/formats_mpy.py decode FILE   -> decode host-made payloads, compare
#   micropython tests/host/formats_mpy.py encode SEED N -> print "cf hex repr" lines
#   micropython tests/host/formats_mpy.py fuzz SEED N   -> mutated payloads into every decoder;
#                                                         prints "fuzz N leaks 0" when only
#                                                         FormatError came out
# Lines of FILE: "cf hex repr(records)", payloads made by cbor2 / CPython json on the host.
import sys

sys.path.insert(0, "lib")
sys.path.insert(0, "tests/host")

import random

from lwm2m.formats import FormatError, ObjLink, codec
import formats_gen

KINDS = ("int", "uint", "float", "bool", "str", "opaque", "time", "objlnk", "none", None)


def fuzz(n):
    # The hypothesis tests run on CPython only; MicroPython's struct, memoryview, json and
    # str differ (spec/micropython.md 5), so the decoders get mutated inputs here as well.
    leaks = ok = 0
    mods = [codec(cf) for cf in (0, 42, 60, 110, 112, 11542)]
    link = codec(40)
    for k in range(n):
        recs = formats_gen.records(random, True)
        kinds = {}
        for p, v in recs:
            kinds[p[:3]] = ("bool" if v is True or v is False else "str" if isinstance(v, str)
                            else "opaque" if isinstance(v, bytes) else "objlnk"
                            if isinstance(v, ObjLink) else "float" if isinstance(v, float)
                            else "uint" if v >= 1 << 63 else "int")
        kf = lambda p: kinds.get(p[:3])
        base = recs[0][0][:2]
        sub = [r for r in recs if r[0][:2] == base]
        seeds = []
        for cf in (110, 112, 11542):
            try:
                seeds.append(codec(cf).encode(sub, base, kf))
            except FormatError:  # e.g. an integer below -2**63 has no TLV form
                pass
        seeds.append(link.encode([(p, (("pmin", 1), ("rt", "x y"))) for p, _ in sub]))
        for data in seeds:
            data = bytearray(data)
            for _ in range(1 + random.getrandbits(2)):
                op = random.getrandbits(2)
                if op == 0 and data:
                    data[random.getrandbits(16) % len(data)] = random.getrandbits(8)
                elif op == 1 and data:
                    data = data[: random.getrandbits(16) % len(data)]
                elif op == 2:
                    data.append(random.getrandbits(8))
            base2 = base[: random.getrandbits(2) + 1]
            rk = KINDS[random.getrandbits(4) % len(KINDS)]
            calls = [(m.decode, (data, base2, kf)) for m in mods]
            calls += [(m.decode, (data, recs[0][0], lambda p: rk)) for m in mods]
            calls.append((link.decode, (data,)))
            for fn, args in calls:
                try:
                    fn(*args)
                    ok += 1
                except FormatError:
                    pass
                except Exception as e:
                    leaks += 1
                    print("LEAK", fn, bytes(data).hex(), args[1:2], repr(e))
    print("fuzz", n, "decoded", ok, "leaks", leaks)


def main():
    mode = sys.argv[1]
    if mode == "decode":
        ok = bad = 0
        for line in open(sys.argv[2]):
            cf, hx, want = line.rstrip("\n").split(" ", 2)
            want = eval(want, {"ObjLink": ObjLink})
            try:
                got = codec(int(cf)).decode(bytes.fromhex(hx))
            except Exception as e:
                got = "raised %r" % (e,)
            if got == want:
                ok += 1
            else:
                bad += 1
                print("MISMATCH", cf, hx, repr(got), repr(want))
        print("decoded", ok, "mismatched", bad)
    elif mode == "fuzz":
        random.seed(int(sys.argv[2]))
        fuzz(int(sys.argv[3]))
    else:
        random.seed(int(sys.argv[2]))
        for k in range(int(sys.argv[3])):
            cf = (110, 112)[k % 2]
            recs = formats_gen.records(random, cf == 112)
            print(cf, codec(cf).encode(recs).hex(), repr(recs))


main()

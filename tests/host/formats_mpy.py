# Run by the MicroPython unix port from tests/host/test_formats_interop.py:
#   micropython tests/host/formats_mpy.py decode FILE   -> decode host-made payloads, compare
#   micropython tests/host/formats_mpy.py encode SEED N -> print "cf hex repr" lines
# Lines of FILE: "cf hex repr(records)", payloads made by cbor2 / CPython json on the host.
import sys

sys.path.insert(0, "lib")
sys.path.insert(0, "tests/host")

import random

from lwm2m.formats import ObjLink, codec
import formats_gen


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
    else:
        random.seed(int(sys.argv[2]))
        for k in range(int(sys.argv[3])):
            cf = (110, 112)[k % 2]
            recs = formats_gen.records(random, cf == 112)
            print(cf, codec(cf).encode(recs).hex(), repr(recs))


main()

# Writes tests/vectors/: test-only signing keys (made once, reused), the device trusted-keys
# module for them, small imgtool images (valid ones and the kinds a device must refuse) and
# P-256 ECDSA vectors from `cryptography`. Run: .venv/bin/python tests/make_vectors.py
# [--new-keys]. ECDSA signatures are randomized, so a re-run changes those bytes; the tests
# only rely on what the images mean. These keys are public test keys: never trust them.
# SPDX-License-Identifier: MIT
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tools"), os.path.join(ROOT, "lib")]
from updraft import keys, sign  # noqa: E402

VEC = os.path.join(ROOT, "tests", "vectors")
KEYS = {"ec": "ecdsa-p256", "ed": "ed25519", "ec-other": "ecdsa-p256"}
SLOT = 0x4000

# name: (key, version, component, dependencies, extra imgtool args, header size, seccnt)
IMAGES = {
    "ec": ("ec", "1.2.3+4", "app", (), (), 0x200, "auto"),
    "ed": ("ed", "1.2.3", "app", ("(1,2.0.0)",), (), 0x200, None),
    "ec-deps": ("ec", "2.0.0", "app", ("(1,1.0.0)", "(2,0.5.0+3)"), (), 0x200, 7),
    "ec-nocomp": ("ec", "0.9.0", None, (), (), 0x200, None),
    "ec-other": ("ec-other", "1.2.3", "app", (), (), 0x200, "auto"),
    "ec-pubkey": ("ec", "1.2.3", "app", (), ("--public-key-format", "full"), 0x200, None),
    "ec-padsig": ("ec", "1.2.3", "app", (), ("--pad-sig",), 0x200, None),
    "ec-hdr32": ("ec", "1.2.3", "app", (), (), 32, None),
    "ec-padded": ("ec", "1.2.3", "app", (), ("--pad",), 0x200, None),
    "unsigned": (None, "1.2.3", "app", (), (), 0x200, None),
    "ed-pure": ("ed", "1.2.3", "app", (), ("--pure",), 0x200, None),
}


def payload():
    # 3000 deterministic bytes: not a multiple of any hash buffer size
    out = b""
    h = b"updraft test payload"
    while len(out) < 3000:
        h = hashlib.sha256(h).digest()
        out += h
    return out[:3000]


def p256_vectors(n=8):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    out = []
    for i in range(n):
        k = ec.generate_private_key(ec.SECP256R1())
        d = hashlib.sha256(b"vector %d" % i).digest()
        r, s = utils.decode_dss_signature(
            k.sign(d, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
        pub = k.public_key().public_numbers()
        out.append(["%064x" % pub.x, "%064x" % pub.y, d.hex(), "%064x" % r, "%064x" % s])
    return out


def main(argv):
    os.makedirs(os.path.join(VEC, "keys"), exist_ok=True)
    pem = {}
    for name, kind in KEYS.items():
        pem[name] = os.path.join(VEC, "keys", name + ".pem")
        if "--new-keys" in argv or not os.path.exists(pem[name]):
            keys.generate(kind, pem[name])
    module = os.path.join(VEC, "vector_keys.py")
    if os.path.exists(module):
        os.remove(module)
    for name in ("ec", "ed"):  # ec-other stays untrusted: the "wrong key"
        keys.add_trusted(module, pem[name], "%s test key (tests/vectors/keys/%s.pem)" % (
            KEYS[name], name))
    src = os.path.join(VEC, "payload.bin")
    with open(src, "wb") as f:
        f.write(payload())
    for name, (key, ver, comp, deps, extra, hdr, sc) in sorted(IMAGES.items()):
        out = os.path.join(VEC, name + ".bin")
        ok = key is not None and "--pure" not in extra
        slot = SLOT if "--pad" in extra else None
        sign.sign(pem[key] if key else None, src, out, ver, comp, deps, slot, hdr, sc, extra,
                  check=ok)
        print("wrote", out, os.path.getsize(out))
    with open(os.path.join(VEC, "p256.json"), "w") as f:
        json.dump(p256_vectors(), f, indent=0)
    print("wrote", os.path.join(VEC, "p256.json"))


if __name__ == "__main__":
    main(sys.argv[1:])

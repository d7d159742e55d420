# Host-only checks of fota.image / fota.crypto against independent implementations
# (`cryptography`, hashlib, imgtool) with fresh random inputs, and of the host tools
# `updraft keygen` / `updraft sign` / gen_tables.
import hashlib
import importlib.util
import json
import os
import random
import subprocess
import sys

from conftest import ROOT
from cryptography.hazmat.primitives import hashes, serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519 as ced, utils

from fota import const as C
from fota import image
from fota.crypto import keys, p256
from fota.crypto.sha512 import sha512
from updraft import cli, gen_tables, sign

VEC = os.path.join(ROOT, "tests", "vectors")
IMGTOOL = os.path.join(os.path.dirname(sys.executable), "imgtool")


# P-256's group order (SEC 2 2.4.2); fota.crypto.p256 keeps it private
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def test_p256_random_vectors_against_cryptography():
    rnd = random.Random(1)
    for i in range(30):
        k = ec.generate_private_key(ec.SECP256R1())
        pub = k.public_key().public_numbers()
        tab = p256.key_tables(pub.x, pub.y)
        d = rnd.randbytes(32) if i else b"\xff" * 32  # e >= n once
        der = k.sign(d, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        r, s = utils.decode_dss_signature(der)
        e = int.from_bytes(d, "big")
        assert p256.verify(tab, e, r, s)
        assert not p256.verify(tab, e, r, s ^ 2)
        assert not p256.verify(tab, e + 1, r, s)
        kk = keys.load_key(k.public_key().public_bytes(ser.Encoding.X962,
                                                       ser.PublicFormat.UncompressedPoint))
        assert kk.verify(d, der)


def test_p256_low_s_and_high_s_both_valid():
    # ECDSA has no low-s rule; MCUboot accepts both, so must we (cryptography emits both)
    k = ec.generate_private_key(ec.SECP256R1())
    pub = k.public_key().public_numbers()
    tab = p256.key_tables(pub.x, pub.y)
    d = hashlib.sha256(b"x").digest()
    r, s = utils.decode_dss_signature(k.sign(d, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
    assert p256.verify(tab, int.from_bytes(d, "big"), r, s)
    assert p256.verify(tab, int.from_bytes(d, "big"), r, P256_N - s)


def test_ed25519_random_vectors_against_cryptography():
    rnd = random.Random(2)
    for i in range(20):
        k = ced.Ed25519PrivateKey.generate()
        raw = k.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
        kk = keys.load_key(raw)
        msg = rnd.randbytes(32)
        sig = k.sign(msg)
        assert kk.verify(msg, sig)
        assert not kk.verify(msg[:-1] + bytes([msg[-1] ^ 1]), sig)
        assert not kk.verify(msg, sig[:-1] + bytes([sig[-1] ^ 1]))


def test_sha512_against_hashlib():
    rnd = random.Random(3)
    for n in list(range(0, 260, 7)) + [111, 112, 127, 128, 129, 1000]:
        m = rnd.randbytes(n)
        assert sha512(m).digest() == hashlib.sha512(m).digest(), n


def test_committed_p256_vectors_check_with_cryptography():
    with open(os.path.join(VEC, "p256.json")) as f:
        rows = json.load(f)
    for x, y, d, r, s in rows:
        pub = ec.EllipticCurvePublicNumbers(int(x, 16), int(y, 16), ec.SECP256R1()).public_key()
        pub.verify(utils.encode_dss_signature(int(r, 16), int(s, 16)), bytes.fromhex(d),
                   ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def test_committed_images_check_with_imgtool():
    for name, key in (("ec", "ec"), ("ed", "ed"), ("ec-deps", "ec"), ("ec-pubkey", "ec")):
        rc = subprocess.run([IMGTOOL, "verify", "-k", os.path.join(VEC, "keys", key + ".pem"),
                             os.path.join(VEC, name + ".bin")], capture_output=True)
        assert rc.returncode == 0, (name, rc.stdout, rc.stderr)


def test_generated_tables_are_reproducible():
    # regenerating the frozen constant modules must give the committed bytes
    for kind in ("p256", "ed25519"):
        with open(os.path.join(ROOT, "lib", "fota", "crypto", kind + "_table.py")) as f:
            assert f.read() == gen_tables.render(kind), kind
    assert gen_tables.main(["--check"]) == 0


def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _read(data):
    def read(off, mv):
        chunk = data[off : off + len(mv)]
        mv[: len(chunk)] = chunk
        mv[len(chunk) :] = b"\xff" * (len(mv) - len(chunk))

    return read


def test_keygen_sign_verify_roundtrip(tmp_path, capsys):
    module = str(tmp_path / "trusted.py")
    for t in ("ecdsa-p256", "ed25519"):
        key = str(tmp_path / (t + ".pem"))
        assert cli.main(["keygen", "--type", t, "-k", key, "--trusted", module]) == 0
    trusted = keys.from_module(_import(module, "trusted_rt"))
    assert [k.kind for k in trusted] == [C.TLV_ECDSA_SIG, C.TLV_ED25519]
    app = tmp_path / "app.bin"
    app.write_bytes(os.urandom(1536 * 1024))  # big enough for progress output
    for t in ("ecdsa-p256", "ed25519"):
        out = str(tmp_path / ("app-%s.img" % t))
        rc = cli.main(["sign", "--key", str(tmp_path / (t + ".pem")), "--version", "3.1.4+15",
                       "--component", "app", "--dependency", "(1,1.0.0)",
                       "--dependency", "(2,0.2.0)", "--slot-size", "0x1a0000", str(app), out])
        assert rc == 0
        err = capsys.readouterr().err
        assert "100%" in err and "verifying" in err
        data = open(out, "rb").read()
        info = image.verify(_read(data), trusted, 0x1a0000, "app", bytearray(4096))
        assert info.version == (3, 1, 4, 15)
        assert info.dependencies == [(1, (1, 0, 0, 0)), (2, (0, 2, 0, 0))]
        assert info.security_counter == (3 << 24) | (1 << 16) | 4
        # imgtool itself accepts what updraft sign made
        assert subprocess.run([IMGTOOL, "verify", "-k", str(tmp_path / (t + ".pem")), out],
                              capture_output=True).returncode == 0
    # too big for the slot: refused, nothing claimed
    rc = cli.main(["sign", "--key", str(tmp_path / "ed25519.pem"), "--version", "1.0.0",
                   "--component", "app", "--slot-size", "0x100000", str(app),
                   str(tmp_path / "big.img")])
    assert rc == 1


def test_keygen_refuses_to_overwrite_and_exports(tmp_path):
    key = str(tmp_path / "k.pem")
    assert cli.main(["keygen", "-k", key]) == 0
    before = open(key).read()
    try:
        cli.main(["keygen", "-k", key])
        raise AssertionError("overwrote a key")
    except SystemExit as e:
        assert e.code != 0
    assert open(key).read() == before
    mod = str(tmp_path / "other.py")
    assert cli.main(["keygen", "-k", key, "--export-only", "--trusted", mod]) == 0
    assert cli.main(["keygen", "-k", key, "--export-only", "--trusted", mod]) == 0  # no dup
    assert len(_import(mod, "other_rt").KEYS) == 1
    small = str(tmp_path / "small.py")
    assert cli.main(["keygen", "-k", key, "--export-only", "--no-tables", "--trusted", small]) == 0
    (a,), (b,) = keys.from_module(_import(mod, "o2")), keys.from_module(_import(small, "s2"))
    assert a.tables == b.tables and a.keyhash == b.keyhash  # computed at load instead
    assert os.path.getsize(small) < os.path.getsize(mod) / 3
    assert os.path.exists(str(tmp_path / "k_trusted.py"))


def test_sign_rejects_bad_arguments(tmp_path):
    app = tmp_path / "a.bin"
    app.write_bytes(b"x" * 100)
    key = os.path.join(VEC, "keys", "ec.pem")
    for bad in (["--version", "1.x"], ["--version", "1.0.0", "--component", "0xab"],
                ["--version", "1.0.0", "--dependency", "1,1.0.0"],
                ["--version", "1.0.0", "--component", "a" * 33]):
        assert cli.main(["sign", "--key", key] + bad + [str(app), str(tmp_path / "o")]) == 1

# fota.crypto on both runtimes: SHA-512 (FIPS 180-4 examples), Ed25519 (RFC 8032 section
# 7.1), P-256 ECDSA (vectors made by `cryptography`, tests/vectors/p256.json), strict DER,
# Euclid inverses, wNAF recoding, and the fixed-base tables against the device's own code.
import binascii
import json

from support import raises

from fota import crypto
from fota import const as C
from fota.crypto import der, ed25519, keys, p256
from fota.crypto import ed25519_table, p256_table
from fota.crypto.sha512 import sha512

h = binascii.unhexlify
VEC = __file__.rsplit("/", 2)[0] + "/vectors/"


# P-256's field prime and group order (SEC 2 2.4.2); fota.crypto.p256 keeps them private
P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def hx(b):
    return binascii.hexlify(b).decode()


def test_sha512_vectors():
    assert hx(sha512(b"").digest()) == (
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")
    assert hx(sha512(b"abc").digest()) == (
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
    m = (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
         b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
    want = ("8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
            "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909")
    assert hx(sha512(m).digest()) == want
    s = sha512()
    for i in range(0, len(m), 5):  # incremental, across the block boundary
        s.update(m[i : i + 5])
    assert hx(s.digest()) == want
    assert hx(sha512(b"abd").digest()) != hx(sha512(b"abc").digest())


# RFC 8032 section 7.1: TEST 1, 2, 3 and TEST SHA(abc) (public key, message, signature)
RFC8032 = (
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
     "1cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
     "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760"
     "984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c6"
     "6431e0303dca179c138ac17ad9bef1177331a704"),
)


def test_ed25519_rfc8032():
    for pk, msg, sig in RFC8032:
        k = keys.load_key(h(pk))
        assert k.kind == C.TLV_ED25519
        assert ed25519.verify(k.tables, k.raw, h(msg), h(sig))
        bad = bytearray(h(sig))
        bad[0] ^= 1  # R
        assert not ed25519.verify(k.tables, k.raw, h(msg), bytes(bad))
        bad = bytearray(h(sig))
        bad[40] ^= 1  # S
        assert not ed25519.verify(k.tables, k.raw, h(msg), bytes(bad))
        assert not ed25519.verify(k.tables, k.raw, h(msg) + b"\0", h(sig))
        assert not ed25519.verify(k.tables, k.raw, h(msg), h(sig)[:63])


def test_ed25519_rejects_noncanonical_s():
    pk, msg, sig = RFC8032[0]
    k = keys.load_key(h(pk))
    s = int.from_bytes(h(sig)[32:], "little") + ed25519.L  # same point, malleated
    assert not ed25519.verify(k.tables, k.raw, h(msg), h(sig)[:32] + s.to_bytes(32, "little"))


def test_ed25519_decode_rejects_non_points():
    raises(ValueError, ed25519.decode, b"\x02" + bytes(31))  # y = 2: x^2 has no root
    raises(ValueError, ed25519.decode, b"\xff" * 32)  # y >= p
    raises(ValueError, ed25519.decode, bytes(31))  # short
    raises(ValueError, keys.load_key, b"\x02" + bytes(31))


def _p256_vectors():
    with open(VEC + "p256.json") as f:
        return [[int(v, 16) for v in row] for row in json.load(f)]


def test_p256_vectors_from_cryptography():
    vs = _p256_vectors()
    assert len(vs) >= 8
    for x, y, e, r, s in vs:
        tab = p256.key_tables(x, y)
        assert p256.verify(tab, e, r, s)
        assert not p256.verify(tab, e ^ 1, r, s)
        assert not p256.verify(tab, e, r ^ 4, s)
        assert not p256.verify(tab, e, r, (s + 1) % P256_N)
        assert not p256.verify(tab, e, s, r)
    x, y, e, r, s = vs[0]
    tab = p256.key_tables(x, y)
    for rr, ss in ((0, s), (r, 0), (r + P256_N, s), (r, s + P256_N), (P256_N, s)):
        assert not p256.verify(tab, e, rr, ss)
    # a signature of one key does not verify under another
    x2, y2 = vs[1][0], vs[1][1]
    assert not p256.verify(p256.key_tables(x2, y2), e, r, s)


def test_p256_key_through_load_key_and_der():
    x, y, e, r, s = _p256_vectors()[2]
    x2, y2 = _p256_vectors()[3][:2]
    raw = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
    k = keys.load_key(raw)
    sig = _der(r, s)
    assert k.verify(e.to_bytes(32, "big"), sig)
    assert not k.verify(e.to_bytes(32, "big"), sig[:-1])  # malformed: False, no exception
    assert keys.load_key(b"\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00" + raw).keyhash == k.keyhash
    raises(ValueError, keys.load_key, raw, b"\0" * 32)  # key hash mismatch
    raises(ValueError, keys.load_key, raw[:-1] + bytes([raw[-1] ^ 1]))  # off the curve
    raises(ValueError, keys.load_key, raw, None, p256.key_tables(x2, y2))  # another key's



def _der_int(v):
    b = v.to_bytes(33, "big")
    i = 0
    while i < 32 and b[i] == 0 and b[i + 1] < 0x80:
        i += 1
    b = b[i:]
    return b"\x02" + bytes([len(b)]) + b


def _der(r, s):
    body = _der_int(r) + _der_int(s)
    return b"\x30" + bytes([len(body)]) + body


def test_der_strict():
    r = 0x80 << 248  # needs a leading zero byte
    s = 0x1234
    good = _der(r, s)
    assert der.ecdsa_sig(good) == (r, s)
    assert der.ecdsa_sig(good + b"\0\0") == (r, s)  # imgtool --pad-sig
    bad = (
        good + b"\x01",  # trailing garbage
        b"\x31" + good[1:],  # not a SEQUENCE
        good[:1] + bytes([good[1] + 1]) + good[2:],  # SEQUENCE length
        b"\x30\x08\x02\x02\x00\x12\x02\x02\x12\x34",  # non-minimal r
        b"\x30\x06\x02\x01\x80\x02\x01\x01",  # negative r
        b"\x30\x06\x02\x01\x00\x02\x01\x01",  # r = 0
        b"\x30\x06\x02\x01\x01\x03\x01\x01",  # s not an INTEGER
        b"\x30\x07\x02\x01\x01\x02\x01\x01\x00",  # zero inside the SEQUENCE
        _der(P256_N, 1),  # r >= n
        b"\x30\x81\x06\x02\x01\x01\x02\x01\x01",  # long-form length
        b"",
    )
    for b in bad:
        raises(ValueError, der.ecdsa_sig, b)


def test_inverse():
    for m in (P256_P, P256_N, ed25519.P):
        for a in (1, 2, 3, m - 1, 0x1234567890ABCDEF << 100):
            assert a * crypto.inv(a, m) % m == 1
    raises(ValueError, crypto.inv, 0, P256_N)
    raises(ValueError, crypto.inv, 6, 9)


def test_wnaf_digits_rebuild_the_scalar():
    out = bytearray(520)
    ks = (0, 1, (1 << 256) - 1, P256_N - 1, 0x5555 << 200, 0xF0F0F0F0F0F0F0F0F << 57,
          (1 << 64) - 1, 1 << 64)
    for k in ks:
        for w in (4, 5, 6, 7):
            for neg in (False, True):
                crypto.wnaf(k, out, 260, w, neg)
                total = 0
                for j in range(4):
                    last = -100
                    for i in range(65):
                        c = out[260 + j * 65 + i]
                        if c:
                            d = c if c < 128 else c - 256
                            assert d & 1 and -(1 << (w - 1)) < d < (1 << (w - 1))
                            assert i - last >= w  # non-adjacent form
                            last = i
                            total += d << (64 * j + i)
                assert total == (-k if neg else k), (k, w, neg)


def test_fixed_base_tables_match_device_arithmetic():
    # gen_tables.py (host, textbook affine maths) against the device's key_tables(): the
    # first 8 entries of each chunk must agree byte for byte
    t = p256_table.T
    assert len(t) == 4 and all(len(b) == (1 << (p256_table.WIDTH - 2)) * 64 for b in t)
    q = p256.key_tables(int.from_bytes(t[0][:32], "big"), int.from_bytes(t[0][32:64], "big"))
    for j in range(4):
        assert q[j] == t[j][: 8 * 64], j
    t = ed25519_table.T
    assert len(t) == 4 and all(len(b) == (1 << (ed25519_table.WIDTH - 2)) * 96 for b in t)
    yp0, ym0 = int.from_bytes(t[0][:32], "big"), int.from_bytes(t[0][32:64], "big")
    half = crypto.inv(2, ed25519.P)
    a = ed25519.key_tables((yp0 - ym0) * half % ed25519.P, (yp0 + ym0) * half % ed25519.P)
    for j in range(4):
        assert a[j] == t[j][: 8 * 96], j

# fota.image against imgtool-made images (tests/vectors, written by tests/make_vectors.py):
# acceptance of P-256 and Ed25519 images, and each way an image must be refused, with the
# Update Result it maps to. Runs on CPython (pytest) and MicroPython (tests/run_unix.py).
import struct
import sys

from support import raises

from fota import image
from fota import const as C
from fota.const import FotaError
from fota.image import ImageError, verify
from fota.image.stream import Verifier

VEC = __file__.rsplit("/", 2)[0] + "/vectors/"
if VEC not in sys.path:
    sys.path.append(VEC)
import vector_keys  # noqa: E402

_KEYS = []
SLOT = 0x4000


def keys():
    # the trusted test keys (P-256 first, Ed25519 second), loaded once per process
    if not _KEYS:
        _KEYS.extend(image.from_module(vector_keys))
    return _KEYS


def load(name):
    with open(VEC + name + ".bin", "rb") as f:
        return bytearray(f.read())


def reader(data):
    # read(offset, mv) over bytes, as a flash slot: 0xff after the end (erased flash)
    def read(off, mv):
        n = len(mv)
        chunk = data[off : off + n]
        mv[: len(chunk)] = chunk
        for i in range(len(chunk), n):
            mv[i] = 0xFF

    return read


def result(data, trusted=None, slot=SLOT, component="app", buf=None):
    # Update Result of verify() (1 = accepted), and the same through a streaming Verifier
    # fed in awkward chunk sizes: both paths must always agree.
    trusted = keys() if trusted is None else trusted
    try:
        verify(reader(data), trusted, slot, component, buf)
        r1 = 1
    except ImageError as e:
        r1 = e.result
    try:
        v = Verifier(trusted, slot, component)
        i = 0
        step = 1
        while i < len(data):
            v.feed(data[i : i + step])
            i += step
            step = step * 3 + 1
        v.finish()
        r2 = 1
    except ImageError as e:
        r2 = e.result
    assert r1 == r2, (r1, r2)
    return r1


def tlv_offsets(data):
    # (type, offset of value, length) of every unprotected TLV, for targeted tampering
    hdr, prot, img = struct.unpack_from("<HHI", data, 8)
    off = hdr + img + prot
    magic, n = struct.unpack_from("<HH", data, off)
    assert magic == 0x6907
    end = off + n
    off += 4
    out = []
    while off < end:
        t, ln = struct.unpack_from("<HH", data, off)
        out.append((t, off + 4, ln))
        off += 4 + ln
    return out


def flipped(data, off, bit=1):
    d = bytearray(data)
    d[off] ^= bit
    return d


def test_accepts_imgtool_p256_image():
    data = load("ec")
    info = verify(reader(data), keys(), SLOT, "app")
    assert info.version == (1, 2, 3, 4)
    assert info.component == "app"
    assert info.security_counter == 0x01020003  # imgtool -s auto: major<<24 | minor<<16 | rev
    assert info.hdr_size == 0x200 and info.img_size == 3000
    assert info.total_size == len(data)
    assert info.key is keys()[0] and info.key.kind == C.TLV_ECDSA_SIG
    (sha,) = [(o, n) for t, o, n in tlv_offsets(data) if t == C.TLV_SHA256]
    assert info.digest == bytes(data[sha[0] : sha[0] + 32])
    assert info.dependencies == []


def test_accepts_imgtool_ed25519_image():
    data = load("ed")
    info = verify(reader(data), keys(), SLOT, "app")
    assert info.version == (1, 2, 3, 0)
    assert info.key is keys()[1] and info.key.kind == C.TLV_ED25519
    assert info.dependencies == [(1, (2, 0, 0, 0))]
    assert info.security_counter is None


def test_streaming_verifier_matches_verify():
    for name in ("ec", "ed"):
        data = load(name)
        a = verify(reader(data), keys(), SLOT, "app")
        for step in (1, 7, 1000, len(data)):
            v = Verifier(keys(), SLOT, "app")
            for i in range(0, len(data), step):
                v.feed(memoryview(data)[i : i + step])
            b = v.finish()
            assert (b.version, b.digest, b.total_size, b.component) == (
                a.version, a.digest, a.total_size, a.component)


def test_other_imgtool_variants_accepted():
    # full public key instead of its hash, --pad-sig, a bare 32-byte header, and a padded
    # image whose MCUboot trailer follows the TLVs
    for name in ("ec-pubkey", "ec-padsig", "ec-hdr32", "ec-padded"):
        assert result(load(name)) == 1, name


def test_hash_buffer_sizes():
    data = load("ec")
    for n in (32, 100, 512, 4096):
        assert result(data, buf=bytearray(n)) == 1
    raises(ValueError, verify, reader(data), keys(), SLOT, "app", bytearray(31))


def test_bad_magic():
    data = flipped(load("ec"), 0)
    assert result(data) == 6
    assert raises(ImageError, image.parse_header, data[:32]).result == 6
    assert raises(ImageError, image.parse_header, b"\x3d\xb8\xf3").result == 6
    assert result(bytearray(b"\xff" * 600)) == 6  # erased slot


def test_header_tamper():
    data = load("ec")
    assert result(flipped(data, 20)) == 5  # version major
    assert result(flipped(data, 4)) == 5  # load address
    assert result(flipped(data, 28)) == 5  # pad1
    assert result(flipped(data, 0x100)) == 5  # header padding is hashed too


def test_body_tamper():
    data = load("ec")
    for off in (0x200, 0x200 + 1500, 0x200 + 2999):
        assert result(flipped(data, off, 0x80)) == 5
    data = load("ed")
    assert result(flipped(data, 0x200 + 77)) == 5


def test_tlv_tamper():
    for name in ("ec", "ed"):
        data = load(name)
        for t, off, n in tlv_offsets(data):
            # SHA256 value, key hash (-> unknown key), first and last signature byte
            for o in (off, off + n - 1):
                assert result(flipped(data, o)) == 5, (name, t, o)
        # the protected area (component TLV) is covered by the hash
        hdr, prot, img = struct.unpack_from("<HHI", data, 8)
        assert prot > 0
        assert result(flipped(data, hdr + img + prot - 1)) == 5


def test_truncation():
    data = load("ec")
    for n in (32, 0x200, 0x200 + 100, len(data) - 150, len(data) - 1):
        assert result(data[:n]) == 5, n
    for n in (0, 3, 4, 10, 31):
        # a cut header: the stream knows it was cut (5 once the magic came), a slot read
        # sees erased bytes after the cut, so it finds a broken or unsupported header
        v = Verifier(keys(), SLOT)
        v.feed(data[:n])
        assert raises(ImageError, v.finish).result == (6 if n < 4 else 5), n
        assert raises(ImageError, verify, reader(data[:n]), keys(), SLOT).result in (5, 6)
    assert result(data[:len(data) - 1]) == 5
    v = Verifier(keys(), SLOT)
    v.feed(data[:-1])
    assert raises(ImageError, v.finish).result == 5


def test_wrong_key():
    assert result(load("ec-other")) == 5  # signed with a key nobody trusts
    assert result(load("ec"), trusted=[keys()[1]]) == 5  # only the Ed25519 key trusted
    assert result(load("ed"), trusted=[keys()[0]]) == 5
    assert result(load("ec"), trusted=[]) == 5


def test_unsigned():
    assert result(load("unsigned")) == 5


def test_pure_ed25519_refused():
    assert result(load("ed-pure")) == 6


def test_larger_than_slot():
    data = load("ec")
    assert result(data, slot=len(data)) == 1
    assert result(data, slot=len(data) - 1) == 2  # TLVs do not fit
    assert result(data, slot=0x200 + 3000) == 2  # payload fits, TLV area does not
    e = raises(ImageError, image.parse_header, data[:32], 0x200)
    assert e.result == 2  # knowable from the first 32 bytes, before any erase
    v = Verifier(keys(), 1000)
    assert raises(ImageError, v.feed, data[:64]).result == 2


def test_header_sizes_lying():
    data = load("ec")
    for field, value in ((8, 16), (8, 0x100), (8, 0x201), (12, 2999), (12, 3001),
                         (10, 0), (10, 3), (10, 0x30)):
        d = bytearray(data)
        struct.pack_into("<H" if field != 12 else "<I", d, field, value)
        assert result(d) in (2, 5), (field, value)
        assert result(d, slot=1 << 20) == 5, (field, value)
    d = bytearray(data)
    struct.pack_into("<I", d, 12, 0xFFFFFF00)  # would run far past the slot
    assert result(d) == 2


def test_encrypted_or_compressed_refused():
    for flag in (0x4, 0x8, 0x400):
        d = bytearray(load("ec"))
        struct.pack_into("<I", d, 16, flag)
        assert result(d) == 6, flag


def test_wrong_component():
    data = load("ec")
    assert result(data, component="runtime") == 6
    assert result(data, component="ap") == 6
    assert result(data, component=None) == 1  # the caller did not ask
    assert result(load("ec-nocomp")) == 6  # no component TLV at all
    assert result(load("ec-nocomp"), component=None) == 1


def _with_unprotected_tlv(data, t, value):
    # append a TLV to the unprotected area (not covered by the hash or the signature)
    hdr, prot, img = struct.unpack_from("<HHI", data, 8)
    off = hdr + img + prot
    magic, n = struct.unpack_from("<HH", data, off)
    d = bytearray(data[: off + n])
    struct.pack_into("<H", d, off + 2, n + 4 + len(value))
    d += struct.pack("<HH", t, len(value)) + value
    return d


def test_unprotected_tlvs_cannot_add_meaning():
    data = load("ec-nocomp")
    assert result(_with_unprotected_tlv(data, C.TLV_COMPONENT, b"app")) == 5
    assert result(_with_unprotected_tlv(data, C.TLV_SEC_CNT, b"\x09\0\0\0"), component=None) == 5
    dep = struct.pack("<B3xBBHI", 1, 9, 0, 0, 0)
    assert result(_with_unprotected_tlv(data, C.TLV_DEPENDENCY, dep), component=None) == 5
    # an unknown vendor TLV in the unprotected area is ignored (MCUboot does the same)
    assert result(_with_unprotected_tlv(data, 0xBEEF, b"xyz"), component=None) == 1
    assert result(_with_unprotected_tlv(data, C.TLV_SIG_PURE, b"\x01"), component=None) == 6


def test_tlv_bounds():
    data = load("ec")
    t, off, n = tlv_offsets(data)[-1]
    d = bytearray(data)
    struct.pack_into("<H", d, off - 2, n + 1)  # last TLV claims one byte past the area
    assert result(d) == 5
    hdr, prot, img = struct.unpack_from("<HHI", data, 8)
    d = bytearray(data)
    struct.pack_into("<H", d, hdr + img + prot + 2, 0xFFFF)  # huge area (erased flash)
    assert result(d, slot=1 << 20) == 5
    d = bytearray(data)
    struct.pack_into("<H", d, hdr + img + prot, 0x6908)  # wrong area magic
    assert result(d) == 5


def test_second_signature_from_unknown_key_is_ignored():
    # A KEYHASH + signature pair for an unknown key before the real one: skipped.
    data = load("ec")
    tl = tlv_offsets(data)
    kh = [x for x in tl if x[0] == C.TLV_KEYHASH][0]
    sig = [x for x in tl if x[0] == C.TLV_ECDSA_SIG][0]
    start = kh[1] - 4
    pair = bytearray(data[start : sig[1] + sig[2]])
    pair[4] ^= 0xFF  # a different key hash
    hdr, prot, img = struct.unpack_from("<HHI", data, 8)
    off = hdr + img + prot
    n = struct.unpack_from("<H", data, off + 2)[0]
    d = bytearray(data[:start]) + pair + data[start:]
    struct.pack_into("<H", d, off + 2, n + len(pair))
    assert result(d) == 1
    d[start + 4 + 32 + 4 + 10] ^= 1  # damage the unknown key's signature: still ignored
    assert result(d) == 1


def test_errors_carry_results():
    e = ImageError(5, "x")
    assert isinstance(e, FotaError) and e.result == 5 and e.reason == "x"


def test_compare_versions():
    cv = image.compare_versions
    assert cv((1, 2, 3, 4), (1, 2, 3, 4)) == 0
    assert cv((1, 2, 3, 4), (1, 2, 3, 5)) == -1
    assert cv((1, 10, 0, 0), (1, 9, 99, 99)) == 1
    assert cv((2, 0, 0, 0), (1, 255, 65535, 1)) == 1
    assert cv((1, 2, 3), (1, 2, 3)) == 0
    # downgrade check as the boot side does it: the new version must not be older
    new = verify(reader(load("ec")), keys(), SLOT, "app").version
    assert cv(new, (1, 2, 3, 5)) < 0 and cv(new, (1, 2, 3, 4)) == 0 and cv(new, (1, 2, 2, 9)) > 0


def test_dependencies():
    info = verify(reader(load("ec-deps")), keys(), SLOT, "app")
    assert info.dependencies == [(1, (1, 0, 0, 0)), (2, (0, 5, 0, 3))]
    assert info.security_counter == 7
    ok = {1: (1, 0, 0, 0), 2: (0, 6, 0, 0)}
    assert image.check_dependencies(info, ok) == []
    assert image.check_dependencies(info, ok.get) == []
    assert image.check_dependencies(info, {1: (0, 9, 0, 0), 2: (0, 5, 0, 3)}) == [(1, (1, 0, 0, 0))]
    assert image.check_dependencies(info, {1: (1, 0, 0, 0)}) == [(2, (0, 5, 0, 3))]
    assert image.check_dependencies(info, {2: (0, 5, 0, 2), 1: (3, 0, 0, 0)}) == [(2, (0, 5, 0, 3))]
    assert raises(ImageError, image.require_dependencies, info, {}).result == 13
    image.require_dependencies(info, ok)

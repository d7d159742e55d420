# OMA TLV codec (lwm2m.formats.tlv): spec/lwm2m-fota.md 3.5 vectors, computed by hand.
from support import raises

from lwm2m.formats import FormatError, ObjLink
from lwm2m.formats import tlv

H = bytes.fromhex


def kinds(table):
    # resolver by resource id; ri (path[3]) is ignored as the API asks
    return lambda p: table.get(p[2])


# /5/0 from spec 3.5: Package URI, State, Update Result, Protocol Support {0:0,1:1}, Delivery 2
FW_KIND = kinds({1: "str", 3: "int", 5: "int", 8: "int", 9: "int"})
FW_RECS = [
    ((5, 0, 1), "coap://h/fw"),
    ((5, 0, 3), 1),
    ((5, 0, 5), 0),
    ((5, 0, 8, 0), 0),
    ((5, 0, 8, 1), 1),
    ((5, 0, 9), 2),
]
FW_TLV = H(
    "c8010b" + "636f61703a2f2f682f6677"  # res 1, 8-bit length 11, "coap://h/fw"
    "c10301"  # res 3 = 1 (length 1 in type byte)
    "c10500"  # res 5 = 0
    "8608" "410000" "410101"  # multiple res 8 (6 bytes): ri 0 = 0, ri 1 = 1
    "c10902"  # res 9 = 2
)

# The OMA TS 1.0 Device object example (Read /3/0), recomputed byte by byte:
DEV_KIND = kinds({0: "str", 1: "str", 2: "str", 3: "str", 6: "int", 7: "int", 8: "int",
                  9: "int", 10: "int", 11: "int", 13: "time", 14: "str", 16: "str"})
DEV_RECS = [
    ((3, 0, 0), "Open Mobile Alliance"),
    ((3, 0, 1), "Lightweight M2M Client"),
    ((3, 0, 2), "345000123"),
    ((3, 0, 3), "1.0"),
    ((3, 0, 6, 0), 1),
    ((3, 0, 6, 1), 5),
    ((3, 0, 7, 0), 3800),
    ((3, 0, 7, 1), 5000),
    ((3, 0, 8, 0), 125),
    ((3, 0, 8, 1), 900),
    ((3, 0, 9), 100),
    ((3, 0, 10), 15),
    ((3, 0, 11, 0), 0),
    ((3, 0, 13), 1367491215),
    ((3, 0, 14), "+02:00"),
    ((3, 0, 16), "U"),
]
DEV_TLV = H(
    "c80014" + "4f70656e204d6f62696c6520416c6c69616e6365"  # 20 chars > 7: 8-bit length
    "c80116" + "4c69676874776569676874204d324d20436c69656e74"  # 22 chars
    "c80209" + "333435303030313233"
    "c303" + "312e30"  # "1.0": length 3 fits the type byte
    "8606" "410001" "410105"  # multi 6, 6 bytes
    "880708" "42000ed8" "42011388"  # multi 7, 8 bytes -> 8-bit length field; 3800, 5000 2-byte
    "8708" "41007d" "42010384"  # 125 fits 1 byte signed, 900 needs 2
    "c10964" "c10a0f"
    "830b" "410000"
    "c40d" "5182428f"  # 1367491215 < 2^31: 4 bytes
    "c60e" + "2b30323a3030"
    "c11055"
)


def test_firmware_instance_vector():
    assert tlv.encode(FW_RECS, (5, 0), FW_KIND) == FW_TLV
    assert len(FW_TLV) == 31
    assert tlv.decode(FW_TLV, (5, 0), FW_KIND) == FW_RECS


def test_object_read_wraps_instances():
    wrapped = H("08001f") + FW_TLV  # type 00, id 0, 8-bit length 31
    assert tlv.encode(FW_RECS, (5,), FW_KIND) == wrapped
    assert tlv.decode(wrapped, (5,), FW_KIND) == FW_RECS


def test_device_object_example():
    assert tlv.encode(DEV_RECS, (3, 0), DEV_KIND) == DEV_TLV
    assert tlv.decode(DEV_TLV, (3, 0), DEV_KIND) == DEV_RECS
    # encoder output does not depend on record order (dicts are unordered on MicroPython)
    assert tlv.encode(list(reversed(DEV_RECS)), (3, 0), DEV_KIND) == DEV_TLV
    assert tlv.encode(dict(DEV_RECS).items(), (3, 0), DEV_KIND) == DEV_TLV


def test_spec_single_vectors():
    assert tlv.encode([((1, 0, 300), 1000)], (1, 0)) == H("e2012c03e8")
    assert tlv.encode([((5, 0, 12), 1700000000)], (5, 0, 12)) == H("c40c6553f100")
    lnk = [((33629, 0, 16), ObjLink(33629, 1))]
    assert tlv.encode(lnk, (33629, 0, 16)) == H("c410835d0001")
    assert tlv.decode(H("c410835d0001"), (33629, 0, 16), kinds({16: "objlnk"})) == lnk
    multi = [((33629, 0, 16, 0), ObjLink(33629, 1)), ((33629, 0, 16, 1), ObjLink(33629, 2))]
    enc = H("88100c" "4400835d0001" "4401835d0002")
    assert tlv.encode(multi, (33629, 0, 16)) == enc
    assert tlv.decode(enc, (33629, 0, 16), kinds({16: "objlnk"})) == multi


def test_anjay_length_forms():
    s7 = [((9, 0, 0), "1234567")]
    assert tlv.encode(s7, (9, 0, 0)) == H("c700") + b"1234567"
    s42k = [((9, 0, 42000), "1234567")]
    assert tlv.encode(s42k, (9, 0)) == H("e7a410") + b"1234567"  # 16-bit id 0xa410
    assert tlv.encode([((9, 0, 255), "12345678")], (9, 0)) == H("c8ff08") + b"12345678"
    big = bytes(1000)
    assert tlv.encode([((9, 0, 42), big)], (9, 0)) == H("d02a03e8") + big  # 16-bit length
    huge = b"\xa5" * 100000
    out = tlv.encode([((9, 0, 69), huge)], (9, 0))
    assert out[:5] == H("d8450186a0") and out[5:] == huge  # 24-bit length 0x0186a0
    assert tlv.decode(out, (9, 0)) == [((9, 0, 69), huge)]
    s300 = "x" * 300
    assert tlv.encode([((9, 0, 0), s300)], (9, 0))[:4] == H("d000012c")


def test_integer_widths():
    def enc(v, kind=None):
        return tlv.value_bytes(v, kind)

    assert enc(0) == H("00") and enc(127) == H("7f") and enc(-128) == H("80")
    assert enc(128) == H("0080") and enc(-129) == H("ff7f")
    assert enc(32767) == H("7fff") and enc(32768) == H("00008000")
    assert enc(2147483647) == H("7fffffff") and enc(2147483648) == H("0000000080000000")
    assert enc(-(1 << 63)) == H("8000000000000000")
    assert enc((1 << 64) - 1) == H("ffffffffffffffff")  # only valid as unsigned
    assert enc(255, "uint") == H("ff") and enc(65535, "uint") == H("ffff")
    raises(FormatError, enc, 1 << 64)
    raises(FormatError, enc, -(1 << 63) - 1)
    raises(FormatError, enc, -1, "uint")
    assert enc(True) == H("01") and enc(False) == H("00")
    assert enc(2, "float") == H("40000000")


def test_integer_decoding():
    k = kinds({0: "int", 1: "uint", 2: "time"})
    for raw, want in (("c10080", -128), ("c200ff7f", -129), ("c3000100ff", 65791),
                      ("c8000880" + "00" * 7, -(1 << 63))):
        assert tlv.decode(H(raw), (9, 0, 0), k) == [((9, 0, 0), want)]
    assert tlv.decode(H("c801" "08" + "ff" * 8), (9, 0, 1), k)[0][1] == (1 << 64) - 1
    assert tlv.decode(H("c102ff"), (9, 0, 2), k)[0][1] == -1
    raises(FormatError, tlv.decode, H("c000"), (9, 0, 0), k)  # empty integer
    raises(FormatError, tlv.decode, H("c80009" + "00" * 9), (9, 0, 0), k)  # 9 bytes


def test_floats_and_other_types():
    k = kinds({0: "float", 1: "bool", 2: "opaque", 3: "none", 4: "str"})
    assert tlv.value_bytes(1.5) == H("3fc00000")
    assert tlv.value_bytes(0.1) == H("3fb999999999999a")
    assert tlv.value_bytes(float("inf")) == H("7f800000")
    assert tlv.decode(H("c4003fc00000"), (9, 0, 0), k) == [((9, 0, 0), 1.5)]
    assert tlv.decode(H("c800083fb999999999999a"), (9, 0, 0), k) == [((9, 0, 0), 0.1)]
    raises(FormatError, tlv.decode, H("c2003fc0"), (9, 0, 0), k)
    assert tlv.decode(H("c10101"), (9, 0, 1), k) == [((9, 0, 1), True)]
    raises(FormatError, tlv.decode, H("c10102"), (9, 0, 1), k)
    raises(FormatError, tlv.decode, H("c2010001"), (9, 0, 1), k)
    assert tlv.decode(H("c002"), (9, 0, 2), k) == [((9, 0, 2), b"")]
    assert tlv.decode(H("c003"), (9, 0, 3), k) == [((9, 0, 3), None)]
    raises(FormatError, tlv.decode, H("c10300"), (9, 0, 3), k)
    raises(FormatError, tlv.decode, H("c104ff"), (9, 0, 4), k)  # invalid UTF-8
    raises(FormatError, tlv.encode, [((9, 0, 3), None)], (9, 0))
    # no resolver (or an unknown resource): raw bytes, the caller decides
    assert tlv.decode(H("c10705"), (9, 0)) == [((9, 0, 7), b"\x05")]


def test_non_minimal_lengths_and_wrappers_accepted():
    k = kinds({1: "int"})
    want = [((9, 0, 1), 5)]
    for raw in ("c10105", "c8010105", "d001000105", "d80100000105"):
        assert tlv.decode(H(raw), (9, 0), k) == want
    assert tlv.decode(H("e1000105"), (9, 0), k) == want  # 16-bit id form for id 1
    # redundant instance wrapper around a /o/i write (spec 3.5)
    assert tlv.decode(H("0300c10105"), (9, 0), k) == want
    # resource instances at top level of a /o/i/r write, and a single one at /o/i/r/ri
    k7 = kinds({7: "int"})
    assert tlv.decode(H("41000a41010b"), (9, 0, 7), k7) == [((9, 0, 7, 0), 10),
                                                            ((9, 0, 7, 1), 11)]
    assert tlv.decode(H("41010b"), (9, 0, 7, 1), k7) == [((9, 0, 7, 1), 11)]
    assert tlv.encode([((9, 0, 7, 1), 11)], (9, 0, 7, 1)) == H("41010b")


def test_create_without_instance_id():
    k = kinds({1: "int"})
    assert tlv.decode(H("c10105"), (9,), k) == [((9, tlv.NEW_INST, 1), 5)]
    assert tlv.decode(H("0302c10105"), (9,), k) == [((9, 2, 1), 5)]
    raises(FormatError, tlv.decode, H("0302c10105c10105"), (9,), k)  # mixed forms


def test_empty_multiple_resource():
    assert tlv.encode([((3, 0, 7), ())], (3, 0)) == H("8007")
    assert tlv.decode(H("8007"), (3, 0)) == [((3, 0, 7), ())]
    assert tlv.decode(H("8007"), (3, 0, 7)) == [((3, 0, 7), ())]


def test_malformed_payloads_raise_format_error():
    k = kinds({0: "int", 1: "int", 7: "int"})
    bad = (
        ("c1", (9, 0)),  # truncated header
        ("e100", (9, 0)),  # truncated 16-bit id
        ("c80105", (9, 0)),  # length field says 5, nothing follows
        ("d001", (9, 0)),  # truncated 16-bit length
        ("c10205", (9, 0, 1)),  # id 2 on a /9/0/1 request
        ("0301c10105", (9, 0)),  # wrapper id 1 on a /9/0 request
        ("c10105c10106", (9, 0)),  # duplicate resource
        ("c10105" "8401410005", (9, 0)),  # single and multiple resource 1
        ("8603c1000500", (9, 0)),  # single resource inside a multiple resource
        ("0300410005", (9,)),  # resource instance directly in an instance
        ("410005", (9, 0)),  # resource instance at the top of a /o/i write
        ("c10105", ()),  # TLV needs an object
        ("c10105", (9, 0, 1, 0)),  # single resource for a resource-instance request
        ("8602410105", (9, 0)),  # child runs past its container
    )
    for raw, base in bad:
        raises(FormatError, tlv.decode, H(raw), base, k)


def test_encoder_refuses_bad_records():
    raises(FormatError, tlv.encode, [((3, 1, 0), 1)], (3, 0))  # outside base
    raises(FormatError, tlv.encode, [((3, 0), 1)], (3,))  # not a resource
    raises(FormatError, tlv.encode, [((3, 0, 1), 1), ((3, 0, 1, 0), 2)], (3, 0))
    raises(FormatError, tlv.encode, [((3, 0, 1), 1), ((3, 0, 1), 2)], (3, 0))
    raises(FormatError, tlv.encode, [((3, 0, 70000), 1)], (3, 0))
    raises(FormatError, tlv.encode, [((3, 0, 1), [1])], (3, 0))
    raises(FormatError, tlv.encode, [((3, 0, 1), 1)], ())


def test_streaming_sink_keeps_large_values_uncopied():
    big = bytearray(5000)
    pieces = []
    tlv.write([((5, 0, 0), big), ((5, 0, 3), 1)], pieces.append, (5,))
    assert any(p is big for p in pieces)
    assert b"".join(pieces)[:6] == H("1000138f" "d000")  # 00 wrapper with 16-bit length 5007

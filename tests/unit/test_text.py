# text/plain (CF 0), opaque (CF 42), application/cbor (CF 60), the codec table and paths.
from support import raises

from lwm2m.formats import FormatError, ObjLink, codec, parse_path, path_str, parse_objlnk
from coap import const as C
from lwm2m.formats import text, opaque, cbor60


def test_codec_table_lazy_import():
    assert codec(C.CF_TEXT) is text
    assert codec(C.CF_LWM2M_TLV) is codec(C.CF_LEGACY_TLV)
    assert codec(C.CF_LWM2M_TLV).__name__.endswith("tlv")
    assert codec(C.CF_SENML_CBOR).SINGLE is False
    assert codec(C.CF_OPAQUE).SINGLE and codec(C.CF_CBOR).SINGLE
    # no codec: the caller answers 4.15 / 4.06 (1541 is the legacy text some servers send)
    for cf in (C.CF_LWM2M_JSON, C.CF_LWM2M_CBOR, C.CF_LEGACY_JSON, 1541, 9999):
        assert codec(cf) is None


def test_paths():
    assert parse_path("/3/0/1") == (3, 0, 1) and parse_path("/") == () and parse_path("") == ()
    assert path_str((3, 0, 1)) == "/3/0/1" and path_str(()) == "/"
    assert parse_path("/65535") == (65535,)
    for bad in ("3/0", "/3/", "/a", "/-1", "/ 3", "/1_0", "/65536", "/1/2/3/4/5", "/+3"):
        raises(FormatError, parse_path, bad)
    assert parse_objlnk("33629:1") == ObjLink(33629, 1)
    for bad in ("1", "1:", ":1", "1:70000", "a:b", "1:2:3"):
        raises(FormatError, parse_objlnk, bad)
    assert ObjLink(1, 2) != ObjLink(1, 3) and hash(ObjLink(1, 2)) == hash(ObjLink(1, 2))


def test_text_encode_values():
    e = text.encode_value
    assert e(True) == b"1" and e(False) == b"0"
    assert e(-42) == b"-42" and e(1 << 63) == b"9223372036854775808"
    assert e(1.5) == b"1.5" and e(0.1) == b"0.1" and e(3, "float") == b"3.0"
    assert e("Grüße") == "Grüße".encode()
    assert e(ObjLink(3, 0)) == b"3:0"
    assert e(b"\x00\xff\xfe") == b"AP/+"  # standard base64 (Anjay)
    assert e(None) == b""
    raises(FormatError, e, float("nan"))
    raises(FormatError, e, [1])
    rec = [((3, 0, 9), 100)]
    assert text.encode(rec, (3, 0, 9)) == b"100"
    raises(FormatError, text.encode, rec, (3, 0))  # an instance is not one value
    raises(FormatError, text.encode, [((3, 0, 7, 0), 1), ((3, 0, 7, 1), 2)], (3, 0, 7))


def test_text_decode_by_kind():
    d = text.decode_value
    assert d(b"-42", "int") == -42 and d(b"+7", "int") == 7 and d(b"18446744073709551615", "uint") == (1 << 64) - 1
    assert d(b"1700000000", "time") == 1700000000
    assert d(b"1.5", "float") == 1.5 and d(b"-2", "float") == -2.0 and d(b"1e3", "float") == 1000.0
    assert d(b".5", "float") == 0.5 and d(b"5.", "float") == 5.0
    assert d(b"1", "bool") is True and d(b"0", "bool") is False
    assert d(b"AP/+", "opaque") == b"\x00\xff\xfe" and d(b"AP_-", "opaque") == b"\x00\xff\xfe"
    assert d(b"QQ==", "opaque") == b"A" and d(b"QQ", "opaque") == b"A"
    assert d(b"33629:1", "objlnk") == ObjLink(33629, 1)
    assert d("é".encode(), "str") == "é" and d(b"x", None) == "x"
    assert d("\u6c34\U00010151\U0010ffff\ud7ff".encode(), "str") == "\u6c34\U00010151\U0010ffff\ud7ff"
    assert d(b"", "none") is None
    assert text.decode(b"5", (3, 0, 9), lambda p: "int") == [((3, 0, 9), 5)]


def test_text_malformed():
    d = text.decode_value
    bad = (
        (b"", "int"), (b" 1", "int"), (b"1_0", "int"), (b"0x10", "int"), (b"1.0", "int"),
        (b"9223372036854775808", "int"), (b"-1", "uint"), (b"1" * 30, "int"),
        (b"inf", "float"), (b"nan", "float"), (b"1e", "float"), (b".", "float"),
        (b"1e999", "float"), (b"1_0.5", "float"), (b"", "float"),
        (b"2", "bool"), (b"true", "bool"), (b"", "bool"),
        (b"QQ=", "opaque"), (b"Q", "opaque"), (b"!!!!", "opaque"), (b"QQ===", "opaque"),
        (b"3", "objlnk"), (b"\xff", "str"), (b"\xed\xa0\x80", "str"), (b"\xc0\x80", "str"),
        (b"\xe0\x80\x80", "str"), (b"\xf4\x90\x80\x80", "str"), (b"a\xc3", "str"), (b"x", "none"), (b"1", "nonsense"),
    )
    for raw, k in bad:
        raises(FormatError, d, raw, k)
    raises(FormatError, text.decode, b"1", (3, 0), None)


def test_opaque():
    assert opaque.encode([((5, 0, 0), b"\x01\x02")], (5, 0, 0)) == b"\x01\x02"
    assert opaque.decode(memoryview(b"ab"), (5, 0, 0)) == [((5, 0, 0), b"ab")]
    raises(FormatError, opaque.decode, b"ab", (5, 0, 0), lambda p: "int")
    raises(FormatError, opaque.decode, b"ab", (5, 0))
    raises(FormatError, opaque.encode, [((5, 0, 0), 1)], (5, 0, 0))


def test_cbor_single_value():
    h = bytes.fromhex
    assert cbor60.encode([((3, 0, 9), 100)], (3, 0, 9)) == h("1864")
    assert cbor60.encode([((3, 0, 9), 2)], (3, 0, 9), lambda p: "float") == h("fa40000000")
    assert cbor60.encode([((3, 0, 0), "a")], (3, 0, 0)) == h("6161")
    assert cbor60.encode([((1, 0, 5), ObjLink(1, 2))], (1, 0, 5)) == b"\x631:2"
    assert cbor60.decode(h("1864"), (3, 0, 9), lambda p: "int") == [((3, 0, 9), 100)]
    assert cbor60.decode(h("c11a6553f100"), (3, 0, 13), lambda p: "time")[0][1] == 1700000000
    assert cbor60.decode(h("f5"), (1, 0, 6), lambda p: "bool") == [((1, 0, 6), True)]
    assert cbor60.decode(h("0a"), (9, 0, 1), lambda p: "float") == [((9, 0, 1), 10.0)]
    raises(FormatError, cbor60.decode, h("6161"), (3, 0, 9), lambda p: "int")
    raises(FormatError, cbor60.decode, h("f5"), (3, 0, 9), lambda p: "int")
    raises(FormatError, cbor60.decode, h("1864"), (3, 0))
    raises(FormatError, cbor60.decode, h("186400"), (3, 0, 9), None)

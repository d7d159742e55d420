# Minimal CBOR (lwm2m.formats.cbor): RFC 8949 Appendix A examples, malformed items.
from support import raises

from lwm2m.formats import FormatError
from lwm2m.formats import cbor

H = bytes.fromhex

# (value, encoding) pairs from RFC 8949 Appendix A that our encoder reproduces exactly
BOTH = (
    (0, "00"), (1, "01"), (10, "0a"), (23, "17"), (24, "1818"), (25, "1819"), (100, "1864"),
    (1000, "1903e8"), (1000000, "1a000f4240"), (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"), (-18446744073709551616, "3bffffffffffffffff"),
    (-1, "20"), (-10, "29"), (-100, "3863"), (-1000, "3903e7"),
    (1.1, "fb3ff199999999999a"), (100000.0, "fa47c35000"), (3.4028234663852886e38, "fa7f7fffff"),
    (1.0e300, "fb7e37e43c8800759c"), (-4.1, "fbc010666666666666"),
    (False, "f4"), (True, "f5"), (None, "f6"), (cbor.UNDEFINED, "f7"),
    (b"", "40"), (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"), ("a", "6161"), ("IETF", "6449455446"), ('"\\', "62225c"), ("\u00fc", "62c3bc"),
    ("\u6c34", "63e6b0b4"), ([], "80"), ([1, 2, 3], "83010203"),
    ([1, [2, 3], [4, 5]], "8301820203820405"), (list(range(1, 26)),
     "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
    ({}, "a0"), ({1: 2, 3: 4}, "a201020304"), ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (["a", {"b": "c"}], "826161a161626163"),
)

# decode-only: half floats, tags, indefinite lengths, 4-byte UTF-8
DECODE = (
    ("f90000", 0.0), ("f93c00", 1.0), ("f93e00", 1.5), ("f97bff", 65504.0),
    ("f90001", 5.960464477539063e-8), ("f90400", 0.00006103515625), ("f9c400", -4.0),
    ("f97c00", float("inf")), ("f9fc00", float("-inf")), ("fa3fc00000", 1.5),
    ("c074323031332d30332d32315432303a30343a30305a", "2013-03-21T20:04:00Z"),
    ("c11a514b67b0", 1363896240), ("64f0908591", "\U00010151"),
    ("5f42010243030405ff", b"\x01\x02\x03\x04\x05"), ("7f657374726561646d696e67ff", "streaming"),
    ("9fff", []), ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]),
    ("bf61610161629f0203ffff", {"a": 1, "b": [2, 3]}), ("826161bf61626163ff", ["a", {"b": "c"}]),
    ("bf6346756ef563416d7421ff", {"Fun": True, "Amt": -2}),
)

MALFORMED = (
    "", "18", "19ff", "1c", "1f", "3f", "5f01ff", "5f4101", "5f", "61", "62c3", "61ff",
    "9affffffff", "9f", "a1", "a101", "a20102", "a2010201ff", "a2010201 03", "a18001", "a14001", "a1f501", "a1f901",
    "ff", "0000", "c0", "df", "f0", "f8ff", "fc", "fb0000", "f9", "7f6161", "7f4161ff",
    "81" * 20 + "00",
)


def test_rfc8949_examples_encode_and_decode():
    for value, hx in BOTH:
        assert cbor.dumps(value) == H(hx), hx
        back = cbor.loads(H(hx))
        assert back == value or back is value, hx


def test_decode_only_examples():
    for hx, value in DECODE:
        assert cbor.loads(H(hx)) == value, hx
    nan = cbor.loads(H("f97e00"))
    assert nan != nan
    assert cbor.loads(memoryview(H("8301020304"))[:4]) == [1, 2, 3]


def test_encoder_details():
    assert cbor.dumps(1.5) == H("fa3fc00000")  # single when exact (half is never written)
    assert cbor.dumps(float("inf")) == H("fa7f800000")
    assert cbor.dumps((1, 2)) == H("820102")
    assert cbor.dumps(bytearray(b"ab")) == H("426162")
    # map keys ordered by their encoded bytes, whatever the dict order (RFC 8949 4.2.1)
    assert cbor.dumps({"vlo": 1, 0: 2, -2: 3}) == H("a3" "0002" "2103" "63766c6f01")
    raises(FormatError, cbor.dumps, 1 << 64)
    raises(FormatError, cbor.dumps, -(1 << 64) - 1)
    raises(FormatError, cbor.dumps, object())
    pieces = []
    cbor.write([b"xyz"], pieces.append)
    assert b"".join(pieces) == H("8143") + b"xyz"


def test_malformed_items_raise_format_error():
    for hx in MALFORMED:
        raises(FormatError, cbor.loads, H(hx.replace(" ", "")))

# SenML JSON (CF 110) and SenML CBOR (CF 112): RFC 8428 + LwM2M 1.1 rules, hand vectors.
from support import raises

from lwm2m.formats import FormatError, ObjLink
from lwm2m.formats import senml_json, senml_cbor

H = bytes.fromhex
KINDS = {0: "str", 1: "str", 5: "objlnk", 6: "int", 7: "int", 9: "int", 13: "time",
         20: "float", 21: "bool", 22: "opaque", 23: "uint"}


def kind(p):
    return KINDS.get(p[2])


def test_json_device_read():
    # LwM2M TS 1.1 7.4.4 style: bn on the first record, names relative to it
    recs = [((3, 0, 9), 100), ((3, 0, 0), "Open Mobile Alliance"), ((3, 0, 6, 1), 5),
            ((3, 0, 6, 0), 1)]
    want = (b'[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"6/0","v":1},'
            b'{"n":"6/1","v":5},{"n":"9","v":100}]')
    assert senml_json.encode(recs, (3, 0), kind) == want
    assert senml_json.decode(want, (3, 0), kind) == sorted(recs)


def test_json_base_name_choice():
    assert senml_json.encode([((3, 0, 0), "x")], (3, 0, 0)) == b'[{"bn":"/3/0/","n":"0","vs":"x"}]'
    assert senml_json.encode([((3, 0, 7, 0), 1), ((3, 0, 7, 1), 2)], (3, 0, 7)) == (
        b'[{"bn":"/3/0/7/","n":"0","v":1},{"n":"1","v":2}]')
    assert senml_json.encode([((3, 0, 0), "x"), ((1, 0, 1), 60)], ()) == (
        b'[{"n":"/1/0/1","v":60},{"n":"/3/0/0","vs":"x"}]')
    # Read-Composite request body: names only
    assert senml_json.encode([((3, 0), None), ((1,), None)]) == b'[{"n":"/1"},{"n":"/3/0"}]'
    assert senml_json.decode(b'[{"n":"/1"},{"n":"/3/0"}]') == [((1,), None), ((3, 0), None)]
    # an empty multiple resource has no SenML form and is left out
    assert senml_json.encode([((3, 0, 7), ()), ((3, 0, 9), 1)], (3, 0)) == b'[{"bn":"/3/0/","n":"9","v":1}]'


def test_json_value_types():
    recs = [((9, 0, 5), ObjLink(3, 0)), ((9, 0, 20), 1.5), ((9, 0, 21), True),
            ((9, 0, 22), b"\x00\xff\xfe"), ((9, 0, 1), 'q"\n\u00e9'), ((9, 0, 13), -5)]
    out = senml_json.encode(recs, (9, 0), kind)
    assert b'"vlo":"3:0"' in out and b'"v":1.5' in out and b'"vb":true' in out
    assert b'"vd":"AP_-"' in out  # base64url without padding (RFC 8428 4.3)
    assert senml_json.decode(out, (9, 0), kind) == sorted(recs)
    assert senml_json.encode([((9, 0, 20), 2)], (9, 0), kind) == b'[{"bn":"/9/0/","n":"20","v":2.0}]'
    raises(FormatError, senml_json.encode, [((9, 0, 20), float("inf"))], (9, 0))


def test_json_decode_rules():
    d = senml_json.decode
    # bn persists until replaced; bv is added to v (RFC 8428 4.5.1)
    pack = (b'[{"bn":"/3/0/","n":"1","vs":"a"},{"n":"2","vs":"b"},'
            b'{"bn":"/9/0/","bv":10,"n":"9","v":5}]')
    assert d(pack, (), kind) == [((3, 0, 1), "a"), ((3, 0, 2), "b"), ((9, 0, 9), 15)]
    # coercion by resource type: JSON 1 for a float, 7.0 for an integer
    assert d(b'[{"n":"/9/0/20","v":1}]', (9, 0), kind) == [((9, 0, 20), 1.0)]
    assert d(b'[{"n":"/9/0/9","v":7.0}]', (9, 0), kind) == [((9, 0, 9), 7)]
    assert d(b'[{"n":"/9/0/22","vd":"AP/+"}]', (), kind)[0][1] == b"\x00\xff\xfe"
    assert d(b'[{"n":"/9/0/5","vlo":"33629:1"}]', (), kind)[0][1] == ObjLink(33629, 1)
    # without a resolver values keep their natural type; unknown fields are ignored
    assert d(b'[{"n":"/9/0/99","v":7,"t":0,"u":"m","xyz":1}]') == [((9, 0, 99), 7)]
    # escaped surrogate pairs are joined on both runtimes; lone surrogates are refused
    assert d(b'[{"n":"/9/0/1","vs":"a\\ud800\\udd51"}]')[0][1] == "a\U00010151"
    raises(FormatError, d, b'[{"n":"/9/0/1","vs":"\\ud800"}]')
    raises(FormatError, d, b'[{"n":"/9/0/1","vs":"\\udd51x"}]')
    # a record may carry the whole name in bn
    assert d(b'[{"bn":"/9/0/9","v":7}]', (9, 0, 9), kind) == [((9, 0, 9), 7)]


def test_json_malformed():
    bad = (
        b"", b"{", b"{}", b"[1]", b'[{"n":1,"v":1}]', b'[{"n":"/9/0/9","v":"1"}]',
        b'[{"n":"9","v":1}]', b'[{"v":1}]', b'[{"n":"/9/0/9/1/2","v":1}]',
        b'[{"n":"/9/0/9","v":1,"vs":"x"}]', b'[{"n":"/9/0/9","v":1,"foo_":1}]',
        b'[{"n":"/9/0/9","v":1},{"n":"/9/0/9","v":2}]', b'[{"n":"/9/1/9","v":1}]',
        b'[{"n":"/9/0/9","v":1.5}]', b'[{"n":"/9/0/9","v":true}]', b'[{"n":"/9/0/9","vs":"1"}]',
        b'[{"n":"/9/0/21","v":1}]', b'[{"n":"/9/0/22","vd":"!!!"}]', b'[{"n":"/9/0/5","vlo":"1"}]',
        b'[{"n":"/9/0/20","v":NaN}]', b'[{"n":"/9/0/9","v":1e999}]', b'[{"n":"/9/0/23","v":-1}]',
        b'[{"n":"/9/0/9","v":9223372036854775808}]', b'[{"bn":5,"n":"/9/0/9","v":1}]',
        b'[{"n":"/9/0/9","v":1,"bt":"x"}]', b'[{1:2}]', b"[\xff]", b"[" * 5000 + b"]" * 5000,
    )
    for raw in bad:
        raises(FormatError, senml_json.decode, raw, (9, 0), kind)


# [{-2:"/3/0/", 0:"0", 3:"a"}, {0:"9", 2:100}], written out:
CBOR_PACK = H("82" "a3" "21" "652f332f302f" "00" "6130" "03" "6161" "a2" "00" "6139" "02" "1864")


def test_cbor_vector():
    recs = [((3, 0, 9), 100), ((3, 0, 0), "a")]
    assert senml_cbor.encode(recs, (3, 0), kind) == CBOR_PACK
    assert senml_cbor.decode(CBOR_PACK, (3, 0), kind) == sorted(recs)


def test_cbor_value_types():
    recs = [((9, 0, 5), ObjLink(3, 0)), ((9, 0, 20), 0.1), ((9, 0, 21), False),
            ((9, 0, 22), b"\x00\xff"), ((9, 0, 1), "\u00e9"), ((9, 0, 23), (1 << 64) - 1)]
    out = senml_cbor.encode(recs, (9, 0), kind)
    assert H("0842" "00ff") in out  # vd (label 8) is a byte string, not base64
    assert H("63766c6f" "63333a30") in out  # "vlo": "3:0" with a text label
    assert senml_cbor.decode(out, (9, 0), kind) == sorted(recs)
    # CBOR can carry inf, and half floats from other encoders are read
    inf = senml_cbor.encode([((9, 0, 20), float("inf"))], (9, 0, 20))
    assert senml_cbor.decode(inf, (), kind)[0][1] == float("inf")
    assert senml_cbor.decode(H("81a2" "00" "67" + b"/9/0/20".hex() + "02f93e00"), (), kind) == [
        ((9, 0, 20), 1.5)]


def test_cbor_malformed():
    bad = (
        "", "a0", "8101", "81a10001", "81a1006139",  # no map / name not str / name "9" relative
        "81a2006139" + "0263",  # truncated
        "81a300" "67" + b"/9/0/20".hex() + "02" "01" "6176" "02",  # 2 and "v" both given
        "81a200" "66" + b"/9/0/9".hex() + "04f5",  # vb for an integer
        "81a200" "67" + b"/9/0/22".hex() + "0861" "41",  # vd as text in CBOR
        "81a200" "66" + b"/9/0/9".hex() + "6466" "6f6f5f" "01",  # must-understand "foo_"
    )
    for hx in bad:
        raises(FormatError, senml_cbor.decode, H(hx), (), kind)

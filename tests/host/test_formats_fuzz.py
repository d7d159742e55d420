# Property tests for lwm2m.formats: arbitrary input never raises anything but FormatError, and
# encode -> decode gives back the records for generated record lists.
import json
import math
import struct

import cbor2
from hypothesis import HealthCheck, given, settings, strategies as st

from lwm2m.formats import FormatError, ObjLink, cbor, cbor60, link, opaque, text
from lwm2m.formats import senml_cbor, senml_json, tlv

SET = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KINDS = ("int", "uint", "float", "bool", "str", "opaque", "time", "objlnk", "corelnk", "none", None)
ids = st.integers(0, 65535)
bases = st.lists(ids, max_size=4).map(tuple)


def resolver(seed):
    # a deterministic but arbitrary type per resource path
    return lambda p: KINDS[(hash(p[:3]) ^ seed) % len(KINDS)]


def only_format_error(fn, *args):
    try:
        fn(*args)
    except FormatError:
        pass


@SET
@given(st.binary(max_size=300), bases, st.integers(0, 1000))
def test_random_bytes_only_raise_format_error(data, base, seed):
    k = resolver(seed)
    for mod in (tlv, text, opaque, cbor60, senml_json, senml_cbor):
        only_format_error(mod.decode, data, base, k)
        only_format_error(mod.decode, memoryview(data), base, None)
    only_format_error(cbor.loads, data)
    only_format_error(link.decode, data)
    for kd in KINDS:
        only_format_error(text.decode_value, data, kd)


# TLV-shaped noise: valid-looking headers with random ids and lengths reach deeper code
tlv_entry = st.builds(
    lambda t, idw, lf, ident, body: bytes([(t << 6) | (idw << 5) | (lf << 3) | min(len(body), 7)])
    + ident.to_bytes(2 if idw else 1, "big")
    + (len(body).to_bytes(lf, "big") if lf else b"")
    + body,
    st.integers(0, 3), st.integers(0, 1), st.integers(0, 3), st.integers(0, 255),
    st.binary(max_size=12),
)


@SET
@given(st.lists(tlv_entry, max_size=6).map(b"".join), bases, st.integers(0, 1000))
def test_tlv_shaped_noise(data, base, seed):
    only_format_error(tlv.decode, data, base, resolver(seed))


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70),
                      st.floats(allow_nan=False, allow_infinity=False),
                      st.sampled_from(["/3/0/1", "/3/0/", "1", "", "3:0", "AP_-", "/3/0/1/2/3"]),
                      st.text(max_size=8))
senml_keys = st.sampled_from(["bn", "n", "v", "vs", "vb", "vd", "vlo", "bv", "bt", "t", "x_", "u"])
senml_like = st.lists(st.dictionaries(senml_keys, json_leaf, max_size=4), max_size=5)
any_json = st.recursive(json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3), max_leaves=10)


@SET
@given(st.one_of(senml_like, any_json), bases, st.integers(0, 1000))
def test_senml_shaped_noise(pack, base, seed):
    k = resolver(seed)
    only_format_error(senml_json.decode, json.dumps(pack).encode(), base, k)
    label = {"bn": -2, "n": 0, "v": 2, "vs": 3, "vb": 4, "vd": 8, "bv": -5, "bt": -3, "t": 6}
    if isinstance(pack, list) and all(isinstance(r, dict) for r in pack):
        pack = [{label.get(a, a): b for a, b in r.items()} for r in pack]
    only_format_error(senml_cbor.decode, cbor2.dumps(pack), base, k)


any_value = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(),
    st.text(st.characters(), max_size=6), st.binary(max_size=6), st.builds(ObjLink, ids, ids),
    st.just(()), st.just([1]), st.just({}),
)
any_path = st.lists(st.integers(-1, 70000), max_size=5).map(tuple)


@SET
@given(st.lists(st.tuples(any_path, any_value), max_size=4), bases, st.integers(0, 1000))
def test_encoders_only_raise_format_error(records, base, seed):
    k = resolver(seed)
    for mod in (tlv, text, opaque, cbor60, senml_json, senml_cbor):
        only_format_error(mod.encode, records, base, k)
    only_format_error(link.encode, [(p, (("a", v),)) for p, v in records])
    for _, v in records:
        only_format_error(cbor.dumps, v)


# ---- round trips ------------------------------------------------------------------------

# (kind, value strategy) pairs: every TLV/SenML type with its edge values
TYPED = (
    ("int", st.integers(-(2 ** 63), 2 ** 63 - 1)),
    ("uint", st.integers(0, 2 ** 64 - 1)),
    ("time", st.integers(-(2 ** 63), 2 ** 63 - 1)),
    ("float", st.floats(allow_nan=False, allow_infinity=False)),
    ("bool", st.booleans()),
    ("str", st.text(max_size=20)),
    ("opaque", st.binary(max_size=40)),
    ("objlnk", st.builds(ObjLink, ids, ids)),
)


@st.composite
def instance(draw, obj, inst):
    # -> (records, kinds by (obj, inst, res)); single and multiple resources mixed
    recs, kinds = [], {}
    for rid in draw(st.sets(st.integers(0, 700), min_size=1, max_size=6)):
        kd, vals = draw(st.sampled_from(TYPED))
        kinds[(obj, inst, rid)] = kd
        if draw(st.booleans()):
            recs.append(((obj, inst, rid), draw(vals)))
        else:
            for ri in draw(st.sets(ids, min_size=1, max_size=3)):
                recs.append(((obj, inst, rid, ri), draw(vals)))
    return recs, kinds


@st.composite
def object_payload(draw):
    obj = draw(ids)
    recs, kinds = [], {}
    for inst in draw(st.sets(st.integers(0, 65534), min_size=1, max_size=3)):
        r, k = draw(instance(obj, inst))
        recs += r
        kinds.update(k)
    return obj, sorted(recs), kinds


def same(a, b):
    assert len(a) == len(b)
    for (pa, va), (pb, vb) in zip(a, b):
        assert pa == pb and type(va) is type(vb), (pa, va, vb)
        if isinstance(va, float) and math.isnan(va):
            assert math.isnan(vb)
        else:
            assert va == vb, (pa, va, vb)


@SET
@given(object_payload())
def test_tlv_round_trip(payload):
    obj, recs, kinds = payload
    k = lambda p: kinds[p[:3]]
    same(tlv.decode(tlv.encode(recs, (obj,), k), (obj,), k), recs)
    inst = recs[0][0][1]
    sub = [r for r in recs if r[0][1] == inst]
    same(tlv.decode(tlv.encode(sub, (obj, inst), k), (obj, inst), k), sub)
    res = sub[0][0][:3]
    one = [r for r in sub if r[0][:3] == res]
    same(tlv.decode(tlv.encode(one, res, k), res, k), one)
    # Create without instance wrapper: same content, instance id NEW_INST
    bare = tlv.encode(sub, (obj, inst), k)
    got = tlv.decode(bare, (obj,), lambda p: kinds[(obj, inst, p[2])])
    same(got, [((obj, tlv.NEW_INST) + p[2:], v) for p, v in sub])


@SET
@given(object_payload())
def test_senml_round_trip(payload):
    obj, recs, kinds = payload
    k = lambda p: kinds[p[:3]]
    for base in ((), (obj,), recs[0][0][:2], recs[0][0][:3]):
        sub = [r for r in recs if r[0][: len(base)] == base]
        same(senml_cbor.decode(senml_cbor.encode(sub, base, k), base, k), sub)
        same(senml_json.decode(senml_json.encode(sub, base, k), base, k), sub)


@SET
@given(st.sampled_from(TYPED).flatmap(lambda t: st.tuples(st.just(t[0]), t[1])))
def test_single_value_round_trip(kv):
    kd, v = kv
    path = (3, 0, 1)
    k = lambda p: kd
    for mod in (text, cbor60):
        same(mod.decode(mod.encode([(path, v)], path, k), path, k), [(path, v)])
    if kd == "opaque":
        same(opaque.decode(opaque.encode([(path, v)], path), path, k), [(path, v)])


link_attr = st.tuples(st.sampled_from(["pmin", "pmax", "gt", "ver", "rt", "ct", "dim", "x"]),
                      st.one_of(st.none(), st.integers(0, 10 ** 6),
                                st.text(st.characters(min_codepoint=32, blacklist_characters="\x7f",
                                                      blacklist_categories=("Cs",)), max_size=8)))


@SET
@given(st.lists(st.tuples(st.lists(ids, max_size=3).map(tuple), st.lists(link_attr, max_size=3).map(tuple)),
                max_size=6))
def test_link_round_trip(links):
    got = link.decode(link.encode(links, sort=False))
    assert len(got) == len(links)
    for (uri, attrs), (path, want) in zip(got, links):
        assert uri == ("/" + "/".join(str(p) for p in path) if path else "/")
        assert attrs == tuple((n, None if v is None else str(v)) for n, v in want)


def test_float_widths_survive_round_trip():
    # 4-byte form only when exact: a float32-exact value and one that is not
    for x in (1.5, 0.1, 3.4028234663852886e38, 1e-45, struct.unpack(">f", b"\x00\x00\x00\x01")[0]):
        k = lambda p: "float"
        assert tlv.decode(tlv.encode([((1, 0, 0), x)], (1, 0, 0)), (1, 0, 0), k) == [((1, 0, 0), x)]

# SenML CBOR / SenML JSON / CBOR checked against independent implementations: cbor2 and
# CPython's json, in both directions, on CPython and (through a subprocess) on the MicroPython
# unix port. Random values with fixed seeds, so failures reproduce.
import base64
import json
import os
import random
import subprocess
import tempfile

import cbor2

from conftest import ROOT
from lwm2m.formats import ObjLink, cbor, senml_cbor, senml_json
import formats_gen

MPY = os.path.join(ROOT, ".venv", "bin", "micropython")
LABEL = {-2: "bn", 0: "n", 2: "v", 3: "vs", 4: "vb", 8: "vd", "vlo": "vlo"}


def norm(records):
    # type-aware comparison: 1 and 1.0 and True must not pass for each other
    return [(tuple(p), type(v).__name__, v) for p, v in records]


def from_pack(pack):
    # An independent SenML reader (RFC 8428 base-name rule) for what cbor2/json decoded.
    out, bn = [], ""
    for rec in pack:
        rec = {LABEL.get(k, k): v for k, v in rec.items()}
        bn = rec.get("bn", bn)
        path = tuple(int(x) for x in (bn + rec.get("n", "")).strip("/").split("/"))
        if "v" in rec:
            v = rec["v"]
        elif "vs" in rec:
            v = rec["vs"]
        elif "vb" in rec:
            v = rec["vb"]
        elif "vd" in rec:
            v = rec["vd"]
            if isinstance(v, str):
                v = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
        elif "vlo" in rec:
            v = ObjLink(*[int(x) for x in rec["vlo"].split(":")])
        out.append((path, v))
    return out


def to_pack(records, rng, use_json):
    # Build a pack the way another implementation might: full names, or a base name that
    # holds until the next "bn" (RFC 8428 4.5.1), switched off with "bn":"" when needed.
    pack = []
    prefix = "/%d/%d/" % records[0][0][:2] if rng.random() < 0.5 else ""
    bn = ""
    for path, v in records:
        name = "/" + "/".join(str(x) for x in path)
        rec = {}
        want = prefix if prefix and name.startswith(prefix) else ""
        if want != bn:
            rec["bn"] = bn = want
        rec["n"] = name[len(bn):]
        if isinstance(v, bool):
            rec["vb"] = v
        elif isinstance(v, (int, float)):
            rec["v"] = v
        elif isinstance(v, str):
            rec["vs"] = v
        elif isinstance(v, bytes):
            rec["vd"] = base64.urlsafe_b64encode(v).decode().rstrip("=") if use_json else v
        else:
            rec["vlo"] = "%d:%d" % (v.obj, v.inst)
        if not use_json:
            rec = {k if k == "vlo" else {n: l for l, n in LABEL.items()}[k]: x for k, x in rec.items()}
        pack.append(rec)
    return pack


def test_senml_cbor_ours_read_by_cbor2():
    rng = random.Random(112)
    for _ in range(300):
        recs = formats_gen.records(rng, False)
        pack = cbor2.loads(senml_cbor.encode(recs))
        assert norm(from_pack(pack)) == norm(recs)
        # and with a base path: bn appears once, names shrink, content is the same
        base = recs[0][0][:2]
        sub = [r for r in recs if r[0][:2] == base]
        assert norm(from_pack(cbor2.loads(senml_cbor.encode(sub, base)))) == norm(sub)


def test_senml_cbor_cbor2_read_by_ours():
    rng = random.Random(1120)
    for k in range(300):
        recs = formats_gen.records(rng, False)
        data = cbor2.dumps(to_pack(recs, rng, False), canonical=bool(k % 2))
        assert norm(senml_cbor.decode(data)) == norm(recs)


def test_senml_json_both_ways():
    rng = random.Random(110)
    for k in range(300):
        recs = formats_gen.records(rng, True)
        ours = senml_json.encode(recs)
        assert norm(from_pack(json.loads(ours))) == norm(recs)
        pack = to_pack(recs, rng, True)
        text = json.dumps(pack, ensure_ascii=bool(k % 2), indent=(k % 3) or None)
        assert norm(senml_json.decode(text.encode())) == norm(recs)


def _random_item(rng, depth=0):
    t = rng.randrange(9 if depth < 4 else 6)
    if t == 0:
        return rng.choice((None, True, False))
    if t == 1:
        return rng.randrange(-(1 << 64), 1 << 64) >> rng.randrange(64)
    if t == 2:
        return rng.choice((0.0, -0.0, 1.5, 0.1, 1e300, -4.1, 65504.0, float("inf")))
    if t == 3:
        v = formats_gen.value(rng) if rng.random() < 0.5 else rng.random() * 1e6
        return repr(v) if isinstance(v, ObjLink) else v
    if t == 4:
        return "".join(rng.choice(formats_gen._CHARS) for _ in range(rng.randrange(30)))
    if t == 5:
        return rng.randbytes(rng.randrange(300))
    if t in (6, 7):
        return [_random_item(rng, depth + 1) for _ in range(rng.randrange(30))]
    return {rng.choice((rng.randrange(-30, 30), "k%d" % rng.randrange(30))): _random_item(rng, depth + 1)
            for _ in range(rng.randrange(8))}


def test_generic_cbor_random_items():
    rng = random.Random(60)
    for k in range(500):
        item = _random_item(rng)
        if isinstance(item, ObjLink):
            continue
        assert cbor2.loads(cbor.dumps(item)) == item
        assert cbor.loads(cbor2.dumps(item, canonical=bool(k % 2))) == item
    # indefinite-length encodings as another encoder would stream them
    assert cbor.loads(cbor2.dumps(cbor2.CBORTag(1, 5))) == 5


def _mpy(*args):
    r = subprocess.run([MPY, "tests/host/formats_mpy.py"] + list(args), cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout


def test_micropython_decodes_cbor2_and_json_payloads():
    rng = random.Random(7)
    lines = []
    for k in range(200):
        use_json = k % 2 == 0
        recs = formats_gen.records(rng, use_json)
        pack = to_pack(recs, rng, use_json)
        if use_json:
            data = json.dumps(pack, ensure_ascii=bool(k % 4)).encode()
        else:
            data = cbor2.dumps(pack, canonical=bool(k % 4 == 1))
        lines.append("%d %s %r" % (110 if use_json else 112, data.hex(), recs))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    try:
        out = _mpy("decode", f.name)
    finally:
        os.unlink(f.name)
    assert out.strip().endswith("decoded 200 mismatched 0"), out


def test_micropython_decoders_only_raise_format_error():
    # mutated SenML/TLV/link payloads through every decoder on the MicroPython runtime
    out = _mpy("fuzz", "11", "1500")
    assert out.strip().splitlines()[-1].endswith("leaks 0"), out[-3000:]


def test_host_decodes_micropython_output():
    out = _mpy("encode", "5", "200")
    n = 0
    for line in out.splitlines():
        cf, hx, want = line.split(" ", 2)
        want = eval(want, {"ObjLink": ObjLink})
        data = bytes.fromhex(hx)
        pack = json.loads(data) if cf == "110" else cbor2.loads(data)
        assert norm(from_pack(pack)) == norm(want), line
        n += 1
    assert n == 200

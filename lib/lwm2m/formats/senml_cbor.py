# SenML CBOR (CF 112): RFC 8428 section 6 integer labels plus the LwM2M text label "vlo".
# SPDX-License-Identifier: MIT
from lwm2m.formats import FormatError, collect
from lwm2m.formats import cbor, senml

SINGLE = False

# RFC 8428 Table 6. Labels we do not know are skipped on decode (ignored fields, as RFC 8428
# 4.4 allows for anything not ending in "_").
_LABELS = (
    ("bn", -2), ("bt", -3), ("bu", -4), ("bv", -5), ("bs", -6), ("bver", -1),
    ("n", 0), ("u", 1), ("v", 2), ("vs", 3), ("vb", 4), ("s", 5), ("t", 6), ("ut", 7),
    ("vd", 8),
)


def _label(name):
    for n, lab in _LABELS:
        if n == name:
            return lab
    return name  # "vlo" stays a text label


def _name(label):
    if isinstance(label, str):
        return label
    if isinstance(label, int) and not isinstance(label, bool):
        for n, lab in _LABELS:
            if lab == label:
                return n
    return None


def write(records, sink, base=(), kind=None):
    recs = senml.fields(records, base, kind)
    sink(cbor.head(4, len(recs)))
    for rec in recs:
        sink(cbor.head(5, len(rec)))
        for name, value in rec:
            cbor.write(_label(name), sink)
            cbor.write(value, sink)


def encode(records, base=(), kind=None):
    return collect(write, records, base, kind)


def decode(data, base=(), kind=None):
    items = cbor.loads(data)
    if not isinstance(items, list):
        raise FormatError("SenML pack must be an array")
    named = []
    for r in items:
        if not isinstance(r, dict):
            raise FormatError("SenML record must be a map")
        d = {}
        for label in r:
            name = _name(label)
            if name is not None:
                if name in d:  # e.g. 2 and "v" in one record
                    raise FormatError("duplicate SenML label")
                d[name] = r[label]
        named.append(d)
    return senml.records(named, base, kind, False)

# CoRE Link Format (CF 40, RFC 6690): Register and Discover payloads, strict parser.
from support import raises

from lwm2m.formats import FormatError, parse_path
from lwm2m.formats import link


def test_register_payloads():
    # spec 3.1: 1.0 root link with rt, and the 1.1 example with a ct list
    assert link.encode([((), (("rt", "oma.lwm2m"), ("ct", 11543)))]) == b'</>;rt="oma.lwm2m";ct=11543'
    links = [((33629, 1), ()), ((5, 0), ()), ((3, 0), ()), ((1, 0), ()), ((4, 0), ()),
             ((3,), (("ver", "1.1"),)), ((1,), (("ver", "1.1"),)), ((33629, 0), ()),
             ((), (("ct", (110, 11542)),))]
    want = (b'</>;ct="110 11542",</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</4/0>,</5/0>,'
            b'</33629/0>,</33629/1>')
    assert link.encode(links) == want
    # sorting makes the output independent of the caller's order (dicts are unordered)
    assert link.encode(list(reversed(links))) == want
    assert link.encode([((1, 0), ()), ((5,), ()), ((3, 0), ())]) == b"</1/0>,</3/0>,</5>"
    assert link.encode([((5,), ()), ((1, 0), ())], sort=False) == b"</5>,</1/0>"
    # alternate path root with rt (spec 3.1), strings sort before paths
    assert link.encode([((3, 0), ()), ("/lwm2m", (("rt", "oma.lwm2m"),))]) == (
        b'</lwm2m>;rt="oma.lwm2m",</3/0>')


def test_discover_payloads():
    links = [((3, 0), (("pmin", 10),)), ((3, 0, 1), ()), ((3, 0, 7), (("dim", 2), ("gt", 1.5))),
             ((3, 0, 9), (("st", 0.5), ("edge", True), ("flag", None)))]
    assert link.encode(links) == (b"</3/0>;pmin=10,</3/0/1>,</3/0/7>;dim=2;gt=1.5,"
                                  b"</3/0/9>;st=0.5;edge=1;flag")
    # values that are not ptokens are quoted and escaped
    assert link.encode([((1,), (("title", 'a "b"'), ("x", "a b"), ("y", "")))]) == (
        b'</1>;title="a \\"b\\"";x="a b";y=""')
    raises(FormatError, link.encode, [((1,), (("bad name", 1),))])
    raises(FormatError, link.encode, [((1,), (("gt", float("nan")),))])
    raises(FormatError, link.encode, [("a>b", ())])
    raises(FormatError, link.encode, [((1,), (("t", "a\nb"),))])
    raises(FormatError, link.encode, [((1, 70000), ())])


def test_parse_round_trip():
    payload = b'</>;rt="oma.lwm2m";ct="60 110",</1>;ver=1.1,</1/0>,</3/0/7>;dim=2;gt=1.5;flag'
    got = link.decode(payload)
    assert got == [
        ("/", (("rt", "oma.lwm2m"), ("ct", "60 110"))),
        ("/1", (("ver", "1.1"),)),
        ("/1/0", ()),
        ("/3/0/7", (("dim", "2"), ("gt", "1.5"), ("flag", None))),
    ]
    assert [parse_path(u) for u, _ in got] == [(), (1,), (1, 0), (3, 0, 7)]
    assert link.attr(got[0][1], "ct") == "60 110" and link.attr(got[2][1], "ct") is None
    assert link.decode(b"") == []
    assert link.decode(b'<a>;t="x,y;\\"z\\""') == [("a", (("t", 'x,y;"z"'),))]
    assert link.decode(b"<coap://h/x?q=1>;a=</x>") == [("coap://h/x?q=1", (("a", "</x>"),))]


def test_parse_is_strict():
    bad = (
        b"</1>,", b",</1>", b"</1> ,</2>", b"</1>, </2>", b"</1", b"/1", b"</1>;", b"</1>;=1",
        b"</1>;a=", b'</1>;a="x', b"</1>;a=b c", b"</1>x", b"</ 1>", b'</1>;a="\x01"',
        b"</1>;a,b", b"\xff", b'<"x">', b"</1>;a b",
    )
    for raw in bad:
        raises(FormatError, link.decode, raw)

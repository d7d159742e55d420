# LwM2M device-management operations over real CoAP on loopback, on both runtimes.
from coap import const as C
from coap.message import Message, decode
from lwm2m.formats import tlv, senml_json, link, text
from lwm2m.registry import parse_execute_args
from lwm2m.obj import LwError, Object, R, M
from lwm2mtest import Rig, Thing
from coaptest import Raw, run
from support import raises

TEXT, TLV, SJSON, LINK = C.CF_TEXT, C.CF_LWM2M_TLV, C.CF_SENML_JSON, C.CF_LINK


def test_read_defaults_text_for_one_resource_tlv_for_more():
    r = Rig()
    m = r.req(C.GET, "/9000/0/1")
    assert m.code == C.CONTENT and m.opt_uint(C.CONTENT_FORMAT) == TEXT and bytes(m.payload) == b"42"
    m = r.req(C.GET, "/9000/0/6")
    assert m.opt_uint(C.CONTENT_FORMAT) == C.CF_OPAQUE and bytes(m.payload) == b"\x00\x01"
    m = r.req(C.GET, "/9000/0")
    assert m.opt_uint(C.CONTENT_FORMAT) == TLV
    recs = dict(tlv.decode(bytes(m.payload), (9000, 0), r.registry.kind))
    assert recs[(9000, 0, 0)] == "hello" and recs[(9000, 0, 1)] == 42 and recs[(9000, 0, 5, 1)] == 11
    assert (9000, 0, 4) not in recs, "executable resources are not read"
    r.close()


def test_read_in_accepted_format_and_406():
    r = Rig()
    m = r.req(C.GET, "/9000/0", accept=SJSON)
    assert m.opt_uint(C.CONTENT_FORMAT) == SJSON
    recs = dict(senml_json.decode(bytes(m.payload), (9000, 0), r.registry.kind))
    assert recs[(9000, 0, 2)] == 1.5 and recs[(9000, 0, 3)] is True
    assert r.req(C.GET, "/9000/0", accept=TEXT).code == C.NOT_ACCEPTABLE  # many values
    assert r.req(C.GET, "/9000/0/1", accept=1541).code == C.NOT_ACCEPTABLE
    r.close()


def test_read_errors():
    r = Rig()
    assert r.req(C.GET, "/9001").code == C.NOT_FOUND
    assert r.req(C.GET, "/9000/7").code == C.NOT_FOUND
    assert r.req(C.GET, "/9000/0/99").code == C.NOT_FOUND
    assert r.req(C.GET, "/9000/0/4").code == C.METHOD_NOT_ALLOWED
    assert r.req(C.GET, "/0/0").code == C.UNAUTHORIZED
    assert r.req(C.GET, "/0/0/5").code == C.UNAUTHORIZED
    assert r.req(C.GET, "/x/y").code == C.NOT_FOUND
    assert r.req(C.GET, "/9000/0/5/1").code == C.CONTENT
    assert r.req(C.GET, "/9000/0/5/9").code == C.NOT_FOUND
    r.close()


def test_write_replace_partial_and_errors_change_nothing():
    r = Rig()
    assert r.req(C.PUT, "/9000/0/0", b"world", cf=TEXT).code == C.CHANGED
    assert r.thing.data[0][0] == "world"
    body = tlv.encode([((9000, 0, 1), 7), ((9000, 0, 5, 3), 13)], (9000, 0), r.registry.kind)
    assert r.req(C.POST, "/9000/0", body, cf=TLV).code == C.CHANGED
    assert r.thing.data[0][1] == 7 and r.thing.data[0][5] == [(0, 10), (1, 11), (3, 13)]
    body = tlv.encode([((9000, 0, 5, 9), 1)], (9000, 0, 5), r.registry.kind)
    assert r.req(C.PUT, "/9000/0/5", body, cf=TLV).code == C.CHANGED
    assert r.thing.data[0][5] == [(9, 1)], "PUT replaces a multiple resource whole"
    before = dict(r.thing.data[0])
    assert r.req(C.PUT, "/9000/0/2", b"2.5", cf=TEXT).code == C.METHOD_NOT_ALLOWED
    assert r.req(C.PUT, "/9000/0/1", b"1", cf=1541).code == C.UNSUPPORTED_CONTENT_FORMAT
    assert r.req(C.PUT, "/9000/0/1", b"x1", cf=TEXT).code == C.BAD_REQUEST
    assert r.req(C.POST, "/9000/0", b"\xc8\x00", cf=TLV).code == C.BAD_REQUEST  # truncated TLV
    bad = tlv.encode([((9000, 0, 0), "ok"), ((9000, 0, 2), 9.0)], (9000, 0), r.registry.kind)
    assert r.req(C.POST, "/9000/0", bad, cf=TLV).code == C.METHOD_NOT_ALLOWED
    assert r.thing.data[0] == before, "a refused write changes nothing"
    assert r.req(C.PUT, "/9000", b"1", cf=TEXT).code == C.METHOD_NOT_ALLOWED
    # a resource write looks for the object (and a stream) before a codec: no such object
    # is 4.04 whatever the format
    assert r.req(C.PUT, "/9999/0/0", b"1", cf=9999).code == C.NOT_FOUND
    r.close()


def test_execute_with_arguments():
    r = Rig()
    assert r.req(C.POST, "/9000/0/4").code == C.CHANGED
    assert r.req(C.POST, "/9000/0/4", b"0,1='a b',2='x'").code == C.CHANGED
    assert r.thing.executed == [(0, 4, []), (0, 4, [(0, None), (1, "a b"), (2, "x")])]
    for bad in (b"a", b"0=", b"0='x", b"0,,1", b"12", b"0='\x01'", b"\xff"):
        assert r.req(C.POST, "/9000/0/4", bad).code == C.BAD_REQUEST, bad
    assert len(r.thing.executed) == 2
    assert r.req(C.POST, "/9000/0/0").code == C.METHOD_NOT_ALLOWED
    r.close()


def test_execute_argument_grammar():
    assert parse_execute_args("") == []
    assert parse_execute_args("5") == [(5, None)]
    assert parse_execute_args("0='',9='~!'") == [(0, ""), (9, "~!")]
    for bad in ("x", "0=1", "0='a'b", "0,", ",0"):
        raises(LwError, parse_execute_args, bad)


def test_discover_with_attributes():
    r = Rig()
    assert r.req(C.PUT, "/9000/0/1", query=("pmin=5", "pmax=60", "gt=50")).code == C.CHANGED
    m = r.req(C.GET, "/9000", accept=LINK)
    assert m.opt_uint(C.CONTENT_FORMAT) == LINK
    links = link.decode(bytes(m.payload))
    uris = [u for u, _ in links]
    assert uris[0] == "/9000" and "/9000/0" in uris and "/9000/0/4" in uris
    attrs = dict(links[uris.index("/9000/0/1")][1])
    assert attrs == {"pmin": "5", "pmax": "60", "gt": "50"}
    assert dict(links[uris.index("/9000/0/5")][1])["dim"] == "2"
    assert dict(links[0][1])["ver"] == "1.1"
    m = r.req(C.GET, "/9000/0/1", accept=LINK)
    assert [u for u, _ in link.decode(bytes(m.payload))] == ["/9000/0/1"]
    r.close()


def test_write_attributes_validation():
    r = Rig()
    for q in (("foo=1",), ("pmin=x",), ("pmin=-1",), ("pmin=10", "pmax=5"), ("gt=5", "lt=6"),
              ("gt=10", "lt=5", "st=3")):
        assert r.req(C.PUT, "/9000/0/1", query=q).code == C.BAD_REQUEST, q
    assert r.req(C.PUT, "/9000/0/0", query=("gt=1",)).code == C.BAD_REQUEST  # a string
    assert r.notifier.attrs == {}
    assert r.req(C.PUT, "/9000/0/1", query=("gt=10", "lt=5", "st=2")).code == C.CHANGED
    assert r.req(C.PUT, "/9000/0/1", query=("gt",)).code == C.CHANGED  # clears gt
    assert r.notifier.attrs[(9000, 0, 1)] == {"lt": 5.0, "st": 2.0}
    for missing in ("/9001", "/9000/7", "/9000/0/9", "/9000/0/9/1", "/9000/0/1/7", "/9000/0/5/9"):
        assert r.req(C.PUT, missing, query=("pmin=5",)).code == C.NOT_FOUND, missing  # 1.1 6.3.6
    assert list(r.notifier.attrs) == [(9000, 0, 1)], r.notifier.attrs
    assert r.req(C.PUT, "/9000/0/5/1", query=("pmin=5",)).code == C.CHANGED  # an instance that is
    assert r.req(C.PUT, "/9000/0", query=("pmin=5",)).code == C.CHANGED
    r.close()


class _ReadOnlyList(Object):
    ID = 9002
    RES = ((0, R | M, "int"),)

    def __init__(self):
        Object.__init__(self)
        self.data = {0: {0: [(0, 1)]}}


def test_post_to_a_read_only_multiple_resource_is_405_whatever_its_format():
    r = Rig(objects=(Thing(), _ReadOnlyList()))
    assert r.req(C.POST, "/9002/0/0").code == C.METHOD_NOT_ALLOWED  # no Content-Format
    body = tlv.encode([((9002, 0, 0, 1), 2)], (9002, 0, 0), r.registry.kind)
    assert r.req(C.POST, "/9002/0/0", body, cf=TLV).code == C.METHOD_NOT_ALLOWED
    r.close()


def test_observe_with_accept_link_format_is_406():
    r = Rig()
    assert r.req(C.GET, "/9000/0/1", accept=LINK, observe=0).code == C.NOT_ACCEPTABLE
    assert r.req(C.GET, "/9000/0/1", accept=LINK).code == C.CONTENT  # Discover itself
    r.close()


def test_create_and_delete():
    r = Rig()
    body = tlv.encode([((9000, 5, 0), "new"), ((9000, 5, 1), 3)], (9000,), r.registry.kind)
    m = r.req(C.POST, "/9000", body, cf=TLV)
    assert m.code == C.CREATED and m.opt_all(C.LOCATION_PATH) == [b"9000", b"5"]
    assert r.thing.data[5] == {0: "new", 1: 3}
    assert r.req(C.POST, "/9000", body, cf=TLV).code == C.BAD_REQUEST  # exists
    assert r.req(C.DELETE, "/9000/5").code == C.DELETED and 5 not in r.thing.data
    assert r.req(C.DELETE, "/9000").code == C.METHOD_NOT_ALLOWED
    assert r.req(C.DELETE, "/9000/5").code == C.NOT_FOUND
    r.close()


def test_blockwise_write_of_a_long_string():
    r = Rig()
    value = "x" * 1500
    first = r.req(C.PUT, "/9000/0/0", value[:1024].encode(), cf=TEXT, block1=(0 << 4) | 8 | 6)
    assert first.code == C.CONTINUE
    last = r.req(C.PUT, "/9000/0/0", value[1024:].encode(), cf=TEXT, block1=(1 << 4) | 6)
    assert last.code == C.CHANGED and r.thing.data[0][0] == value
    r.close()


def _observe(r, raw, path, token, **kw):
    m = Message(C.CON, C.GET, 100 + len(raw.got), token).add(C.OBSERVE, 0)
    for seg in path.strip("/").split("/"):
        m.add(C.URI_PATH, seg)
    for q in kw.get("accept", ()):
        m.add(C.ACCEPT, q)
    raw.send(m.encode(), r.addr)
    return decode(raw.wait(len(raw.got) + 1)[-1])


def test_observe_notifies_on_change_and_respects_pmin():
    r = Rig()
    raw = Raw(r.loop)
    assert r.req(C.PUT, "/9000/0/1", query=("pmin=1",)).code == C.CHANGED
    first = _observe(r, raw, "/9000/0/1", b"o1")
    assert first.has(C.OBSERVE) and bytes(first.payload) == b"42"
    r.thing.put(0, 1, 43)  # within pmin of the registration: held back
    r.loop.run_until(lambda: False, 300)
    assert len(raw.got) == 1
    raw.wait(2, 2000)
    n = decode(raw.got[1])
    assert n.token == b"o1" and bytes(n.payload) == b"43"
    r.thing.put(0, 1, 43)  # no change, no notification
    r.loop.run_until(lambda: False, 1200)
    assert len(raw.got) == 2
    raw.close(); r.close()


def test_observe_instance_and_pmax_and_step():
    r = Rig()
    raw = Raw(r.loop)
    assert r.req(C.PUT, "/9000/0/1", query=("st=5",)).code == C.CHANGED
    _observe(r, raw, "/9000/0/1", b"o2")
    r.thing.put(0, 1, 44)  # +2 < st: not worth a notification
    r.loop.run_until(lambda: False, 200)
    assert len(raw.got) == 1
    r.thing.put(0, 1, 48)  # +6 from the last sent value
    raw.wait(2)
    assert bytes(decode(raw.got[1]).payload) == b"48"
    assert r.req(C.PUT, "/9000/0", query=("pmax=1",)).code == C.CHANGED
    _observe(r, raw, "/9000/0", b"o3")
    n0 = len(raw.got)

    def periodic():
        # o2 (under /9000/0, so pmax=1 applies to it too) notifies as well: look for o3
        return [g for g in raw.got[n0:] if decode(g).token == b"o3"]

    r.loop.run_until(periodic, 2500)  # a periodic notification without any change
    assert periodic() and decode(periodic()[0]).opt_uint(C.CONTENT_FORMAT) == TLV
    raw.close(); r.close()


def test_observe_cancel_with_get_observe_1():
    r = Rig()
    raw = Raw(r.loop)
    _observe(r, raw, "/9000/0/0", b"o4")
    assert len(r.observers.items) == 1
    m = Message(C.CON, C.GET, 999, b"o4").add(C.OBSERVE, 1).add(C.URI_PATH, "9000").add(C.URI_PATH, "0").add(C.URI_PATH, "0")
    raw.send(m.encode(), r.addr)
    raw.wait(2)
    assert r.observers.items == []
    r.thing.put(0, 0, "changed")
    r.loop.run_until(lambda: False, 200)
    assert len(raw.got) == 2
    raw.close(); r.close()


def test_deleted_instance_ends_observation_with_404():
    r = Rig()
    raw = Raw(r.loop)
    _observe(r, raw, "/9000/0", b"o5")
    assert r.req(C.DELETE, "/9000/0").code == C.DELETED
    raw.wait(2)
    n = decode(raw.got[1])
    assert n.code == C.NOT_FOUND and r.observers.items == []
    raw.close(); r.close()


def test_epmax_finds_silent_changes_and_skips_unchanged():
    r = Rig()
    raw = Raw(r.loop)
    assert r.req(C.PUT, "/9000/0/1", query=("epmax=1",)).code == C.CHANGED
    _observe(r, raw, "/9000/0/1", b"o6")
    r.loop.run_until(lambda: False, 1300)
    assert len(raw.got) == 1, "an evaluation that finds the same value sends nothing"
    r.thing.data[0][1] = 77  # changed behind the data model's back (no put/changed)
    raw.wait(2, 2500)
    assert bytes(decode(raw.got[1]).payload) == b"77"
    raw.close(); r.close()


def test_epmin_holds_evaluation_back():
    r = Rig()
    raw = Raw(r.loop)
    assert r.req(C.PUT, "/9000/0/1", query=("epmin=1",)).code == C.CHANGED
    _observe(r, raw, "/9000/0/1", b"o7")
    r.thing.put(0, 1, 50)
    r.loop.run_until(lambda: False, 400)
    assert len(raw.got) == 1
    raw.wait(2, 2000)
    assert bytes(decode(raw.got[1]).payload) == b"50"
    raw.close(); r.close()


def test_observe_object_level():
    r = Rig()
    raw = Raw(r.loop)
    first = _observe(r, raw, "/9000", b"o8")
    assert first.code == C.CONTENT and first.opt_uint(C.CONTENT_FORMAT) == TLV
    r.thing.put(0, 0, "object-level")
    raw.wait(2)
    n = decode(raw.got[1])
    recs = dict(tlv.decode(bytes(n.payload), (9000,), r.registry.kind))
    assert n.token == b"o8" and recs[(9000, 0, 0)] == "object-level"
    raw.close(); r.close()

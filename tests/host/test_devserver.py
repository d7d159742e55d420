# `updraft server` (the dev LwM2M server) driven through its JSON API client, against a
# throwaway aiocoap LwM2M client: registration interface and every DM operation.
# SPDX-License-Identifier: MIT
import os
import sys

import pytest

from fakeclient import FakeClient, Loop
from lineproc import LineProc
from peers import free_port
from updraft.devserver.apiclient import ApiError, DevServer, Timeout


@pytest.fixture
def env():
    coap = free_port()
    srv = LineProc([sys.executable, "-m", "updraft.cli", "server", "--coap-port", str(coap), "--api-port", "0"])
    loop = Loop()
    fake = FakeClient()
    try:
        api_line = srv.expect("updraft server: api", 20)
        api = DevServer(api_line.split()[-1])
        loop.run(fake.start(free_port()))
        yield api, fake, loop, coap, srv
    finally:
        try:
            loop.run(fake.stop(), 10)
        finally:
            loop.stop()
            srv.stop()


def test_register_read_write_execute_discover(env):
    api, fake, loop, coap, srv = env
    with pytest.raises(Timeout):
        api.wait("fake1", "registered", timeout=0.3)
    loop.run(fake.register(coap, "fake1", lt=60))
    reg = api.wait("fake1", "registered", timeout=10)["registration"]
    assert reg["lifetime"] == 60 and reg["lwm2m"] == "1.1" and reg["binding"] == "U"
    assert reg["location"] == "/" + fake.location
    assert {"path": "/3/0", "attrs": {}} in reg["objects"]
    assert [c["endpoint"] for c in api.clients()] == ["fake1"]

    # Read in every structured format, and single resources as text
    for fmt in ("tlv", "senml_json", "senml_cbor", None):
        r = api.read("fake1", "/3/0", format=fmt)
        assert r["code"] == "2.05", r
        vals = {x["path"]: x["value"] for x in r["records"]}
        assert vals["/3/0/0"] == "fake maker" and vals["/3/0/9"] == 95 and vals["/3/0/6/1"] == 5
    r = api.read("fake1", "/3/0/9", format="text")
    assert (r["code"], r["format"], r["value"]) == ("2.05", 0, 95)
    assert api.read("fake1", "/3/0", format="text")["code"] == "4.06"
    assert api.read("fake1", "/7/0")["code"] == "4.04"

    # Write: replace one resource (text, TLV), partial update of an instance (SenML JSON)
    assert api.write("fake1", "/3/0/13", 1700000100, format="text")["code"] == "2.04"
    assert api.write("fake1", "/1/0/1", 120, format="tlv")["code"] == "2.04"
    r = api.write("fake1", "/1/0", format="senml_json", partial=True, records=[("/1/0/7", "UQ"), ("/1/0/1", 300)])
    assert r["code"] == "2.04"
    assert loop.call(lambda: (fake.model[(3, 0, 13)], fake.model[(1, 0, 1)], fake.model[(1, 0, 7)])) == \
        (1700000100, 300, "UQ")
    assert api.write("fake1", "/3/0/9", payload=b"\xc1", format="tlv")["code"] == "4.00"  # truncated TLV

    # Execute with arguments
    assert api.execute("fake1", "/3/0/4", args="0='now'")["code"] == "2.04"
    assert loop.call(lambda: fake.executed) == [((3, 0, 4), b"0='now'")]

    # Write-Attributes then Discover shows them
    assert api.write_attributes("fake1", "/3/0/9", pmin=1, pmax=30, gt=50.5)["code"] == "2.04"
    assert api.write_attributes("fake1", "/3/0/9", gt=None)["code"] == "2.04"
    d = api.discover("fake1", "/3/0")
    assert d["code"] == "2.05" and d["format"] == 40
    attrs = {x["path"]: x["attrs"] for x in d["links"]}
    assert attrs["/3/0/9"] == {"pmax": "30", "pmin": "1"}, d["text"]

    # Create and Delete
    c = api.create("fake1", "/1", records=[("/1/0/0", 7), ("/1/0/1", 90)])
    assert c["code"] == "2.01" and c["location"] == "/1/1"
    assert api.read("fake1", "/1/1/0", format="text")["value"] == 7
    assert api.delete("fake1", "/1/1")["code"] == "2.02"
    assert api.read("fake1", "/1/1")["code"] == "4.04"

    # Raw request: an unknown Content-Format gets the client's own answer
    assert api.request("fake1", "PUT", "/3/0/0", content_format=1541, payload=b"x")["code"] == "4.15"

    # API errors
    with pytest.raises(ApiError) as e:
        api.read("nobody", "/3/0")
    assert e.value.status == 404
    with pytest.raises(ApiError) as e:
        api.read("fake1", "/3/x")
    assert e.value.status == 400


def test_observe_update_deregister(env):
    api, fake, loop, coap, srv = env
    loop.run(fake.register(coap, "fake2", lt=60))
    api.wait("fake2", "registered", timeout=10)

    first = api.observe("fake2", "/3/0/10", format="text")
    assert first["observing"] and first["value"] == 40000
    seq = api.notifications("fake2")["seq"]
    for v in (39000, 38000):
        loop.call(fake.set, (3, 0, 10), v)
        n = api.wait("fake2", "notification", timeout=30, since=seq, path="/3/0/10")
        assert n["value"] == v and n["code"] == "2.05"
        seq = n["seq"]
    ring = api.notifications("fake2", path="/3/0/10")["notifications"]
    assert [n["value"] for n in ring] == [40000, 39000, 38000]
    assert ring[0]["initial"] and all(n["t"] > 0 for n in ring)
    assert api.client("fake2")["observations"] == ["/3/0/10"]

    # an observed object instance notifies in TLV
    api.observe("fake2", "/3/0", format="tlv")
    seq = api.notifications("fake2")["seq"]  # before the change: the notification may beat wait()
    loop.call(fake.set, (3, 0, 9), 42)
    n = api.wait("fake2", "notification", timeout=30, since=seq, path="/3/0")
    assert {r["path"]: r["value"] for r in n["records"]}["/3/0/9"] == 42

    # cancel: no more notifications kept, and the client's next notification is refused
    api.cancel("fake2", "/3/0/10")
    assert api.client("fake2")["observations"] == ["/3/0"]
    seq = api.notifications("fake2")["seq"]
    loop.call(fake.set, (3, 0, 10), 1)
    with pytest.raises(Timeout):
        api.wait("fake2", "notification", timeout=1.0, since=seq, path="/3/0/10")

    # Update: keep-alive, new lifetime, new object list
    seq = api.notifications("fake2")["seq"]
    assert loop.run(fake.update(coap)).code.dotted == "2.04"
    ev = api.wait("fake2", "updated", timeout=30, since=seq)
    assert ev["query"] == {} and not ev["objects_changed"]
    assert loop.run(fake.update(coap, ("lt=90",), b"</1/0>,</3/0>,</5/0>")).code.dotted == "2.04"
    ev = api.wait("fake2", "updated", timeout=30, since=ev["seq"])
    assert ev["registration"]["lifetime"] == 90 and ev["objects_changed"]
    assert {"path": "/5/0", "attrs": {}} in api.client("fake2")["objects"]

    # De-register; an Update after that gets 4.04 (the client must Register again)
    assert loop.run(fake.deregister(coap)).code.dotted == "2.02"
    api.wait("fake2", "deregistered", timeout=30, since=ev["seq"])
    assert api.clients() == []
    assert loop.run(fake.update(coap)).code.dotted == "4.04"


def test_lifetime_expiry_and_bad_register(env):
    api, fake, loop, coap, srv = env
    resp = loop.run(fake.post_rd(coap, "rd", ("lt=60",), b"</3/0>"))
    assert resp.code.dotted == "4.00"  # no ep
    resp = loop.run(fake.post_rd(coap, "rd", ("ep=x", "lt=zero"), b"</3/0>"))
    assert resp.code.dotted == "4.00"
    loop.run(fake.register(coap, "short", lt=1))
    reg = api.wait("short", "registered", timeout=10)
    ev = api.wait("short", "expired", timeout=10, since=reg["seq"])
    assert ev["location"] == "/" + fake.location
    assert api.clients() == []
    # a second Register of the same endpoint replaces the first
    loop.run(fake.register(coap, "twice", lt=60))
    first = fake.location
    loop.run(fake.register(coap, "twice", lt=60))
    assert fake.location != first and len(api.clients()) == 1


if __name__ == "__main__":
    sys.exit(pytest.main(["-q", os.path.abspath(__file__)]))

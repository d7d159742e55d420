# The dev server's file server (devserver/files.py) over real sockets on 127.0.0.1: HTTP
# Range / strong ETag / If-Match (412) / If-Range, 206/200/404/416; CoAP Block2 sliced per
# request (any block first: a resume), ETag, Size2 on block 0, early negotiation, 4.04;
# whole fetches by aiocoap and libcoap's coap-client; served byte counts; a replaced file
# gets a new ETag.
# SPDX-License-Identifier: MIT
import asyncio
import http.client
import os
import shutil
import subprocess
import sys

import aiocoap
import pytest
from aiocoap.optiontypes import BlockOption

from lineproc import LineProc
from peers import free_port
from updraft.devserver.apiclient import DevServer

SIZE = 100000


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    data = os.urandom(SIZE)
    (d / "img.bin").write_bytes(data)
    coap = free_port()
    p = LineProc([sys.executable, "-m", "updraft.cli", "server", "--coap-port", str(coap), "--api-port", "0",
                  "--files", str(d)])
    try:
        api = DevServer(p.expect("updraft server: api", 20).split()[-1])
        uris = api.files()["uris"]
        host, port = uris["http"].split("/")[2].split(":")
        yield {"api": api, "data": data, "http": (host, int(port)), "coap": uris["coap"], "dir": d}
    finally:
        p.stop()


def get(srv, path, headers=None, method="GET"):
    c = http.client.HTTPConnection(*srv["http"], timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def served(srv, name, proto):
    return next(f for f in srv["api"].files()["files"] if f["name"] == name)["served"].get(proto, 0)


def test_http_full_range_and_conditions(srv):
    data = srv["data"]
    before = served(srv, "img.bin", "http")
    st, h, body = get(srv, "/fw/img.bin")
    assert st == 200 and body == data and h["content-length"] == str(SIZE) and h["accept-ranges"] == "bytes"
    etag = h["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")  # strong
    st, h, body = get(srv, "/fw/img.bin", {"Range": "bytes=60000-"})
    assert st == 206 and body == data[60000:] and h["content-range"] == "bytes 60000-99999/100000"
    assert h["content-length"] == str(SIZE - 60000)
    st, h, body = get(srv, "/fw/img.bin", {"Range": "bytes=10-19", "If-Match": etag})
    assert st == 206 and body == data[10:20]
    st, h, body = get(srv, "/fw/img.bin", {"Range": "bytes=10-", "If-Match": '"0123456789abcdef"'})
    assert st == 412
    st, h, body = get(srv, "/fw/img.bin", {"Range": "bytes=10-", "If-Match": "W/" + etag})
    assert st == 412  # a weak tag never matches strongly
    st, h, body = get(srv, "/fw/img.bin", {"Range": "bytes=10-", "If-Range": '"0123456789abcdef"'})
    assert st == 200 and body == data  # changed: the whole representation instead
    st, h, body = get(srv, "/fw/img.bin", {"Range": "bytes=10-", "If-Range": etag})
    assert st == 206 and body == data[10:]
    st, h, _ = get(srv, "/fw/img.bin", {"Range": "bytes=%d-" % SIZE})
    assert st == 416 and h["content-range"] == "bytes */%d" % SIZE
    st, h, body = get(srv, "/fw/img.bin", method="HEAD")
    assert st == 200 and body == b"" and h["content-length"] == str(SIZE)
    assert served(srv, "img.bin", "http") - before == SIZE + (SIZE - 60000) + 10 + SIZE + (SIZE - 10)


def test_http_404(srv):
    for path in ("/fw/nothing.bin", "/fw/..%2fetc", "/fw/../img.bin", "/img.bin", "/fw/"):
        assert get(srv, path)[0] == 404, path


def coap_get(uri, block2=None, etag=None, blockwise=False):
    async def go():
        ctx = await aiocoap.Context.create_client_context()
        try:
            m = aiocoap.Message(code=aiocoap.GET, uri=uri)
            if block2 is not None:
                m.opt.block2 = BlockOption.BlockwiseTuple(*block2)
            if etag is not None:
                m.opt.etags = (etag,)
            return await asyncio.wait_for(ctx.request(m, handle_blockwise=blockwise).response, 20)
        finally:
            await ctx.shutdown()

    return asyncio.run(go())


def test_coap_block2_etag_size2_and_resume(srv):
    data, uri = srv["data"], srv["coap"] + "img.bin"
    before = served(srv, "img.bin", "coap")
    r0 = coap_get(uri)
    assert r0.code == aiocoap.CONTENT and r0.opt.content_format == 42
    assert r0.opt.block2 == (0, True, 6) and r0.payload == data[:1024]
    assert r0.opt.size2 == SIZE and len(r0.opt.etag) == 8
    # a block asked for first, as after a reboot mid-download: same ETag, no Size2
    r = coap_get(uri, (50, True, 6))
    assert r.payload == data[50 * 1024 : 51 * 1024] and r.opt.etag == r0.opt.etag and r.opt.size2 is None
    last = (SIZE - 1) // 1024
    r = coap_get(uri, (last, False, 6))
    assert r.opt.block2 == (last, False, 6) and r.payload == data[last * 1024 :]
    # early negotiation: the client's smaller size is followed
    r = coap_get(uri, (3, False, 2))
    assert r.opt.block2 == (3, True, 2) and r.payload == data[192:256]
    assert coap_get(uri, (200, False, 6)).code == aiocoap.BAD_OPTION  # past the end
    assert coap_get(srv["coap"] + "missing.bin").code == aiocoap.NOT_FOUND
    v = coap_get(uri, etag=r0.opt.etag)
    assert v.code == aiocoap.VALID and v.opt.etag == r0.opt.etag
    whole = coap_get(uri, blockwise=True)  # aiocoap walks the blocks itself
    assert whole.payload == data
    assert served(srv, "img.bin", "coap") - before == 1024 * 2 + (SIZE - last * 1024) + 64 + SIZE


def test_coap_whole_file_with_libcoap(srv, tmp_path):
    exe = shutil.which("coap-client-notls") or shutil.which("coap-client")
    if not exe:
        pytest.skip("libcoap's coap-client is not installed (make setup installs libcoap3-bin)")
    out = tmp_path / "got.bin"
    subprocess.run([exe, "-m", "get", "-b", "512", "-o", str(out), srv["coap"] + "img.bin"], check=True,
                   timeout=30, capture_output=True)
    assert out.read_bytes() == srv["data"]


def test_replaced_file_gets_a_new_etag(srv):
    api = srv["api"]
    old = get(srv, "/fw/img.bin")[1]["etag"]
    r0 = coap_get(srv["coap"] + "img.bin")
    put = api.put_file("img2.bin", b"first" * 1000)
    assert put["uris"]["http"].endswith("/fw/img2.bin") and put["size"] == 5000
    put2 = api.put_file("img2.bin", b"second" * 1000)
    assert put2["etag"] != put["etag"]
    st, h, body = get(srv, "/fw/img2.bin", {"Range": "bytes=6-", "If-Match": '"%s"' % put["etag"]})
    assert st == 412  # a resume against the old content is refused
    st, h, body = get(srv, "/fw/img2.bin", {"Range": "bytes=6-", "If-Match": '"%s"' % put2["etag"]})
    assert st == 206 and body == (b"second" * 1000)[6:]
    r = coap_get(srv["coap"] + "img2.bin", (1, False, 6))
    assert r.opt.etag == bytes.fromhex(put2["etag"]) and r.payload == (b"second" * 1000)[1024:2048]
    assert get(srv, "/fw/img.bin")[1]["etag"] == old and coap_get(srv["coap"] + "img.bin").opt.etag == r0.opt.etag
    with pytest.raises(Exception):
        api.put_file("../escape", b"x")


if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", "-s", __file__]))

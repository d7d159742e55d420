# fota.download coap+tcp:// engine (RFC 8323) on CPython and MicroPython: libcoap's
# coap-server (it listens on TCP on the same port) with and without BERT, aiocoap's TCP
# transport (stable ETag: resume, ETag change -> restart), 4.04 -> 7, refused -> 4.
import time

import pytest

from peers import LibcoapServer, blob
from dlpeers import CoapFiles, fetch, sha, tcp_free_port

RUNTIMES = ["cpython", "micropython"]
SIZE = 1 << 20


@pytest.fixture(scope="module")
def image():
    return blob(SIZE, seed=9)


@pytest.fixture(scope="module")
def libcoap(tmp_path_factory, image):
    s = LibcoapServer()
    try:
        s.put("fw", image, tmp_path_factory.mktemp("libcoap"))
        s.tcp = lambda path: "coap+tcp://127.0.0.1:%d/%s" % (s.port, path)
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory, image):
    root = tmp_path_factory.mktemp("coapfiles")
    (root / "fw").write_bytes(image)
    (root / "changing").write_bytes(image)
    s = CoapFiles(root, "tcp")
    s.root = root
    try:
        yield s
    finally:
        s.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("bert", [1, 0])
def test_full_pull_from_libcoap(libcoap, image, runtime, bert):
    r = fetch(runtime, libcoap.tcp("fw"), bert=bert)
    assert (r["result"], r["bytes"], r["sha"]) == (0, SIZE, sha(image)), r["out"]
    assert r["head"][0] == SIZE


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_not_found_and_refused(libcoap, runtime):
    r = fetch(runtime, libcoap.tcp("missing"))
    assert (r["result"], r["restart"]) == (7, 0), r["out"]
    t0 = time.monotonic()
    r = fetch(runtime, "coap+tcp://127.0.0.1:%d/fw" % tcp_free_port(), retries=1, backoff_ms=20)
    assert (r["result"], r["attempts"]) == (4, 2), r["out"]
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_aiocoap_pull_and_resume(files, image, runtime, tmp_path):
    r = fetch(runtime, files.url("fw", "coap+tcp"))
    assert (r["result"], r["sha"]) == (0, sha(image)), r["out"]
    out = tmp_path / "slot.bin"
    a = fetch(runtime, files.url("fw", "coap+tcp"), out=out, stop=300000)
    off = a["offset"] - 333
    b = fetch(runtime, files.url("fw", "coap+tcp"), out=out, offset=off, etag=a["etag"])
    assert (b["result"], b["restart"], b["bytes"]) == (0, 0, SIZE - off), b["out"]
    assert sha(out.read_bytes()) == sha(image)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_etag_change_restarts(files, image, runtime):
    f = files.root / "changing"
    f.write_bytes(image)
    a = fetch(runtime, files.url("changing", "coap+tcp"), stop=200000)
    f.write_bytes(blob(SIZE, seed=10))
    b = fetch(runtime, files.url("changing", "coap+tcp"), offset=a["offset"], etag=a["etag"])
    assert (b["result"], b["restart"], b["bytes"], b["reason"]) == (4, 1, 0, "etag changed"), b["out"]

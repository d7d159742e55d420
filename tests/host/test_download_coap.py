# fota.download coap:// engine on CPython and MicroPython: 1 MiB from libcoap's coap-server,
# resume with the ETag from an aiocoap file server (stable ETag), ETag change -> restart,
# 4.04 -> 7, offline -> 4 (short CoAP timers), on_head refusal -> 2 with nothing written,
# smaller blocks when the heap has no room for a 1 KiB one.
# libcoap 4.3.1 gives every new transfer a new ETag (a counter), so a resume against it
# is always told to restart: correct behaviour for a client, shown below.
import time

import pytest

from peers import LibcoapServer, blob, free_port
from dlpeers import CoapFiles, fetch, sha

RUNTIMES = ["cpython", "micropython"]
SIZE = 1 << 20
FAST = {"ack_ms": 50, "max_retransmit": 1, "block_retries": 0, "retries": 1, "backoff_ms": 20}


@pytest.fixture(scope="module")
def image():
    return blob(SIZE, seed=7)


@pytest.fixture(scope="module")
def libcoap(tmp_path_factory, image):
    s = LibcoapServer()
    try:
        s.put("fw", image, tmp_path_factory.mktemp("libcoap"))
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory, image):
    root = tmp_path_factory.mktemp("coapfiles")
    (root / "fw").write_bytes(image)
    (root / "changing").write_bytes(image)
    s = CoapFiles(root, "udp")
    s.root = root
    try:
        yield s
    finally:
        s.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_full_pull_from_libcoap(libcoap, image, runtime):
    r = fetch(runtime, libcoap.uri("fw"))
    assert (r["result"], r["bytes"], r["sha"]) == (0, SIZE, sha(image)), r["out"]
    assert r["head"][0] == SIZE  # Size2 on block 0
    assert r["etag"] != "-" and r["attempts"] == 1


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_heap_without_room_for_1k_blocks_pulls_with_smaller_ones(libcoap, files, image, runtime):
    # a heap whose largest hole cannot take a 1 KiB block's datagram (600 B): the pull goes
    # on with 256 B blocks (512 B ones need 641 B) on the same connection (one attempt: the
    # server's session and ETag stay) from both servers, byte-identical
    for uri in (libcoap.uri("fw"), files.url("fw")):
        r = fetch(runtime, uri, hole=600, log=30)
        assert (r["result"], r["bytes"], r["sha"]) == (0, SIZE, sha(image)), r["out"]
        assert "asking for 256 B blocks" in r["out"] and r["attempts"] == 1, r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_not_found_is_invalid_uri(libcoap, runtime):
    r = fetch(runtime, libcoap.uri("missing"))
    assert (r["result"], r["restart"], r["reason"]) == (7, 0, "4.04"), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_resume_with_etag_identical_image(files, image, runtime, tmp_path):
    out = tmp_path / "slot.bin"
    a = fetch(runtime, files.url("fw"), out=out, stop=300000)
    assert a["result"] == 0 and a["offset"] % 1024 == 0, a["out"]
    # resume from a byte offset that is not on a block boundary: the engine asks for the
    # block holding it and drops the bytes before it
    off = a["offset"] - 100
    b = fetch(runtime, files.url("fw"), out=out, offset=off, etag=a["etag"])
    assert (b["result"], b["restart"], b["bytes"]) == (0, 0, SIZE - off), b["out"]
    assert sha(out.read_bytes()) == sha(image)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_etag_change_restarts(files, libcoap, image, runtime, tmp_path):
    f = files.root / "changing"
    f.write_bytes(image)
    a = fetch(runtime, files.url("changing"), stop=200000)
    new = blob(SIZE, seed=8)
    f.write_bytes(new)
    b = fetch(runtime, files.url("changing"), offset=a["offset"], etag=a["etag"])
    assert (b["result"], b["restart"], b["bytes"], b["reason"]) == (4, 1, 0, "etag changed"), b["out"]
    c = fetch(runtime, files.url("changing"))
    assert (c["result"], c["sha"]) == (0, sha(new)), c["out"]
    # libcoap: a new transfer gets a new ETag, so resuming is (rightly) refused as well
    d = fetch(runtime, libcoap.uri("fw"), stop=100000)
    e = fetch(runtime, libcoap.uri("fw"), offset=d["offset"], etag=d["etag"])
    assert (e["result"], e["restart"], e["bytes"]) == (4, 1, 0), e["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_offline_server_is_connection_lost(runtime):
    t0 = time.monotonic()
    r = fetch(runtime, "coap://127.0.0.1:%d/fw" % free_port(), **FAST)
    assert (r["result"], r["restart"], r["attempts"]) == (4, 0, 2), r["out"]
    assert time.monotonic() - t0 < 5
    r = fetch(runtime, "coap://no-such-host.invalid/fw")
    assert r["result"] == 7, r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_head_refusal_writes_nothing(libcoap, runtime):
    r = fetch(runtime, libcoap.uri("fw"), maxsize=1000)
    assert (r["result"], r["bytes"]) == (2, 0), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_small_blocks(libcoap, image, runtime):
    r = fetch(runtime, libcoap.uri("fw"), szx=4)
    assert (r["result"], r["sha"]) == (0, sha(image)), r["out"]

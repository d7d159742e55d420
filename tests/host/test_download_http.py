# fota.download http:// engine on CPython and MicroPython against nginx (Debian) and a small
# CPython http.server: full pull, Range + If-Match resume, 412 and ignored Range -> restart,
# 404 -> 7, refused/timeout/5xx -> 4, chunked, redirects, a body cut off mid-way, on_head
# refusing the size (2). Every transfer is checked by SHA-256 of what the sink got.
import os
import time

import pytest

from peers import blob, free_port
from dlpeers import Nginx, PyHttp, Silent, fetch, sha

RUNTIMES = ["cpython", "micropython"]
SIZE = 1 << 20
FAST = {"retries": 1, "backoff_ms": 20, "timeout_ms": 1000}


@pytest.fixture(scope="module")
def image():
    return blob(SIZE, seed=5)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, image):
    tmp = tmp_path_factory.mktemp("nginx")
    root = tmp / "root"
    root.mkdir()
    (root / "fw.bin").write_bytes(image)
    (root / "changing.bin").write_bytes(image)
    n = Nginx(tmp, root)
    n.root = root
    try:
        yield n
    finally:
        n.stop()


@pytest.fixture
def pyhttp(image):
    h = PyHttp(image)
    try:
        yield h
    finally:
        h.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_full_pull_from_nginx(nginx, image, runtime):
    r = fetch(runtime, nginx.url("fw.bin"))
    assert (r["result"], r["bytes"], r["sha"]) == (0, SIZE, sha(image)), r["out"]
    assert r["head"][0] == SIZE and r["etag"] != "-"
    assert r["attempts"] == 1
    calls, last, ordered = r["progress"]
    assert 200 <= calls <= 257 and last == SIZE and ordered  # about every 4 KiB, then the end


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_resume_with_range_and_if_match(nginx, image, runtime, tmp_path):
    out = tmp_path / "slot.bin"
    a = fetch(runtime, nginx.url("fw.bin"), out=out, stop=300000)
    assert a["result"] == 0 and 300000 <= a["offset"] < SIZE, a["out"]
    b = fetch(runtime, nginx.url("fw.bin"), out=out, offset=a["offset"], etag=a["etag"])
    assert (b["result"], b["restart"], b["bytes"]) == (0, 0, SIZE - a["offset"]), b["out"]
    assert b["head"][0] == SIZE  # total from Content-Range
    assert sha(out.read_bytes()) == sha(image)
    log = open(os.path.join(nginx.tmp, "access.log")).read()
    assert '" 206 ' in log


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_etag_change_gives_412_and_restart(nginx, image, runtime, tmp_path):
    f = nginx.root / "changing.bin"
    f.write_bytes(image)
    a = fetch(runtime, nginx.url("changing.bin"), stop=200000)
    new = blob(SIZE, seed=6)
    f.write_bytes(new)
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # nginx's ETag is mtime-size
    b = fetch(runtime, nginx.url("changing.bin"), offset=a["offset"], etag=a["etag"])
    assert (b["result"], b["restart"], b["bytes"]) == (4, 1, 0), b["out"]
    assert "412" in b["reason"]
    c = fetch(runtime, nginx.url("changing.bin"))  # what the caller does: from 0, no ETag
    assert (c["result"], c["sha"]) == (0, sha(new))


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_server_ignoring_range_restarts(nginx, runtime):
    r = fetch(runtime, nginx.url("norange/fw.bin"), offset=5000)
    assert (r["result"], r["restart"], r["bytes"]) == (4, 1, 0), r["out"]
    assert "Range" in r["reason"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_not_found_is_invalid_uri(nginx, runtime):
    r = fetch(runtime, nginx.url("missing.bin"))
    assert (r["result"], r["restart"]) == (7, 0), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_nginx_redirect(nginx, image, runtime):
    r = fetch(runtime, nginx.url("moved"))
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(image), 2), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_refused_and_unresolvable(runtime):
    t0 = time.monotonic()
    r = fetch(runtime, "http://127.0.0.1:%d/fw" % free_port(), **FAST)
    assert (r["result"], r["attempts"]) == (4, 2), r["out"]
    assert time.monotonic() - t0 < 5
    r = fetch(runtime, "http://no-such-host.invalid/fw")
    assert r["result"] == 7, r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_silent_server_times_out(runtime):
    s = Silent()
    try:
        t0 = time.monotonic()
        r = fetch(runtime, "http://127.0.0.1:%d/fw" % s.port, retries=0, timeout_ms=300)
        assert (r["result"], r["reason"]) == (4, "timeout"), r["out"]
        assert time.monotonic() - t0 < 5
    finally:
        s.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_head_refusal_writes_nothing(nginx, runtime):
    r = fetch(runtime, nginx.url("fw.bin"), maxsize=SIZE - 1)
    assert (r["result"], r["bytes"], r["restart"]) == (2, 0, 0), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("bufsize", [256, 4096])
def test_chunked(pyhttp, image, runtime, bufsize):
    r = fetch(runtime, pyhttp.url("chunked"), bufsize=bufsize)
    assert (r["result"], r["sha"]) == (0, sha(image)), r["out"]
    assert r["head"][0] is None and r["size"] == SIZE  # no length up front, known at the end


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_chunked_resume(pyhttp, image, runtime, tmp_path):
    out = tmp_path / "slot.bin"
    a = fetch(runtime, pyhttp.url("chunked"), out=out, stop=100000, bufsize=512)
    b = fetch(runtime, pyhttp.url("chunked"), out=out, offset=a["offset"], etag=a["etag"], bufsize=512)
    assert b["result"] == 0 and sha(out.read_bytes()) == sha(image), b["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_body_until_close(pyhttp, image, runtime):
    r = fetch(runtime, pyhttp.url("close"))
    assert (r["result"], r["sha"]) == (0, sha(image)), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_redirects(pyhttp, image, runtime):
    r = fetch(runtime, pyhttp.url("redirect"))
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(image), 2), r["out"]
    r = fetch(runtime, pyhttp.url("redirect-abs"))
    assert (r["result"], r["sha"]) == (0, sha(image)), r["out"]
    r = fetch(runtime, pyhttp.url("loop"), redirects=3)
    assert (r["result"], r["attempts"], r["reason"]) == (4, 4, "too many redirects"), r["out"]
    r = fetch(runtime, pyhttp.url("https"))
    assert r["result"] == 9, r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_mid_body_disconnect_resumes_with_range(pyhttp, image, runtime):
    r = fetch(runtime, pyhttp.url("drop"), **FAST)
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(image), 2), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_server_errors_retry_then_4(pyhttp, runtime):
    r = fetch(runtime, pyhttp.url("boom"), **FAST)
    assert (r["result"], r["attempts"], r["reason"]) == (4, 2, "http 503"), r["out"]


def test_start_contract():
    # In-process (CPython): what start() refuses at once, and the protocol list.
    from coap.loop import Loop
    from fota import download
    from fota.const import FotaError

    assert download.protocols() == [0, 2, 4]
    loop = Loop()
    for uri, result in (("https://h/fw", 9), ("coaps://h/fw", 9), ("ftp://h/fw", 9), ("fw.bin", 7),
                        ("http://", 7), ("http://h:99999/fw", 7), ("coap://[::1/fw", 7)):
        with pytest.raises(FotaError) as e:
            download.start(loop, uri, lambda o, d: None)
        assert e.value.result == result, uri
    done = []
    e = download.start(loop, "http://127.0.0.1:%d/x" % free_port(), lambda o, d: None, on_done=done.append,
                       retries=0)
    assert not done  # on_done never runs inside start()
    e.cancel()
    loop.run_until(lambda: False, 200)
    assert e.done and e.error.result == 10 and not done

# fota.download coap+tcp:// engine (RFC 8323) on CPython and MicroPython: libcoap's
# coap-server (it listens on TCP on the same port) with and without BERT, aiocoap's TCP
# transport (stable ETag: resume, ETag change -> restart), 4.04 -> 7, refused -> 4.
import socket
import threading
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


# -- a scripted coap+tcp server (CPython thread): CSM, then one Block2 answer per GET ----
from fota.download.coap_tcp import _put_opt, frame  # noqa: E402

SMALL = bytes((i * 7) & 255 for i in range(3000))  # blocks of 1024: 1024, 1024, 952


def _read(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def _read_frame(c):
    # -> (code, token, {option number: value}) of one RFC 8323 message
    b0 = _read(c, 1)[0]
    ln, tkl = b0 >> 4, b0 & 15
    if ln >= 13:
        e = _read(c, (1, 2, 4)[ln - 13])
        ln = int.from_bytes(e, "big") + (13, 269, 65805)[len(e) // 2]
    code = _read(c, 1)[0]
    tok = _read(c, tkl)
    body = _read(c, ln)
    opts, pos, num = {}, 0, 0
    while pos < len(body) and body[pos] != 0xFF:
        v = [body[pos] >> 4, body[pos] & 15]
        pos += 1
        for i in (0, 1):
            if v[i] == 13:
                v[i] = body[pos] + 13
                pos += 1
            elif v[i] == 14:
                v[i] = int.from_bytes(body[pos : pos + 2], "big") + 269
                pos += 2
        num += v[0]
        opts[num] = body[pos : pos + v[1]]
        pos += v[1]
    return code, tok, opts


class Scripted:
    # answer(n, num) -> (ETag or None, Size2 value bytes) for the n-th GET (from 0), asking
    # for block num; the block's payload is SMALL's
    def __init__(self, answer):
        self.answer = answer
        self.gets = 0
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def url(self):
        return "coap+tcp://127.0.0.1:%d/fw" % self.port

    def _run(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            c.settimeout(10)
            try:
                while True:
                    code, tok, opts = _read_frame(c)
                    if code == 0xE1:
                        c.sendall(frame(0xE1, b"", b""))
                    elif code == 1:
                        v = int.from_bytes(opts.get(23, b""), "big")
                        num, bs = v >> 4, 16 << (v & 7)
                        etag, size2 = self.answer(self.gets, num)
                        self.gets += 1
                        more = (num + 1) * bs < len(SMALL)
                        o, last = bytearray(), 0
                        if etag:
                            last = _put_opt(o, last, 4, etag)
                        b2 = (num << 4) | (8 if more else 0) | (v & 7)
                        last = _put_opt(o, last, 23, b2.to_bytes(2, "big"))
                        _put_opt(o, last, 28, size2)
                        o += b"\xff" + SMALL[num * bs : (num + 1) * bs]
                        c.sendall(bytes(frame(0x45, tok, o)))
            except (EOFError, OSError):
                pass
            c.close()

    def stop(self):
        self.ls.close()


@pytest.fixture
def scripted():
    made = []

    def make(answer):
        made.append(Scripted(answer))
        return made[-1]

    yield make
    for s in made:
        s.stop()


SIZE2 = len(SMALL).to_bytes(2, "big")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_etag_on_some_blocks_only_is_one_version(scripted, runtime):
    # RFC 7959 does not ask for an ETag on every block: only a different one is a change
    for tags in ((b"E1", None, None), (None, b"E1", None)):
        s = scripted(lambda n, num, tags=tags: (tags[n], SIZE2))
        r = fetch(runtime, s.url(), bert=0, retries=0)
        assert (r["result"], r["sha"], r["restart"]) == (0, sha(SMALL), 0), (tags, r["out"])
    s = scripted(lambda n, num: ((b"E1", None, b"E2")[n], SIZE2))
    r = fetch(runtime, s.url(), bert=0, retries=0)
    assert (r["result"], r["restart"], r["reason"]) == (4, 1, "etag changed"), r["out"]
    # a resume: its first answer must show the ETag known (4531 = "E1"), later ones need not
    s = scripted(lambda n, num: ((b"E1", None)[n], SIZE2))
    r = fetch(runtime, s.url(), bert=0, retries=0, offset=1024, etag="4531")
    assert (r["result"], r["sha"]) == (0, sha(SMALL[1024:])), r["out"]
    s = scripted(lambda n, num: (None, SIZE2))
    r = fetch(runtime, s.url(), bert=0, retries=0, offset=1024, etag="4531")
    assert (r["result"], r["restart"], r["bytes"]) == (4, 1, 0), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_malformed_size2_is_the_servers_fault_not_a_full_slot(scripted, runtime):
    s = scripted(lambda n, num: (b"E1", b"\x01\x00\x00\x00\x0b\xb8"))  # 6 bytes: over 2^40
    r = fetch(runtime, s.url(), bert=0, retries=0, maxsize=SIZE)
    assert (r["result"], r["reason"], r["head"]) == (4, "uint option too long", None), r["out"]

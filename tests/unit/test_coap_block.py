# RFC 7959 over loopback on both runtimes: Block2 pull (size negotiation, resume, ETag),
# Block2 serving, Block1 reception (2.31, 4.08, 4.13 + Size1, resent blocks) and push.
import hashlib

from coap.message import Message, decode
from coap.block import Block1Receiver, block_value, split
from coap.transfer import BlockPull, BlockPush
from coap import const as C
from coap.loop import Loop
from coaptest import Raw, endpoint, run

DATA = bytes((i * 131 + (i >> 8)) & 255 for i in range(20000))


class HashSink:
    def __init__(self, max_size=1 << 20):
        self.h = hashlib.sha256()
        self.n = 0
        self.begun = []
        self.ended = 0

    def begin(self, size):
        self.begun.append(size)
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, off, data):
        assert off == self.n, "writes must be in order, exactly once"
        self.h.update(data)
        self.n += len(data)

    def end(self):
        self.ended += 1


def server(loop, data=DATA, max_szx=6, etag=None):
    sink = HashSink()
    rx = Block1Receiver(sink, 50000, max_szx)
    state = {"data": data, "gets": 0}

    def handler(req, peer):
        p = req.path()
        if p == ("fw",):
            state["gets"] += 1
            r = Message(code=C.CONTENT, payload=state["data"])
            if etag:
                r.add(C.ETAG, etag(state))
            return r
        if p == ("up",):
            return rx.handle(req, peer)
        return Message(code=C.NOT_FOUND)

    from coaptest import fast_params

    ep, addr = endpoint(loop, handler, fast_params(max_szx=max_szx))
    return ep, addr, sink, state


def pull(loop, cli, addr, path=("fw",), **kw):
    h = hashlib.sha256()
    seen = []

    def sink(off, data):
        seen.append((off, len(data)))
        h.update(data)

    p = BlockPull(cli, addr, path, sink, **kw).start()
    run(loop, lambda: p.done, 5000)
    return p, h.digest(), seen


def test_pull_whole_resource_in_1024_blocks():
    loop = Loop()
    ep, addr, _, _ = server(loop)
    cli, _ = endpoint(loop)
    p, digest, seen = pull(loop, cli, addr)
    assert p.error is None and digest == hashlib.sha256(DATA).digest()
    assert p.size == len(DATA) and p.etag is not None
    assert seen[0] == (0, 1024) and seen[-1] == (19 * 1024, len(DATA) - 19 * 1024)
    ep.close(); cli.close()


def test_pull_request_buffer_fits_the_longest_uri():
    # the request buffer is sized to the URI (not the MTU): a 255-byte path of multi-byte
    # characters, a host and a query still encode, every block
    loop = Loop()
    ep, addr, _, _ = server(loop)
    cli, _ = endpoint(loop)
    seg = "\u00e9" * 120  # 240 bytes as UTF-8
    p = BlockPull(cli, addr, (seg, "x" * 15), lambda off, d: None, host="h" * 60, query=("k=" + "v" * 40,)).start()
    run(loop, lambda: p.done, 5000)
    assert p.error == "code" and p.code == C.NOT_FOUND  # it reached the server, whole
    ep.close(); cli.close()


def test_pull_follows_server_that_picks_smaller_blocks():
    loop = Loop()
    ep, addr, _, _ = server(loop, max_szx=2)  # server serves at most 64-byte blocks
    cli, _ = endpoint(loop)
    p, digest, seen = pull(loop, cli, addr, szx=6)
    assert p.error is None and digest == hashlib.sha256(DATA).digest()
    assert seen[0] == (0, 64) and p.blocks == (len(DATA) + 63) // 64
    ep.close(); cli.close()


def test_pull_resume_from_offset_with_etag():
    loop = Loop()
    ep, addr, _, _ = server(loop)
    cli, _ = endpoint(loop)
    first, _, _ = pull(loop, cli, addr)
    p, digest, seen = pull(loop, cli, addr, offset=8 * 1024, etag=first.etag)
    assert p.error is None and seen[0] == (8192, 1024)
    assert digest == hashlib.sha256(DATA[8192:]).digest()
    ep.close(); cli.close()


def test_resume_with_stale_etag_fails():
    loop = Loop()
    ep, addr, _, _ = server(loop)
    cli, _ = endpoint(loop)
    p, _, seen = pull(loop, cli, addr, offset=1024, etag=b"old")
    assert p.error == "etag" and seen == []
    ep.close(); cli.close()


def test_etag_change_mid_transfer_fails():
    loop = Loop()
    # the ETag flips after the 5th GET: blocks of two versions must never be stitched
    ep, addr, _, state = server(loop, etag=lambda st: b"v1" if st["gets"] <= 5 else b"v2")
    cli, _ = endpoint(loop)
    p, _, seen = pull(loop, cli, addr)
    assert p.error == "etag" and len(seen) == 5
    ep.close(); cli.close()


def test_pull_404_reports_code():
    loop = Loop()
    ep, addr, _, _ = server(loop)
    cli, _ = endpoint(loop)
    p, _, seen = pull(loop, cli, addr, path=("nope",))
    assert p.error == "code" and p.code == C.NOT_FOUND and seen == []
    ep.close(); cli.close()


def test_on_head_can_refuse_before_any_write():
    loop = Loop()
    ep, addr, _, _ = server(loop)
    cli, _ = endpoint(loop)

    def head(size, etag):
        if size > 1000:
            raise ValueError("too big for the slot")

    p, _, seen = pull(loop, cli, addr, on_head=head)
    assert p.error == "sink" and seen == [] and isinstance(p.sink_error, ValueError)
    ep.close(); cli.close()


def test_block2_server_slices_and_rejects_past_end():
    loop = Loop()
    ep, addr, _, _ = server(loop)
    raw = Raw(loop)
    raw.send(Message(C.CON, C.GET, 1, b"a").add(C.URI_PATH, "fw").add(C.BLOCK2, block_value(3, 0, 4)).encode(), addr)
    r = decode(raw.wait()[0])
    assert split(r.opt_uint(C.BLOCK2)) == (3, 1, 4) and bytes(r.payload) == DATA[768:1024]
    assert not r.has(C.SIZE2)
    raw.send(Message(C.CON, C.GET, 2, b"b").add(C.URI_PATH, "fw").add(C.BLOCK2, block_value(999, 0, 6)).encode(), addr)
    assert decode(raw.wait(2)[1]).code == C.BAD_OPTION
    raw.close(); ep.close()


def _put(raw, addr, mid, num, more, szx, payload, size1=None):
    m = Message(C.CON, C.PUT, mid, b"\x01", payload).add(C.URI_PATH, "up")
    m.add(C.BLOCK1, block_value(num, more, szx))
    if size1 is not None:
        m.add(C.SIZE1, size1)
    raw.send(m.encode(), addr)
    return decode(raw.wait(len(raw.got) + 1)[-1])


def test_block1_receiver_continue_gap_resend_and_final():
    loop = Loop()
    ep, addr, sink, _ = server(loop)
    raw = Raw(loop)
    r = _put(raw, addr, 1, 0, 1, 4, DATA[0:256], 600)
    assert r.code == C.CONTINUE and split(r.opt_uint(C.BLOCK1)) == (0, 1, 4)
    assert sink.begun == [600]
    r = _put(raw, addr, 2, 2, 1, 4, DATA[512:768])  # block 1 missing
    assert r.code == C.REQUEST_ENTITY_INCOMPLETE
    r = _put(raw, addr, 3, 1, 1, 4, DATA[256:512])
    assert r.code == C.CONTINUE
    r = _put(raw, addr, 4, 1, 1, 4, DATA[256:512])  # resent with a new MID
    assert r.code == C.CONTINUE and sink.n == 512, "acknowledged again, not written twice"
    r = _put(raw, addr, 5, 2, 0, 4, DATA[512:600])
    assert r.code == C.CHANGED and split(r.opt_uint(C.BLOCK1)) == (2, 0, 4)
    assert sink.n == 600 and sink.ended == 1 and sink.h.digest() == hashlib.sha256(DATA[:600]).digest()
    r = _put(raw, addr, 6, 3, 1, 4, DATA[:256])  # NUM>0 with no transfer in progress
    assert r.code == C.REQUEST_ENTITY_INCOMPLETE
    raw.close(); ep.close()


def test_block1_too_large_gets_413_with_size1():
    loop = Loop()
    ep, addr, sink, _ = server(loop)
    raw = Raw(loop)
    r = _put(raw, addr, 1, 0, 1, 6, DATA[:1024], 60000)
    assert r.code == C.REQUEST_ENTITY_TOO_LARGE and r.opt_uint(C.SIZE1) == 50000
    assert sink.begun == []
    raw.close(); ep.close()


def test_block1_short_non_final_block_is_400():
    loop = Loop()
    ep, addr, sink, _ = server(loop)
    raw = Raw(loop)
    r = _put(raw, addr, 1, 0, 1, 6, DATA[:1000])
    assert r.code == C.BAD_REQUEST
    raw.close(); ep.close()


def test_block1_option_over_3_bytes_is_402():
    # RFC 7959 2.2: the value is 0-3 bytes (a block number below 2^20)
    loop = Loop()
    ep, addr, sink, _ = server(loop)
    raw = Raw(loop)
    r = _put(raw, addr, 1, 1 << 20, 1, 4, DATA[:256])
    assert r.code == C.BAD_OPTION and sink.begun == []
    r = _put(raw, addr, 2, (1 << 20) - 1, 1, 4, DATA[:256])  # the largest 3-byte value: a gap
    assert r.code == C.REQUEST_ENTITY_INCOMPLETE
    raw.close(); ep.close()


def test_push_negotiates_smaller_blocks():
    loop = Loop()
    ep, addr, sink, _ = server(loop, max_szx=3)  # receiver wants 128-byte blocks
    cli, _ = endpoint(loop)
    data = DATA[:5000]
    p = BlockPush(cli, addr, ("up",), lambda off, n: data[off : off + n], len(data)).start()
    run(loop, lambda: p.done)
    assert p.error is None and p.code == C.CHANGED and p.szx == 3
    assert sink.h.digest() == hashlib.sha256(data).digest()
    ep.close(); cli.close()


def test_push_too_large_fails_with_code():
    loop = Loop()
    ep, addr, sink, _ = server(loop)
    cli, _ = endpoint(loop)
    p = BlockPush(cli, addr, ("up",), lambda off, n: bytes(n), 60000).start()
    run(loop, lambda: p.done)
    assert p.error == "code" and p.code == C.REQUEST_ENTITY_TOO_LARGE
    ep.close(); cli.close()


def test_failure_inside_the_response_path_ends_the_pull():
    # a MemoryError (or any bug) while handling a block must finish the transfer with an
    # error, never leave it waiting with nothing in flight
    loop = Loop()
    ep, addr, _, _ = server(loop)
    cli, _ = endpoint(loop)
    p = BlockPull(cli, addr, ("fw",), lambda off, d: None).start()

    def no_memory(num):
        raise MemoryError("memory allocation failed")

    p._request = no_memory  # asking for the next block fails, as an allocation would
    run(loop, lambda: p.done, 3000)
    assert p.error == "sink" and isinstance(p.sink_error, MemoryError) and p.blocks == 1
    ep.close(); cli.close()

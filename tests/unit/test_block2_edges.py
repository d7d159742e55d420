# Block2 pull against a scripted server on both runtimes: a repeated answer to an earlier
# block (RFC 7252 4.5, 5.3.1), ETags on some blocks only (RFC 7959), a malformed Size2.
from coap.message import Message, decode
from coap.block import block_value, split
from coap.transfer import BlockPull
from coap import const as C
from coap.loop import Loop
from port.net import resolve
from fota import download
from fota.const import RESULT_CONNECTION_LOST
from coaptest import Raw, endpoint

DATA = bytes((i * 7) & 255 for i in range(160))  # blocks of 64: 64, 64, 32


def _answer(req, etag=b"E1", typ=C.ACK, mid=None, num=None, size2=None, b2=None):
    # the block the request asks for, piggybacked unless typ/mid say otherwise
    if num is None:
        num = split(req.opt_uint(C.BLOCK2))[0]
    m = Message(typ, C.CONTENT, req.mid if mid is None else mid, req.token, DATA[num * 64 : num * 64 + 64])
    if etag:
        m.add(C.ETAG, etag)
    m.add(C.BLOCK2, block_value(num, (num + 1) * 64 < len(DATA), 2) if b2 is None else b2)
    if size2 is not None:
        m.add(C.SIZE2, size2)
    return m.encode()


def _serve(raw, loop, script, done):
    # feed every request to script(req, gets) -> datagrams to send back, until done()
    reqs = []
    n = 0
    while not done() and loop.run_until(lambda: done() or len(raw.got) > n, 2000):
        while len(raw.got) > n:
            m = decode(raw.got[n])
            n += 1
            if m.code == C.GET:
                reqs.append(m)
                for d in script(m, reqs) or ():
                    raw.reply(d)
    return reqs


def _pull(script, token=None, **kw):
    loop = Loop()
    raw = Raw(loop)
    cli, _ = endpoint(loop)
    got = bytearray()
    base = kw.get("offset", 0)

    def sink(off, d):
        assert off == base + len(got), "in order, once"
        got.extend(d)

    p = BlockPull(cli, resolve("127.0.0.1", raw.port), ("fw",), sink, szx=2, **kw)
    if token:
        p.ex.token[:] = p.ex.buf[4:8] = token  # the first request's token, 4 bytes
    p.start()
    reqs = _serve(raw, loop, script, lambda: p.done)
    sent = raw.got
    raw.close()
    cli.close()
    return p, bytes(got), reqs, sent


def test_repeated_answer_to_the_previous_block_is_not_taken_for_the_next():
    # the server answers block 0 twice (it processed two copies of the request, RFC 7252
    # 4.5); the second copy arrives, as a separate CON response, while block 1 is asked for
    def script(req, reqs):
        if len(reqs) == 2:
            return [_answer(reqs[0], typ=C.CON, mid=999), _answer(req)]
        return [_answer(req)]

    p, got, reqs, heard = _pull(script)
    assert p.error is None and got == DATA and len(reqs) == 3
    assert len(set(bytes(r.token) for r in reqs)) == 3, "one token per block"
    rst = [d for d in heard if d[0] >> 4 & 3 == C.RST and d[2] << 8 | d[3] == 999]
    assert len(rst) == 1, "the stale answer matches no request: rejected with RST"


def test_next_block_token_counts_up_with_carry():
    p, got, reqs, _ = _pull(lambda req, reqs: [_answer(req)], token=b"\x01\x02\xff\xff")
    assert p.error is None and got == DATA
    assert [bytes(r.token) for r in reqs] == [b"\x01\x02\xff\xff", b"\x01\x03\x00\x00", b"\x01\x03\x00\x01"]


def test_etag_on_some_blocks_only_is_one_version():
    for tags in ((b"E1", None, None), (None, b"E1", b"E1"), (None, None, b"E1"), (b"E1", None, b"E1")):
        p, got, reqs, _ = _pull(lambda req, reqs: [_answer(req, etag=tags[len(reqs) - 1])])
        assert (p.error, got, p.etag) == (None, DATA, b"E1"), tags
    # a resume: its first answer shows the ETag given, a later block without one is taken
    p, got, _, _ = _pull(lambda req, reqs: [_answer(req, etag=b"E1" if len(reqs) == 1 else None)],
                         offset=64, etag=b"E1")
    assert (p.error, got) == (None, DATA[64:])


def test_a_different_etag_still_ends_the_pull():
    for tags in ((b"E1", b"E2"), (b"E1", None, b"E2"), (None, b"E1", b"E2")):
        p, got, reqs, _ = _pull(lambda req, reqs: [_answer(req, etag=tags[len(reqs) - 1])])
        assert p.error == "etag" and len(got) == 64 * (len(tags) - 1), tags
    # a resume whose first answer has another ETag, or none (nothing proves the bytes the
    # sink has are of this version)
    for tag in (b"E2", None):
        p, got, _, _ = _pull(lambda req, reqs: [_answer(req, etag=tag)], offset=64, etag=b"E1")
        assert (p.error, got) == ("etag", b""), tag


def test_malformed_size2_or_block2_is_a_protocol_error_not_a_sink_failure():
    for kw in ({"size2": b"\x00\x00\x00\x00\x00\xa0"}, {"b2": b"\x00\x00\x00\x00\x0a"}):
        p, got, _, _ = _pull(lambda req, reqs: [_answer(req, **kw)])
        assert (p.error, p.sink_error, got) == ("protocol", None, b""), kw


def test_engine_maps_a_malformed_size2_to_result_4():
    loop, seen = Loop(), []
    raw = Raw(loop)
    e = download.start(loop, "coap://127.0.0.1:%d/fw" % raw.port, lambda off, d: None, 0, None,
                       on_done=seen.append, ack_ms=100, max_retransmit=1, retries=0, block_retries=0)
    _serve(raw, loop, lambda req, reqs: [_answer(req, size2=b"\x00\x00\x00\x00\x00\xa0")], lambda: seen)
    loop.run_until(lambda: seen, 2000)
    raw.close()
    assert seen == [e] and e.error.result == RESULT_CONNECTION_LOST, e.error

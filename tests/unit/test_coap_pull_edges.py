# fota.download's coap:// engine at edges of RFC 7959 a server may take it to: a resume
# inside a block answered with smaller blocks than asked for, a last block short of the size
# the server announced, an IPv6 literal. On loopback; both runtimes.
from coap import const as C
from coap.endpoint import Endpoint
from coap.loop import Loop
from coap.message import Message, block_value, decode, split
from coaptest import Raw, bind_free, fast_params
from fota import download
from fota.const import RESULT_CONNECTION_LOST

DATA = bytes((i * 13 + 5) & 0xFF for i in range(4000))


def _fetch(loop, uri, offset=0):
    # -> (engine, the sink's calls) once the engine reported
    seen, got = [], []
    e = download.start(loop, uri, lambda off, d: got.append((off, bytes(d))), offset, None, on_done=seen.append,
                       ack_ms=2000)
    assert loop.run_until(lambda: seen, 5000), "no end"
    return e, got


def _file_server(host="127.0.0.1", **params):
    # our endpoint serving DATA, sliced by its Block2 server (coap.block)
    loop = Loop()
    sock, port = bind_free(host)
    srv = Endpoint(loop, sock, lambda req, peer: Message(code=C.CONTENT, payload=DATA), fast_params(**params))
    return loop, srv, port


def _joined(got, start):
    # the sink's calls, checked contiguous from `start`
    out = bytearray()
    for off, d in got:
        assert off == start + len(out), (off, start + len(out))
        out.extend(d)
    return bytes(out)


def test_resume_inside_a_block_from_a_server_that_answers_with_smaller_blocks():
    # asked from 1500 (the 1 KiB block at 1024), answered in 256-byte blocks (RFC 7959 2.4:
    # a server may pick a smaller size): the bytes before 1500 are dropped from every block
    # that holds them, not only from the first
    loop, srv, port = _file_server(max_szx=4)
    e, got = _fetch(loop, "coap://127.0.0.1:%d/fw" % port, 1500)
    srv.close()
    assert e.error is None, e.error
    assert _joined(got, 1500) == DATA[1500:] and e.offset == len(DATA)


def test_an_ipv6_literal_is_pulled_over_ipv6():
    loop, srv, port = _file_server("::1")
    e, got = _fetch(loop, "coap://[::1]:%d/fw" % port)
    srv.close()
    assert e.error is None and _joined(got, 0) == DATA, e.error


def test_a_last_block_short_of_the_announced_size_is_not_a_whole_image():
    # Size2 says 4000, the server says "last" at 2048: Result 4, never a finished download
    loop = Loop()
    raw = Raw(loop)
    seen = []
    e = download.start(loop, "coap://127.0.0.1:%d/fw" % raw.port, lambda off, d: None, on_done=seen.append,
                       ack_ms=2000)
    for num in (0, 1):
        raw.wait(num + 1, 2000)
        r = decode(raw.got[num])
        assert split(r.opt_uint(C.BLOCK2))[0] == num
        m = Message(C.ACK, C.CONTENT, r.mid, r.token, DATA[num * 1024 : (num + 1) * 1024])
        raw.reply(m.add(C.BLOCK2, block_value(num, 1 - num, 6)).add(C.SIZE2, len(DATA)).encode())
    assert loop.run_until(lambda: seen, 2000)
    raw.close()
    assert e.error is not None and e.error.result == RESULT_CONNECTION_LOST, e.error
    assert "2048 of 4000" in e.error.reason, e.error.reason


def test_a_resume_at_the_end_of_a_file_of_whole_blocks_finishes():
    # every byte reached the sink before a reset and the size was never learned: the block
    # asked for is past the end (4.02, RFC 7959 2.4), so the engine asks for the one before,
    # whose last-block bit ends the download with nothing more written (it was Result 4)
    global DATA
    whole, DATA = DATA, DATA[:4096]
    try:
        loop, srv, port = _file_server()
        e, got = _fetch(loop, "coap://127.0.0.1:%d/fw" % port, 4096)
        srv.close()
    finally:
        DATA = whole
    assert e.error is None, e.error
    assert got == [] and e.offset == 4096 and e.size == 4096

# Endpoint behaviour over real loopback sockets: pings, RST, dedup replay, separate
# responses, retransmission, NSTART, bad input. Runs on both runtimes.
from coap.message import Message, decode
from coap import const as C
from coaptest import Raw, Starved, bind_free, endpoint, fast_params, run
from coap.loop import Loop


def h(s):
    return bytes.fromhex(s.replace(" ", ""))


def counting_server(loop, **kw):
    calls = []

    def handler(req, peer):
        calls.append((req.code, req.path(), bytes(req.payload)))
        if req.path() == ("boom",):
            raise RuntimeError("handler bug")
        if req.path() == ("full",):
            raise MemoryError("memory allocation failed, allocating 1024 bytes")
        if req.path() == ("later",):
            return None
        return Message(code=C.CHANGED if req.code == C.POST else C.CONTENT, payload=b"ok")

    ep, addr = endpoint(loop, handler, fast_params(**kw))
    return ep, addr, calls


def test_ping_gets_rst():
    loop = Loop()
    ep, addr, calls = counting_server(loop)
    raw = Raw(loop)
    raw.send(h("40 00 12 34"), addr)
    got = raw.wait()
    assert got[0] == h("70 00 12 34") and calls == []
    raw.close(); ep.close()


def test_piggybacked_response_and_dedup_replay():
    loop = Loop()
    ep, addr, calls = counting_server(loop)
    raw = Raw(loop)
    req = Message(C.CON, C.POST, 0x0101, b"\x09", b"x").add(C.URI_PATH, "exec").encode()
    raw.send(req, addr)
    raw.wait(1)
    raw.send(req, addr)  # a retransmission: same MID
    raw.wait(2)
    assert len(calls) == 1, "a duplicate CON must not execute twice"
    assert raw.got[0] == raw.got[1]
    r = decode(raw.got[0])
    assert (r.type, r.code, r.mid, r.token) == (C.ACK, C.CHANGED, 0x0101, b"\x09")
    assert ep.stats["dups"] == 1
    raw.close(); ep.close()


def test_non_request_gets_non_response():
    loop = Loop()
    ep, addr, calls = counting_server(loop)
    raw = Raw(loop)
    raw.send(Message(C.NON, C.GET, 0x2222, b"\x01\x02").add(C.URI_PATH, "a").encode(), addr)
    r = decode(raw.wait()[0])
    assert r.type == C.NON and r.code == C.CONTENT and r.token == b"\x01\x02"
    raw.close(); ep.close()


def test_unknown_critical_option_is_402():
    loop = Loop()
    ep, addr, calls = counting_server(loop)
    raw = Raw(loop)
    raw.send(Message(C.CON, C.GET, 5, b"t").add(C.URI_PATH, "a").add(2049, b"z").encode(), addr)
    r = decode(raw.wait()[0])
    assert r.code == C.BAD_OPTION and calls == []
    raw.close(); ep.close()


def test_malformed_con_gets_rst_and_non_is_dropped():
    loop = Loop()
    ep, addr, calls = counting_server(loop)
    raw = Raw(loop)
    raw.send(h("40 01 00 07 ff"), addr)  # CON, payload marker without payload
    assert raw.wait()[0] == h("70 00 00 07")
    raw.send(h("50 01 00 08 ff"), addr)  # the same as NON: silently dropped
    raw.send(h("40 00 00 09"), addr)  # then a ping proves the endpoint is alive
    raw.wait(2)
    assert raw.got[1] == h("70 00 00 09") and calls == []
    assert ep.stats["malformed"] == 2
    raw.close(); ep.close()


def _failing_handler_then_a_fine_request(path):
    # -> (response codes sorted, the endpoint's stats, handler calls): the loop survives
    loop = Loop()
    ep, addr, calls = counting_server(loop)
    raw = Raw(loop)
    raw.send(Message(C.CON, C.PUT, 1, b"a").add(C.URI_PATH, path).encode(), addr)
    raw.send(Message(C.CON, C.GET, 2, b"b").add(C.URI_PATH, "fine").encode(), addr)
    raw.wait(2)
    raw.close(); ep.close()
    return sorted(decode(g).code for g in raw.got), ep.stats, calls


def test_handler_exception_is_500_and_loop_survives():
    codes, stats, _ = _failing_handler_then_a_fine_request("boom")
    assert codes == [C.CONTENT, C.INTERNAL_SERVER_ERROR] and stats["nomem"] == 0


def test_handler_without_heap_is_503_and_counted_as_nomem():
    # the request was fine, the heap was not: 5.03 (not the 5.00 of a bug), and counted with
    # the datagrams that found no heap, which is how a push that stops learns why
    codes, stats, calls = _failing_handler_then_a_fine_request("full")
    assert codes == [C.CONTENT, C.SERVICE_UNAVAILABLE]
    assert stats["nomem"] == 1 and len(calls) == 2


def test_separate_response():
    loop = Loop()
    ep, addr, calls = counting_server(loop)
    cli, _ = endpoint(loop)
    got = []
    req = Message(code=C.GET).add(C.URI_PATH, "later")
    cli.request(addr, req, lambda ex, m: got.append((m.type, m.code, bytes(m.payload))))
    run(loop, lambda: len(calls) == 1)
    loop.run_until(lambda: False, 100)  # the empty ACK arrives; no response yet
    assert got == []
    cli_peer = None
    for s in ep._dedup:
        if s[0] is not None:
            cli_peer = s[0]
    ep.respond(cli_peer, req.token, Message(code=C.CONTENT, payload=b"done"))
    run(loop, lambda: got)
    assert got == [(C.CON, C.CONTENT, b"done")]
    run(loop, lambda: not ep._inflight)  # our CON response was acknowledged
    ep.close(); cli.close()


def test_retransmission_then_success():
    loop = Loop()
    raw = Raw(loop)
    cli, _ = endpoint(loop, params=fast_params(ack_timeout=40))
    from port.net import resolve
    peer = resolve("127.0.0.1", raw.port)
    got = []
    cli.request(peer, Message(code=C.GET).add(C.URI_PATH, "x"), lambda ex, m: got.append(m and m.code))
    raw.wait(3, 2000)  # first send + two retransmissions, never answered so far
    first = raw.got[0]
    assert raw.got[1] == first and raw.got[2] == first, "retransmit the identical datagram"
    r = decode(first)
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token, b"x").encode())
    run(loop, lambda: got)
    assert got == [C.CONTENT] and cli.stats["retransmits"] >= 2
    raw.close(); cli.close()


def test_gives_up_after_max_retransmit():
    loop = Loop()
    raw = Raw(loop)
    cli, _ = endpoint(loop, params=fast_params(ack_timeout=20, max_retransmit=2))
    from port.net import resolve
    peer = resolve("127.0.0.1", raw.port)
    got = []
    cli.request(peer, Message(code=C.GET), lambda ex, m: got.append((m, ex.error)))
    run(loop, lambda: got, 3000)
    assert got == [(None, "timeout")]
    assert len(raw.wait(3)) == 3, "1 + MAX_RETRANSMIT sends"
    raw.close(); cli.close()


def test_nstart_one_queues_second_request():
    loop = Loop()
    raw = Raw(loop)
    cli, _ = endpoint(loop, params=fast_params(ack_timeout=5000))
    from port.net import resolve
    peer = resolve("127.0.0.1", raw.port)
    got = []
    cli.request(peer, Message(code=C.GET).add(C.URI_PATH, "a"), lambda ex, m: got.append("a"))
    cli.request(peer, Message(code=C.GET).add(C.URI_PATH, "b"), lambda ex, m: got.append("b"))
    raw.wait(1)
    loop.run_until(lambda: False, 100)
    assert len(raw.got) == 1, "second CON must wait for the first (NSTART=1)"
    r = decode(raw.got[0])
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token).encode())
    raw.wait(2)
    r2 = decode(raw.got[1])
    assert r2.path() == ("b",)
    raw.reply(Message(C.ACK, C.CONTENT, r2.mid, r2.token).encode())
    run(loop, lambda: len(got) == 2)
    assert got == ["a", "b"]
    raw.close(); cli.close()


def test_rst_fails_exchange_and_unexpected_response_gets_rst():
    loop = Loop()
    raw = Raw(loop)
    cli, _ = endpoint(loop)
    from port.net import resolve
    peer = resolve("127.0.0.1", raw.port)
    got = []
    cli.request(peer, Message(code=C.GET), lambda ex, m: got.append(ex.error))
    r = decode(raw.wait()[0])
    raw.reply(bytes((0x70, 0, r.mid >> 8, r.mid & 255)))
    run(loop, lambda: got)
    assert got == ["reset"]
    # a CON response matching no request is rejected with RST
    raw.reply(Message(C.CON, C.CONTENT, 0x4444, b"zz").encode())
    assert raw.wait(2)[1] == h("70 00 44 44")
    raw.close(); cli.close()


def test_connected_peer_that_is_not_listening_fails_fast_as_reset():
    # ICMP port unreachable comes back as ECONNREFUSED on the next receive of a connected
    # socket: the exchange ends as "reset" at once, not after ~90 s of retransmissions, and
    # the loop is not left with a failing callback
    loop = Loop()
    gone, port = bind_free()
    gone.close()  # nothing listens on port now
    cli, _ = endpoint(loop, params=fast_params(ack_timeout=5000, max_retransmit=4))
    from port.net import resolve
    from port import ticks_ms, ticks_diff
    peer = resolve("127.0.0.1", port)
    cli.connect(peer)
    got = []
    t = ticks_ms()
    cli.request(peer, Message(code=C.GET), lambda ex, m: got.append((m, ex.error)))
    run(loop, lambda: got, 2000)
    assert got == [(None, "reset")]
    assert ticks_diff(ticks_ms(), t) < 2000 and cli.stats["retransmits"] == 0
    cli.close()


def test_mids_advance_and_tokens_random():
    loop = Loop()
    cli, _ = endpoint(loop)
    a = cli.next_mid()
    b = cli.next_mid()
    assert b == (a + 1) & 0xFFFF
    assert cli.new_token() != cli.new_token()
    cli.close()


def test_non_utf8_path_is_400():
    loop = Loop()
    ep, addr, calls = counting_server(loop)
    raw = Raw(loop)
    raw.send(Message(C.CON, C.GET, 3, b"q").add(C.URI_PATH, b"\xff\xfe").encode(), addr)
    r = decode(raw.wait()[0])
    assert r.code == C.BAD_REQUEST and calls == []
    raw.close(); ep.close()


def test_datagram_without_room_is_dropped_and_the_retransmission_gets_through():
    # not a busy loop failing on the same datagram at every wake-up: it is read away, the
    # request goes out again, and the answer to that gets in
    from coap.endpoint import Endpoint
    from port.net import resolve

    loop = Loop()
    raw = Raw(loop)
    sock, _ = bind_free()
    starved = Starved(sock, fail=1)
    cli = Endpoint(loop, starved, None, fast_params(ack_timeout=100, max_retransmit=4))
    got = []
    cli.request(resolve("127.0.0.1", raw.port), Message(code=C.GET).add(C.URI_PATH, "x"),
                lambda ex, m: got.append(m and bytes(m.payload)))
    raw.wait(1)
    r = decode(raw.got[0])
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token, b"first").encode())
    raw.wait(2, 2000)  # the answer was lost to memory: the client asks again
    assert raw.got[1] == raw.got[0]
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token, b"again").encode())
    run(loop, lambda: got)
    assert got == [b"again"] and cli.stats["nomem"] == 1
    assert starved.calls < 10, "spun on the datagram it had no room for"
    raw.close(); cli.close()


def test_answer_for_another_token_is_asked_again_under_a_new_mid():
    # A server's duplicate cache replays, for this MID, the answer it gave an earlier life
    # of this device at the same address (reboot behind one address, random MID restart):
    # not retransmitted into the same replay until the exchange times out, but sent again
    # at once under a new MID; the real answer to that completes it
    loop = Loop()
    raw = Raw(loop)
    cli, _ = endpoint(loop, params=fast_params(ack_timeout=10000))
    from port.net import resolve
    got = []
    cli.request(resolve("127.0.0.1", raw.port), Message(code=C.GET).add(C.URI_PATH, "fw"),
                lambda ex, m: got.append(m and bytes(m.payload)))
    raw.wait(1)
    r = decode(raw.got[0])
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, b"\x01\x02\x03\x04", b"stale").encode())
    raw.wait(2, 1000)  # long before the first retransmission (10 s) is due
    assert len(raw.got) == 2, "waited for the retransmission timer"
    again = decode(raw.got[1])
    assert again.mid != r.mid and again.token == r.token and again.path() == ("fw",)
    raw.reply(Message(C.ACK, C.CONTENT, again.mid, again.token, b"fresh").encode())
    run(loop, lambda: got)
    assert got == [b"fresh"] and cli.stats["renewed"] == 1
    raw.close(); cli.close()


def test_a_peer_that_keeps_answering_other_tokens_cannot_hold_the_exchange():
    loop = Loop()
    raw = Raw(loop)
    cli, _ = endpoint(loop, params=fast_params(ack_timeout=10000, max_retransmit=3))
    from port.net import resolve
    got = []
    cli.request(resolve("127.0.0.1", raw.port), Message(code=C.GET), lambda ex, m: got.append(ex.error))
    for i in range(6):
        raw.wait(i + 1, 1000)
        if len(raw.got) <= i:
            break
        r = decode(raw.got[i])
        raw.reply(Message(C.ACK, C.CONTENT, r.mid, b"\xee" * 4, b"x").encode())
    loop.run_until(lambda: False, 200)
    assert len(raw.got) == 4, "1 + MAX_RETRANSMIT sends at most"
    assert cli.stats["renewed"] == 3 and got == []  # the timeout, not the peer, ends it
    raw.close(); cli.close()


def test_datagram_over_the_receive_size_is_dropped_never_decoded_truncated():
    # an endpoint that knows what it will get (a download asking for blocks of one size)
    # receives no more than rx_size; a longer datagram would be cut short by the socket, so
    # it is dropped whole (counted malformed) and the retransmitted request gets a fitting one
    from coap.endpoint import Endpoint
    from port.net import resolve

    loop = Loop()
    raw = Raw(loop)
    sock, _ = bind_free()
    cli = Endpoint(loop, sock, None, fast_params(ack_timeout=100, max_retransmit=4))
    cli.rx_size = 64
    got = []
    cli.request(resolve("127.0.0.1", raw.port), Message(code=C.GET).add(C.URI_PATH, "x"),
                lambda ex, m: got.append(m and bytes(m.payload)))
    raw.wait(1)
    r = decode(raw.got[0])
    room = 64 - 5 - len(r.token)  # header, token, payload marker: the rest is payload
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token, b"x" * (room + 1)).encode())
    raw.wait(2, 2000)  # one byte too long: dropped, the client asks again
    assert raw.got[1] == raw.got[0] and not got
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token, b"y" * room).encode())  # exactly 64
    run(loop, lambda: got)
    assert got == [b"y" * room] and cli.stats["malformed"] == 1
    raw.close(); cli.close()


def test_an_oversize_late_answer_to_another_token_leaves_the_exchange_waiting():
    # A download that went down to smaller blocks gets a late answer to its earlier, larger
    # block (another token): dropped, not the end of the block now asked for. An oversize
    # answer that carries this exchange's token ends it with "oversize" (asking again on the
    # connected socket gets the same).
    from coap.endpoint import Endpoint
    from port.net import resolve

    loop = Loop()
    raw = Raw(loop)
    sock, _ = bind_free()
    cli = Endpoint(loop, sock, None, fast_params(ack_timeout=5000))
    peer = resolve("127.0.0.1", raw.port)
    cli.connect(peer)
    cli.rx_size = 64
    got = []
    cb = lambda ex, m: got.append(m and bytes(m.payload) or ex.error)
    cli.request(peer, Message(code=C.GET).add(C.URI_PATH, "x"), cb)
    raw.wait(1)
    r = decode(raw.got[0])
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, b"\x05" * 4, b"z" * 80).encode())  # not ours
    loop.run_until(lambda: got, 200)
    assert got == [] and cli.stats["malformed"] == 1
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token, b"y").encode())
    run(loop, lambda: got)
    assert got == [b"y"]
    cli.request(peer, Message(code=C.GET).add(C.URI_PATH, "x"), cb)
    raw.wait(2)
    r = decode(raw.got[1])
    raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token, b"z" * 80).encode())
    run(loop, lambda: len(got) == 2)
    assert got[1] == "oversize" and cli.stats["malformed"] == 2
    raw.close(); cli.close()

# RFC 7641 server side over loopback on both runtimes.
from coap.message import Message, decode
from coap.observe import Observers
from coap import const as C
from coap.loop import Loop
from coaptest import Raw, endpoint, run


def observed_server(loop, value):
    obs = []

    def handler(req, peer):
        r = Message(code=C.CONTENT, payload=value[0])
        seq = obs[0].register(req, peer, req.path())
        if seq is not None:
            r.add(C.OBSERVE, seq)
        return r

    ep, addr = endpoint(loop, handler)
    obs.append(Observers(ep, max_observers=2))
    return ep, addr, obs[0]


def get(raw, addr, mid, token, observe=None, path="t"):
    m = Message(C.CON, C.GET, mid, token).add(C.URI_PATH, path)
    if observe is not None:
        m.add(C.OBSERVE, observe)
    raw.send(m.encode(), addr)
    return decode(raw.wait(len(raw.got) + 1)[-1])


def notify_all(obs, key, payload, con=False):
    for o in obs.of(key):
        obs.notify(o, Message(code=C.CONTENT, payload=payload), con)


def test_register_notify_and_sequence_grows():
    loop = Loop()
    value = [b"1"]
    ep, addr, obs = observed_server(loop, value)
    raw = Raw(loop)
    r = get(raw, addr, 1, b"ob", 0)
    s0 = r.opt_uint(C.OBSERVE)
    assert r.code == C.CONTENT and s0 is not None and obs.observing(("t",))
    notify_all(obs, ("t",), b"2")
    n = decode(raw.wait(2)[1])
    assert n.type == C.NON and n.token == b"ob" and bytes(n.payload) == b"2"
    assert n.opt_uint(C.OBSERVE) == (s0 + 1) & 0xFFFFFF
    raw.close(); ep.close()


def test_con_notification_acked_keeps_observer_rst_cancels():
    loop = Loop()
    ep, addr, obs = observed_server(loop, [b"x"])
    raw = Raw(loop)
    get(raw, addr, 1, b"ob", 0)
    notify_all(obs, ("t",), b"y", con=True)
    n = decode(raw.wait(2)[1])
    assert n.type == C.CON
    raw.reply(bytes((0x60, 0, n.mid >> 8, n.mid & 255)))  # ACK
    run(loop, lambda: not ep._inflight)
    assert obs.observing(("t",))
    notify_all(obs, ("t",), b"z")
    n = decode(raw.wait(3)[2])
    raw.reply(bytes((0x70, 0, n.mid >> 8, n.mid & 255)))  # RST: not interested any more
    run(loop, lambda: not obs.observing(("t",)))
    raw.close(); ep.close()


def test_get_observe_1_cancels_and_plain_get_does_not_register():
    loop = Loop()
    ep, addr, obs = observed_server(loop, [b"x"])
    raw = Raw(loop)
    get(raw, addr, 1, b"ob", 0)
    r = get(raw, addr, 2, b"ob", 1)
    assert r.code == C.CONTENT and not r.has(C.OBSERVE) and not obs.observing(("t",))
    get(raw, addr, 3, b"pl")
    assert not obs.observing(("t",))
    raw.close(); ep.close()


def test_unacked_con_notification_drops_observer():
    loop = Loop()
    ep, addr, obs = observed_server(loop, [b"x"])
    raw = Raw(loop)
    get(raw, addr, 1, b"ob", 0)
    notify_all(obs, ("t",), b"y", con=True)
    run(loop, lambda: not obs.observing(("t",)), 3000)
    assert len(raw.got) == 1 + 1 + ep.params.max_retransmit
    raw.close(); ep.close()


def test_pool_is_bounded_and_large_notification_is_block0():
    loop = Loop()
    big = bytes(range(256)) * 8
    ep, addr, obs = observed_server(loop, [big])
    raw = Raw(loop)
    for i in range(3):
        r = get(raw, addr, 10 + i, bytes((i,)), 0)
    assert len(obs.items) == 2 and not r.has(C.OBSERVE), "third observer refused"
    notify_all(obs, ("t",), big)
    raw.wait(len(raw.got) + 2)
    n = decode(raw.got[-1])
    assert n.opt_uint(C.BLOCK2) >> 4 == 0 and n.opt_uint(C.BLOCK2) & 8 and n.opt_uint(C.SIZE2) == 2048
    assert bytes(n.payload) == big[:1024] and n.has(C.OBSERVE)
    raw.close(); ep.close()


def test_error_notification_ends_observation():
    loop = Loop()
    ep, addr, obs = observed_server(loop, [b"x"])
    raw = Raw(loop)
    get(raw, addr, 1, b"ob", 0)
    for o in obs.of(("t",)):
        obs.notify(o, Message(code=C.NOT_FOUND))
    n = decode(raw.wait(2)[1])
    assert n.code == C.NOT_FOUND and not n.has(C.OBSERVE) and not obs.observing(("t",))
    raw.close(); ep.close()

# Property tests of the CoAP codec (CPython; the codec is the same file the board runs):
# encode/decode round-trips, random bytes never raise anything but CoapError, and the
# endpoint survives arbitrary datagrams.
from hypothesis import given, settings, strategies as st

from coap.message import Message, CoapError, decode
from coap import const as C

options = st.lists(st.tuples(st.integers(0, 65535), st.binary(max_size=300)), max_size=8)


@given(st.integers(0, 3), st.integers(0, 255).filter(lambda c: c >> 5 not in (1, 6, 7) and c),
       st.integers(0, 0xFFFF), st.binary(max_size=8), options, st.binary(max_size=600))
@settings(max_examples=400, deadline=None)
def test_roundtrip(type_, code, mid, token, opts, payload):
    m = Message(type_, code, mid, token, payload)
    for num, val in opts:
        m.add(num, val)
    d = decode(m.encode())
    assert (d.type, d.code, d.mid, d.token, bytes(d.payload)) == (type_, code, mid, token, payload)
    # sorted by number, repeated numbers in insertion order
    assert d.options() == sorted(opts, key=lambda o: o[0])


@given(st.binary(max_size=200))
@settings(max_examples=3000, deadline=None)
def test_random_bytes_raise_only_coap_error(data):
    try:
        m = decode(data)
    except CoapError:
        return
    # whatever decodes must be readable without raising anything else
    try:
        m.options()
        m.path()
        m.opt_uint(C.BLOCK2)
        m.opt(C.ETAG)
    except CoapError:
        pass


@given(st.lists(st.binary(min_size=4, max_size=64), max_size=30))
@settings(max_examples=200, deadline=None)
def test_endpoint_survives_garbage(datagrams):
    from coap.loop import Loop
    from coaptest import endpoint

    loop = Loop()
    ep, _ = endpoint(loop, lambda req, peer: Message(code=C.CONTENT))
    try:
        for d in datagrams:
            ep.datagram(bytes((0x40 | (d[0] & 0x3F),)) + d[1:], ("127.0.0.1", 9))
    finally:
        ep.close()

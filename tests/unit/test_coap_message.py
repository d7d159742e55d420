# RFC 7252 section 3 codec: spec vectors, extended option forms, format errors.
from coap.message import Message, CoapError, decode, uint_bytes
from coap import const as C
from support import raises


def h(s):
    return bytes.fromhex(s.replace(" ", ""))


def test_block2_request_vector():
    # GET block 5, SZX 6, Uri-Path "fw", token 0x55 (spec/lwm2m-fota.md 4.5)
    m = Message(C.CON, C.GET, 0x42, b"\x55")
    m.add(C.BLOCK2, 0x56).add(C.URI_PATH, "fw")
    assert m.encode() == h("41 01 00 42 55 b2 66 77 c1 56")
    d = decode(h("41 01 00 42 55 b2 66 77 c1 56"))
    assert (d.type, d.code, d.mid, d.token) == (C.CON, C.GET, 0x42, b"\x55")
    assert d.path() == ("fw",)
    assert d.opt_uint(C.BLOCK2) == 0x56
    assert d.payload == b""


def test_continue_and_notification_vectors():
    m = Message(C.ACK, C.CONTINUE, 0x7777, b"\x01\x02").add(C.BLOCK1, 0x0E)
    assert m.encode() == h("62 5f 77 77 01 02 d1 0e 0e")
    n = Message(C.NON, C.CONTENT, 0x0100, h("a1b2c3d4"), b"1")
    n.add(C.CONTENT_FORMAT, 0).add(C.OBSERVE, 0x0102)
    assert n.encode() == h("54 45 01 00 a1 b2 c3 d4 62 01 02 60 ff 31")
    d = decode(n.encode())
    assert d.opt_uint(C.OBSERVE) == 0x0102 and d.opt_uint(C.CONTENT_FORMAT) == 0
    assert bytes(d.payload) == b"1"


def test_extended_delta_and_length_forms():
    # deltas 12/13/268/269 and lengths 12/13/268/269/1000 hit every header form
    for num in (12, 13, 268, 269, 1000, 65535):
        for ln in (0, 12, 13, 268, 269, 1000):
            m = Message(C.CON, C.PUT, 1, b"")
            m.add(num, bytes(ln))
            e = m.encode()
            d = decode(e)
            assert d.options() == [(num, bytes(ln))], (num, ln)
    # 13 -> one extra byte 0; 269 -> two extra bytes 0
    assert Message(0, 1, 0).add(13, b"").encode()[4:] == h("d0 00")
    assert Message(0, 1, 0).add(269, b"").encode()[4:] == h("e0 00 00")
    assert Message(0, 1, 0).add(1, bytes(13)).encode()[4:6] == h("1d 00")


def test_repeatable_options_keep_order_and_sort_by_number():
    m = Message(C.CON, C.GET, 7, b"tok")
    m.add(C.URI_QUERY, "b=2").add(C.URI_PATH, "a").add(C.URI_PATH, "b").add(C.URI_HOST, "h")
    d = decode(m.encode())
    assert [n for n, _ in d.options()] == [3, 11, 11, 15]
    assert d.path() == ("a", "b") and d.query() == ["b=2"]
    assert d.opt_all(C.URI_PATH) == [b"a", b"b"]
    assert d.opt(C.ETAG) is None and d.opt_uint(C.SIZE2, 7) == 7
    assert d.opt_equals(C.URI_HOST, b"h") and not d.opt_equals(C.URI_HOST, b"x")


def test_uint_values():
    assert uint_bytes(0) == b"" and uint_bytes(255) == b"\xff"
    assert uint_bytes(256) == b"\x01\x00" and uint_bytes(0x10000) == b"\x01\x00\x00"
    assert uint_bytes(0xFFFFFFFF) == b"\xff\xff\xff\xff"
    raises(CoapError, uint_bytes, -1)
    raises(CoapError, uint_bytes, 1 << 32)
    d = decode(Message(0, 1, 0).add(C.SIZE2, 1048576).encode())
    assert d.opt_uint(C.SIZE2) == 1048576


def test_empty_message_and_payload():
    d = decode(h("60 00 12 34"))
    assert d.type == C.ACK and d.code == 0 and d.mid == 0x1234
    d = decode(h("50 45 00 01 ff 68 69"))
    assert bytes(d.payload) == b"hi" and d.options() == []


def test_format_errors():
    bad = (
        "",  # short
        "40 01 00",  # short header
        "80 01 00 01",  # version 2
        "49 01 00 01 00 00 00 00 00 00 00 00 00",  # TKL 9
        "42 01 00 01 aa",  # token truncated
        "40 20 00 01",  # class 1 is reserved
        "40 c0 00 01",  # class 6
        "41 00 00 01 aa",  # empty message with a token
        "40 01 00 01 ff",  # payload marker, no payload
        "40 01 00 01 f0",  # delta nibble 15 without being the marker
        "40 01 00 01 0f",  # length nibble 15
        "40 01 00 01 d0",  # extended delta byte missing
        "40 01 00 01 e0 00",  # two-byte delta truncated
        "40 01 00 01 03 aa",  # option value runs past the end
        "40 01 00 01 e0 ff ff",  # option number > 65535
    )
    for b in bad:
        raises(CoapError, decode, h(b))


def test_encode_range_checks():
    raises(CoapError, Message(0, 1, 0x10000).encode)
    raises(CoapError, Message(0, 1, 0, bytes(9)).encode)
    raises(CoapError, Message(4, 1, 0).encode)
    raises(CoapError, Message(0, 1, 0).add, 65536, b"")
    buf = bytearray(6)
    raises(CoapError, Message(0, 1, 0, b"", b"xyz").encode_into, buf)


def test_unknown_critical_option():
    d = decode(Message(0, 1, 0).add(9, b"x").add(10, b"y").encode())
    assert d.critical_unknown((1, 11)) == 9
    d = decode(Message(0, 1, 0).add(10, b"y").encode())
    assert d.critical_unknown((1, 11)) is None


def test_decode_reuses_message():
    m = Message()
    a = decode(Message(0, 1, 5, b"a").add(11, "x").encode(), m)
    b = decode(Message(1, 2, 6, b"bb", b"p").encode(), m)
    assert a is m and b is m
    assert (m.type, m.code, m.mid, m.token, m.options()) == (1, 2, 6, b"bb", [])

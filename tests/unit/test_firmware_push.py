# Object 5's Block1 push as a server's requests reach it (Ops -> Firmware -> Block1Receiver ->
# FirmwareUpdate, the slot a RAM stand-in): the transfer's edges RFC 7959 and the spec notes
# (lwm2m-fota.md 4.5) define. Both runtimes.
from coap import const as C
from coap.message import Message, block_value, decode, split
from lwm2m.formats import b64
from lwm2m.objects.firmware import Firmware
from lwm2m.ops import Ops
from lwm2m.registry import Registry
from fotatest import Rig

A = ("10.0.0.1", 5683)
B = ("10.0.0.2", 5683)
SZX = 4  # 256-byte blocks
N = 256
IMAGE = bytes((i * 7 + 3) & 0xFF for i in range(5 * N + 100))


class Server:
    # what a server's CON PUTs to /5/0/0 look like once decoded, each with a new MID
    def __init__(self, capacity=64 * 1024):
        self.rig = Rig()
        self.rig.slot.capacity = capacity
        self.rig.slot.image = bytearray(capacity)
        self.fu = self.rig.fu
        reg = Registry()
        reg.add(Firmware(self.fu, [0], capacity))
        self.ops = Ops(reg, None, None)
        self.mid = 0

    def put(self, num, more, payload, peer=A, size1=None, cf=C.CF_OPAQUE):
        self.mid += 1
        m = Message(C.CON, C.PUT, self.mid, b"\x01", payload).add(C.URI_PATH, "5").add(C.URI_PATH, "0")
        m.add(C.URI_PATH, "0").add(C.CONTENT_FORMAT, cf).add(C.BLOCK1, block_value(num, more, SZX))
        if size1 is not None:
            m.add(C.SIZE1, size1)
        return self.ops(decode(m.encode()), peer)

    def block(self, num, data=IMAGE, **kw):
        chunk = data[num * N : (num + 1) * N]
        return self.put(num, int((num + 1) * N < len(data)), chunk, **kw)

    def push(self, data=IMAGE, first=0, **kw):
        for num in range(first, (len(data) + N - 1) // N):
            r = self.block(num, data, **kw)
        return r

    def state(self):
        return self.fu.state, self.fu.result


def test_first_block_again_starts_the_push_over():
    # spec 4.5 item 5: NUM 0 again restarts the transfer and drops the partial data
    s = Server()
    assert s.block(0).code == C.CONTINUE and s.block(1).code == C.CONTINUE
    r = s.block(0)
    assert r.code == C.CONTINUE and split(r.opt_uint(C.BLOCK1)) == (0, 1, SZX)
    assert s.state() == (1, 0) and s.rig.slot.aborts == 1 and s.rig.slot.pos == N
    assert s.push(first=1).code == C.CHANGED
    assert s.state() == (2, 0) and bytes(s.rig.slot.image[: len(IMAGE)]) == IMAGE


def test_another_servers_first_block_gets_503_and_the_running_push_goes_on():
    s = Server()
    s.block(0)
    assert s.block(0, peer=B).code == C.SERVICE_UNAVAILABLE
    assert s.push(first=1).code == C.CHANGED and s.state() == (2, 0)
    assert bytes(s.rig.slot.image[: len(IMAGE)]) == IMAGE


def test_a_push_given_up_is_no_longer_held_against_another_server():
    s = Server()
    s.block(0)
    s.rig.clock.t += 247
    s.fu.poll()
    assert s.state() == (0, 4)
    assert s.block(0, peer=B).code == C.CONTINUE and s.state() == (1, 0)


def test_a_block_past_the_slot_ends_the_push_with_413_and_result_2_at_once():
    s = Server(capacity=3 * N)  # no Size1: found at the fourth block
    for num in range(3):
        assert s.block(num).code == C.CONTINUE
    r = s.block(3)
    assert r.code == C.REQUEST_ENTITY_TOO_LARGE and r.opt_uint(C.SIZE1) == 3 * N
    assert s.state() == (0, 2) and s.rig.slot.aborts == 1
    assert s.block(0).code == C.CONTINUE  # a new push is taken at once, not after a timeout


def test_a_block_that_is_not_base64_ends_a_text_push_with_result_6_at_once():
    s = Server()
    text = b64.encode(IMAGE).encode()
    assert s.block(0, text, cf=C.CF_TEXT).code == C.CONTINUE
    assert s.put(1, 1, b"!" * N, cf=C.CF_TEXT).code == C.BAD_REQUEST
    assert s.state() == (0, 6) and s.rig.slot.aborts == 1
    assert s.push(text, cf=C.CF_TEXT).code == C.CHANGED and s.state() == (2, 0)
    assert bytes(s.rig.slot.image[: len(IMAGE)]) == IMAGE


def test_base64_size1_of_an_image_that_fills_the_slot_is_taken():
    # 1024 bytes are 1368 base64 characters ending in "==": not 1026 bytes
    data = IMAGE[:1024]
    text = b64.encode(data).encode()
    assert len(text) == 1368 and text.endswith(b"==")
    s = Server(capacity=1024)
    assert s.block(0, text, size1=len(text), cf=C.CF_TEXT).code == C.CONTINUE
    assert s.push(text, first=1, cf=C.CF_TEXT).code == C.CHANGED and s.state() == (2, 0)


def test_a_refused_size_is_413_with_size1():
    s = Server(capacity=1024)
    r = s.block(0, size1=2048)
    assert r.code == C.REQUEST_ENTITY_TOO_LARGE and r.opt_uint(C.SIZE1) == 1024 and s.state() == (0, 2)


def test_last_block_again_is_acknowledged_and_a_last_block_inside_the_body_is_408():
    s = Server()
    for num in range(3):
        s.block(num)
    # a "last" block before the end of what came: the client's body is not the one held
    assert s.put(1, 0, IMAGE[N : 2 * N]).code == C.REQUEST_ENTITY_INCOMPLETE
    assert s.state() == (1, 0)
    r = s.push(first=3)
    assert r.code == C.CHANGED and s.state() == (2, 0)
    pos = s.rig.slot.pos
    last = (len(IMAGE) - 1) // N
    r = s.block(last)  # resent under a new MID after the transfer ended: done already
    assert r.code == C.CHANGED and split(r.opt_uint(C.BLOCK1)) == (last, 0, SZX)
    assert s.rig.slot.pos == pos and s.state() == (2, 0)


def test_null_package_in_one_block_resets_like_one_without_block1():
    # spec 2.4: Package := single 0x00 resets, however the server frames it
    s = Server()
    s.push()
    assert s.state() == (2, 0)
    assert s.put(0, 0, b"\x00").code == C.CHANGED and s.state() == (0, 0)
    assert s.rig.slot.aborts == 1

# fota.download.Engine's contract with its caller, on both runtimes: on_done once, on a later
# loop turn (after the engine let go of its buffers); never after cancel(), even when the
# engine had already finished; a MemoryError while opening a transfer is Result 3, not a
# Downloading that never ends.
from coap.loop import Loop
from fota import download
from fota.const import RESULT_OUT_OF_RAM

PARTS = ("coap", "127.0.0.1", 5683, ("fw",), ())


class Instant(download.Engine):
    # a transfer that is complete as soon as it begins
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.reported_inside = None
        self.released = False

    def _begin(self):
        self._head(3, None)
        self._data(b"abc")
        self._finish()
        self.reported_inside = len(self.seen)

    def _release(self):
        self.released = True


class NoRoom(download.Engine):
    def _begin(self):
        raise MemoryError("socket buffer")


def _start(cls, loop, seen):
    e = cls(loop, "coap://127.0.0.1/fw", PARTS, lambda off, d: None, on_done=seen.append)
    e.seen = seen
    e.start()
    return e


def test_on_done_comes_once_on_a_later_turn_after_release():
    loop, seen = Loop(), []
    e = _start(Instant, loop, seen)
    assert loop.run_until(lambda: seen, 2000)
    loop.run_until(lambda: False, 50)
    assert seen == [e] and e.error is None and e.offset == 3
    assert e.reported_inside == 0, "on_done ran inside _finish"
    assert e.released


class CancelledAfterFinish(Instant):
    # the caller cancels in the same turn the engine finished (another callback of that
    # turn, say an empty Package URI), before the report is due
    def _begin(self):
        Instant._begin(self)
        self.cancel()


def test_no_on_done_after_cancel_even_if_already_finished():
    loop, seen = Loop(), []
    e = _start(CancelledAfterFinish, loop, seen)
    loop.run_until(lambda: False, 100)
    assert e.done and seen == []


def test_memory_error_opening_a_transfer_is_result_3():
    loop, seen = Loop(), []
    e = _start(NoRoom, loop, seen)
    assert loop.run_until(lambda: seen, 2000)
    assert e.error is not None and e.error.result == RESULT_OUT_OF_RAM and e.done


class NoRoute(download.Engine):
    def _begin(self):
        raise OSError(101)  # ENETUNREACH, or an address family the port has no socket for


def test_a_socket_that_cannot_be_made_is_a_lost_link_not_a_download_that_never_ends():
    from fota.const import RESULT_CONNECTION_LOST

    loop, seen = Loop(), []
    e = NoRoute(loop, "coap://127.0.0.1/fw", PARTS, lambda off, d: None, on_done=seen.append, retries=1,
                backoff_ms=10)
    e.start()
    assert loop.run_until(lambda: seen, 2000)
    assert e.error is not None and e.error.result == RESULT_CONNECTION_LOST and e.attempts == 2, e.error


def test_coap_blocks_that_find_no_heap_are_result_3_not_a_lost_link():
    # every response of a CoAP pull is dropped for lack of memory (the endpoint reads it
    # away, see test_coap_endpoint), whatever the block size: the pull ends with 3 once
    # 256-byte blocks found no room either, not with 4 after retransmissions and retries
    # that would starve the same way (minutes at 2 s ACK_TIMEOUT)
    from coap.endpoint import Endpoint
    from coap.message import Message
    from coaptest import Starved, bind_free, fast_params
    from fota.download import coap as engine_mod

    loop, seen = Loop(), []
    sock, port = bind_free()
    srv = Endpoint(loop, sock, lambda req, peer: Message(code=0x45, payload=bytes(3000)), fast_params())
    real = engine_mod.udp_socket
    engine_mod.udp_socket = lambda host, port: Starved(real(host, port), fail=1 << 30)
    try:
        e = download.start(loop, "coap://127.0.0.1:%d/fw" % port, lambda off, d: None, on_done=seen.append,
                           ack_ms=2000)
        assert loop.run_until(lambda: seen, 1500), "waited for retransmissions"
    finally:
        engine_mod.udp_socket = real
    assert e.error is not None and e.error.result == RESULT_OUT_OF_RAM, e.error
    srv.close()


def test_no_heap_to_load_the_engine_is_result_3_at_once():
    # the engine module is imported on first use: on a full heap that import fails; start()
    # says 3 (the state machine reports it), never a bare MemoryError
    real = download._module

    def starved(name):
        raise MemoryError("memory allocation failed, allocating 752 bytes")

    download._module = starved
    try:
        download.start(Loop(), "coap://127.0.0.1/fw", lambda off, d: None)
        raise AssertionError("started without an engine")
    except download.FotaError as e:
        assert e.result == RESULT_OUT_OF_RAM, e
    finally:
        download._module = real


def test_coap_pull_with_no_room_for_1k_blocks_goes_on_with_smaller_ones():
    # a heap too fragmented for a 1 KiB block's datagram still holds a 512-byte one: the
    # pull goes on from where it is with half-size blocks on the same endpoint (the server's
    # ETag and session stay) and delivers the whole file, instead of Result 3
    from coap.endpoint import Endpoint
    from coap.message import Message
    from coaptest import Starved, bind_free, fast_params
    from fota.download import coap as engine_mod

    data = bytes(i * 7 & 0xFF for i in range(3000))
    loop, seen, got = Loop(), [], bytearray()
    sock, port = bind_free()
    srv = Endpoint(loop, sock, lambda req, peer: Message(code=0x45, payload=data), fast_params())
    real = engine_mod.udp_socket
    socks = []

    def fragmented(host, port):
        socks.append(Starved(real(host, port), hole=700))
        return socks[-1]

    def sink(off, d):
        assert off == len(got), (off, len(got))
        got.extend(d)

    engine_mod.udp_socket = fragmented
    try:
        e = download.start(loop, "coap://127.0.0.1:%d/fw" % port, sink, on_done=seen.append, ack_ms=2000)
        assert loop.run_until(lambda: seen, 3000), "waited for retransmissions"
    finally:
        engine_mod.udp_socket = real
    assert e.error is None and bytes(got) == data, e.error
    assert e.szx == 5 and len(socks) == 1, (e.szx, len(socks))
    assert socks[0].sizes[0] > 700 and max(socks[0].sizes[1:]) <= 700, socks[0].sizes
    srv.close()


def test_coap_server_ignoring_the_smaller_block_size_is_result_3_at_once():
    # after the fall back for the heap, a server that keeps sending 1 KiB blocks: each is
    # longer than what this endpoint takes, so the pull ends with 3 at the first one, not
    # with 4 after retransmissions into the same answer
    from coap import const as C
    from coap.message import Message, block_value, decode, split
    from coaptest import Raw, Starved
    from fota.download import coap as engine_mod

    loop, seen = Loop(), []
    raw = Raw(loop)
    real = engine_mod.udp_socket
    engine_mod.udp_socket = lambda host, port: Starved(real(host, port), hole=700)
    try:
        e = download.start(loop, "coap://127.0.0.1:%d/fw" % raw.port, lambda off, d: None, on_done=seen.append,
                           ack_ms=2000)
        asked = []
        while not seen and len(raw.got) < 4:
            raw.wait(len(raw.got) + 1, 1000)
            r = decode(raw.got[-1])
            asked.append(split(r.opt_uint(C.BLOCK2))[2])
            raw.reply(Message(C.ACK, C.CONTENT, r.mid, r.token, bytes(1024)).add(C.BLOCK2, block_value(0, 1, 6))
                      .encode())
            loop.run_until(lambda: seen, 100)
        assert loop.run_until(lambda: seen, 1000)
    finally:
        engine_mod.udp_socket = real
        raw.close()
    assert asked == [6, 5], asked
    assert e.error is not None and e.error.result == RESULT_OUT_OF_RAM, e.error


def test_tcp_receive_buffer_halves_when_the_heap_has_no_block_that_big():
    # the HTTP / CoAP-over-TCP buffer (4 KiB by default) on a fragmented heap: the largest
    # that fits, down to 1 KiB (a response header must fit); below that MemoryError (-> 3)
    from fota.download import tcp

    def heap_with_holes_of(n):
        def alloc(size):
            if size > n:
                raise MemoryError("memory allocation failed, allocating %d bytes" % size)
            return bytearray(size)

        return alloc

    assert len(tcp.buffer(4096, heap_with_holes_of(8192))) == 4096
    assert len(tcp.buffer(4096, heap_with_holes_of(3000))) == 2048
    assert len(tcp.buffer(4096, heap_with_holes_of(1024))) == 1024
    try:
        tcp.buffer(4096, heap_with_holes_of(1000))
        raise AssertionError("a buffer below 1 KiB")
    except MemoryError:
        pass

# Registration client against a scripted resource directory on loopback (both runtimes).
# The real-server interop (dev server, lwm2m-node-lib) lives in tests/host.
from coap import const as C
from coap.message import Message
from coap.loop import Loop
from lwm2m.rd import Registration
from lwm2m.registry import Registry
from lwm2m.formats import link
from lwm2mtest import Thing, Secret
from coaptest import endpoint, run, fast_params


class Directory:
    # Answers /rd like a server would; `script` can override the next answers.
    def __init__(self, loop, location=("rd", "7")):
        self.log = []
        self.script = []
        self.location = location
        self.ep, self.addr = endpoint(loop, self.handle)

    def handle(self, req, peer):
        self.log.append((req.code, req.path(), req.query(), bytes(req.payload)))
        if self.script:
            code = self.script.pop(0)
            return None if code is None else Message(code=code)
        if req.code == C.POST and req.path() == ("rd",):
            m = Message(code=C.CREATED)
            for seg in self.location:
                m.add(C.LOCATION_PATH, seg)
            return m
        if req.code == C.POST and req.path() == self.location:
            return Message(code=C.CHANGED)
        if req.code == C.DELETE and req.path() == self.location:
            return Message(code=C.DELETED)
        return Message(code=C.NOT_FOUND)


def setup(lifetime=86400, location=("rd", "7"), retry_s=1):
    loop = Loop()
    reg = Registry()
    reg.add(Thing())
    reg.add(Secret())
    d = Directory(loop, location)
    cli, _ = endpoint(loop, params=fast_params(ack_timeout=50, max_retransmit=1))
    rd = Registration(loop, cli, reg, d.addr, "dev-1", lifetime, "U", retry_s=retry_s)
    return loop, d, rd


def test_register_message_and_location_echo():
    loop, d, rd = setup(location=("rd/1",))  # lwm2m-node-lib: one Location-Path "rd/1"
    rd.start()
    run(loop, lambda: rd.state == "registered")
    code, path, query, payload = d.log[0]
    assert code == C.POST and path == ("rd",)
    assert sorted(query) == sorted(["ep=dev-1", "lt=86400", "lwm2m=1.1", "b=U"])
    links = link.decode(payload)
    uris = [u for u, _ in links]
    assert uris[0] == "/" and dict(links[0][1])["rt"] == "oma.lwm2m"
    assert "11542" in dict(links[0][1])["ct"].split()
    assert "/9000" in uris and "/9000/0" in uris and not any(u.startswith("/0") for u in uris)
    assert dict(links[uris.index("/9000")][1])["ver"] == "1.1"
    rd.update()
    run(loop, lambda: len(d.log) == 2 and rd.state == "registered")
    assert d.log[1][:2] == (C.POST, ("rd/1",)) and d.log[1][3] == b"", "location echoed as given"


def test_update_carries_links_only_when_objects_changed():
    loop, d, rd = setup()
    rd.start()
    run(loop, lambda: rd.state == "registered")
    rd.update(objects=True)
    run(loop, lambda: len(d.log) == 2 and rd.state == "registered")
    assert d.log[1][1] == ("rd", "7") and b"</9000/0>" in d.log[1][3]
    rd.lifetime = 120
    rd.update(params=True)
    run(loop, lambda: len(d.log) == 3 and rd.state == "registered")
    assert sorted(d.log[2][2]) == ["b=U", "lt=120"] and d.log[2][3] == b""


def test_periodic_update_before_lifetime_ends():
    loop, d, rd = setup(lifetime=2)  # update due at max(1 s, 2 s - 93 s) = 1 s
    rd.start()
    run(loop, lambda: rd.state == "registered")
    run(loop, lambda: len(d.log) >= 2, 3000)
    assert d.log[1][:2] == (C.POST, ("rd", "7"))


def test_404_to_update_registers_again():
    loop, d, rd = setup()
    rd.start()
    run(loop, lambda: rd.state == "registered")
    d.script = [C.NOT_FOUND]
    rd.update()
    run(loop, lambda: len(d.log) == 3 and rd.state == "registered")
    assert d.log[2][1] == ("rd",) and rd.registrations == 2


def test_backoff_while_server_is_away():
    loop, d, rd = setup(retry_s=1)
    d.script = [C.SERVICE_UNAVAILABLE, C.SERVICE_UNAVAILABLE]
    rd.start()
    run(loop, lambda: rd.state == "registered", 6000)
    assert len(d.log) == 3 and rd.attempts == 0
    # retries came after 1 s and then 2 s: never a burst
    assert rd.registrations == 1


def test_deregister():
    loop, d, rd = setup()
    rd.start()
    run(loop, lambda: rd.state == "registered")
    done = []
    rd.deregister(lambda: done.append(1))
    run(loop, lambda: done)
    assert d.log[-1][:2] == (C.DELETE, ("rd", "7")) and rd.state == "deregistered"


class Starving:
    # the client endpoint with no heap for the next `n` requests (MicroPython's MemoryError
    # from the exchange buffer or the message)
    def __init__(self, ep, n):
        self.ep = ep
        self.n = n

    def request(self, *a, **kw):
        if self.n:
            self.n -= 1
            raise MemoryError("memory allocation failed, allocating 1280 bytes")
        return self.ep.request(*a, **kw)

    def __getattr__(self, name):
        return getattr(self.ep, name)


def test_register_without_heap_is_retried_never_raised():
    # start() on a full heap: not an exception out of the client (main.py would die), not a
    # registration stuck in Registering: a failed attempt, retried with back-off
    loop, d, rd = setup(retry_s=0.05)
    rd.ep = Starving(rd.ep, 2)
    rd.start()
    assert rd.state == "idle" and rd.attempts == 1 and d.log == []
    run(loop, lambda: rd.state == "registered")
    assert rd.attempts == 0 and rd.ep.n == 0 and len(d.log) == 1


def test_update_without_heap_is_tried_again_and_keeps_what_it_carries():
    loop, d, rd = setup(retry_s=0.05)
    rd.start()
    run(loop, lambda: rd.state == "registered")
    rd.ep = Starving(rd.ep, 1)
    rd.update(objects=True)
    assert rd.state == "registered" and len(d.log) == 1  # not stuck in Updating
    run(loop, lambda: len(d.log) == 2 and rd.state == "registered")
    assert d.log[1][0] == C.POST and d.log[1][3] != b"", "the retried Update carries the links"

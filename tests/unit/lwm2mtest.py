# Fixtures for LwM2M unit tests on both runtimes: a client with test objects on loopback and
# a CoAP "server" endpoint that sends it requests.
from coap.message import Message, decode
from coap import const as C
from coap.loop import Loop
from lwm2m.obj import Object, R, W, E, M, RW, LwError
from lwm2m.registry import Registry
from lwm2m.notify import Notifier
from lwm2m.ops import Ops
from coap.observe import Observers
from coaptest import endpoint, run


class Thing(Object):
    # /9000: a multi-instance test object exercising every kind
    ID = 9000
    VERSION = "1.1"
    MULTI = True
    RES = ((0, RW, "str"), (1, RW, "int"), (2, R, "float"), (3, RW, "bool"), (4, E, "none"),
           (5, RW | M, "int"), (6, RW, "opaque"), (7, R, "time"))

    def __init__(self):
        Object.__init__(self)
        self.data = {0: {0: "hello", 1: 42, 2: 1.5, 3: True, 5: [(0, 10), (1, 11)], 6: b"\x00\x01", 7: 1700000000}}
        self.executed = []

    def execute(self, iid, rid, args):
        self.executed.append((iid, rid, args))

    def delete(self, iid):
        del self.data[iid]


class Secret(Object):
    ID = 0
    HIDDEN = True
    MULTI = True
    RES = ((0, RW, "str"), (5, RW, "opaque"))

    def __init__(self):
        Object.__init__(self)
        self.data = {0: {0: "coap://x", 5: b"key"}}


class Rig:
    def __init__(self, objects=None):
        self.loop = Loop()
        self.registry = Registry()
        self.thing = Thing()
        for o in objects or (self.thing, Secret()):
            self.registry.add(o)
        self.dev, self.addr = endpoint(self.loop)
        self.observers = Observers(self.dev)
        self.notifier = Notifier(self.registry, self.observers, None)
        self.ops = Ops(self.registry, self.observers, self.notifier)
        self.notifier.render = self.ops.render
        self.dev.serve(self.ops)
        self.loop.add_ticker(self.notifier)
        self.srv, _ = endpoint(self.loop)
        self.notes = []

    def req(self, code, path, payload=b"", cf=None, accept=None, query=(), observe=None, token=None, block1=None):
        m = Message(code=code, payload=payload)
        if token:
            m.token = token
        for seg in path.strip("/").split("/"):
            if seg:
                m.add(C.URI_PATH, seg)
        if cf is not None:
            m.add(C.CONTENT_FORMAT, cf)
        if accept is not None:
            m.add(C.ACCEPT, accept)
        for q in query:
            m.add(C.URI_QUERY, q)
        if observe is not None:
            m.add(C.OBSERVE, observe)
        if block1 is not None:
            m.add(C.BLOCK1, block1)
        got = []
        self.srv.request(self.addr, m, lambda ex, r: got.append(r and decode(bytes(r.raw))))
        run(self.loop, lambda: got)
        return got[0]

    def close(self):
        self.dev.close()
        self.srv.close()

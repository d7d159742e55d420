# A throwaway LwM2M client on aiocoap for testing the servers themselves (dev server,
# lwm2m-node-lib harness) before and independently of updraft's device client.
# SPDX-License-Identifier: MIT
#
# It serves a flat data model {(obj, inst, res): value} with the device's own codecs (they run
# on CPython), answers Read/Write/Execute/Discover/Write-Attributes/Observe/Create/Delete the
# simple way, and registers with a server from the same socket, as a real client does.
import asyncio
import threading

import aiocoap
import aiocoap.resource as resource

from coap import const as C
from lwm2m import formats
from lwm2m.formats import link, parse_path

KINDS = {(3, 0): "str", (3, 1): "str", (3, 4): "none", (3, 9): "int", (3, 10): "int", (3, 13): "time",
         (3, 6): "int", (1, 0): "int", (1, 1): "int", (1, 7): "str", (1, 8): "none"}
TLV = C.CF_LWM2M_TLV


def kind(path):
    return KINDS.get((path[0], path[2])) if len(path) >= 3 else None


def default_model():
    return {(1, 0, 0): 1, (1, 0, 1): 60, (1, 0, 7): "U",
            (3, 0, 0): "fake maker", (3, 0, 1): "throwaway", (3, 0, 9): 95, (3, 0, 10): 40000,
            (3, 0, 13): 1700000000, (3, 0, 6, 0): 1, (3, 0, 6, 1): 5}


class FakeClient(resource.ObservableResource, resource.PathCapable):
    def __init__(self, model=None):
        super().__init__()
        self.model = dict(model if model is not None else default_model())
        self.executed = []  # (path, args bytes)
        self.attrs = {}  # path tuple -> {name: value}
        self.requests = []  # (code, path, content_format, accept) as received
        self.watchers = {}  # path tuple -> set of ServerObservation
        self.ctx = None
        self.location = None
        # added to aiocoap's Observe numbers, which start at 0: lwm2m-node-lib drops a first
        # response whose Observe is 0 and never completes the observation (server.js quirks)
        self.observe_base = 1
        # aiocoap sends notifications CON; lwm2m-node-lib never ACKs them, and NSTART=1 then
        # holds every later message back (server.js quirks). NON unless a test asks for CON.
        self.con_notifications = False

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, port):
        self.port = port
        self.ctx = await aiocoap.Context.create_server_context(self, bind=("127.0.0.1", port))

    async def stop(self):
        if self.ctx is not None:
            await self.ctx.shutdown()

    def links(self):
        insts = sorted({p[:2] for p in self.model})
        return ",".join(["</>;ct=\"110 112 11542\""] + ["</%d/%d>" % i for i in insts]).encode()

    async def post_rd(self, server_port, path, query=(), payload=b"", method=aiocoap.POST):
        msg = aiocoap.Message(code=method, uri="coap://127.0.0.1:%d/%s" % (server_port, path), payload=payload)
        if query:
            msg.opt.uri_query = tuple(query)
        if payload:
            msg.opt.content_format = 40
        return await asyncio.wait_for(self.ctx.request(msg).response, 15)

    async def register(self, server_port, ep, lt=60):
        resp = await self.post_rd(server_port, "rd", ("ep=" + ep, "lt=%d" % lt, "lwm2m=1.1", "b=U"), self.links())
        if resp.code != aiocoap.CREATED:
            raise AssertionError("register: %s" % resp.code)
        # echo Location-Path exactly as received: lwm2m-node-lib sends one segment "rd/1"
        self.location = "/".join(resp.opt.location_path)
        return resp

    async def update(self, server_port, query=(), payload=b""):
        return await self.post_rd(server_port, self.location, query, payload)

    async def deregister(self, server_port):
        return await self.post_rd(server_port, self.location, method=aiocoap.DELETE)

    def set(self, path, value):
        # Change a value and notify observers of it and of every level above it.
        self.model[path] = value
        for p, obs in list(self.watchers.items()):
            if path[: len(p)] == p:
                for o in list(obs):
                    o.trigger()

    # -- server side ------------------------------------------------------------------
    async def render_to_pipe(self, pipe):
        add = pipe.add_response

        def shifted(resp, is_last):
            if resp.opt.observe is not None:
                if resp.opt.observe > 0 and not self.con_notifications:
                    resp.mtype = aiocoap.NON
                resp.opt.observe = resp.opt.observe + self.observe_base
            return add(resp, is_last=is_last)

        pipe.add_response = shifted
        return await super().render_to_pipe(pipe)

    async def add_observation(self, request, serverobservation):
        path = tuple(int(s) for s in request.opt.uri_path)
        self.watchers.setdefault(path, set()).add(serverobservation)
        serverobservation.accept(lambda: self.watchers.get(path, set()).discard(serverobservation))

    async def render(self, request):
        try:
            path = parse_path("/" + "/".join(request.opt.uri_path)) if request.opt.uri_path else ()
        except formats.FormatError:
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        cf, accept = request.opt.content_format, request.opt.accept
        self.requests.append((str(request.code), path, None if cf is None else int(cf),
                              None if accept is None else int(accept)))
        if request.code == aiocoap.GET:
            return self._get(path, accept, request.opt.uri_query)
        if request.code == aiocoap.PUT and cf is None:
            return self._attributes(path, request.opt.uri_query)
        if request.code in (aiocoap.PUT, aiocoap.POST) and kind(path) == "none" and len(path) == 3:
            self.executed.append((path, request.payload))
            return aiocoap.Message(code=aiocoap.CHANGED)
        if request.code in (aiocoap.PUT, aiocoap.POST):
            return self._write(path, request, cf)
        if request.code == aiocoap.DELETE and len(path) == 2:
            gone = [p for p in self.model if p[:2] == path]
            for p in gone:
                del self.model[p]
            return aiocoap.Message(code=aiocoap.DELETED if gone else aiocoap.NOT_FOUND)
        return aiocoap.Message(code=aiocoap.METHOD_NOT_ALLOWED)

    def _records(self, path):
        return [(p, v) for p, v in sorted(self.model.items()) if p[: len(path)] == path and kind(p) != "none"]

    def _get(self, path, accept, query):
        if accept == 40:
            return self._discover(path)
        recs = self._records(path)
        if not recs:
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        fmt = TLV if accept is None else accept
        mod = formats.codec(fmt)
        if mod is None or fmt == 40:
            return aiocoap.Message(code=aiocoap.NOT_ACCEPTABLE)
        if getattr(mod, "SINGLE", False) and (len(recs) != 1 or recs[0][0] != path):
            return aiocoap.Message(code=aiocoap.NOT_ACCEPTABLE)
        return aiocoap.Message(code=aiocoap.CONTENT, content_format=fmt, payload=mod.encode(recs, path, kind))

    def _discover(self, path):
        recs = self._records(path)
        if not recs:
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        targets = sorted({p[: max(len(path) + 1, 3) if len(path) >= 2 else 2] for p, _ in recs} | {path})
        out = []
        for t in targets:
            attrs = tuple(sorted(self.attrs.get(t, {}).items()))
            out.append((t, attrs))
        return aiocoap.Message(code=aiocoap.CONTENT, content_format=40, payload=link.encode(out))

    def _attributes(self, path, query):
        d = self.attrs.setdefault(path, {})
        for q in query:
            k, sep, v = q.partition("=")
            if k not in ("pmin", "pmax", "gt", "lt", "st", "epmin", "epmax"):
                return aiocoap.Message(code=aiocoap.BAD_REQUEST)
            if sep:
                d[k] = float(v) if "." in v else int(v)
            else:
                d.pop(k, None)
        return aiocoap.Message(code=aiocoap.CHANGED)

    def _write(self, path, request, cf):
        mod = formats.codec(cf) if cf is not None else None
        if mod is None or cf == 40:
            return aiocoap.Message(code=aiocoap.UNSUPPORTED_CONTENT_FORMAT)
        try:
            recs = mod.decode(request.payload, path, kind)
        except formats.FormatError:
            return aiocoap.Message(code=aiocoap.BAD_REQUEST)
        if request.code == aiocoap.POST and len(path) == 1:  # Create
            inst = max([p[1] for p in self.model if p[0] == path[0]] + [-1]) + 1
            for p, v in recs:
                self.model[(p[0], inst) + tuple(p[2:])] = v
            return aiocoap.Message(code=aiocoap.CREATED, location_path=(str(path[0]), str(inst)))
        for p, v in recs:
            self.set(p, v)
        return aiocoap.Message(code=aiocoap.CHANGED)


class Loop:
    # An asyncio loop in a thread for the fake client, so the test body stays synchronous
    # while the API client blocks on HTTP.
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.t = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.t.start()

    def run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn, *args):
        async def f():
            return fn(*args)

        return self.run(f())

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.t.join(5)

# Dev server LwM2M side on aiocoap: registration interface (spec 3.1) and the DM/observe
# client toward registered devices (spec 3.2, 3.3), with an event log the JSON API waits on.
# SPDX-License-Identifier: MIT
import asyncio
import collections
import itertools
import random
import threading
import time

import aiocoap
import aiocoap.resource as resource

from updraft.devserver import files as files_mod
from updraft.devserver import model

NOTIFY_RING = 256  # notifications kept per client
EVENT_RING = 1024  # events kept for /wait
_MIN_LT = 1


def _hms():
    return time.strftime("%H:%M:%S")


class Client:
    # One registration. Mutated only on the asyncio thread; snapshot() is read by the API.
    def __init__(self, ep, reg_id, remote, query, links):
        self.ep = ep
        self.id = reg_id
        self.remote = remote
        self.lt = query["lt"]
        self.lwm2m = query.get("lwm2m", "1.0")
        self.binding = query.get("b") or "U"
        self.queue = "Q" in query or "Q" in (self.binding or "")
        self.links = links
        self.registered_at = self.updated_at = time.time()
        self.updates = 0
        self.expiry = None  # asyncio TimerHandle
        self.notifications = collections.deque(maxlen=NOTIFY_RING)
        self.observations = {}  # path str -> (request, task, format)

    @property
    def location(self):
        return "/rd/" + self.id

    def snapshot(self):
        return {"endpoint": self.ep, "location": self.location, "lifetime": self.lt, "lwm2m": self.lwm2m,
                "binding": self.binding, "queue_mode": self.queue, "address": self.remote.hostinfo,
                "registered_at": self.registered_at, "updated_at": self.updated_at, "updates": self.updates,
                "expires_at": self.updated_at + self.lt, "objects": self.links,
                "observations": sorted(self.observations)}


def _query(request):
    # Uri-Query list -> dict; a bare name (e.g. "Q") maps to None.
    q = {}
    for item in request.opt.uri_query:
        k, sep, v = item.partition("=")
        q[k] = v if sep else None
    return q


def _parse_lt(v):
    if v is None or not v.isdigit() or int(v) < _MIN_LT:
        raise ValueError("bad lifetime %r" % v)
    return int(v)


class Registry:
    # Registrations by endpoint name plus a global event log. Events are appended on the
    # asyncio thread; API threads wait on them through a Condition (no sleep-polling).
    def __init__(self, log=print):
        self.clients = {}
        self.by_id = {}
        self.events = collections.deque(maxlen=EVENT_RING)
        self.seq = itertools.count(1)
        self.last_seq = 0
        self.cond = threading.Condition()
        self.log = log
        self.loop = None
        self.listeners = []  # fn(event) called on the asyncio thread (update jobs follow events)

    # -- events -------------------------------------------------------------------------
    def emit(self, kind, ep, **data):
        with self.cond:
            self.last_seq = next(self.seq)
            ev = dict(data, seq=self.last_seq, event=kind, endpoint=ep, t=time.time())
            self.events.append(ev)
            self.cond.notify_all()
        for fn in list(self.listeners):
            fn(ev)
        return ev

    def wait(self, ep, kinds, since, timeout, path=None):
        # First event of one of kinds for ep (None: any endpoint) with seq > since (and, for
        # notifications, on path when given), or None after timeout seconds.
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for ev in self.events:
                    if (ev["seq"] > since and ev["event"] in kinds and (ep is None or ev["endpoint"] == ep)
                            and (path is None or ev.get("path") == path)):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    # -- registration interface (spec 3.1) ----------------------------------------------
    def register(self, request):
        q = _query(request)
        ep = q.get("ep")
        if not ep:
            return aiocoap.Message(code=aiocoap.BAD_REQUEST, payload=b"ep missing")
        try:
            q["lt"] = _parse_lt(q.get("lt", "86400"))  # 1.0 default when absent (spec 3.1)
            links = model.parse_links(request.payload)
        except Exception as e:  # ValueError / FormatError from the link parser
            return aiocoap.Message(code=aiocoap.BAD_REQUEST, payload=str(e).encode())
        old = self.clients.get(ep)
        if old is not None:  # a re-Register replaces the old registration (Leshan does too)
            self._drop(old, None)
        reg_id = "%04x" % random.getrandbits(16)
        while reg_id in self.by_id:
            reg_id = "%04x" % random.getrandbits(16)
        c = Client(ep, reg_id, request.remote, q, links)
        self.clients[ep] = c
        self.by_id[reg_id] = c
        self._arm(c)
        self.log("%s registered   %s at %s from %s lt=%ds lwm2m=%s b=%s: %s" % (
            _hms(), ep, c.location, c.remote.hostinfo, c.lt, c.lwm2m, c.binding,
            request.payload.decode("utf-8", "replace")))
        self.emit("registered", ep, registration=c.snapshot())
        return aiocoap.Message(code=aiocoap.CREATED, location_path=("rd", reg_id))

    def update(self, request, reg_id):
        c = self.by_id.get(reg_id)
        if c is None:
            # 4.04 tells the client to Register again (spec 3.1)
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        q = _query(request)
        try:
            if "lt" in q:
                c.lt = _parse_lt(q["lt"])
            links = model.parse_links(request.payload) if request.payload else None
        except Exception as e:
            return aiocoap.Message(code=aiocoap.BAD_REQUEST, payload=str(e).encode())
        if "b" in q:
            c.binding = q["b"] or "U"
        if "Q" in q or "Q" in c.binding:  # 1.1 flag, or 1.0 binding UQ
            c.queue = True
        if links is not None:
            c.links = links
        if c.remote != request.remote:  # NAT rebinding or a restarted client: follow it
            self.log("%s %s moved %s -> %s" % (_hms(), c.ep, c.remote.hostinfo, request.remote.hostinfo))
            c.remote = request.remote
        c.updated_at = time.time()
        c.updates += 1
        self._arm(c)
        what = ", ".join(["%s=%s" % kv for kv in sorted(q.items())] + (["new objects"] if links else []))
        self.log("%s updated      %s (%s)" % (_hms(), c.ep, what or "keep-alive"))
        self.emit("updated", c.ep, registration=c.snapshot(), query=q, objects_changed=links is not None)
        return aiocoap.Message(code=aiocoap.CHANGED)

    def deregister(self, reg_id):
        c = self.by_id.get(reg_id)
        if c is None:
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        self._drop(c, "deregistered")
        return aiocoap.Message(code=aiocoap.DELETED)

    def _arm(self, c):
        if c.expiry is not None:
            c.expiry.cancel()
        c.expiry = self.loop.call_later(c.lt, self._expire, c)

    def _expire(self, c):
        if self.by_id.get(c.id) is c:
            self._drop(c, "expired")

    def _drop(self, c, why):
        if c.expiry is not None:
            c.expiry.cancel()
        for path in list(c.observations):
            self._stop_observation(c, path)
        self.by_id.pop(c.id, None)
        if self.clients.get(c.ep) is c:
            del self.clients[c.ep]
        if why:
            self.log("%s %-12s %s (%s)" % (_hms(), why, c.ep, c.location))
            self.emit(why, c.ep, location=c.location)

    def _stop_observation(self, c, path):
        req, task, _ = c.observations.pop(path)
        task.cancel()
        if not req.observation.cancelled:
            req.observation.cancel()


class RD(resource.Resource, resource.PathCapable):
    # The whole CoAP site: /rd (Register) and /rd/<id> (Update, De-register); /fw/<name> is
    # the file server (files.py) when one is attached.
    def __init__(self, registry, files=None):
        super().__init__()
        self.registry = registry
        self.files = files

    async def needs_blockwise_assembly(self, request):
        # files.py slices Block2 itself, statelessly (a client may resume at any block)
        return not (self.files is not None and request.opt.uri_path[:1] == (files_mod.PREFIX,))

    async def render(self, request):
        path = request.opt.uri_path
        if self.files is not None and len(path) == 2 and path[0] == files_mod.PREFIX:
            return files_mod.coap_render(self.files, request, path[1])
        if not path or path[0] != "rd" or len(path) > 2:
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        if len(path) == 1:
            if request.code == aiocoap.POST:
                return self.registry.register(request)
        elif request.code == aiocoap.POST:
            return self.registry.update(request, path[1])
        elif request.code == aiocoap.DELETE:
            return self.registry.deregister(path[1])
        return aiocoap.Message(code=aiocoap.METHOD_NOT_ALLOWED)


def split_path(path):
    # "/3/0/1" -> ("3", "0", "1"); checked with the device's own parser (ids 0..65535).
    from lwm2m.formats import parse_path

    return tuple(str(p) for p in parse_path(path))


def _result(resp, base):
    # A CoAP response -> the API's JSON: code, format, payload and decoded records.
    cf = resp.opt.content_format
    out = {"code": str(resp.code).split(" ")[0], "ok": resp.code.is_successful(), "format": cf,
           "format_name": model.FORMAT_NAMES.get(cf), "payload_hex": resp.payload.hex()}
    if cf == 40:
        try:
            out["links"] = model.parse_links(resp.payload)
        except Exception as e:
            out["decode_error"] = str(e)
        out["text"] = resp.payload.decode("utf-8", "replace")
    elif resp.payload and resp.code.is_successful():
        recs, err = model.decode(cf if cf is not None else 0, resp.payload, base)
        if recs is not None:
            out["records"] = model.records_json(recs)
            out["pretty"] = model.pretty(recs)
            if len(recs) == 1 and recs[0][0] == base:
                out["value"] = model.to_json(recs[0][1])
        if err:
            out["decode_error"] = err
    elif resp.payload:
        out["text"] = resp.payload.decode("utf-8", "replace")
    return out


class DM:
    # Server -> client requests, sent from the server's own socket to the address the
    # client registered from (spec 3.1: the same association carries DM requests).
    def __init__(self, registry, context):
        self.registry = registry
        self.ctx = context

    def client(self, ep):
        c = self.registry.clients.get(ep)
        if c is None:
            raise LookupError("no client %r registered" % ep)
        return c

    async def request(self, ep, code, path, accept=None, content_format=None, payload=b"", query=(),
                      observe=None, timeout=10):
        c = self.client(ep)
        msg = aiocoap.Message(code=code, uri_path=split_path(path), payload=payload)
        msg.remote = c.remote
        if accept is not None:
            msg.opt.accept = accept
        if content_format is not None:
            msg.opt.content_format = content_format
        if query:
            msg.opt.uri_query = tuple(query)
        if observe is not None:
            msg.opt.observe = observe
        req = self.ctx.request(msg)
        resp = await asyncio.wait_for(req.response, timeout)
        return req, resp

    async def read(self, ep, path, fmt=None, timeout=10):
        _, resp = await self.request(ep, aiocoap.GET, path, accept=model.cf(fmt), timeout=timeout)
        out = _result(resp, _base(path))
        self._log(ep, "read", path, out)
        return out

    async def discover(self, ep, path, depth=None, timeout=10):
        q = ("depth=%d" % int(depth),) if depth is not None else ()
        _, resp = await self.request(ep, aiocoap.GET, path, accept=40, query=q, timeout=timeout)
        out = _result(resp, _base(path))
        self._log(ep, "discover", path, out)
        return out

    async def write(self, ep, path, fmt="tlv", records=None, value=None, partial=False, payload=None,
                    timeout=10):
        # records: [(path tuple, value)] or value for the one resource at path; payload: raw
        # bytes sent as they are (malformed-input tests, legacy formats).
        cf = model.cf(fmt)
        base = _base(path)
        if payload is None:
            if records is None:
                records = [(base, value)]
            payload = model.encode(cf, records, base)
        code = aiocoap.POST if partial else aiocoap.PUT
        _, resp = await self.request(ep, code, path, content_format=cf, payload=payload, timeout=timeout)
        out = _result(resp, base)
        self._log(ep, "write" + (" (partial)" if partial else ""), path, out)
        return out

    async def execute(self, ep, path, args=None, content_format=None, timeout=10):
        payload = args.encode() if isinstance(args, str) else (args or b"")
        _, resp = await self.request(ep, aiocoap.POST, path, content_format=content_format, payload=payload,
                                     timeout=timeout)
        out = _result(resp, _base(path))
        self._log(ep, "execute", path, out)
        return out

    async def write_attributes(self, ep, path, attrs, timeout=10):
        # attrs: {"pmin": 1, "gt": None}; None removes the attribute (bare "?gt", spec 3.2).
        q = []
        for k in sorted(attrs):
            v = attrs[k]
            q.append(k if v is None else "%s=%s" % (k, _num(v)))
        _, resp = await self.request(ep, aiocoap.PUT, path, query=q, timeout=timeout)
        out = _result(resp, _base(path))
        self._log(ep, "write-attributes " + "&".join(q), path, out)
        return out

    async def create(self, ep, path, fmt="tlv", records=(), payload=None, timeout=10):
        cf = model.cf(fmt)
        base = _base(path)
        if payload is None:
            payload = model.encode(cf, records, base)
        _, resp = await self.request(ep, aiocoap.POST, path, content_format=cf, payload=payload, timeout=timeout)
        out = _result(resp, base)
        out["location"] = "/" + "/".join(resp.opt.location_path) if resp.opt.location_path else None
        self._log(ep, "create", path, out)
        return out

    async def delete(self, ep, path, timeout=10):
        _, resp = await self.request(ep, aiocoap.DELETE, path, timeout=timeout)
        out = _result(resp, _base(path))
        self._log(ep, "delete", path, out)
        return out

    async def raw(self, ep, method, path, accept=None, content_format=None, payload=b"", query=(), timeout=10):
        code = getattr(aiocoap, method.upper())
        _, resp = await self.request(ep, code, path, accept=model.cf(accept), content_format=model.cf(content_format),
                                     payload=payload, query=query, timeout=timeout)
        out = _result(resp, _base(path))
        self._log(ep, method.upper(), path, out)
        return out

    # -- observe (spec 3.2, 3.3) --------------------------------------------------------
    async def observe(self, ep, path, fmt=None, timeout=10):
        c = self.client(ep)
        if path in c.observations:
            self.registry._stop_observation(c, path)
        req, resp = await self.request(ep, aiocoap.GET, path, accept=model.cf(fmt), observe=0, timeout=timeout)
        out = _result(resp, _base(path))
        out["observing"] = resp.code.is_successful() and resp.opt.observe is not None
        if out["observing"]:
            self._notify(c, path, resp, initial=True)
            task = asyncio.ensure_future(self._follow(c, path, req))
            c.observations[path] = (req, task, fmt)
        elif not req.observation.cancelled:
            req.observation.cancel()
        self._log(ep, "observe", path, out)
        return out

    async def _follow(self, c, path, req):
        try:
            async for resp in req.observation:
                self._notify(c, path, resp)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the client answered with an error or went away
            self.registry.log("%s observation  %s %s ended: %s" % (_hms(), c.ep, path, e))
        if c.observations.get(path, (None,))[0] is req:
            c.observations.pop(path)
            self.registry.emit("observation_ended", c.ep, path=path)

    def _notify(self, c, path, resp, initial=False):
        n = _result(resp, _base(path))
        n.update(path=path, observe=resp.opt.observe, initial=initial)
        ev = self.registry.emit("notification", c.ep, **n)
        n.update(seq=ev["seq"], t=ev["t"])
        c.notifications.append(n)
        if not initial:
            shown = n.get("value", n.get("payload_hex"))
            self.registry.log("%s notification %s %s = %s (observe %s)" % (_hms(), c.ep, path, shown, n["observe"]))

    async def cancel(self, ep, path):
        # Cancels locally; aiocoap then answers the client's next notification with RST,
        # the reactive cancel LwM2M allows (spec 3.2 "or RST to a notification").
        c = self.client(ep)
        if path not in c.observations:
            raise LookupError("not observing %s on %s" % (path, ep))
        self.registry._stop_observation(c, path)
        self.registry.log("%s cancelled    %s %s" % (_hms(), ep, path))
        return {"cancelled": path}

    def _log(self, ep, op, path, out):
        what = out.get("value")
        if what is None and out.get("records") is not None:
            what = "%d records" % len(out["records"])
        self.registry.log("%s %-12s %s %s -> %s%s%s" % (
            _hms(), op, ep, path, out["code"],
            " " + (out["format_name"] or str(out["format"])) if out["format"] is not None else "",
            " " + str(what) if what is not None else ""))


def _base(path):
    from lwm2m.formats import parse_path

    return parse_path(path)


def _num(v):
    # JSON numbers as Uri-Query text: 1.0 stays "1.0" (a float attribute), True is refused
    if isinstance(v, bool):
        raise ValueError("attribute values are numbers")
    return str(v)


async def start(host, port, log=print, files=None):
    # -> (registry, dm, context): the CoAP side, bound to host:port; files: a FileStore to
    # serve under /fw.
    registry = Registry(log)
    registry.loop = asyncio.get_running_loop()
    ctx = await aiocoap.Context.create_server_context(RD(registry, files), bind=(host, port))
    return registry, DM(registry, ctx), ctx


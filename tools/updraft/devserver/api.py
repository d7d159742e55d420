# The dev server's JSON API over HTTP on localhost (stdlib http.server, one thread per
# request) bridged onto the asyncio loop that runs the CoAP side. Routes: see ROUTES below.
# SPDX-License-Identifier: MIT
import asyncio
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from updraft.devserver import model

EVENTS = ("registered", "updated", "deregistered", "expired", "notification", "observation_ended", "update")
MAX_WAIT = 600

# (method, action) -> handler name; action "" is the client itself. Documented in apiclient.py.
ROUTES = {
    ("GET", ""): "get_client",
    ("GET", "read"): "read",
    ("GET", "discover"): "discover",
    ("GET", "notifications"): "notifications",
    ("GET", "wait"): "wait",
    ("POST", "write"): "write",
    ("POST", "execute"): "execute",
    ("POST", "attributes"): "attributes",
    ("POST", "observe"): "observe",
    ("DELETE", "observe"): "cancel",
    ("POST", "create"): "create",
    ("POST", "delete"): "delete",
    ("POST", "request"): "request",
    ("POST", "update"): "update_start",
    ("GET", "update"): "update_get",
}


class ApiError(Exception):
    def __init__(self, status, msg):
        Exception.__init__(self, msg)
        self.status = status


class Api:
    # What the HTTP handler calls; every DM call runs on the CoAP loop.
    def __init__(self, registry, dm, loop, coap_uri, updates=None):
        self.registry = registry
        self.dm = dm
        self.loop = loop
        self.coap_uri = coap_uri
        self.updates = updates  # update.Updates (with its file store), or None

    def run(self, coro, timeout):
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout + 5)
        except LookupError as e:
            raise ApiError(404, str(e.args[0] if e.args else e))
        except (asyncio.TimeoutError, TimeoutError):
            fut.cancel()
            raise ApiError(504, "no answer from the client within %ss" % timeout)
        except (ValueError, KeyError) as e:  # bad path, format or value from the API caller
            raise ApiError(400, "%s: %s" % (type(e).__name__, e))
        except Exception as e:  # the CoAP layer gave up (network error, RST)
            raise ApiError(502, "%s: %s" % (type(e).__name__, e))

    def snapshot(self, ep):
        def get():
            c = self.registry.clients.get(ep)
            return c.snapshot() if c else None

        out = asyncio.run_coroutine_threadsafe(_call(get), self.loop).result(5)
        if out is None:
            raise ApiError(404, "no client %r registered" % ep)
        return out

    def clients(self):
        def get():
            return [c.snapshot() for _, c in sorted(self.registry.clients.items())]

        return asyncio.run_coroutine_threadsafe(_call(get), self.loop).result(5)

    # -- per-client actions: (ep, query dict, body dict) -> JSON --------------------------
    def get_client(self, ep, q, b):
        return self.snapshot(ep)

    def read(self, ep, q, b):
        t = _timeout(q)
        return self.run(self.dm.read(ep, _path(q), q.get("format"), t), t)

    def discover(self, ep, q, b):
        t = _timeout(q)
        return self.run(self.dm.discover(ep, _path(q), q.get("depth"), t), t)

    def write(self, ep, q, b):
        t = _timeout(b)
        payload = bytes.fromhex(b["payload_hex"]) if "payload_hex" in b else None
        records = _records(b["records"]) if "records" in b else None
        value = model.from_json(b.get("value"))
        return self.run(self.dm.write(ep, _path(b), b.get("format", "tlv"), records, value,
                                      bool(b.get("partial")), payload, t), t)

    def execute(self, ep, q, b):
        t = _timeout(b)
        return self.run(self.dm.execute(ep, _path(b), b.get("args"), model.cf(b.get("content_format")), t), t)

    def attributes(self, ep, q, b):
        t = _timeout(b)
        attrs = b.get("attrs")
        if not isinstance(attrs, dict):
            raise ApiError(400, "attrs must be an object like {\"pmin\": 1, \"gt\": null}")
        return self.run(self.dm.write_attributes(ep, _path(b), attrs, t), t)

    def observe(self, ep, q, b):
        t = _timeout(b)
        return self.run(self.dm.observe(ep, _path(b), b.get("format"), t), t)

    def cancel(self, ep, q, b):
        return self.run(self.dm.cancel(ep, _path(q)), 5)

    def create(self, ep, q, b):
        t = _timeout(b)
        payload = bytes.fromhex(b["payload_hex"]) if "payload_hex" in b else None
        return self.run(self.dm.create(ep, _path(b), b.get("format", "tlv"), _records(b.get("records", [])),
                                       payload, t), t)

    def delete(self, ep, q, b):
        t = _timeout(b)
        return self.run(self.dm.delete(ep, _path(b), t), t)

    def request(self, ep, q, b):
        t = _timeout(b)
        return self.run(self.dm.raw(ep, b.get("method", "GET"), _path(b), b.get("accept"), b.get("content_format"),
                                    bytes.fromhex(b.get("payload_hex", "")), b.get("query", ()), t), t)

    # -- update jobs and files (update.py, files.py) ------------------------------------
    def _updates(self):
        if self.updates is None:
            raise ApiError(404, "this server has no file store (updraft server --files DIR)")
        return self.updates

    def update_start(self, ep, q, b):
        u = self._updates()
        if not b.get("file"):
            raise ApiError(400, "file missing (a name in the server's file store)")

        async def go():
            return u.start(ep, b["file"], b.get("method", "pull-coap"), b.get("object", "/5/0"),
                           float(b.get("timeout", 300)))

        fut = asyncio.run_coroutine_threadsafe(go(), self.loop)
        try:
            return fut.result(10)
        except LookupError as e:
            raise ApiError(404, str(e.args[0] if e.args else e))
        except RuntimeError as e:
            raise ApiError(409, str(e))

    def update_get(self, ep, q, b):
        u = self._updates()
        try:
            return asyncio.run_coroutine_threadsafe(_call(lambda: u.get(ep)), self.loop).result(5)
        except LookupError as e:
            raise ApiError(404, str(e.args[0] if e.args else e))

    def files(self):
        u = self._updates()
        return {"dir": u.store.dir, "uris": u.uris, "files": u.store.listing()}

    def put_file(self, name, data):
        try:
            size, etag = self._updates().store.add(name, data)
        except ValueError as e:
            raise ApiError(400, str(e))
        u = self.updates
        return {"name": name, "size": size, "etag": etag.hex(),
                "uris": {k: v + name for k, v in u.uris.items() if v}}

    def notifications(self, ep, q, b):
        since = int(q.get("since", 0))
        path = q.get("path")

        def get():
            c = self.registry.clients.get(ep)
            if c is None:
                return None
            return [n for n in c.notifications if n["seq"] > since and (path is None or n["path"] == path)]

        out = asyncio.run_coroutine_threadsafe(_call(get), self.loop).result(5)
        if out is None:
            raise ApiError(404, "no client %r registered" % ep)
        return {"notifications": out, "seq": self.registry.last_seq}

    def wait(self, ep, q, b):
        # Long-poll: the first event of the given kind(s) after `since`. Without since,
        # "registered" is satisfied by a current registration; other kinds wait for a new one.
        kinds = tuple(q.get("event", "registered").split(","))
        for k in kinds:
            if k not in EVENTS:
                raise ApiError(400, "event must be one of %s" % ", ".join(EVENTS))
        timeout = min(float(q.get("timeout", 30)), MAX_WAIT)
        since = q.get("since")
        if since is None:
            since = self.registry.last_seq
            if "registered" in kinds and ep is not None:
                try:
                    return {"event": "registered", "endpoint": ep, "seq": since, "registration": self.snapshot(ep),
                            "already": True}
                except ApiError:
                    pass
        path = q.get("path")
        ev = self.registry.wait(ep, kinds, int(since), timeout, path)
        if ev is None:
            raise ApiError(408, "no %s event for %s within %ss" % ("|".join(kinds), ep or "any client", timeout))
        return ev


async def _call(fn):
    return fn()


def _path(d):
    p = d.get("path")
    if not p:
        raise ApiError(400, "path missing (e.g. /3/0)")
    return p


def _timeout(d):
    return min(float(d.get("timeout", 10)), MAX_WAIT)


def _records(items):
    from lwm2m.formats import parse_path

    if not isinstance(items, list):
        raise ApiError(400, "records must be a list of {path, value}")
    return [(parse_path(r["path"]), model.from_json(r["value"])) for r in items]


class Handler(BaseHTTPRequestHandler):
    api = None  # set by serve()
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the CoAP side logs what matters
        pass

    def _send(self, status, obj):
        body = json.dumps(obj, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/") if p]
        try:
            body = {}
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                body = json.loads(self.rfile.read(n))
                if not isinstance(body, dict):
                    raise ApiError(400, "body must be a JSON object")
            self._send(200, self._route(method, parts, q, body))
        except ApiError as e:
            self._send(e.status, {"error": str(e)})
        except (ValueError, KeyError) as e:
            self._send(400, {"error": "%s: %s" % (type(e).__name__, e)})
        except Exception as e:  # a bug of ours: say so instead of hanging the caller
            self._send(500, {"error": "%s: %s" % (type(e).__name__, e)})

    def _route(self, method, parts, q, body):
        api = self.api
        if method == "GET" and parts == ["health"]:
            return {"coap": api.coap_uri, "seq": api.registry.last_seq}
        if method == "GET" and parts == ["clients"]:
            return api.clients()
        if method == "GET" and parts == ["events"]:
            since = int(q.get("since", 0))
            with api.registry.cond:
                return [e for e in api.registry.events if e["seq"] > since]
        if method == "GET" and parts == ["wait"]:
            return api.wait(None, q, body)
        if method == "GET" and parts == ["files"]:
            return api.files()
        if len(parts) in (2, 3) and parts[0] == "clients":
            name = ROUTES.get((method, parts[2] if len(parts) == 3 else ""))
            if name:
                return getattr(api, name)(parts[1], q, body)
        raise ApiError(404, "no route %s /%s" % (method, "/".join(parts)))

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PUT(self):
        # PUT /files/<name> with the raw bytes: `updraft update` hands the server its image
        parts = [urllib.parse.unquote(p) for p in urllib.parse.urlsplit(self.path).path.strip("/").split("/") if p]
        try:
            if len(parts) != 2 or parts[0] != "files":
                raise ApiError(404, "no route PUT /%s" % "/".join(parts))
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(200, self.api.put_file(parts[1], data))
        except ApiError as e:
            self._send(e.status, {"error": str(e)})


def serve(api, host, port):
    # Starts the HTTP server in a daemon thread; returns it (server_address has the port).
    handler = type("BoundHandler", (Handler,), {"api": api})
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, name="api", daemon=True).start()
    return httpd

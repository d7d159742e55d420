# Python client for the dev server's JSON API (tests, `updraft demo`, later `updraft update`).
# SPDX-License-Identifier: MIT
#
# The API (HTTP on localhost, JSON in and out; <ep> is the endpoint name, URL-quoted):
#   GET    /health                              {"coap": uri, "seq": last event seq}
#   GET    /clients                             [registration, ...]
#   GET    /clients/<ep>                        registration: endpoint, location, lifetime,
#                                               lwm2m, binding, address, objects, observations...
#   GET    /clients/<ep>/read?path=/3/0&format=tlv|senml_json|senml_cbor|text|<cf>
#   GET    /clients/<ep>/discover?path=/3&depth=N
#   POST   /clients/<ep>/write       {path, format, value | records:[{path,value}] | payload_hex,
#                                     partial: bool (POST partial update; else PUT replace)}
#   POST   /clients/<ep>/execute     {path, args: "0='x'"}
#   POST   /clients/<ep>/attributes  {path, attrs: {"pmin": 1, "pmax": 5, "gt": null (removes)}}
#   POST   /clients/<ep>/observe     {path, format}      first response, "observing": bool
#   DELETE /clients/<ep>/observe?path=/3/0/13
#   POST   /clients/<ep>/create      {path: "/o", format, records}
#   POST   /clients/<ep>/delete      {path: "/o/i"}
#   POST   /clients/<ep>/request     {method, path, accept, content_format, payload_hex, query:[..]}
#   GET    /clients/<ep>/notifications?since=N&path=P   {"notifications": [...], "seq": N}
#   GET    /clients/<ep>/wait?event=registered|updated|deregistered|expired|notification
#                                    &timeout=s&since=N&path=P   (long-poll; 408 on timeout)
#   GET    /wait?event=registered&timeout=s              same, any endpoint
#   GET    /events?since=N                               the event log
#   GET    /files                    {dir, uris: {coap, http}, files: [{name, size, etag, served}]}
#   PUT    /files/<name>             raw body: store a file to serve at <uris>/<name>
#   POST   /clients/<ep>/update      {file, method: pull-coap|pull-http|push, object: "/5/0",
#                                     timeout: s}   starts a job (409 while one runs)
#   GET    /clients/<ep>/update      the latest job: phase, percent, bytes, total, rate, elapsed,
#                                    state, result, done, ok, error, times, events: [...]
#   wait?event=update                one "update" event per progress step; the last has done
# DM answers: {code: "2.05", ok, format, format_name, payload_hex, records: [{path, name, value}],
# value (single resource), pretty: [lines], links (Discover), decode_error}. Values: JSON
# scalars, {"hex": ..} for opaque, {"objlnk": "o:i"}. Status: 200 when the client answered
# (whatever its CoAP code), 400 bad input, 404 unknown client, 408 wait timed out, 502/504
# client unreachable / silent.
import json
import urllib.error
import urllib.parse
import urllib.request


class ApiError(Exception):
    # An HTTP error from the API: .status and the server's message.
    def __init__(self, status, msg):
        Exception.__init__(self, "%s: %s" % (status, msg))
        self.status = status
        self.msg = msg


class Timeout(ApiError):
    pass


class DevServer:
    def __init__(self, base="http://127.0.0.1:8683"):
        self.base = base.rstrip("/")

    def _call(self, method, path, query=None, body=None, timeout=30):
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read()).get("error")
            except ValueError:
                msg = e.reason
            raise (Timeout if e.code == 408 else ApiError)(e.code, msg)

    def _ep(self, ep, action=""):
        return "/clients/" + urllib.parse.quote(ep, safe="") + ("/" + action if action else "")

    # -- registrations ------------------------------------------------------------------
    def health(self):
        return self._call("GET", "/health", timeout=5)

    def clients(self):
        return self._call("GET", "/clients")

    def client(self, ep):
        return self._call("GET", self._ep(ep))

    def wait(self, ep, event="registered", timeout=30, since=None, path=None):
        # Blocks until the event (or raises Timeout). ep None: any endpoint.
        q = {"event": event, "timeout": timeout, "since": since, "path": path}
        where = self._ep(ep, "wait") if ep else "/wait"
        return self._call("GET", where, q, timeout=timeout + 10)

    def events(self, since=0):
        return self._call("GET", "/events", {"since": since})

    # -- device management ----------------------------------------------------------------
    def read(self, ep, path, format=None, timeout=10):
        return self._call("GET", self._ep(ep, "read"), {"path": path, "format": format, "timeout": timeout},
                          timeout=timeout + 10)

    def discover(self, ep, path, depth=None, timeout=10):
        return self._call("GET", self._ep(ep, "discover"), {"path": path, "depth": depth, "timeout": timeout},
                          timeout=timeout + 10)

    def write(self, ep, path, value=None, format="tlv", records=None, partial=False, payload=None, timeout=10):
        body = {"path": path, "format": format, "partial": partial, "timeout": timeout}
        if records is not None:
            body["records"] = [{"path": p, "value": v} for p, v in records]
        elif payload is not None:
            body["payload_hex"] = bytes(payload).hex()
        else:
            body["value"] = value
        return self._call("POST", self._ep(ep, "write"), body=body, timeout=timeout + 10)

    def execute(self, ep, path, args=None, timeout=10):
        return self._call("POST", self._ep(ep, "execute"), body={"path": path, "args": args, "timeout": timeout},
                          timeout=timeout + 10)

    def write_attributes(self, ep, path, timeout=10, **attrs):
        return self._call("POST", self._ep(ep, "attributes"), body={"path": path, "attrs": attrs, "timeout": timeout},
                          timeout=timeout + 10)

    def observe(self, ep, path, format=None, timeout=10):
        return self._call("POST", self._ep(ep, "observe"), body={"path": path, "format": format, "timeout": timeout},
                          timeout=timeout + 10)

    def cancel(self, ep, path):
        return self._call("DELETE", self._ep(ep, "observe"), {"path": path})

    def notifications(self, ep, since=0, path=None):
        return self._call("GET", self._ep(ep, "notifications"), {"since": since, "path": path})

    def create(self, ep, path, records=(), format="tlv", timeout=10):
        body = {"path": path, "format": format, "records": [{"path": p, "value": v} for p, v in records],
                "timeout": timeout}
        return self._call("POST", self._ep(ep, "create"), body=body, timeout=timeout + 10)

    def delete(self, ep, path, timeout=10):
        return self._call("POST", self._ep(ep, "delete"), body={"path": path, "timeout": timeout},
                          timeout=timeout + 10)

    # -- files and update jobs ----------------------------------------------------------------
    def files(self):
        return self._call("GET", "/files")

    def put_file(self, name, data, timeout=60):
        req = urllib.request.Request(self.base + "/files/" + urllib.parse.quote(name, safe=""), data=bytes(data),
                                     method="PUT", headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, json.loads(e.read() or b"{}").get("error", e.reason))

    def update(self, ep, file, method="pull-coap", object="/5/0", timeout=300):
        body = {"file": file, "method": method, "object": object, "timeout": timeout}
        return self._call("POST", self._ep(ep, "update"), body=body)

    def update_status(self, ep):
        return self._call("GET", self._ep(ep, "update"))

    def request(self, ep, method, path, accept=None, content_format=None, payload=b"", query=(), timeout=10):
        body = {"method": method, "path": path, "accept": accept, "content_format": content_format,
                "payload_hex": bytes(payload).hex(), "query": list(query), "timeout": timeout}
        return self._call("POST", self._ep(ep, "request"), body=body, timeout=timeout + 10)

# Update jobs of the dev server: drive one firmware update of a registered device through
# Object /5 (pull by Package URI over our file server, or push by Block1 to /5/0/0), execute
# Update, follow the reset and re-registration, and judge the outcome. Runs on the CoAP loop.
# SPDX-License-Identifier: MIT
#
# Progress goes out as "update" events (phase, percent, bytes, total, rate, elapsed, state,
# result, message; the last one has done/ok) through the registry, so the API's wait
# endpoint follows it. State and Result come from observations of /5/0/3 and /5/0/5, with a
# Read every few seconds when nothing arrives (a notification may be lost or late).
import asyncio
import itertools
import struct
import time

import aiocoap
from aiocoap.optiontypes import BlockOption

from updraft.devserver.lwm2m import split_path

METHODS = ("pull-coap", "pull-http", "push")
PROTOCOL = {"pull-coap": 0, "pull-http": 2}  # /5/0/8 value each pull method needs
STATES = {0: "Idle", 1: "Downloading", 2: "Downloaded", 3: "Updating"}
RESULTS = {0: "initial", 1: "updated successfully", 2: "not enough flash", 3: "out of RAM",
           4: "connection lost", 5: "integrity check failure", 6: "unsupported package type",
           7: "invalid URI", 8: "update failed", 9: "unsupported protocol", 10: "cancelled",
           11: "deferred", 12: "conflicting state", 13: "dependency error"}
OCTET_STREAM = 42
_EVERY = 0.25  # progress events at most this often per phase (phase changes always go out)
_POLL = 3.0  # Read State/Result when no notification came for this long
_ids = itertools.count(1)


def image_version(head):
    # Version in an MCUboot header ("1.2.3", "+4" when the build number is set), else None
    if len(head) < 32 or struct.unpack_from("<I", head, 0)[0] != 0x96F3B83D:
        return None
    major, minor, rev, build = struct.unpack_from("<BBHI", head, 20)
    return "%d.%d.%d" % (major, minor, rev) + ("+%d" % build if build else "")


class JobFailed(Exception):
    def __init__(self, msg, result=None):
        Exception.__init__(self, msg)
        self.result = result


class Job:
    def __init__(self, updates, ep, name, method, obj, timeout):
        self.u = updates
        self.ep = ep
        self.name = name
        self.method = method
        self.obj = obj.rstrip("/")
        self.timeout = timeout
        self.id = next(_ids)
        self.size, self.etag = updates.store.info(name)
        with open(updates.store.path(name), "rb") as f:
            self.expect = image_version(f.read(32))
        self.t0 = time.monotonic()
        self.phase = None
        self.phase_t = self.t0
        self.last_emit = 0
        self.state = self.result = None
        self.reg_seq = 0
        self.poke = asyncio.Event()
        self.events = []
        self.times = {}
        self.status = {"job": self.id, "endpoint": ep, "file": name, "method": method, "object": self.obj,
                       "size": self.size, "expected_version": self.expect, "done": False, "ok": None}
        self.task = None

    # -- events -----------------------------------------------------------------------------
    def feed(self, ev):
        # every registry event of this endpoint (called on the loop)
        if ev["event"] == "registered":
            self.reg_seq = ev["seq"]
        elif ev["event"] == "notification" and ev.get("ok"):
            v = ev.get("value")
            before = self.state, self.result
            if isinstance(v, int):
                if ev["path"] == self.obj + "/3":
                    self.state = v
                elif ev["path"] == self.obj + "/5":
                    self.result = v
            if (self.state, self.result) != before and self.phase is not None and None not in (self.state, self.result):
                # every State/Result the device reports is in the job's history, also one
                # notified between two phases (State 3 after Execute's 2.04, before the reset)
                self.emit(self.phase, force=True)
        self.poke.set()

    def emit(self, phase, bytes_=None, total=None, message=None, force=False, **extra):
        now = time.monotonic()
        if phase != self.phase:
            self.phase, self.phase_t, force = phase, now, True
        if not force and now - self.last_emit < _EVERY:
            return
        self.last_emit = now
        ev = {"job": self.id, "phase": phase, "elapsed": round(now - self.t0, 3), "state": self.state,
              "result": self.result}
        if bytes_ is not None:
            dt = now - self.phase_t
            ev["bytes"] = bytes_
            ev["total"] = total
            ev["rate"] = round(bytes_ / dt) if dt > 0.05 and bytes_ else None
            if total:
                ev["percent"] = min(100, bytes_ * 100 // total)
        if message:
            ev["message"] = message
            self.u.registry.log("%s update       %s %s: %s" % (time.strftime("%H:%M:%S"), self.ep, phase, message))
        ev.update(extra)
        self.status.update({k: v for k, v in ev.items() if k != "job"})
        self.events.append(ev)
        self.u.registry.emit("update", self.ep, **ev)

    # -- device access ------------------------------------------------------------------
    async def read_int(self, rid, timeout=10):
        r = await self.u.dm.read(self.ep, "%s/%d" % (self.obj, rid), "text", timeout)
        if not r["ok"] or not isinstance(r.get("value"), int):
            raise JobFailed("Read %s/%d answered %s" % (self.obj, rid, r["code"]))
        return r["value"]

    async def read_text(self, path, timeout=10):
        r = await self.u.dm.read(self.ep, path, "text", timeout)
        return r.get("value") if r["ok"] else None

    async def refresh(self):
        try:
            self.state = await self.read_int(3)
            self.result = await self.read_int(5)
        except (JobFailed, LookupError, asyncio.TimeoutError, aiocoap.error.Error):
            pass  # rebooting or busy: the next poll or a notification tells

    async def observe(self):
        for rid in (3, 5):
            try:
                o = await self.u.dm.observe(self.ep, "%s/%d" % (self.obj, rid), "text", 10)
                if o["ok"] and isinstance(o.get("value"), int):
                    self.feed({"event": "notification", "ok": True, "path": "%s/%d" % (self.obj, rid),
                               "value": o["value"]})
            except Exception:  # noqa: BLE001  polling still works without an observation
                pass

    async def wait_until(self, pred, timeout, tick=None):
        # True once pred() holds; Reads State/Result when nothing arrived for _POLL seconds.
        # tick(): called about every 0.5 s (pull progress from the file server's counters)
        deadline = time.monotonic() + timeout
        quiet = time.monotonic()
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.poke.clear()
            try:
                await asyncio.wait_for(self.poke.wait(), min(left, 0.5))
                quiet = time.monotonic()
            except asyncio.TimeoutError:
                if time.monotonic() - quiet >= _POLL and self.ep in self.u.registry.clients:
                    await self.refresh()
                    quiet = time.monotonic()
            if tick:
                tick()
        return True

    def failed_result(self, what):
        r = self.result
        raise JobFailed("%s: State %s (%s), Result %s (%s)" % (what, self.state, STATES.get(self.state, "?"), r,
                                                              RESULTS.get(r, "?")), r)

    # -- the flow -----------------------------------------------------------------------
    async def run(self):
        try:
            await self._run()
        except JobFailed as e:
            self.finish(False, str(e), e.result)
        except asyncio.CancelledError:
            self.finish(False, "cancelled", None)
            raise
        except Exception as e:  # noqa: BLE001  the device went away, a CoAP error: say it and end
            self.finish(False, "%s: %s" % (type(e).__name__, e), self.result)

    def finish(self, ok, message, result):
        self.status.update(done=True, ok=ok, error=None if ok else message, times=self.times)
        self.emit("done" if ok else "failed", message=message, force=True, done=True, ok=ok,
                  update_result=result, times=self.times)

    async def _run(self):
        u, ep, obj = self.u, self.ep, self.obj
        if ep not in u.registry.clients:
            raise JobFailed("no client %r registered" % ep)
        self.emit("start", message="%s (%d bytes, version %s) to %s by %s" % (
            self.name, self.size, self.expect or "?", ep, self.method))
        self.state, self.result = await self.read_int(3), await self.read_int(5)
        if self.state == 3:
            raise JobFailed("the device is Updating already")
        if self.state in (1, 2):  # T6: an empty Package URI resets Downloading/Downloaded
            self.emit("reset", message="State %d: resetting with an empty Package URI" % self.state)
            await u.dm.write(ep, obj + "/1", "text", value="", timeout=10)
        await self.check_delivery()
        self.before = await self.read_text("/3/0/3")
        self.status["version_before"] = self.before
        await self.observe()
        t = time.monotonic()
        if self.method == "push":
            await self.push()
        else:
            await self.pull()
        self.times["download"] = round(time.monotonic() - t, 3)
        if not await self.wait_until(lambda: self.state == 2 or (self.state == 0 and self.result), 120):
            raise JobFailed("no State 2 within 120 s after the transfer (State %s)" % self.state)
        if self.state != 2:
            self.failed_result("download refused")
        pkg = (await self.read_text(obj + "/6"), await self.read_text(obj + "/7"))
        dt = self.times["download"]
        self.emit("downloaded", self.size, self.size, rate=round(self.size / dt) if dt > 0 else None,
                  message="State 2 Downloaded in %.2f s (%.0f KiB/s, signature checked), package %s %s" % (
                      dt, self.size / 1024.0 / max(dt, 1e-3), pkg[0] or "-", pkg[1] or "-"))

        t = time.monotonic()
        seq = u.registry.last_seq
        r = await u.dm.execute(ep, obj + "/2", timeout=30)
        if not r["ok"]:
            await self.refresh()
            raise JobFailed("Execute %s/2 answered %s" % (obj, r["code"]), self.result)
        self.emit("updating", message="Update executed (%s); waiting for the reset and a new registration" % r["code"])
        if not await self.wait_until(lambda: self.reg_seq > seq, 180):
            raise JobFailed("the device did not register again within 180 s")
        self.times["reboot"] = round(time.monotonic() - t, 3)
        self.state = self.result = None
        self.emit("registered", message="registered again %.2f s after Update" % self.times["reboot"])
        await self.observe()
        await self.refresh()
        t = time.monotonic()
        if not await self.wait_until(lambda: self.state in (0, 2) and self.result, 120):
            self.failed_result("no outcome within 120 s")
        self.times["confirm"] = round(time.monotonic() - t, 3)
        after = await self.read_text("/3/0/3")
        self.status["version_after"] = after
        self.times["total"] = round(time.monotonic() - self.t0, 3)
        if self.result != 1 or self.state != 0:
            self.failed_result("update failed (the device runs %s)" % after)
        if self.expect and after != self.expect:
            raise JobFailed("State 0 / Result 1 but /3/0/3 is %r, not %r" % (after, self.expect), self.result)
        self.finish(True, "State 0, Result 1 (%s); /3/0/3 %s -> %s; %.2f s in all" % (
            RESULTS[1], self.before, after, self.times["total"]), 1)

    async def check_delivery(self):
        # A server must not send a URI whose scheme /5/0/8 does not list (spec 5.1)
        obj, ep = self.obj, self.ep
        r = await self.u.dm.read(ep, obj + "/9", "text", 10)
        dm = r.get("value") if r["ok"] else 2
        if self.method == "push" and dm == 0 or self.method != "push" and dm == 1:
            raise JobFailed("Delivery Method %s/9 = %s does not allow %s" % (obj, dm, self.method))
        if self.method == "push":
            return
        r = await self.u.dm.read(ep, obj + "/8", None, 10)
        listed = [rec["value"] for rec in r.get("records") or ()] if r["ok"] else [0]  # absent: CoAP
        if PROTOCOL[self.method] not in listed:
            raise JobFailed("the device cannot pull by %s: Protocol Support %s/8 lists %s" % (
                self.method, obj, listed or "nothing"))

    async def pull(self):
        proto = "coap" if self.method == "pull-coap" else "http"
        uri = self.u.uris[proto] + self.name
        store = self.u.store
        base = store.bytes_served(self.name, proto)
        r = await self.u.dm.write(self.ep, self.obj + "/1", "text", value=uri, timeout=10)
        await self.refresh()
        if not r["ok"]:
            raise JobFailed("Write Package URI %s answered %s: Result %s (%s)" % (
                uri, r["code"], self.result, RESULTS.get(self.result, "?")), self.result)
        self.emit("download", 0, self.size, message="Package URI %s written (%s)" % (uri, r["code"]))

        def tick():
            self.emit("download", min(store.bytes_served(self.name, proto) - base, self.size), self.size)

        if not await self.wait_until(lambda: self.state != 1, self.timeout, tick):
            raise JobFailed("still Downloading after %s s" % self.timeout)

    async def push(self):
        # Block1 one block at a time (progress per block), following a smaller SZX the device
        # asks for; Size1 on the first block so it can refuse an oversize package at once.
        c = self.u.dm.client(self.ep)
        with open(self.u.store.path(self.name), "rb") as f:
            data = f.read()
        szx, off, total = 6, 0, len(data)
        path = split_path(self.obj + "/0")
        self.emit("download", 0, total,
                  message="pushing %d bytes to %s/0 (Block1, Content-Format 42)" % (total, self.obj))
        while True:
            chunk = data[off:off + (1 << (szx + 4))]
            more = off + len(chunk) < total
            msg = aiocoap.Message(code=aiocoap.PUT, uri_path=path, payload=chunk, content_format=OCTET_STREAM)
            msg.opt.block1 = BlockOption.BlockwiseTuple(off >> (szx + 4), more, szx)
            if off == 0:
                msg.opt.size1 = total
            msg.remote = c.remote
            req = self.u.dm.ctx.request(msg, handle_blockwise=False)
            resp = await asyncio.wait_for(req.response, 60)  # the last block waits for the signature check
            if resp.code == aiocoap.REQUEST_ENTITY_TOO_LARGE:
                await self.refresh()
                raise JobFailed("the device refused %d bytes with 4.13 (room for %s)" % (total, resp.opt.size1),
                                self.result)
            if not resp.code.is_successful():
                await self.refresh()
                raise JobFailed("block at offset %d answered %s" % (off, resp.code), self.result)
            off += len(chunk)
            if not more:
                break
            b1 = resp.opt.block1
            if resp.code != aiocoap.CONTINUE or b1 is None:
                raise JobFailed("block at offset %d answered %s without 2.31/Block1" % (off, resp.code))
            szx = min(szx, b1.size_exponent)
            self.emit("download", off, total)
        self.emit("download", total, total, force=True)
        await self.refresh()


class Updates:
    # The jobs, one running per endpoint; the latest one of each stays readable.
    def __init__(self, registry, dm, store, uris):
        self.registry = registry
        self.dm = dm
        self.store = store
        self.uris = uris  # {"coap": "coap://h:p/fw/", "http": "http://h:p/fw/" or None}
        self.jobs = {}
        registry.listeners.append(self._on_event)

    def _on_event(self, ev):
        job = self.jobs.get(ev.get("endpoint"))
        if job is not None and not job.status["done"] and ev["event"] != "update":
            job.feed(ev)

    def start(self, ep, name, method="pull-coap", obj="/5/0", timeout=300):
        # Called on the loop. Raises ValueError for bad input, RuntimeError when one runs.
        if method not in METHODS:
            raise ValueError("method must be one of %s" % ", ".join(METHODS))
        if self.store.info(name) is None:
            raise LookupError("no file %r in %s" % (name, self.store.dir))
        if method == "pull-http" and not self.uris.get("http"):
            raise ValueError("the dev server has no HTTP file server (--http-port)")
        if not obj.startswith("/5/"):
            raise ValueError("object must be /5/0 (/33629 is not driven yet)")
        old = self.jobs.get(ep)
        if old is not None and not old.status["done"]:
            raise RuntimeError("an update of %s is running (job %d)" % (ep, old.id))
        job = Job(self, ep, name, method, obj, float(timeout))
        self.jobs[ep] = job
        job.task = asyncio.ensure_future(job.run())
        return dict(job.status)

    def get(self, ep):
        job = self.jobs.get(ep)
        if job is None:
            raise LookupError("no update job for %r" % ep)
        return dict(job.status, events=list(job.events))

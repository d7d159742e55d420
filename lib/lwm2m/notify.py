# Write-Attributes and the notifications they drive (LwM2M 1.1 5.1.2, spec 3.3): pmin, pmax,
# gt, lt, st, epmin, epmax stored per path and inherited object -> instance -> resource,
# with the server's default pmin/pmax (/1/x/2, /1/x/3). One ticker for all observations:
# nothing is scheduled per change.
# SPDX-License-Identifier: MIT
from port import ticks_ms, ticks_add, ticks_diff
from port import log
from coap.message import Message
from port import const
from lwm2m.obj import LwError

_BAD_REQUEST = const(0x80)  # 4.00

NAMES = ("pmin", "pmax", "gt", "lt", "st", "epmin", "epmax")
_NUMERIC = ("int", "uint", "float", "time")


class Watch:
    # What one observation needs beyond the CoAP observer: its path, format, and state.
    def __init__(self, path, cf, value, payload=None):
        self.path = path
        self.cf = cf
        self.last = self.evaluated = ticks_ms()
        self.value = value  # last numeric value sent (for gt/lt/st)
        self.payload = payload  # last body sent: an epmax evaluation compares against it
        self.pending = False
        self.probe = False


class Notifier:
    def __init__(self, registry, observers, render, default_periods=None):
        # render(path, cf) -> (code, payload, numeric value or None); default_periods() ->
        # (pmin, pmax) in seconds from the Server object, or (0, None).
        self.registry = registry
        self.obs = observers
        self.render = render
        self.default_periods = default_periods
        self.attrs = {}
        registry.on_change = self.changed

    # -- attributes -------------------------------------------------------------------
    def write_attributes(self, path, query):
        # query: ["pmin=10", "gt=5", "st"]; a name without value clears it. Validates before
        # storing anything (4.00 on any error, nothing changed).
        new = dict(self.attrs.get(path, {}))
        for q in query:
            k, _, v = q.partition("=")
            if k not in NAMES:
                raise LwError(_BAD_REQUEST, "unknown attribute " + k)
            if not v:
                new.pop(k, None)
                continue
            try:
                x = float(v) if k in ("gt", "lt", "st") else int(v)
            except ValueError:
                raise LwError(_BAD_REQUEST, "bad attribute value")
            if x < 0 and k not in ("gt", "lt"):
                raise LwError(_BAD_REQUEST, "negative period")
            new[k] = x
        if ("gt" in new or "lt" in new or "st" in new) and (
            len(path) < 3 or self.registry.kind(path) not in _NUMERIC
        ):
            raise LwError(_BAD_REQUEST, "gt/lt/st need a numeric resource")
        if "gt" in new and "lt" in new:
            if not new["lt"] < new["gt"] or new["lt"] + 2 * new.get("st", 0) >= new["gt"]:
                raise LwError(_BAD_REQUEST, "need lt + 2*st < gt")
        if "pmax" in new and "pmin" in new and new["pmax"] < new["pmin"]:
            raise LwError(_BAD_REQUEST, "pmax < pmin")
        if new:
            self.attrs[path] = new
        else:
            self.attrs.pop(path, None)

    def attrs_of(self, path):
        # Attributes written at exactly this level, for Discover (fixed order).
        a = self.attrs.get(path)
        if not a:
            return ()
        return tuple((k, _num(a[k])) for k in NAMES if k in a)

    def effective(self, path):
        # Inherited attributes: object, then instance, then resource level override.
        out = {}
        for i in range(1, len(path) + 1):
            a = self.attrs.get(tuple(path[:i]))
            if a:
                out.update(a)
        if "pmin" not in out or "pmax" not in out:
            dmin, dmax = self.default_periods() if self.default_periods else (0, None)
            out.setdefault("pmin", dmin)
            if dmax:
                out.setdefault("pmax", dmax)
        return out

    # -- observations -----------------------------------------------------------------
    def watch(self, path, cf, records, payload=None):
        return Watch(path, cf, _numeric_value(records), payload)

    def changed(self, path):
        # marked only: the loop's next tick sends what pmin allows (deadline() says now), so
        # the changes one request makes (State, Result, time...) leave as one notification
        for o in self.obs.items:
            w = o.info
            if isinstance(w, Watch) and (_under(path, w.path) or _under(w.path, path)):
                w.pending = True

    def pending(self):
        # True while a change waits to be notified (held back by its pmin)
        for o in self.obs.items:
            if isinstance(o.info, Watch) and o.info.pending:
                return True
        return False

    def deadline(self):
        best = None
        for o in self.obs.items:
            w = o.info
            if not isinstance(w, Watch):
                continue
            a = self.effective(w.path)
            d = None
            if w.pending:
                d = ticks_add(w.last, int(a.get("pmin", 0) * 1000))
            for base, k in ((w.last, "pmax"), (w.evaluated, "epmax")):
                t = a.get(k)
                if t:
                    dm = ticks_add(base, int(t * 1000))
                    d = dm if d is None or ticks_diff(dm, d) < 0 else d
            if d is not None and (best is None or ticks_diff(d, best) < 0):
                best = d
        return best

    def tick(self, now):
        for o in list(self.obs.items):
            w = o.info
            if not isinstance(w, Watch):
                continue
            a = self.effective(w.path)
            since = ticks_diff(now, w.last)
            pmax = a.get("pmax")
            forced = bool(pmax) and since >= pmax * 1000
            epmax = a.get("epmax")
            if epmax and ticks_diff(now, w.evaluated) >= epmax * 1000:
                # values that change without telling us (time, signal) are read at least
                # every epmax; a different body counts as a change (LwM2M 1.1 5.1.2)
                w.pending = True
                w.probe = True
            if not forced and not (w.pending and since >= a.get("pmin", 0) * 1000):
                continue
            epmin = a.get("epmin")
            if not forced and epmin and ticks_diff(now, w.evaluated) < epmin * 1000:
                continue  # evaluated too recently: wait for epmin
            self._send(o, w, a, forced, now)

    def _send(self, o, w, a, forced, now):
        w.pending = False
        probe = w.probe
        w.probe = False
        w.evaluated = now
        try:
            code, payload, value = self.render(w.path, w.cf)
        except LwError as e:
            code, payload, value = e.code, b"", None
        if not forced and probe and code >> 5 == 2 and payload == w.payload:
            return  # an epmax evaluation that found nothing new
        if not forced and code >> 5 == 2 and not _crossed(a, w.value, value):
            return  # a change too small for gt/lt/st: not worth a notification
        m = Message(code=code, payload=payload)
        if code >> 5 == 2:
            m.add(12, w.cf)
        w.last = now
        w.payload = payload
        if value is not None:
            w.value = value
        self.obs.notify(o, m)
        log.debug("notify", w.path, len(payload), "bytes")


def _under(path, base):
    return len(path) >= len(base) and tuple(path[: len(base)]) == tuple(base)


def _num(x):
    return int(x) if isinstance(x, float) and x == int(x) else x


def _numeric_value(records):
    if len(records) == 1:
        v = records[0][1]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
    return None


def _crossed(a, old, new):
    # LwM2M 5.1.2: with gt/lt/st set on a numeric resource, notify only when the value
    # crosses gt or lt, or moved by at least st; without them any change counts.
    if not ("gt" in a or "lt" in a or "st" in a) or old is None or new is None:
        return True
    for k in ("gt", "lt"):
        t = a.get(k)
        if t is not None and (old <= t) != (new <= t):
            return True
    st = a.get("st")
    return st is not None and abs(new - old) >= st

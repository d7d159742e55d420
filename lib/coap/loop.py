# The one event loop: select.poll over our sockets plus a short list of deadlines.
# Single-threaded, no asyncio (MicroPython's has no UDP). Components that keep their own
# deadlines (an endpoint's retransmissions) register as "tickers" so the hot path schedules
# nothing per message.
# SPDX-License-Identifier: MIT
import select

from port import const, ticks_ms, ticks_add, ticks_diff, MICROPYTHON
from port import log

_IDLE_MS = const(1000)  # longest sleep when nothing is due (keeps the loop responsive to stop())


class Timer:
    # A one-shot callback at a tick deadline; cancel() before it fires to drop it.
    def __init__(self, loop, deadline, cb):
        self.loop = loop
        self.deadline = deadline
        self.cb = cb
        self.active = True

    def cancel(self):
        if self.active:
            self.active = False
            try:
                self.loop._timers.remove(self)
            except ValueError:
                pass


class Loop:
    def __init__(self):
        self._poll = select.poll()
        self._readers = {}
        self._timers = []  # sorted by deadline
        self._tickers = []  # objects with deadline() -> ticks or None, and tick(now)
        self.stopped = False

    # -- registration -----------------------------------------------------------------
    def add_reader(self, sock, cb, flags=select.POLLIN):
        # cb() is called when sock is readable; it must drain what it wants. A TCP client
        # passes select.POLLOUT to learn that a non-blocking connect finished, then calls
        # add_reader again with the default (registering twice updates the mask). A socket
        # adaptor (port.dtls) is polled through the object it names `pollable`.
        # (Parameter names here reuse names interned elsewhere: each new one is a qstr.)
        sock = getattr(sock, "pollable", sock)
        self._poll.register(sock, flags)
        self._readers[sock if MICROPYTHON else sock.fileno()] = cb

    def remove_reader(self, sock):
        sock = getattr(sock, "pollable", sock)
        try:
            self._poll.unregister(sock)
        except (OSError, KeyError, ValueError):
            pass
        self._readers.pop(sock if MICROPYTHON else sock.fileno(), None)

    def add_ticker(self, obj):
        self._tickers.append(obj)

    def remove_ticker(self, obj):
        if obj in self._tickers:
            self._tickers.remove(obj)

    def later(self, ms, cb):
        return self.at(ticks_add(ticks_ms(), ms), cb)

    def at(self, deadline, cb):
        t = Timer(self, deadline, cb)
        ts = self._timers
        i = len(ts)
        while i and ticks_diff(ts[i - 1].deadline, deadline) > 0:
            i -= 1
        ts.insert(i, t)
        return t

    # -- running ----------------------------------------------------------------------
    def run_once(self, ms=_IDLE_MS):
        # Wait for I/O or the next deadline (at most ms), then run what is due.
        now = ticks_ms()
        if self._timers:
            ms = min(ms, ticks_diff(self._timers[0].deadline, now))
        for tk in self._tickers:
            d = tk.deadline()
            if d is not None:
                ms = min(ms, ticks_diff(d, now))
        # poll, not ipoll: ipoll saves a small list per wake-up but measured twice the CPU
        # time per block on the unix port
        for ev in self._poll.poll(ms if ms > 0 else 0):
            cb = self._readers.get(ev[0])
            if cb is not None:
                self._guard(cb)
        now = ticks_ms()
        for tk in self._tickers:
            d = tk.deadline()
            if d is not None and ticks_diff(d, now) <= 0:
                self._guard(tk.tick, now)
        ts = self._timers
        while ts and ticks_diff(ts[0].deadline, now) <= 0:
            t = ts.pop(0)
            t.active = False
            self._guard(t.cb)

    def _guard(self, fn, *args):
        # A failing callback is logged, never allowed to kill the loop.
        try:
            fn(*args)
        except Exception as e:
            log.error("loop: callback failed", e)

    def run_until(self, fn, ms=None):
        # Run until fn() is true (returns True) or ms passed (returns False).
        start = ticks_ms()
        while not fn():
            if self.stopped:
                return False
            left = _IDLE_MS
            if ms is not None:
                left = ms - ticks_diff(ticks_ms(), start)
                if left <= 0:
                    return False
            self.run_once(min(left, _IDLE_MS))
        return True

    def run_forever(self):
        self.stopped = False
        while not self.stopped:
            self.run_once()

    def stop(self):
        self.stopped = True

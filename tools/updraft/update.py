# `updraft update`: hand an image to the dev server's file store, start an update job of one
# registered device (pull over CoAP or HTTP, or push) and follow it with a progress line
# until the device runs the new image (exit 0) or the job fails (exit 1, with the Result).
# SPDX-License-Identifier: MIT
import argparse
import os
import sys
import time

from updraft.devserver.apiclient import ApiError, DevServer
from updraft.devserver.main import DEFAULT_API_PORT
from updraft.devserver.update import METHODS, RESULTS, STATES

DEFAULT_API = "http://127.0.0.1:%d" % DEFAULT_API_PORT


def _kib(n):
    return "%.1f KiB" % (n / 1024.0)


def progress_line(ev):
    # "download  42%  110.2 KiB of 262.1 KiB  85.3 KiB/s  ETA 1.8 s" from an update event
    parts = ["%-10s" % ev.get("phase", "?")]
    if ev.get("percent") is not None:
        parts.append("%3d%%" % ev["percent"])
    if ev.get("bytes") is not None:
        parts.append("%s of %s" % (_kib(ev["bytes"]), _kib(ev["total"])) if ev.get("total") else _kib(ev["bytes"]))
    rate = ev.get("rate")
    if rate:
        parts.append("%s/s" % _kib(rate))
        if ev.get("total") and ev.get("bytes") is not None and ev["bytes"] < ev["total"]:
            parts.append("ETA %.1f s" % ((ev["total"] - ev["bytes"]) / float(rate)))
    parts.append("%.1f s" % ev.get("elapsed", 0))
    return "  ".join(parts)


class Follower:
    # Prints events: phase messages as lines; download progress rewritten in place on a
    # terminal, else one line per 10% (logs and tests stay short).
    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.tty = self.out.isatty()
        self.open_line = False
        self.last_pct = -10

    def _line(self, text):
        if self.open_line:
            self.out.write("\n")
            self.open_line = False
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, ev):
        if ev.get("message"):
            st = ""
            if ev.get("state") is not None:
                st = " [State %s %s, Result %s]" % (ev["state"], STATES.get(ev["state"], "?"), ev.get("result"))
            self._line("update: %s: %s%s" % (ev["phase"], ev["message"], st))
            return
        if ev.get("bytes") is None:
            return
        if self.tty:
            self.out.write("\rupdate: " + progress_line(ev) + "   ")
            self.out.flush()
            self.open_line = True
        elif ev.get("percent") is not None and ev["percent"] >= self.last_pct + 10:
            self.last_pct = ev["percent"] - ev["percent"] % 10
            self._line("update: " + progress_line(ev))


def follow(api, ep, seq, show, timeout):
    # Long-polls "update" events after seq until the job is done; -> the job's status
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ev = api.wait(ep, "update", timeout=min(30, max(1, deadline - time.monotonic())), since=seq)
        except ApiError as e:
            if e.status == 408:
                continue
            raise
        seq = ev["seq"]
        show(ev)
        if ev.get("done"):
            return api.update_status(ep)
    raise ApiError(408, "the update did not finish within %s s" % timeout)


def run(api, ep, path, method, obj="/5/0", timeout=600, out=None):
    # -> (exit code, job status)
    out = out or sys.stdout
    name = os.path.basename(path)
    with open(path, "rb") as f:
        data = f.read()
    put = api.put_file(name, data)
    where = put["uris"].get("coap" if method != "pull-http" else "http") if method != "push" else "a Block1 push"
    out.write("update: %s (%d bytes, etag %s) served as %s\n" % (name, put["size"], put["etag"], where))
    seq = api.health()["seq"]
    api.update(ep, name, method, obj, timeout)
    f = Follower(out)
    status = follow(api, ep, seq, f.show, timeout + 60)
    ok = bool(status.get("ok"))
    if ok:
        t = status.get("times", {})
        out.write("update: OK in %.1f s (download %.1f s, reset and registration %.1f s, confirm %.1f s)\n" % (
            t.get("total", 0), t.get("download", 0), t.get("reboot", 0), t.get("confirm", 0)))
    else:
        r = status.get("result")
        out.write("update: FAILED: %s%s\n" % (status.get("error"), "" if r is None else
                                              " (Update Result %s: %s)" % (r, RESULTS.get(r, "?"))))
    out.flush()
    return (0 if ok else 1), status


def main(argv=None):
    ap = argparse.ArgumentParser(prog="updraft update", description=(
        "Update a device registered with the dev server (updraft server): the server serves "
        "FILE, writes the Package URI (pull) or pushes it to /5/0/0, executes Update and "
        "checks that the device comes back with the new version."))
    ap.add_argument("--endpoint", "-e", required=True, help="the device's endpoint name")
    ap.add_argument("--file", "-f", required=True, help="signed image (updraft sign)")
    ap.add_argument("--method", "-m", choices=METHODS, default="pull-coap")
    ap.add_argument("--object", default="/5/0", help="Firmware Update instance (default /5/0)")
    ap.add_argument("--api", default=DEFAULT_API, help="dev server API (default %s)" % DEFAULT_API)
    ap.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    args = ap.parse_args(argv)
    api = DevServer(args.api)
    try:
        api.health()
    except (OSError, ApiError) as e:
        print("updraft update: no dev server at %s (%s); start one with `updraft server`" % (args.api, e),
              file=sys.stderr)
        return 2
    try:
        rc, _ = run(api, args.endpoint, args.file, args.method, args.object, args.timeout)
    except (OSError, ApiError) as e:
        print("updraft update: %s" % e, file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())

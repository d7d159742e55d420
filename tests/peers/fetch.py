# Run one fota.download engine into a SHA-256 sink; runs on CPython and MicroPython.
#   fetch.py URI [key=value ...]
# keys: offset, etag (hex), out (file the bytes are written to at their offsets; a resume
# opens it r+b), stop (cancel once this many bytes arrived: a "killed" download),
# maxsize (on_head refuses a larger package with Result 2), log (port.log level), ca (the
# trust-anchor file for https), hole (CoAP: a heap whose largest free block is this many
# bytes, so a datagram receive asking for more fails: coaptest.Starved), and any other
# engine tuning (retries, backoff_ms, timeout_ms, bufsize, redirects, ack_ms, max_retransmit,
# block_retries, szx, bert, tls_insecure) as integers.
# Prints "HEAD <size|-> <etag hex|->" when on_head runs, then
#   "RESULT <result|0> <restart 0|1> <offset> <bytes this run> <sha256 of them> <us> <etag|-> <size|-> <attempts>",
#   "PROGRESS <on_progress calls> <last offset> <1 if offsets never went back>"
import os
import sys

sys.path.insert(0, os.getenv("UPDRAFT_LIB") or "lib")
import binascii
import hashlib

from port import ticks_us, ticks_diff
from port import log
from coap.loop import Loop
from fota import download
from fota.const import FotaError, RESULT_NOT_ENOUGH_SPACE


def out(*a):
    print(*a)
    try:
        sys.stdout.flush()
    except AttributeError:
        pass


def hx(b):
    return binascii.hexlify(b).decode() if b else "-"


def main(argv):
    uri = argv[1]
    opts = {}
    for a in argv[2:]:
        k, v = a.split("=", 1)
        opts[k] = v
    offset = int(opts.pop("offset", "0"))
    etag = opts.pop("etag", None)
    etag = binascii.unhexlify(etag) if etag and etag != "-" else None
    path = opts.pop("out", None)
    stop = int(opts.pop("stop", "0"))
    maxsize = int(opts.pop("maxsize", "0"))
    log.set_level(int(opts.pop("log", "40")))
    hole = int(opts.pop("hole", "0"))
    if hole:
        sys.path.append("tests/unit")
        from coaptest import Starved
        from fota.download import coap as engine

        real = engine.udp_socket
        engine.udp_socket = lambda host, port: Starved(real(host, port), hole=hole)
    tuning = {}
    for k in opts:
        tuning[k] = opts[k] if k == "ca" else int(opts[k])
    f = None
    if path:
        f = open(path, "r+b" if offset else "wb")
    h = hashlib.sha256()
    st = {"n": 0, "eng": None}
    loop = Loop()

    def sink(off, data):
        if f is not None:
            f.seek(off)
            f.write(data)
        h.update(data)
        st["n"] += len(data)
        if stop and st["n"] >= stop:
            st["eng"].cancel()

    def on_head(size, etag):
        out("HEAD", size if size is not None else "-", hx(etag))
        if maxsize and size is not None and size > maxsize:
            raise FotaError(RESULT_NOT_ENOUGH_SPACE, "too large")

    prog = [0, offset, 1]  # calls, last offset, still in order

    def on_progress(off, size):
        prog[2] = prog[2] and off >= prog[1]
        prog[0] += 1
        prog[1] = off

    t0 = ticks_us()
    try:
        e = download.start(loop, uri, sink, offset, etag, on_head, None, on_progress, **tuning)
    except FotaError as err:
        out("RESULT", err.result, 0, offset, 0, "-", 0, "-", "-", 0)
        return
    st["eng"] = e
    loop.run_until(lambda: e.done, 120000)
    us = ticks_diff(ticks_us(), t0)
    if f is not None:
        f.close()
    # a "stop" cancel is a simulated kill: report it as no error, like a process that died
    res = e.error.result if e.error is not None and not (stop and st["n"] >= stop) else 0
    if not e.done:
        res = -1
    out("RESULT", res, 1 if e.restart_needed else 0, e.offset, st["n"], binascii.hexlify(h.digest()).decode(),
        us, hx(e.etag), e.size if e.size is not None else "-", e.attempts)
    out("PROGRESS", prog[0], prog[1], prog[2])
    if e.error is not None:
        out("REASON", e.error.reason)


main(sys.argv)

# The dev server's file server for pulls: one directory served over CoAP (Block2 sliced per
# request, ETag, Size2) at coap://HOST:PORT/fw/<name> and over HTTP/1.1 (Range, strong ETag,
# If-Match / If-Range) at http://HOST:HPORT/fw/<name>. Counts the bytes it serves.
# SPDX-License-Identifier: MIT
import collections
import hashlib
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiocoap
from aiocoap.optiontypes import BlockOption

PREFIX = "fw"
OCTET_STREAM = 42
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_CHUNK = 1 << 16
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class FileStore:
    # The served directory. ETags come from the content (8 bytes of SHA-256: the CoAP ETag
    # limit), cached per (size, mtime) so a replaced file gets a new one.
    def __init__(self, directory):
        self.dir = os.path.abspath(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.lock = threading.Lock()
        self._meta = {}
        self.served = collections.Counter()  # (proto, name) -> bytes sent
        self.requests = collections.Counter()  # (proto, name) -> requests answered

    def path(self, name):
        # None for anything that is not a plain file name in the directory (no traversal)
        if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
            return None
        return os.path.join(self.dir, name)

    def info(self, name):
        # -> (size, etag bytes) or None when there is no such file
        p = self.path(name)
        try:
            st = os.stat(p) if p else None
        except OSError:
            return None
        if st is None or not os.path.isfile(p):
            return None
        key = (st.st_size, st.st_mtime_ns)
        with self.lock:
            m = self._meta.get(name)
            if m and m[0] == key:
                return m[1]
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        out = (st.st_size, h.digest()[:8])
        with self.lock:
            self._meta[name] = (key, out)
        return out

    def read(self, name, offset, n):
        with open(self.path(name), "rb") as f:
            f.seek(offset)
            return f.read(n)

    def add(self, name, data):
        # Store data under name (atomically: a pull in progress sees the old or the new file)
        p = self.path(name)
        if p is None:
            raise ValueError("bad file name %r (letters, digits, ._+-)" % name)
        tmp = p + ".part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, p)
        return self.info(name)

    def count(self, proto, name, n):
        with self.lock:
            self.served[(proto, name)] += n
            self.requests[(proto, name)] += 1

    def bytes_served(self, name, proto=None):
        with self.lock:
            return sum(v for (p, n), v in self.served.items() if n == name and proto in (None, p))

    def listing(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            i = self.info(name)
            if i is None or name.endswith(".part"):
                continue
            with self.lock:
                served = {p: v for (p, n), v in self.served.items() if n == name}
            out.append({"name": name, "size": i[0], "etag": i[1].hex(), "served": served})
        return out


# -- CoAP ---------------------------------------------------------------------------------
def coap_render(store, request, name):
    # GET coap://.../fw/<name>: each request is answered from the file at the asked offset
    # (no per-client state), so a client may resume at any block after a reboot.
    if request.code != aiocoap.GET:
        return aiocoap.Message(code=aiocoap.METHOD_NOT_ALLOWED)
    info = store.info(name)
    if info is None:
        return aiocoap.Message(code=aiocoap.NOT_FOUND, payload=b"no such file")
    size, etag = info
    if request.opt.etags and etag in request.opt.etags and request.opt.block2 is None:
        return aiocoap.Message(code=aiocoap.VALID, etag=etag)
    szx = min(request.remote.maximum_block_size_exp, 6)
    num = 0
    if request.opt.block2 is not None:
        # the asked offset in the client's block size; we answer with the smaller of its
        # size and ours (early negotiation), BERT (7) counted as 1024-byte blocks over UDP
        rszx = request.opt.block2.size_exponent
        off = request.opt.block2.block_number * 1024 if rszx == 7 else request.opt.block2.block_number << (rszx + 4)
        szx = min(szx, rszx)
        num = off >> (szx + 4)
    bs = 1 << (szx + 4)
    off = num * bs
    if off >= size and not (off == 0 and size == 0):
        return aiocoap.Message(code=aiocoap.BAD_OPTION, payload=b"block out of range")
    data = store.read(name, off, bs)
    more = off + len(data) < size
    resp = aiocoap.Message(code=aiocoap.CONTENT, payload=data, content_format=OCTET_STREAM, etag=etag)
    if more or request.opt.block2 is not None:
        resp.opt.block2 = BlockOption.BlockwiseTuple(num, more, szx)
    if num == 0 or request.opt.size2 is not None:
        resp.opt.size2 = size
    store.count("coap", name, len(data))
    return resp


# -- HTTP ---------------------------------------------------------------------------------
def _etags(value):
    # 'If-Match: "a", W/"b"' -> ["\"a\"", "W/\"b\""]; "*" stays "*"
    return [t.strip() for t in value.split(",") if t.strip()]


class FileHandler(BaseHTTPRequestHandler):
    store = None  # set by serve_http()
    protocol_version = "HTTP/1.1"
    server_version = "updraft-files"

    def log_message(self, fmt, *args):
        pass

    def _plain(self, status, text, extra=()):
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        if len(parts) != 2 or parts[0] != PREFIX:
            return self._plain(404, "not found")
        name = parts[1]
        info = self.store.info(name)
        if info is None:
            return self._plain(404, "no such file")
        size, raw = info
        etag = '"%s"' % raw.hex()
        im = self.headers.get("If-Match")
        if im is not None and "*" not in _etags(im) and etag not in _etags(im):
            # strong comparison (RFC 9110 13.1.1): a weak tag never matches
            return self._plain(412, "ETag changed", (("ETag", etag),))
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        ir = self.headers.get("If-Range")
        if rng is not None and (ir is None or ir.strip() == etag):
            m = _RANGE.match(rng.strip())
            if m:  # other range forms (suffix, lists) are ignored: a 200 is always allowed
                a = int(m.group(1))
                b = int(m.group(2)) if m.group(2) else size - 1
                if a >= size or b < a:
                    return self._plain(416, "range not satisfiable", (("Content-Range", "bytes */%d" % size),))
                start, end, status = a, min(b, size - 1), 206
        n = end - start + 1 if size else 0
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        try:
            with open(self.store.path(name), "rb") as f:
                f.seek(start)
                while sent < n:
                    chunk = f.read(min(_CHUNK, n - sent))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the device went away mid-body (a reset, a test)
        finally:
            self.store.count("http", name, sent)


def serve_http(store, host, port):
    # Starts the HTTP file server in a daemon thread; returns it (server_address has the port).
    handler = type("BoundFileHandler", (FileHandler,), {"store": store})
    httpd = ThreadingHTTPServer((host, port), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, name="files-http", daemon=True).start()
    return httpd

# Peers and the driver for the download-engine tests (fota.download): nginx from Debian
# (static files, Range, ETag, a location that ignores Range), a small CPython http.server
# for what nginx cannot do with static files (chunked bodies, redirects, a body cut off
# mid-way, 503; also behind ssl), an aiocoap file server with a stable ETag (UDP and TCP),
# libcoap's coap-server-openssl for coaps (DTLS), and fetch(): one engine run under CPython
# or MicroPython through tests/peers/fetch.py.
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import ROOT
from peers import require, free_port, RUNTIMES, Proc

NGINX_CONF = """
{user}
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /norange/ {{ alias {root}/; max_ranges 0; }}
        location /moved {{ return 302 /fw.bin; }}
    }}
{extra}
}}
"""


def tcp_free_port():
    return free_port(socket.SOCK_STREAM)


def wait_tcp(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("nothing listens on %d" % port)


class Nginx:
    # nginx in the foreground with a generated config, serving `root` on a free port.
    # extra: more of the http block (more server blocks); "@PORT@" in it is our port.
    def __init__(self, tmp, root, extra=""):
        self.exe = require("nginx")
        self.port = tcp_free_port()
        tmp = str(tmp)
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            # as root, nginx's workers become "nobody", who cannot read pytest's 0700 tmp dirs
            user = "user root;" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
            f.write(NGINX_CONF.format(user=user, tmp=tmp, port=self.port, root=str(root),
                                      extra=extra.replace("@PORT@", str(self.port))))
        self.tmp = tmp
        self.p = subprocess.Popen([self.exe, "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "error.log")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_tcp(self.port)
        except AssertionError:
            self.stop()
            raise AssertionError("nginx did not start: " + self.errors())

    def errors(self):
        try:
            return open(os.path.join(self.tmp, "error.log")).read()[-2000:]
        except OSError:
            return ""

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    data = b""
    drops = [0]  # how many more /drop responses are cut off after half the body

    def log_message(self, *a):
        pass

    def do_GET(self):
        d = self.data
        etag = '"%s"' % hashlib.sha256(d).hexdigest()[:16]
        if self.path == "/redirect":
            return self._simple(302, [("Location", "/chunked")])
        if self.path == "/redirect-abs":
            return self._simple(301, [("Location", "http://127.0.0.1:%d/fw" % self.server.server_port)])
        if self.path == "/loop":
            return self._simple(307, [("Location", "/loop")])
        if self.path == "/https":
            return self._simple(302, [("Location", "https://127.0.0.1/fw")])
        if self.path == "/boom":
            return self._simple(503, [])
        start = 0
        rng = self.headers.get("Range")
        im = self.headers.get("If-Match")
        if im is not None and im != etag:
            return self._simple(412, [])
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(d):
                return self._simple(416, [("Content-Range", "bytes */%d" % len(d))])
        status = 206 if start else 200
        if self.path == "/chunked":
            self.send_response(status)
            self.send_header("ETag", etag)
            self.send_header("Transfer-Encoding", "chunked")
            if start:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(d) - 1, len(d)))
            self.end_headers()
            pos = start
            n = 1
            while pos < len(d):
                # chunk sizes that straddle our receive buffer; an extension on some
                piece = d[pos : pos + 777 * n]
                ext = ";x=1" if n % 3 == 0 else ""
                self.wfile.write(b"%x%s\r\n" % (len(piece), ext.encode()) + piece + b"\r\n")
                pos += len(piece)
                n = n % 7 + 1
            self.wfile.write(b"0\r\nX-Trailer: 1\r\n\r\n")
            return
        if self.path in ("/fw", "/drop", "/close"):
            body = d[start:]
            self.send_response(status)
            self.send_header("ETag", etag)
            if self.path != "/close":
                self.send_header("Content-Length", str(len(body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            if start:
                self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(d) - 1, len(d)))
            self.end_headers()
            if self.path == "/drop" and self.drops[0] > 0:
                self.drops[0] -= 1
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)
            return
        self._simple(404, [])

    def _simple(self, code, headers):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()


class PyHttp:
    # A threaded CPython HTTP/1.1 server in this process serving `data`; https with
    # tls=(certificate file, key file).
    def __init__(self, data, drops=1, tls=None):
        handler = type("H", (_Handler,), {"data": data, "drops": [drops]})
        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.srv.daemon_threads = True
        self.port = self.srv.server_port
        self.scheme = "http"
        if tls:
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
            self.scheme = "https"
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def url(self, path):
        return "%s://127.0.0.1:%d/%s" % (self.scheme, self.port, path)

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


class CoapFiles:
    # tests/peers/coap_fileserver.py: every file of `root` over CoAP UDP and TCP.
    def __init__(self, root, which="both"):
        self.port = tcp_free_port()
        self.p = Proc([sys.executable, "tests/peers/coap_fileserver.py", str(self.port), str(root), which])
        try:
            self.p.expect("READY", 20)
        except AssertionError:
            self.p.stop()
            raise

    def url(self, path, scheme="coap"):
        return "%s://127.0.0.1:%d/%s" % (scheme, self.port, path)

    def stop(self):
        self.p.stop()


def _port_pair():
    # a UDP port p with p+1 free too (coap-server takes p for CoAP, p+1 for DTLS)
    for _ in range(50):
        p = free_port()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port pair")


class DtlsServer:
    # coap-server-openssl with dynamic resources: PUT over plain CoAP on port, GET over
    # DTLS on port + 1 with the certificate `crt` (clients need no certificate: -n)
    def __init__(self, pki, crt, key):
        self.exe = require("coap-server-openssl")
        self.client = require("coap-client-notls")
        self.port = _port_pair()
        self.p = subprocess.Popen([self.exe, "-A", "127.0.0.1", "-p", str(self.port), "-d", "4", "-v", "0",
                                   "-c", crt, "-j", key, "-C", pki["ca_pem"], "-n"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def put(self, name, data, tmp):
        f = tmp / ("put-" + name)
        f.write_bytes(data)
        subprocess.run([self.client, "-m", "put", "-b", "1024", "-f", str(f),
                        "coap://127.0.0.1:%d/%s" % (self.port, name)], check=True, capture_output=True, timeout=120)

    def uri(self, name):
        return "coaps://127.0.0.1:%d/%s" % (self.port + 1, name)

    def stop(self):
        self.p.terminate()
        self.p.wait(5)


class Silent:
    # A TCP listener that accepts and never answers (the kernel completes the handshake).
    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(4)
        self.port = self.s.getsockname()[1]

    def stop(self):
        self.s.close()


def fetch(runtime, uri, *args, timeout=60, **kv):
    # -> dict: result, restart, offset, bytes, sha, us, etag, size, attempts, head, reason
    argv = RUNTIMES[runtime] + ["tests/peers/fetch.py", uri] + [str(a) for a in args]
    argv += ["%s=%s" % (k, v) for k, v in sorted(kv.items())]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    r = {"head": None, "reason": None, "out": out.stdout[-3000:] + out.stderr[-2000:]}
    for line in out.stdout.splitlines():
        w = line.split()
        if w and w[0] == "HEAD":
            r["head"] = (None if w[1] == "-" else int(w[1]), None if w[2] == "-" else w[2])
        elif w and w[0] == "PROGRESS":
            r["progress"] = (int(w[1]), int(w[2]), w[3] in ("1", "True"))
        elif w and w[0] == "REASON":
            r["reason"] = line[7:]
        elif w and w[0] == "RESULT":
            keys = ("result", "restart", "offset", "bytes", "sha", "us", "etag", "size", "attempts")
            for k, v in zip(keys, w[1:]):
                r[k] = v if k in ("sha", "etag") else (None if v == "-" else int(v))
    if "result" not in r:
        raise AssertionError("fetch printed no result: " + r["out"])
    return r


def sha(data):
    return hashlib.sha256(data).hexdigest()


__all__ = ["Nginx", "PyHttp", "CoapFiles", "DtlsServer", "Silent", "fetch", "sha", "free_port", "tcp_free_port"]

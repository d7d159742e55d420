# bench: 1 MiB HTTP pull from nginx on loopback with our fota.download http engine (CPython
# and the MicroPython unix port, in-process transfer time into a SHA-256 sink) next to curl
# (its own time_total, process start excluded); the same over https (nginx TLS with a test
# CA from updraft.certs, curl --cacert), with the cost of one connection + handshake (a
# 16-byte file). Also CoAP over TCP from libcoap's server (BERT) for comparison with the UDP
# Block2 figures, and coaps (Block2 over DTLS, MicroPython only: CPython's ssl has no DTLS)
# from coap-server-openssl next to plain coap from the same server and coap-client-openssl
# (whole process). Medians of RUNS runs.
# Plus the smallest MicroPython heap each pull completes in, lib/ in a ROMFS image (romfs.py).
#   python -m updraft.bench_download  -> prints the dict run() returns
# SPDX-License-Identifier: MIT
import contextlib
import hashlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
FETCH = os.path.join(ROOT, "tests", "peers", "fetch.py")
MIB = 1 << 20
RUNS = 5

_CONF = """
%(user)s
daemon off;
worker_processes 1;
pid %(tmp)s/nginx.pid;
error_log %(tmp)s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %(tmp)s/body;
    proxy_temp_path %(tmp)s/proxy;
    fastcgi_temp_path %(tmp)s/fastcgi;
    uwsgi_temp_path %(tmp)s/uwsgi;
    scgi_temp_path %(tmp)s/scgi;
    sendfile on;
    server { listen 127.0.0.1:%(port)d; root %(tmp)s; }
    server {
        listen 127.0.0.1:%(tls)d ssl;
        ssl_certificate %(crt)s;
        ssl_certificate_key %(key)s;
        root %(tmp)s;
    }
}
"""


def _port(kind=socket.SOCK_STREAM):
    from updraft.bench import _free_port

    return _free_port(kind)


def _need(name):
    from updraft.bench import _need as need  # one definition; imported late (bench imports us)

    return need(name)


def _wait(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on %d did not start" % port)


def _ours(exe, uri, digest, *args):
    out = subprocess.run([exe, FETCH, uri] + list(args), cwd=ROOT, capture_output=True, text=True, timeout=120)
    for line in out.stdout.splitlines():
        w = line.split()
        if w and w[0] == "RESULT":
            if w[1] != "0" or w[5] != digest:
                raise RuntimeError("pull failed: " + line)
            return int(w[6]) / 1e6
    raise RuntimeError("no result: " + out.stdout + out.stderr)


def _curl(curl, uri, tmp, *args):
    out = os.path.join(tmp, "curl.bin")
    r = subprocess.run([curl, "-s", "-o", out, "-w", "%{time_total}", uri] + list(args), capture_output=True,
                       text=True, timeout=60, check=True)
    if os.path.getsize(out) != MIB:
        raise RuntimeError("curl fetched a short file")
    return float(r.stdout.strip())


def _min_heap(uri, digest, image, *args):
    # smallest MicroPython heap for the pull, lib/ and the driver run from a ROMFS image as
    # on a board (romfs.py)
    from updraft import romfs

    return romfs.min_heap(image, "fetch", [uri] + list(args), lambda p: (" %s " % digest) in p.stdout,
                          env=dict(os.environ, UPDRAFT_LIB="/rom/lib"))


def _median(fn, *a):
    return round(statistics.median(fn(*a) for _ in range(RUNS)), 4)


def _vs_curl(res):
    c = res["curl_s"] or 1e-6
    res["cpython_vs_curl"] = round(res["updraft_cpython_s"] / c, 1)
    res["micropython_vs_curl"] = round(res["updraft_micropython_s"] / c, 1)
    return res


@contextlib.contextmanager
def nginx(root):
    # nginx from Debian serving `root` over http (Range, ETag) and https (the server certificate
    # of a throwaway test PKI in root/pki); -> (http port, https port, pki)
    from updraft import certs

    exe = _need("nginx")
    port, tls = _port(), _port()
    pki = certs.pki(os.path.join(root, "pki"))
    user = "user root;" if os.geteuid() == 0 else ""
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(_CONF % {"user": user, "tmp": root, "port": port, "tls": tls, "crt": pki["server_crt"],
                         "key": pki["server_key"]})
    p = subprocess.Popen([exe, "-p", root, "-c", conf, "-e", os.path.join(root, "error.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        _wait(tls)
        yield port, tls, pki
    finally:
        p.terminate()
        p.wait(5)


def http_pulls(tmp, data, digest, lib):
    # -> {"http_pull_1mib": ..., "https_pull_1mib": ...} from one nginx
    curl = _need("curl")
    mpy = os.path.join(BIN, "micropython")
    with open(os.path.join(tmp, "fw.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(tmp, "tiny.bin"), "wb") as f:
        f.write(data[:16])
    tiny = hashlib.sha256(data[:16]).hexdigest()
    with nginx(tmp) as (port, tls, pki):
        uri = "http://127.0.0.1:%d/fw.bin" % port
        plain = {"updraft_cpython_s": _median(_ours, sys.executable, uri, digest),
                 "updraft_micropython_s": _median(_ours, mpy, uri, digest),
                 "curl_s": _median(_curl, curl, uri, tmp),
                 "anjay_reference_s": 0.012,
                 "micropython_min_heap_bytes": _min_heap(uri, digest, lib)}
        uri = "https://127.0.0.1:%d/fw.bin" % tls
        ca = "ca=" + pki["ca_der"]
        small = "https://127.0.0.1:%d/tiny.bin" % tls
        secure = {"updraft_cpython_s": _median(_ours, sys.executable, uri, digest, ca),
                  "updraft_micropython_s": _median(_ours, mpy, uri, digest, ca),
                  "curl_s": _median(_curl, curl, uri, tmp, "--cacert", pki["ca_pem"]),
                  "connect_handshake_cpython_s": _median(_ours, sys.executable, small, tiny, ca),
                  "connect_handshake_micropython_s": _median(_ours, mpy, small, tiny, ca),
                  "micropython_min_heap_bytes": _min_heap(uri, digest, lib, ca),
                  "tls": "TLS 1.2+ ECDHE, P-256 server certificate verified against the CA"}
    _vs_curl(plain)
    plain["micropython_vs_anjay"] = round(plain["updraft_micropython_s"] / 0.012, 2)
    return {"http_pull_1mib": plain, "https_pull_1mib": _vs_curl(secure)}


def coap_tcp_pull(tmp, data, digest, lib):
    server = _need("coap-server-notls")
    client = _need("coap-client-notls")
    mpy = os.path.join(BIN, "micropython")
    port = _port(socket.SOCK_DGRAM)
    p = subprocess.Popen([server, "-A", "127.0.0.1", "-p", str(port), "-d", "4", "-v", "0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        f = os.path.join(tmp, "put.bin")
        with open(f, "wb") as fh:
            fh.write(data)
        subprocess.run([client, "-m", "put", "-b", "1024", "-f", f, "coap://127.0.0.1:%d/fw" % port],
                       check=True, capture_output=True, timeout=120)
        uri = "coap+tcp://127.0.0.1:%d/fw" % port
        return {"updraft_cpython_s": _median(_ours, sys.executable, uri, digest),
                "updraft_micropython_s": _median(_ours, mpy, uri, digest),
                "micropython_min_heap_bytes": _min_heap(uri, digest, lib),
                "bert": "offered in our CSM; libcoap sends 8-16 KiB messages"}
    finally:
        p.terminate()
        p.wait(5)


def _coap_client(client, uri, tmp, *args):
    out = os.path.join(tmp, "coaps.bin")
    t = time.perf_counter()
    subprocess.run([client, "-b", "1024", "-o", out, uri] + list(args), check=True, capture_output=True,
                   timeout=120)
    dt = time.perf_counter() - t
    if os.path.getsize(out) != MIB:
        raise RuntimeError("coap-client fetched a short file")
    return dt


def coaps_pull(tmp, data, digest, lib):
    from updraft import certs

    server = _need("coap-server-openssl")
    client = _need("coap-client-openssl")
    mpy = os.path.join(BIN, "micropython")
    pki = certs.pki(os.path.join(tmp, "pki-coaps"))
    port = _port(socket.SOCK_DGRAM)
    p = subprocess.Popen([server, "-A", "127.0.0.1", "-p", str(port), "-d", "4", "-v", "0", "-c", pki["server_crt"],
                          "-j", pki["server_key"], "-C", pki["ca_pem"], "-n"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        f = os.path.join(tmp, "put.bin")
        with open(f, "wb") as fh:
            fh.write(data)
        subprocess.run([client, "-m", "put", "-b", "1024", "-f", f, "coap://127.0.0.1:%d/fw" % port],
                       check=True, capture_output=True, timeout=120)
        uri = "coaps://127.0.0.1:%d/fw" % (port + 1)
        ca = "ca=" + pki["ca_der"]
        return {"updraft_micropython_s": _median(_ours, mpy, uri, digest, ca),
                "updraft_micropython_plain_coap_s": _median(_ours, mpy, "coap://127.0.0.1:%d/fw" % port, digest),
                "coap_client_openssl_s": _median(_coap_client, client, uri, tmp, "-R", pki["ca_pem"]),
                "micropython_min_heap_bytes": _min_heap(uri, digest, lib, ca),
                "cpython": "no DTLS in ssl: Result 9, /5/0/8 without 1"}
    finally:
        p.terminate()
        p.wait(5)


def run():
    data = random.Random(11).randbytes(MIB)
    digest = hashlib.sha256(data).hexdigest()
    from updraft import romfs

    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        lib = os.path.join(tmp, "fetch.romfs")  # what _min_heap runs
        romfs.build(lib, extra=(("fetch.py", FETCH),))
        res = http_pulls(tmp, data, digest, lib)
        res["coap_tcp_pull_1mib"] = coap_tcp_pull(tmp, data, digest, lib)
        res["coaps_pull_1mib"] = coaps_pull(tmp, data, digest, lib)
        return res


if __name__ == "__main__":
    print(run())

# fota.download https:// on CPython (ssl) and MicroPython (tls, mbedTLS) against nginx with
# TLS server blocks and a CPython http.server behind ssl, with a PKI made here by
# `cryptography` (updraft.certs): full pull with PEM and DER trust anchors, Range + If-Match
# resume, chunked, a body cut off mid-way, a body until close (confirmed by a 416),
# redirects (http -> https followed, https -> http refused); an untrusted CA, a wrong
# server name, no trust anchors (Result 9 unless tls_insecure). Every transfer is checked
# by SHA-256 of what the sink got.
import os

import pytest

from peers import blob
from dlpeers import Nginx, PyHttp, Silent, fetch, sha, tcp_free_port
from updraft import certs

RUNTIMES = ["cpython", "micropython"]
SIZE = 1 << 20
FAST = {"retries": 1, "backoff_ms": 20, "timeout_ms": 2000}

TLS_SERVERS = """
    server {{
        listen 127.0.0.1:{tls} ssl;
        ssl_certificate {crt};
        ssl_certificate_key {key};
        root {root};
        location /norange/ {{ alias {root}/; max_ranges 0; }}
        location /moved {{ return 302 /fw.bin; }}
        location /to-http {{ return 302 http://127.0.0.1:@PORT@/fw.bin; }}
    }}
    server {{
        listen 127.0.0.1:{wrong} ssl;
        ssl_certificate {wcrt};
        ssl_certificate_key {wkey};
        root {root};
    }}
    server {{
        listen 127.0.0.1:{up};
        location /to-https {{ return 302 https://127.0.0.1:{tls}/fw.bin; }}
    }}
"""


@pytest.fixture(scope="module")
def image():
    return blob(SIZE, seed=7)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return certs.pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, image, pki):
    tmp = tmp_path_factory.mktemp("nginx-tls")
    root = tmp / "root"
    root.mkdir()
    (root / "fw.bin").write_bytes(image)
    ports = {"tls": tcp_free_port(), "wrong": tcp_free_port(), "up": tcp_free_port()}
    extra = TLS_SERVERS.format(crt=pki["server_crt"], key=pki["server_key"], wcrt=pki["wrong_crt"],
                               wkey=pki["wrong_key"], root=root, **ports)
    n = Nginx(tmp, root, extra)
    n.__dict__.update(ports)
    try:
        yield n
    finally:
        n.stop()


def https(port, path):
    return "https://127.0.0.1:%d/%s" % (port, path)


@pytest.fixture
def pyhttps(image, pki):
    h = PyHttp(image, tls=(pki["server_crt"], pki["server_key"]))
    try:
        yield h
    finally:
        h.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("anchors", ["ca_pem", "ca_der", "both_pem"])
def test_full_pull(nginx, image, pki, runtime, anchors):
    r = fetch(runtime, https(nginx.tls, "fw.bin"), ca=pki[anchors])
    assert (r["result"], r["bytes"], r["sha"]) == (0, SIZE, sha(image)), r["out"]
    assert r["head"][0] == SIZE and r["etag"] != "-" and r["attempts"] == 1
    calls, last, ordered = r["progress"]
    assert 200 <= calls <= 257 and last == SIZE and ordered


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_resume_with_range_and_if_match(nginx, image, pki, runtime, tmp_path):
    out = tmp_path / "slot.bin"
    a = fetch(runtime, https(nginx.tls, "fw.bin"), out=out, stop=300000, ca=pki["ca_der"])
    assert a["result"] == 0 and 300000 <= a["offset"] < SIZE, a["out"]
    b = fetch(runtime, https(nginx.tls, "fw.bin"), out=out, offset=a["offset"], etag=a["etag"], ca=pki["ca_der"])
    assert (b["result"], b["restart"], b["bytes"]) == (0, 0, SIZE - a["offset"]), b["out"]
    assert b["head"][0] == SIZE
    assert sha(out.read_bytes()) == sha(image)
    log = open(os.path.join(nginx.tmp, "access.log")).read()
    assert '"GET /fw.bin HTTP/1.1" 206 ' in log
    c = fetch(runtime, https(nginx.tls, "norange/fw.bin"), offset=5000, etag=a["etag"], ca=pki["ca_der"])
    assert (c["result"], c["restart"], c["bytes"]) == (4, 1, 0), c["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_untrusted_certificate_is_result_4_and_writes_nothing(nginx, pki, runtime, tmp_path):
    out = tmp_path / "slot.bin"
    r = fetch(runtime, https(nginx.tls, "fw.bin"), ca=pki["other_ca_der"], out=out, log=30)
    assert (r["result"], r["bytes"], r["attempts"]) == (4, 0, 1), r["out"]  # no retries
    assert r["reason"].startswith("tls: certificate"), r["reason"]
    assert "TLS with 127.0.0.1 failed" in r["out"]  # the log line says why
    assert out.read_bytes() == b""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_wrong_server_name_is_result_4(nginx, pki, runtime):
    # signed by the trusted CA, but for wrong.example, not 127.0.0.1
    r = fetch(runtime, https(nginx.wrong, "fw.bin"), ca=pki["ca_der"])
    assert (r["result"], r["bytes"], r["attempts"]) == (4, 0, 1), r["out"]
    assert r["reason"].startswith("tls: "), r["reason"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_no_trust_anchors_is_unsupported_unless_insecure(nginx, image, pki, runtime, tmp_path):
    r = fetch(runtime, https(nginx.tls, "fw.bin"), ca=tmp_path / "none.crt")
    assert (r["result"], r["attempts"]) == (9, 0), r["out"]
    (tmp_path / "junk.crt").write_bytes(b"not a certificate")
    r = fetch(runtime, https(nginx.tls, "fw.bin"), ca=tmp_path / "junk.crt")
    assert (r["result"], r["attempts"]) == (9, 0), r["out"]
    r = fetch(runtime, https(nginx.tls, "fw.bin"), tls_insecure=1, log=30)
    assert (r["result"], r["sha"]) == (0, sha(image)), r["out"]
    assert "WITHOUT server authentication" in r["out"]
    # anchors present: insecure changes nothing, the server is still checked
    r = fetch(runtime, https(nginx.tls, "fw.bin"), tls_insecure=1, ca=pki["other_ca_der"])
    assert r["result"] == 4, r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_server_silent_in_the_handshake_times_out(pki, runtime):
    s = Silent()  # accepts, never answers the ClientHello
    try:
        r = fetch(runtime, https(s.port, "fw.bin"), ca=pki["ca_der"], retries=1, backoff_ms=20, timeout_ms=300)
        assert (r["result"], r["reason"], r["attempts"]) == (4, "timeout", 2), r["out"]
    finally:
        s.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_redirects(nginx, image, pki, runtime):
    r = fetch(runtime, https(nginx.tls, "moved"), ca=pki["ca_pem"])
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(image), 2), r["out"]
    r = fetch(runtime, "http://127.0.0.1:%d/to-https" % nginx.up, ca=pki["ca_pem"])
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(image), 2), r["out"]
    r = fetch(runtime, "http://127.0.0.1:%d/to-https" % nginx.up)  # no anchors: cannot follow
    assert r["result"] == 9, r["out"]
    r = fetch(runtime, https(nginx.tls, "to-http"), ca=pki["ca_pem"])
    assert (r["result"], r["bytes"], r["reason"]) == (4, 0, "redirect from https to http refused"), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("bufsize", [256, 4096])
def test_chunked(pyhttps, image, pki, runtime, bufsize):
    r = fetch(runtime, pyhttps.url("chunked"), bufsize=bufsize, ca=pki["ca_der"])
    assert (r["result"], r["sha"]) == (0, sha(image)), r["out"]
    assert r["head"][0] is None and r["size"] == SIZE


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_mid_body_disconnect_resumes_with_range(pyhttps, image, pki, runtime):
    r = fetch(runtime, pyhttps.url("drop"), ca=pki["ca_der"], **FAST)
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(image), 2), r["out"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_body_until_close_is_confirmed_by_range(pyhttps, image, pki, runtime):
    # http.server ends this body without length by closing, without close_notify. Over TLS
    # the close proves nothing (a forged FIN would cut the image): the engine asks again
    # from its offset and the server's 416 with that total confirms the end.
    r = fetch(runtime, pyhttps.url("close"), ca=pki["ca_der"], **FAST)
    assert (r["result"], r["sha"], r["attempts"]) == (0, sha(image), 2), r["out"]


def test_protocol_support_follows_the_trust_anchors(pki, tmp_path):
    # In-process (CPython, which has ssl): /5/0/8 lists https (3) only with anchors
    from fota import download

    assert download.protocols() == [0, 2, 4]
    assert download.protocols(ca=str(tmp_path / "missing.crt")) == [0, 2, 4]
    assert download.protocols(ca=pki["ca_pem"]) == [0, 2, 3, 4]
    assert download.protocols(tls_insecure=1) == [0, 2, 3, 4]

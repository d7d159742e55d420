# fota.download coaps:// (CoAP Block2 over DTLS, port.dtls) against libcoap's
# coap-server-openssl in certificate mode, with a PKI made here by `cryptography`
# (updraft.certs). Only MicroPython's tls (mbedTLS) has DTLS: there, 1 MiB pulls with PEM
# and DER anchors, resume from an offset, an untrusted CA and a wrong server name (4 at
# once, nothing written), no anchors (9 unless tls_insecure), nothing listening (4), a
# lossy link (drops, duplicates, reordering from the first ClientHello on). On
# CPython (ssl has no DTLS) coaps is Result 9 and /5/0/8 does not list 1.
import time

import pytest

from peers import blob, free_port
from dlpeers import DtlsServer, fetch, sha
from updraft import certs

SIZE = 1 << 20
SMALL = 128 << 10
FAST = {"ack_ms": 300, "max_retransmit": 1, "block_retries": 0, "retries": 1, "backoff_ms": 20}


@pytest.fixture(scope="module")
def image():
    return blob(SIZE, seed=9)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return certs.pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def server(tmp_path_factory, image, pki):
    s = DtlsServer(pki, pki["server_crt"], pki["server_key"])
    try:
        s.put("fw", image, tmp_path_factory.mktemp("put"))
        s.put("small", image[:SMALL], tmp_path_factory.mktemp("put"))
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def wrong(tmp_path_factory, pki):
    s = DtlsServer(pki, pki["wrong_crt"], pki["wrong_key"])
    try:
        s.put("fw", b"x" * 100, tmp_path_factory.mktemp("put"))
        yield s
    finally:
        s.stop()


@pytest.mark.parametrize("anchors", ["ca_pem", "ca_der", "both_pem"])
def test_full_pull(server, image, pki, anchors):
    r = fetch("micropython", server.uri("fw"), ca=pki[anchors])
    assert (r["result"], r["bytes"], r["sha"]) == (0, SIZE, sha(image)), r["out"]
    assert r["head"][0] == SIZE and r["attempts"] == 1


def test_resume_from_an_offset(server, image, pki, tmp_path):
    # libcoap gives every transfer a new ETag, so this resume carries none (see
    # test_download_coap); the engine asks from the block holding the offset
    out = tmp_path / "slot.bin"
    a = fetch("micropython", server.uri("fw"), out=out, stop=300000, ca=pki["ca_der"])
    assert a["result"] == 0 and 300000 <= a["offset"] < SIZE, a["out"]
    b = fetch("micropython", server.uri("fw"), out=out, offset=a["offset"] + 100, ca=pki["ca_der"])
    assert (b["result"], b["bytes"]) == (0, SIZE - a["offset"] - 100), b["out"]
    data = out.read_bytes()
    assert sha(data[: a["offset"]] + image[a["offset"] : a["offset"] + 100] + data[a["offset"] + 100 :]) == sha(image)


def test_untrusted_certificate_is_result_4_and_writes_nothing(server, pki, tmp_path):
    out = tmp_path / "slot.bin"
    r = fetch("micropython", server.uri("fw"), ca=pki["other_ca_der"], out=out, log=30)
    assert (r["result"], r["bytes"], r["attempts"]) == (4, 0, 1), r["out"]
    assert r["reason"].startswith("dtls: certificate"), r["reason"]
    assert "DTLS with 127.0.0.1 failed" in r["out"]
    assert out.read_bytes() == b""


def test_wrong_server_name_is_result_4(wrong, pki):
    r = fetch("micropython", wrong.uri("fw"), ca=pki["ca_der"])
    assert (r["result"], r["bytes"], r["attempts"]) == (4, 0, 1), r["out"]
    assert r["reason"].startswith("dtls: "), r["reason"]


def test_no_trust_anchors_is_unsupported_unless_insecure(server, image, tmp_path):
    r = fetch("micropython", server.uri("fw"), ca=tmp_path / "none.crt")
    assert (r["result"], r["attempts"]) == (9, 0), r["out"]
    r = fetch("micropython", server.uri("fw"), tls_insecure=1, log=30)
    assert (r["result"], r["sha"]) == (0, sha(image)), r["out"]
    assert "WITHOUT server authentication" in r["out"]


def test_nothing_listening_is_result_4(pki):
    t0 = time.monotonic()
    r = fetch("micropython", "coaps://127.0.0.1:%d/fw" % free_port(), ca=pki["ca_der"], **FAST)
    assert (r["result"], r["bytes"], r["attempts"]) == (4, 0, 2), r["out"]
    assert time.monotonic() - t0 < 10


def test_cpython_has_no_dtls(server, pki):
    r = fetch("cpython", server.uri("fw"), ca=pki["ca_der"])
    assert (r["result"], r["attempts"]) == (9, 0), r["out"]
    from fota import download

    assert download.protocols(ca=pki["ca_pem"]) == [0, 2, 3, 4]


def test_pull_through_a_lossy_link(server, image, pki):
    # 10 % of datagrams dropped, some duplicated or reordered, both ways and from the first
    # ClientHello on: the endpoint's CON retransmissions also drive mbedTLS's handshake timers
    from relay import LossyRelay

    relay = LossyRelay(server.port + 1, drop=0.1, dup=0.05, reorder=0.05, seed=4)
    try:
        r = fetch("micropython", "coaps://127.0.0.1:%d/small" % relay.port, ca=pki["ca_der"], ack_ms=100)
        assert (r["result"], r["sha"]) == (0, sha(image[:SMALL])), r["out"]
        assert relay.stats["dropped"] > 5, relay.stats
    finally:
        relay.close()

# A whole firmware update over https: an `updraft sim` board (boot.py, main.py, the real
# agent; CPython and the MicroPython unix port) whose state dir holds the trust anchor
# ca.crt lists https (3) in /5/0/8 (and coaps (1) on MicroPython, whose mbedTLS has DTLS),
# pulls a signed v2 from nginx over TLS (a certificate of a test CA made with
# `cryptography`), and runs it after Update (State 0 / Result 1, /3/0/3 2.0.0). The same
# over coaps from libcoap's coap-server-openssl on MicroPython. A board without anchors
# lists neither and refuses an https Package URI with Result 9, staying on v1.
# SPDX-License-Identifier: MIT
import os
import shutil
import tempfile

import pytest

from dlpeers import DtlsServer, Nginx, tcp_free_port
from sysfw import RUNTIMES, server, Sim, value, wait_value  # noqa: F401 (server: a fixture)
from updraft import board, certs

TLS_SERVER = """
    server {{
        listen 127.0.0.1:{tls} ssl;
        ssl_certificate {crt};
        ssl_certificate_key {key};
        root {root};
    }}
"""


@pytest.fixture(scope="module")
def images():
    d = tempfile.mkdtemp(prefix="updraft-https-")
    try:
        key, trusted = board.make_key(d)
        yield {"trusted": trusted, "v1": board.make_image(d, key, "1.0.0"), "v2": board.make_image(d, key, "2.0.0")}
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return certs.pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def nginx(tmp_path_factory, images, pki):
    tmp = tmp_path_factory.mktemp("nginx-tls")
    root = tmp / "root"
    root.mkdir()
    shutil.copy(images["v2"], str(root / "v2.bin"))
    port = tcp_free_port()
    n = Nginx(tmp, root, TLS_SERVER.format(tls=port, crt=pki["server_crt"], key=pki["server_key"], root=root))
    n.tls = port
    try:
        yield n
    finally:
        n.stop()


@pytest.fixture(scope="module")
def coaps(tmp_path_factory, images, pki):
    s = DtlsServer(pki, pki["server_crt"], pki["server_key"])
    try:
        with open(images["v2"], "rb") as f:
            s.put("v2", f.read(), tmp_path_factory.mktemp("put"))
        yield s
    finally:
        s.stop()


def _protocols(api, ep):
    r = api.read(ep, "/5/0/8", "senml_json")
    assert r["ok"], r
    return sorted(rec["value"] for rec in r["records"])


def _board(server, images, pki, runtime, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(pki["ca_pem"], str(state / "ca.crt"))  # the board's trust anchor
    return Sim(server, runtime, state, images["trusted"], images["v1"], "tls")


def _pull_and_update(sim, uri):
    api, ep = sim.api, sim.ep
    r = api.write(ep, "/5/0/1", value=uri, format="text")
    assert r["code"] == "2.04", r
    assert wait_value(api, ep, "/5/0/3", lambda v: v in (0, 2), 60) == 2, sim.log()
    seq = api.health()["seq"]
    assert api.execute(ep, "/5/0/2")["code"] == "2.04"
    assert wait_value(api, ep, "/5/0/5", lambda v: v not in (None, 0), 60, since=seq) == 1, sim.log()
    assert value(api, ep, "/5/0/3") == 0 and value(api, ep, "/3/0/3") == "2.0.0"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_update_over_https(server, nginx, images, pki, runtime, tmp_path):
    sim = _board(server, images, pki, runtime, tmp_path)
    try:
        assert _protocols(server.api, sim.ep) == ([0, 1, 2, 3, 4] if runtime == "micropython" else [0, 2, 3, 4])
        _pull_and_update(sim, "https://127.0.0.1:%d/v2.bin" % nginx.tls)
        size = os.path.getsize(images["v2"])
        assert '"GET /v2.bin HTTP/1.1" 200 %d ' % size in open(os.path.join(nginx.tmp, "access.log")).read()
    finally:
        sim.stop()


def test_update_over_coaps(server, coaps, images, pki, tmp_path):
    sim = _board(server, images, pki, "micropython", tmp_path)
    try:
        _pull_and_update(sim, coaps.uri("v2"))
    finally:
        sim.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_board_without_anchors_refuses_https(server, nginx, images, runtime, tmp_path):
    sim = Sim(server, runtime, tmp_path / "state", images["trusted"], images["v1"], "nohttps")
    try:
        api, ep = server.api, sim.ep
        assert _protocols(api, ep) == [0, 2, 4]
        api.write(ep, "/5/0/1", value="https://127.0.0.1:%d/v2.bin" % nginx.tls, format="text")
        assert wait_value(api, ep, "/5/0/5", lambda v: v not in (None, 0), 30) == 9, sim.log()
        assert value(api, ep, "/5/0/3") == 0 and value(api, ep, "/3/0/3") == "1.0.0"
    finally:
        sim.stop()

# Our CoAP stack against libcoap (coap-server / coap-client), on CPython and MicroPython:
# Block2 pulls of 1 MiB into a SHA-256 sink, and Block1 uploads of 1 MiB into our server.
import subprocess

import pytest

from peers import LibcoapServer, blob, sha, node, node_pull, free_port, require, RUNTIMES

MIB = 1 << 20


@pytest.fixture(scope="module")
def libcoap(tmp_path_factory):
    srv = LibcoapServer()
    tmp = tmp_path_factory.mktemp("libcoap")
    srv.put("fw", blob(MIB, 1), tmp)
    srv.put("small", blob(64 * 1024, 2), tmp)
    yield srv
    srv.stop()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
@pytest.mark.parametrize("path,size,szx", [("fw", MIB, 6), ("fw", MIB, 4), ("small", 64 * 1024, 0)])
def test_block2_pull_from_coap_server(libcoap, runtime, path, size, szx):
    err, n, digest, ms = node_pull(runtime, libcoap.port, path, szx)
    assert err == "None" and n == size
    assert digest == sha(blob(size, 1 if path == "fw" else 2))


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_block1_put_from_coap_client(runtime, tmp_path):
    client = require("coap-client-notls")
    port = free_port()
    srv = node(runtime, "serve", port, 120)
    try:
        srv.expect("READY")
        data = blob(MIB, 3)
        f = tmp_path / "up.bin"
        f.write_bytes(data)
        subprocess.run([client, "-m", "put", "-b", "1024", "-f", str(f),
                        "coap://127.0.0.1:%d/upload" % port], check=True, capture_output=True, timeout=120)
        _, n, digest = srv.expect("UPLOAD", 60)
        assert int(n) == MIB and digest == sha(data)
    finally:
        srv.stop()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_coap_client_block2_get_from_our_server(runtime, tmp_path):
    # libcoap's client fetches our 64 KiB Block2 resource (our server side of RFC 7959)
    client = require("coap-client-notls")
    port = free_port()
    srv = node(runtime, "serve", port, 120)
    try:
        srv.expect("READY")
        out = tmp_path / "big.bin"
        subprocess.run([client, "-b", "256", "-o", str(out), "coap://127.0.0.1:%d/big" % port],
                       check=True, capture_output=True, timeout=60)
        expect = bytes((i * 7 + (i >> 9)) & 255 for i in range(65536))
        assert out.read_bytes() == expect
    finally:
        srv.stop()

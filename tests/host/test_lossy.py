# Retransmission and duplicate detection proven through a lossy relay (drop, duplicate,
# reorder) between independent peers and ours, on CPython and MicroPython.
import hashlib
import subprocess

import pytest

from peers import LibcoapServer, blob, sha, node, node_pull, require, free_port, RUNTIMES
from relay import LossyRelay

SIZE = 128 * 1024


@pytest.fixture(scope="module")
def libcoap(tmp_path_factory):
    srv = LibcoapServer()
    srv.put("fw", blob(SIZE, 11), tmp_path_factory.mktemp("lossy"))
    yield srv
    srv.stop()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_pull_completes_under_20_percent_loss(libcoap, runtime):
    relay = LossyRelay(libcoap.port, drop=0.2, dup=0.05, reorder=0.05, seed=20)
    try:
        # short ACK timeout keeps the test quick; MAX_RETRANSMIT stays at the RFC's 4
        err, n, digest, _ = node_pull(runtime, relay.port, "fw", 6, extra=(25, 6))
        assert err == "None" and n == SIZE and digest == sha(blob(SIZE, 11))
        assert relay.stats["dropped"] > 25, relay.stats
    finally:
        relay.close()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_duplicated_upload_is_written_once(runtime, tmp_path):
    # coap-client pushes through a relay that duplicates 30 % of all datagrams: our server
    # must replay cached responses, never write a block twice. (Reordering is left out
    # here: coap-client 4.3.1 answers each stale 2.31 with a new request, and with
    # duplicates on top that multiplies traffic 20-fold; it completes, only slowly.)
    client = require("coap-client-notls")
    port = free_port()
    srv = node(runtime, "serve", port, 120)
    relay = LossyRelay(port, dup=0.3, seed=3)
    try:
        srv.expect("READY")
        data = blob(SIZE, 12)
        f = tmp_path / "up.bin"
        f.write_bytes(data)
        subprocess.run([client, "-m", "put", "-b", "1024", "-f", str(f),
                        "coap://127.0.0.1:%d/upload" % relay.port], check=True, capture_output=True, timeout=120)
        _, n, digest = srv.expect("UPLOAD", 60)
        assert int(n) == SIZE and digest == sha(data)
        assert relay.stats["duplicated"] > 25
    finally:
        relay.close()
        srv.stop()


def test_our_push_completes_under_20_percent_loss():
    # our Block1 client (CPython, in process) into our server under MicroPython, 20 % loss
    import sys
    sys.path.insert(0, "lib")
    from coap.loop import Loop
    from coap.endpoint import Endpoint, Params
    from coap.transfer import BlockPush
    from port.net import udp_socket, resolve

    port = free_port()
    srv = node("micropython", "serve", port, 120)
    relay = LossyRelay(port, drop=0.2, dup=0.05, reorder=0.05, seed=5)
    try:
        srv.expect("READY")
        data = blob(SIZE, 13)
        loop = Loop()
        ep = Endpoint(loop, udp_socket("127.0.0.1", 0), None, Params(ack_timeout=25))
        p = BlockPush(ep, resolve("127.0.0.1", relay.port), ("upload",), lambda o, n: data[o:o + n], SIZE,
                      retries=6).start()
        assert loop.run_until(lambda: p.done, 120000)
        assert p.error is None, (p.error, p.code)
        _, n, digest = srv.expect("UPLOAD", 30)
        assert int(n) == SIZE and digest == sha(data)
        assert ep.stats["retransmits"] > 10
        ep.close()
    finally:
        relay.close()
        srv.stop()

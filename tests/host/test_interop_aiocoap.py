# Our CoAP stack against aiocoap, on CPython and MicroPython: Block2 pull from an aiocoap
# server, Block1 PUT from aiocoap's client into ours, and aiocoap observing our resource.
import asyncio
import subprocess
import sys

import aiocoap
import pytest

from peers import Proc, ROOT, blob, sha, node, node_pull, free_port, RUNTIMES

MIB = 1 << 20


@pytest.fixture(scope="module")
def aio_server(tmp_path_factory):
    f = tmp_path_factory.mktemp("aio") / "fw.bin"
    f.write_bytes(blob(MIB, 4))
    port = free_port()
    p = Proc([sys.executable, "tests/peers/aiocoap_server.py", str(port), str(f)])
    p.expect("READY")
    yield port
    p.stop()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
@pytest.mark.parametrize("szx", [6, 4])
def test_block2_pull_from_aiocoap(aio_server, runtime, szx):
    err, n, digest, _ = node_pull(runtime, aio_server, "fw", szx)
    assert err == "None" and n == MIB and digest == sha(blob(MIB, 4))


def _client(coro):
    async def run():
        ctx = await aiocoap.Context.create_client_context()
        try:
            return await coro(ctx)
        finally:
            await ctx.shutdown()

    return asyncio.run(run())


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_block1_put_from_aiocoap(runtime):
    port = free_port()
    srv = node(runtime, "serve", port, 120)
    try:
        srv.expect("READY")
        data = blob(MIB, 5)

        async def put(ctx):
            req = aiocoap.Message(code=aiocoap.PUT, payload=data, uri="coap://127.0.0.1:%d/upload" % port)
            return await asyncio.wait_for(ctx.request(req).response, 120)

        resp = _client(put)
        assert resp.code == aiocoap.CHANGED
        _, n, digest = srv.expect("UPLOAD", 30)
        assert int(n) == MIB and digest == sha(data)
    finally:
        srv.stop()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_aiocoap_observes_our_resource_and_cancels(runtime):
    port = free_port()
    srv = node(runtime, "serve", port, 120)
    try:
        srv.expect("READY")
        base = "coap://127.0.0.1:%d/" % port

        async def observe(ctx):
            req = aiocoap.Message(code=aiocoap.GET, uri=base + "obs", observe=0)
            pr = ctx.request(req)
            first = await asyncio.wait_for(pr.response, 10)
            values = [int(first.payload)]
            async for n in pr.observation:
                values.append(int(n.payload))
                if len(values) >= 6:
                    break
            count_during = await ctx.request(aiocoap.Message(code=aiocoap.GET, uri=base + "obs-count")).response
            pr.observation.cancel()
            # aiocoap cancels by GET Observe=1 or by RST to the next notification
            for _ in range(40):
                await asyncio.sleep(0.1)
                c = await ctx.request(aiocoap.Message(code=aiocoap.GET, uri=base + "obs-count")).response
                if c.payload == b"0":
                    return values, int(count_during.payload), 0
            return values, int(count_during.payload), int(c.payload)

        values, during, after = _client(observe)
        assert len(values) >= 6 and values == sorted(values) and values[-1] > values[0]
        assert during == 1 and after == 0
    finally:
        srv.stop()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_mid_reused_after_a_reboot_at_the_same_address_is_asked_again(aio_server, runtime):
    # aiocoap remembers (address, MID) for EXCHANGE_LIFETIME and replays its answer to a
    # duplicate. A device that rebooted behind the same address and drew the MID it used
    # before gets that replay (the old token): it must ask again under a new MID at once,
    # not retransmit into the same replay until the exchange times out (ACK_TIMEOUT 10 s here)
    local = free_port()
    p = subprocess.run(RUNTIMES[runtime] + ["tests/peers/node.py", "relife", "127.0.0.1", str(aio_server), "fw",
                                            str(local)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    line = [l for l in p.stdout.splitlines() if l.startswith("RELIFE")]
    assert line, p.stdout + p.stderr
    _, same, renewed, ms = line[0].split()
    assert same == "1" and renewed == "1", line
    assert int(ms) < 10000, "waited for a retransmission: %s ms" % ms

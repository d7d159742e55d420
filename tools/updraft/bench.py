# `updraft bench` / `make bench`: speed and memory measured against references in the same
# run, written to bench/latest.json and printed as a table. Targets are reported, never
# asserted: timing belongs here, not in tests.
#   coap_pull_1mib: 1 MiB Block2 pull (block 1024) from libcoap's coap-server on loopback,
#   our client on CPython and on the MicroPython unix port (transfer time in process),
#   libcoap's coap-client (whole process) and aiocoap's client (in process).
#   fota_pull_1mib / fota_push_1mib (bench_fota): a whole firmware update of a 1 MiB signed
#   image to State 2 on the MicroPython unix port (pull: CoAP next to coap-client, HTTP next to
#   curl; push: coap-client -m put), with the peak live heap and the smallest -X heapsize.
# SPDX-License-Identifier: MIT
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
NODE = os.path.join(ROOT, "tests", "peers", "node.py")
MIB = 1 << 20


def _free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _need(name):
    path = shutil.which(name)
    if not path:
        raise SystemExit("bench needs %s (run make setup)" % name)
    return path


def _our_pull(exe, port, szx=6):
    out = subprocess.run([exe, NODE, "pull", "127.0.0.1", str(port), "fw", str(szx)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            _, err, n, _, us = line.split()
            if err != "None" or int(n) != MIB:
                raise RuntimeError("pull failed: %s" % line)
            return int(us) / 1e6
    raise RuntimeError("no result from %s: %s" % (exe, out.stdout + out.stderr))


def _coap_client(client, port, tmp):
    t = time.perf_counter()
    subprocess.run([client, "-b", "1024", "-o", os.path.join(tmp, "out.bin"),
                    "coap://127.0.0.1:%d/fw" % port], check=True, capture_output=True, timeout=300)
    dt = time.perf_counter() - t
    if os.path.getsize(os.path.join(tmp, "out.bin")) != MIB:
        raise RuntimeError("coap-client fetched a short file")
    return dt


def aiocoap_fetch(uri):
    # In-process transfer time of aiocoap's client (run in a child for a clean loop).
    import aiocoap

    async def go():
        ctx = await aiocoap.Context.create_client_context()
        t = time.perf_counter()
        resp = await ctx.request(aiocoap.Message(code=aiocoap.GET, uri=uri)).response
        dt = time.perf_counter() - t
        await ctx.shutdown()
        if len(resp.payload) != MIB:
            raise RuntimeError("aiocoap fetched %d bytes" % len(resp.payload))
        return dt

    return asyncio.run(go())


def _aiocoap(port):
    out = subprocess.run([sys.executable, "-m", "updraft.bench", "--aiocoap-fetch",
                          "coap://127.0.0.1:%d/fw" % port], capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return float(out.stdout.strip().split()[-1])


@contextlib.contextmanager
def libcoap_file(size=MIB):
    # coap-server on loopback holding /fw (size random bytes, put there by coap-client);
    # yields (port, coap-client path, temp dir).
    server = _need("coap-server-notls")
    client = _need("coap-client-notls")
    port = _free_port()
    srv = subprocess.Popen([server, "-A", "127.0.0.1", "-p", str(port), "-d", "4", "-v", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            f = os.path.join(tmp, "fw.bin")
            with open(f, "wb") as fh:
                fh.write(random.Random(1).randbytes(size))
            time.sleep(0.2)
            subprocess.run([client, "-m", "put", "-b", "1024", "-f", f, "coap://127.0.0.1:%d/fw" % port],
                           check=True, capture_output=True, timeout=120)
            yield port, client, tmp
    finally:
        srv.terminate()
        srv.wait(5)


def coap_pull(runs=5):
    with libcoap_file() as (port, client, tmp):
        samples = {"updraft_cpython_s": [], "updraft_micropython_s": [], "coap_client_s": [], "aiocoap_s": []}
        for _ in range(runs):  # interleaved, so machine noise hits every contender alike
            samples["updraft_cpython_s"].append(_our_pull(sys.executable, port))
            samples["updraft_micropython_s"].append(_our_pull(os.path.join(BIN, "micropython"), port))
            samples["coap_client_s"].append(_coap_client(client, port, tmp))
            samples["aiocoap_s"].append(_aiocoap(port))
    res = {k: round(statistics.median(v), 4) for k, v in samples.items()}
    ref = res["coap_client_s"]
    res["ratio_cpython_vs_coap_client"] = round(res["updraft_cpython_s"] / ref, 2)
    res["ratio_micropython_vs_coap_client"] = round(res["updraft_micropython_s"] / ref, 2)
    res["ratio_cpython_vs_aiocoap"] = round(res["updraft_cpython_s"] / res["aiocoap_s"], 2)
    res["ratio_micropython_vs_aiocoap"] = round(res["updraft_micropython_s"] / res["aiocoap_s"], 2)
    res["runs"] = runs
    res["targets"] = "cpython <= 1.5x coap-client, micropython <= 2x, both faster than aiocoap"
    res["targets_met"] = (res["ratio_cpython_vs_coap_client"] <= 1.5 and res["ratio_micropython_vs_coap_client"] <= 2
                          and res["ratio_cpython_vs_aiocoap"] < 1 and res["ratio_micropython_vs_aiocoap"] < 1)
    return res


def pull_heap():
    # Smallest MicroPython heap for a whole 1 MiB pull (SHA-256 sink, no flash, no verify),
    # lib/ and the driver in a ROMFS image as a board runs them (romfs.py): the download path.
    from updraft import romfs

    with libcoap_file() as (port, _, tmp):
        image = os.path.join(tmp, "node.romfs")
        romfs.build(image, extra=(("node.py", NODE),))
        heap = romfs.min_heap(image, "node", ("pull", "127.0.0.1", port, "fw", 6),
                              lambda p: ("RESULT None %d" % MIB) in p.stdout,
                              env=dict(os.environ, UPDRAFT_LIB="/rom/lib"), timeout=15)
    return {"micropython_min_heap_bytes": heap, "lib": "ROMFS image of lib/ as .mpy (tools/updraft/romfs.py)",
            "block": 1024}


IDLE_SCRIPT = r"""
import gc
gc.collect()
a0 = gc.mem_alloc()
import agent
import lwm2m.formats.tlv, lwm2m.formats.text, lwm2m.formats.link, coap.uri
gc.collect()
code = gc.mem_alloc() - a0
c = agent.build()
c.start()
c.loop.run_until(lambda: c.rd.state == "registered", 20000)
c.loop.run_until(lambda: False, 1500)
gc.collect()
print("IDLE", c.rd.state, gc.mem_alloc(), gc.mem_free(), code)
c.stop()
"""


def idle_client_heap():
    # Heap of the registered, idle LwM2M client (lib/agent.py with /0 /1 /3 /4) on the
    # MicroPython unix port, lib/ from a ROMFS image as a board runs it (romfs.py), against
    # the bundled dev server: live heap after a collection, and the smallest -X heapsize it
    # registers in.
    from updraft import romfs

    coap_port, api_port = _free_port(), _free_port()
    srv = subprocess.Popen([sys.executable, "-m", "updraft.cli", "server", "--coap-port", str(coap_port),
                            "--api-port", str(api_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = os.path.join(tmp, "state")
            os.mkdir(state)
            with open(os.path.join(state, "config.json"), "w") as f:
                json.dump({"endpoint": "bench-idle", "servers": [
                    {"uri": "coap://127.0.0.1:%d" % coap_port, "ssid": 1, "lifetime": 300, "binding": "U"}]}, f)
            script = os.path.join(tmp, "idle.py")
            with open(script, "w") as f:
                f.write(IDLE_SCRIPT)
            image = os.path.join(tmp, "idle.romfs")
            romfs.build(image, extra=(("idle.py", script),))
            env = dict(os.environ, UPDRAFT_STATE=state)

            time.sleep(1.0)
            out = subprocess.run(romfs.argv(image, "idle", (), 1 << 20), cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=60).stdout
            line = [ln for ln in out.splitlines() if ln.startswith("IDLE")]
            if not line or line[0].split()[1] != "registered":
                raise RuntimeError("idle client did not register: " + out[-2000:])
            alloc = int(line[0].split()[2])
            code = int(line[0].split()[4])
            heap = romfs.min_heap(image, "idle", (), lambda p: "IDLE registered" in p.stdout, env=env, hi=1 << 20,
                                  timeout=60)
    finally:
        srv.terminate()
        srv.wait(5)
    # imported_code_bytes: what importing the client costs (module, class and function
    # objects, qstr entries; the bytecode stays in the image)
    return {"micropython_live_heap_bytes": alloc, "micropython_min_heap_bytes": heap,
            "imported_code_bytes": code, "state_bytes": alloc - code,
            "lib": "ROMFS image of lib/ as .mpy, used in place (tools/updraft/romfs.py)", "objects": "0 1 3 4"}


def _downloads():
    from updraft import bench_download

    return bench_download.run()


def _fota_pull():
    from updraft import bench_fota

    return bench_fota.pull()


def _fota_push():
    from updraft import bench_fota

    return bench_fota.push()


def _device_pull():
    from updraft import bench_device

    return bench_device.run()


def _image_verify():
    try:
        from updraft import bench_image
    except ImportError:
        return None
    return bench_image.run()


SECTIONS = (
    ("coap_pull_1mib", coap_pull),
    ("coap_pull_1mib_heap", pull_heap),
    ("lwm2m_idle_heap", idle_client_heap),
    ("verify_1mib", _image_verify),
    ("download_1mib", _downloads),
    ("fota_pull_1mib", _fota_pull),
    ("fota_push_1mib", _fota_push),
    ("device_pull_heap", _device_pull),
)


def _table(report):
    lines = []
    for name, res in report.items():
        if not isinstance(res, dict):
            continue
        lines.append(name)
        for k, v in res.items():
            if isinstance(v, dict):
                for k2, v2 in v.items():
                    lines.append("  %-40s %s" % (k + "." + k2, v2))
            else:
                lines.append("  %-40s %s" % (k, v))
    return "\n".join(lines)


def main(argv=()):
    argv = list(argv)
    if argv[:1] == ["--aiocoap-fetch"]:
        print(aiocoap_fetch(argv[1]))
        return 0
    only = [a for a in argv if not a.startswith("-")]
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "python": sys.version.split()[0]}
    for name, fn in SECTIONS:
        if only and name not in only:
            continue
        print("bench: %s ..." % name, flush=True)
        res = fn()
        if res is None:
            continue
        # a section may return {name: {...}} (bench_image does), several such keys
        # (bench_download), or its own flat dict
        if all(isinstance(v, dict) for v in res.values()) and len(res) > 1:
            report.update(res)
            continue
        if len(res) == 1 and isinstance(next(iter(res.values())), dict):
            res = next(iter(res.values()))
        report[name] = res
    os.makedirs(os.path.join(ROOT, "bench"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "latest.json")
    old = {}
    if only and os.path.exists(path):
        old = json.load(open(path))
    old.update(report)
    with open(path, "w") as fh:
        json.dump(old, fh, indent=2, sort_keys=True)
    print(_table(report))
    print("wrote", os.path.relpath(path, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# The whole device's heap for an update (make bench: device_pull_heap): what the fota_*
# sections leave out. A host board (flash.bin with a factory v1 and trusted keys, as `updraft
# sim` provisions it) runs boot.py's selection and the real agent (LwM2M client, /0 /1 /3 /4
# /5) from a ROMFS image of lib/ on the MicroPython unix port, registers with the bundled dev
# server, then pulls a v2 over CoAP from libcoap's coap-server, and over HTTP from nginx (the
# Package URI written as a server would) to State 2. Reports the live heap once registered and after the pull, the
# qstrs interned, and the smallest -X heapsize that gets there. The image fills the host
# board's 256 KiB slot: a pull streams, so its heap does not grow with the image.
# SPDX-License-Identifier: MIT
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from updraft import mpy
from updraft.bench import ROOT, _free_port

DRIVER = r"""
import gc, sys, micropython
import fota.boot.start
fota.boot.start.run()
import agent
c = agent.build()
c.start()
c.loop.run_until(lambda: c.rd.state == "registered", 20000)
fu = c.firmware.fu
gc.collect()
print("REGISTERED", gc.mem_alloc())
try:
    fu.write_uri(sys.argv[1])
except Exception as e:
    print("REFUSED", e)
c.loop.run_until(lambda: fu.state == 2 or (fu.state == 0 and fu.result != 0), 60000)
gc.collect()
print("FOTA", fu.state, fu.result, gc.mem_alloc())
micropython.qstr_info()
"""


def run():
    from updraft import board, bench_fota, romfs

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # nginx's worker may run as another user
        state = os.path.join(tmp, "state")
        os.mkdir(state)
        pem, trusted = board.make_key(tmp)
        v1 = board.make_image(tmp, pem, "1.0.0")
        pad = "".join(random.Random(3).choice("abcdefghij") for _ in range(200000))
        v2 = board.make_image(tmp, pem, "2.0.0", src=board.make_app(os.path.join(tmp, "v2src"), "2.0.0",
                                                                    {"pad.txt": pad}))
        shutil.copyfile(v2, os.path.join(tmp, "fw.bin"))  # what nginx serves
        script = os.path.join(tmp, "device.py")
        with open(script, "w") as f:
            f.write(DRIVER)
        image = os.path.join(tmp, "device.romfs")
        romfs.build(image, extra=(("device.py", script),))
        coap_port, api_port = _free_port(), _free_port()
        srv = subprocess.Popen([sys.executable, "-m", "updraft.cli", "server", "--coap-port", str(coap_port),
                                "--api-port", str(api_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def once(uri, heap):
            # a factory-fresh board each time
            for name in os.listdir(state):
                os.remove(os.path.join(state, name))
            board.provision(state, keys=trusted, factory=v1)
            with open(os.path.join(state, "config.json"), "w") as f:
                json.dump({"endpoint": "bench-device", "servers": [
                    {"uri": "coap://127.0.0.1:%d" % coap_port, "ssid": 1, "lifetime": 300, "binding": "U"}]}, f)
            return _parse(subprocess.run(romfs.argv(image, "device", (uri,), heap), cwd=ROOT,
                                         env=dict(os.environ, UPDRAFT_STATE=state), capture_output=True, text=True,
                                         timeout=90).stdout)

        def measure(uri):
            res = once(uri, 4 << 20)
            if res.get("state") != 2:
                raise RuntimeError("device did not reach State 2 from %s: %r" % (uri, res))
            res["min_heap_bytes"] = mpy.bisect(lambda n: once(uri, n).get("state") == 2, 64 * 1024, 1 << 20)
            return res

        try:
            time.sleep(1.0)
            with bench_fota.coap_server(v2) as (uri, _):
                out["coap"] = measure(uri)
            with bench_fota.nginx(tmp) as base:
                out["http"] = measure(base + "/fw.bin")
        finally:
            srv.terminate()
            srv.wait(5)
        out["image_bytes"] = os.path.getsize(v2)
    out["heap_target_bytes"] = bench_fota.HEAP
    out["lib"] = "ROMFS image of lib/ as .mpy, used in place (tools/updraft/romfs.py)"
    return out


def _parse(out):
    res = {}
    for line in out.splitlines():
        w = line.split()
        if w[:1] == ["REGISTERED"]:
            res["live_registered_bytes"] = int(w[1])
        elif w[:1] == ["FOTA"]:
            res.update(state=int(w[1]), result=int(w[2]), live_after_pull_bytes=int(w[3]))
        elif line.startswith("qstr pool:"):
            for kv in line[len("qstr pool:"):].split(","):
                k, v = kv.strip().split("=")
                if k in ("n_pool", "n_qstr", "n_total_bytes"):
                    res["qstr_" + k] = int(v)
    return res

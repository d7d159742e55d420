# Our LwM2M client (lib/agent.py, the device's main.py) against the npm lwm2m-node-lib
# server, on CPython and on the MicroPython unix port: register, update, read, write,
# execute, discover, write-attributes, observe with notifications, de-register.
import json
import os
import subprocess
import time

import pytest

from conftest import ROOT
from peers import RUNTIMES, free_port
from nodelib import NodeLib, require_nodelib

# a device process: provisioning file in a state dir, then main.py's agent, as a board runs
DEVICE = r"""
import os, sys
sys.path.insert(0, "lib")
import agent
from port import log
log.set_level(20)  # info
stop = sys.argv[2]

def asked():
    # the test asks for a shutdown by creating a file (signals are unreliable through the
    # micropython wrapper)
    try:
        os.stat(stop)
        return True
    except OSError:
        return False

c = agent.build()
c.start()
c.loop.run_until(asked, int(sys.argv[1]) * 1000)
c.stop()
print("DEREGISTERED", c.rd.state)
"""


def device(runtime, tmp_path, port, name, seconds=60, lifetime=30):
    state = tmp_path / ("state-" + runtime)
    state.mkdir()
    (state / "config.json").write_text(json.dumps(
        {"endpoint": name, "servers": [{"uri": "coap://127.0.0.1:%d" % port, "ssid": 1, "lifetime": lifetime, "binding": "U"}]}))
    script = tmp_path / "device.py"
    script.write_text(DEVICE)
    env = dict(os.environ, UPDRAFT_STATE=str(state))
    return subprocess.Popen(RUNTIMES[runtime] + [str(script), str(seconds), str(tmp_path / "stop")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_full_session_with_lwm2m_node_lib(runtime, tmp_path):
    require_nodelib()
    port = free_port()
    srv = NodeLib()
    srv.start(port)
    name = "updraft-" + runtime
    dev = device(runtime, tmp_path, port, name, lifetime=30)
    try:
        ev = srv.wait_event("registration", timeout=20, endpoint=name)
        assert ev["endpoint"] == name
        assert srv.read(name, "/3/0/0") == "updraft"
        assert srv.read(name, "/1/0/1") == "30"
        srv.write(name, "/1/0/1", "45")  # lifetime: persisted and sent in an Update
        assert srv.read(name, "/1/0/1") == "45"
        srv.wait_event("update", timeout=10, endpoint=name)
        links = srv.discover(name, "/3/0")
        assert "</3/0/0>" in links and "</3/0/4>" in links
        srv.write_attributes(name, "/3/0/13", pmin=1, pmax=2)
        assert "pmin=1" in srv.discover(name, "/3/0/13")
        srv.observe(name, "/3/0/13")
        n1 = srv.wait_event("notification", timeout=10, endpoint=name)
        n2 = srv.wait_event("notification", timeout=10, endpoint=name)
        assert int(n2["value"]) >= int(n1["value"])
        srv.cancel(name, "/3/0/13")
        srv.execute(name, "/1/0/8")  # Registration Update Trigger
        srv.wait_event("update", timeout=10, endpoint=name)
    finally:
        (tmp_path / "stop").write_text("")
        try:
            out = dev.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            dev.kill()
            out = dev.communicate()[0]
        try:
            srv.wait_event("unregistration", timeout=5, endpoint=name)
            unregistered = True
        except Exception:
            unregistered = False
        srv.stop()
    assert unregistered, out[-3000:]

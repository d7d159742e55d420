# Objects 0, 1, 3, 4 through the Registry: reads, refusals, validated writes, execute hooks.
import sys
import time

from support import raises, setenv, tmpdir

from port import MICROPYTHON, board
from lwm2m.obj import LwError
from lwm2m.registry import Registry
from lwm2m.formats import tlv, senml_json
from lwm2m.objects.security import Security, MODE_PSK
from lwm2m.objects.server import Server
from lwm2m.objects.device import Device, PACKAGE_VERSION, ERR_LOW_SIGNAL, ERR_IP
from lwm2m.objects.connmon import ConnMon


def _state():
    d = tmpdir("obj")
    setenv("UPDRAFT_STATE", d)
    return d


def _code(fn, *args):
    return raises(LwError, fn, *args).code


def _vals(recs):
    return dict(recs)


def _registry(**kw):
    _state()
    reg = Registry()
    sec = reg.add(Security())
    sec.add(0, "coaps://srv:5684", 1, mode=MODE_PSK, identity=b"dev", secret=b"\x01\x02k3y")
    srv = reg.add(Server())
    srv.add(0, 1, {"lifetime": 60, "binding": "U", "disable_timeout": 86400, "storing": True})
    dev = reg.add(Device(**kw))
    cm = reg.add(ConnMon())
    return reg, sec, srv, dev, cm


def test_security_refused_to_servers():
    reg, sec, _, _, _ = _registry()
    for path in ((0,), (0, 0), (0, 0, 5), (0, 0, 0)):
        assert _code(reg.read, path) == 0x81
    assert _code(reg.write, (0, 0, 0), [((0, 0, 0), "coap://evil")], True) == 0x81
    assert _code(reg.execute, (0, 0, 1), []) == 0x81
    assert _code(reg.create, (0,), []) == 0x81
    assert _code(reg.delete, (0, 0)) == 0x81
    assert _code(reg.discover_links, (0,), lambda p: ()) == 0x81
    links = reg.register_links()
    assert not [p for p, _ in links if p[0] == 0]
    assert ((1, 0), ()) in links and ((3, 0), ()) in links
    # the client itself gets the account; even unhidden nothing would be readable
    assert sec.uri(0) == "coaps://srv:5684" and sec.by_ssid(1) == 0 and sec.by_ssid(2) is None
    assert sec.credentials(0) == (MODE_PSK, b"dev", b"", b"\x01\x02k3y")
    assert all(not r[1] & 1 for r in Security.RES)
    assert "k3y" not in repr(sec)


def test_security_account_checks():
    sec = Security()
    raises(LwError, sec.add, 0, "coap://h", 1, False, 7)  # unknown mode
    raises(LwError, sec.add, 0, "coap://h", None)  # server account without ssid
    raises(LwError, sec.add, 0, "coaps://h", 1)  # coaps with NoSec
    raises(LwError, sec.add, 0, "coap://h", 1, False, MODE_PSK)  # PSK over plain coap
    raises(LwError, sec.add, 0, "no-scheme", 1)
    assert not sec.data
    sec.add(0, "coap://bs", None, True)
    assert sec.is_bootstrap(0) and sec.by_ssid(None) is None


def test_server_read_and_links():
    reg, _, srv, _, _ = _registry()
    got = _vals(reg.read((1, 0)))
    assert got[(1, 0, 0)] == 1 and got[(1, 0, 1)] == 60 and got[(1, 0, 7)] == "U"
    assert got[(1, 0, 5)] == 86400 and got[(1, 0, 6)] is True
    assert (1, 0, 2) not in got and (1, 0, 3) not in got  # pmin/pmax absent until set
    assert ((1,), (("ver", "1.1"),)) in reg.register_links()
    assert srv.periods(0) == (0, None) and srv.lifetime(0) == 60 and srv.by_ssid(1) == 0
    assert srv.retry(0) == (5, 60, 86400, 1)  # defaults when not provisioned


def test_server_write_validation():
    reg, _, srv, _, _ = _registry()
    calls = []
    srv.on_config_change = calls.append

    def w(rid, v):
        return reg.write((1, 0, rid), [((1, 0, rid), v)], True)

    for bad in ("T", "UQ", "UU", "", "S", 5):
        assert _code(w, 7, bad) == 0x80, bad
    for bad in (-1, 0, True, 1.5, "60", 1 << 31):
        assert _code(w, 1, bad) == 0x80, bad
    assert _code(w, 2, -5) == 0x80
    assert _code(w, 6, 1) == 0x80  # an int is not a boolean
    assert _code(w, 17, 0) == 0x80  # retry count 0 would never try
    assert _code(w, 0, 7) == 0x85  # SSID is read-only
    assert _code(reg.write, (1, 0, 8), [((1, 0, 8), None)], True) == 0x85
    assert srv.lifetime(0) == 60 and srv.binding(0) == "U" and calls == []
    w(1, 120)
    w(1, 120)  # unchanged: no second Update
    w(2, 5)
    w(3, 300)
    assert srv.lifetime(0) == 120 and srv.periods(0) == (5, 300) and calls == [0]
    w(7, "U")
    assert calls == [0]
    assert _code(reg.create, (1,), []) == 0x85
    assert _code(reg.delete, (1, 0)) == 0x85


def test_server_executes():
    reg, _, srv, _, _ = _registry()
    # without a registration client wired, executes fail loudly instead of lying
    assert _code(reg.execute, (1, 0, 8), []) == 0xA0
    trig, dis = [], []
    srv.on_update_trigger = trig.append
    srv.on_disable = lambda iid, t: dis.append((iid, t))
    reg.execute((1, 0, 8), [])
    reg.write((1, 0, 5), [((1, 0, 5), 30)], True)
    reg.execute((1, 0, 4), [])
    assert trig == [0] and dis == [(0, 30)]
    assert _code(reg.execute, (1, 0, 1), []) == 0x85


def test_device_read():
    reg, _, _, dev, _ = _registry()
    got = _vals(reg.read((3, 0)))
    assert got[(3, 0, 0)] == "updraft"
    assert got[(3, 0, 2)] == board.unique_id().hex() and len(got[(3, 0, 2)]) == 12
    assert got[(3, 0, 3)] == PACKAGE_VERSION
    assert got[(3, 0, 6, 0)] == 0  # one DC source
    assert got[(3, 0, 11, 0)] == 0 and (3, 0, 11, 1) not in got
    assert got[(3, 0, 16)] == "U"
    assert board.name in got[(3, 0, 1)]
    rt = "MicroPython" if MICROPYTHON else "CPython"
    assert rt in got[(3, 0, 1)] and got[(3, 0, 19)].startswith(rt + " %d." % sys.implementation.version[0])
    assert abs(got[(3, 0, 13)] - time.time()) < 5
    # memory only where the runtime can tell
    assert ((3, 0, 10) in got) == MICROPYTHON and ((3, 0, 21) in got) == MICROPYTHON
    if MICROPYTHON:
        assert 0 < got[(3, 0, 10)] <= got[(3, 0, 21)]
    else:
        assert _code(reg.read, (3, 0, 10)) == 0x84
    assert (3, 0, 7) not in got and (3, 0, 9) not in got  # nothing measured, no battery
    assert ((3,), (("ver", "1.1"),)) in reg.register_links()
    assert _code(reg.create, (3,), []) == 0x85


def test_device_encodes_in_every_format():
    # the values match their declared kinds: TLV and SenML JSON round-trip whole objects
    reg, _, _, _, _ = _registry(power=((1, 3700, 120), (5, 5000, None)))
    for path in ((1,), (3, 0), (4, 0)):
        recs = reg.read(path)
        for fmt in (tlv, senml_json):
            back = fmt.decode(fmt.encode(recs, path, reg.kind), path, reg.kind)
            want = recs if fmt is tlv else [r for r in recs if r[1] != ()]  # SenML has no
            assert sorted(back) == sorted(want), (fmt, path)  # empty multiple resource
    got = _vals(reg.read((3, 0)))
    assert got[(3, 0, 6, 1)] == 5 and got[(3, 0, 7, 1)] == 5000 and got[(3, 0, 8, 0)] == 120
    assert (3, 0, 8, 1) not in got  # a source without a current measurement


def test_device_firmware_version_callable():
    cur = ["1.2.3"]
    reg, _, _, dev, _ = _registry(firmware_version=lambda: cur[0])
    assert reg.read((3, 0, 3)) == [((3, 0, 3), "1.2.3")]
    cur[0] = "1.3.0"  # read on every Read: right after an update
    assert reg.read((3, 0, 3)) == [((3, 0, 3), "1.3.0")]
    cur[0] = None
    assert _code(reg.read, (3, 0, 3)) == 0x84
    seen = []
    reg.on_change = seen.append
    dev.set_firmware_version(lambda: "2.0.0")
    assert seen == [(3, 0, 3)] and reg.read((3, 0, 3))[0][1] == "2.0.0"


def test_device_reboot_is_only_scheduled():
    jobs, resets = [], []
    reg, _, _, _, _ = _registry(schedule=jobs.append, reset=lambda: resets.append(1))
    reg.execute((3, 0, 4), [])
    assert resets == [] and len(jobs) == 1  # respond first
    jobs[0]()
    assert resets == [1]
    # without a scheduler Reboot is refused, never run inline
    reg2, _, _, _, _ = _registry(reset=lambda: resets.append(2))
    assert _code(reg2.execute, (3, 0, 4), []) == 0xA0 and resets == [1]


def test_device_reboot_default_is_board_reset():
    jobs = []
    reg, _, _, _, _ = _registry(schedule=jobs.append)
    reg.execute((3, 0, 4), [(1, None)])  # arguments are ignored
    e = raises(SystemExit, jobs[0])
    assert e.args[0] == 75  # the host board exits for the simulator to restart it


def test_device_factory_reset():
    jobs, resets = [], []
    reg, _, _, _, _ = _registry(schedule=jobs.append, reset=lambda: resets.append(1))
    d = board.state_dir()
    for name in ("config.json", "lwm2m.json", "lwm2m.json.tmp"):
        with open(d + "/" + name, "w") as f:
            f.write("{}")
    reg.execute((3, 0, 5), [])
    import os

    left = os.listdir(d)
    assert "config.json" in left and "lwm2m.json" not in left and "lwm2m.json.tmp" not in left
    assert resets == [] and len(jobs) == 1
    jobs[0]()
    assert resets == [1]
    reg.execute((3, 0, 5), [(0, None)])  # nothing left to wipe is fine
    # a wipe that fails answers 5.00 and schedules nothing
    def fail():
        raise OSError(13)

    reg3, _, _, _, _ = _registry(schedule=jobs.append, wipe=fail)
    assert _code(reg3.execute, (3, 0, 5), []) == 0xA0 and len(jobs) == 2


def test_device_error_codes():
    reg, _, _, dev, _ = _registry()
    seen = []
    reg.on_change = seen.append
    dev.add_error(ERR_LOW_SIGNAL)
    dev.add_error(ERR_IP)
    dev.add_error(ERR_IP)
    assert reg.read((3, 0, 11)) == [((3, 0, 11, 0), 4), ((3, 0, 11, 1), 7)]
    assert seen == [(3, 0, 11), (3, 0, 11)]
    dev.clear_error(ERR_LOW_SIGNAL)
    assert reg.read((3, 0, 11)) == [((3, 0, 11, 0), 7)]
    reg.execute((3, 0, 12), [])
    assert reg.read((3, 0, 11)) == [((3, 0, 11, 0), 0)] and dev.errors() == [0]
    assert len(seen) == 4
    reg.execute((3, 0, 12), [])
    assert len(seen) == 4  # already clear: no notification


def test_device_time_and_strings():
    reg, _, _, dev, _ = _registry()
    before = time.time()
    reg.write((3, 0, 13), [((3, 0, 13), 1000000000)], True)
    assert abs(reg.read((3, 0, 13))[0][1] - 1000000000) <= 2
    assert abs(time.time() - before) < 5  # the system clock was not touched
    for bad in (-1, 1.5, "now", True):
        assert _code(reg.write, (3, 0, 13), [((3, 0, 13), bad)], True) == 0x80
    reg.write((3, 0), [((3, 0, 14), "UTC+02:00"), ((3, 0, 15), "Europe/Warsaw")], False)
    got = _vals(reg.read((3, 0)))
    assert got[(3, 0, 14)] == "UTC+02:00" and got[(3, 0, 15)] == "Europe/Warsaw"
    assert _code(reg.write, (3, 0, 15), [((3, 0, 15), "x" * 65)], True) == 0x80
    assert _code(reg.write, (3, 0, 15), [((3, 0, 15), "a\nb")], True) == 0x80
    assert _code(reg.write, (3, 0, 0), [((3, 0, 0), "evil")], True) == 0x85
    assert _code(reg.write, (3, 0, 16), [((3, 0, 16), "UT")], True) == 0x85
    assert reg.read((3, 0, 0))[0][1] == "updraft"


def test_connmon_host_values():
    reg, _, _, _, cm = _registry()
    got = _vals(reg.read((4, 0)))
    info = board.network_info()
    assert got[(4, 0, 0)] == info["bearer"] == 41
    assert got[(4, 0, 1, 0)] == 41 and got[(4, 0, 4, 0)] == "127.0.0.1"
    assert (4, 0, 5) in got and got[(4, 0, 5)] == ()  # no router on loopback: empty list
    assert got[(4, 0, 2)] == info["rssi"]
    assert _code(reg.write, (4, 0, 0), [((4, 0, 0), 21)], True) == 0x85
    assert _code(reg.create, (4,), []) == 0x85


def test_connmon_update_notifies_changes():
    state = {"bearer": 21, "available": (21,), "rssi": -60, "ips": ("10.0.0.2",),
             "router_ips": ("10.0.0.1",)}
    calls = []

    def info():
        calls.append(1)
        return dict(state)

    reg = Registry()
    cm = reg.add(ConnMon(info))
    seen = []
    reg.on_change = seen.append
    got = _vals(reg.read((4, 0)))
    assert got[(4, 0, 2)] == -60 and (4, 0, 3) not in got  # link quality not reported
    assert len(calls) == 1  # one snapshot serves the whole instance read
    assert cm.update() == [] and seen == []
    state["rssi"] = -80
    state["ips"] = ("10.0.0.2", "fe80::2")
    assert cm.update() == [2, 4]
    assert seen == [(4, 0, 2), (4, 0, 4)]
    assert reg.read((4, 0, 4)) == [((4, 0, 4, 0), "10.0.0.2"), ((4, 0, 4, 1), "fe80::2")]
    assert cm.update() == []


def test_multi_resource_write_with_one_bad_value_changes_nothing():
    # the registry validates every value (Object.check) before applying any of them
    reg, _, srv, _, _ = _registry()
    before = srv.lifetime(0)
    recs = [((1, 0, 1), 120), ((1, 0, 7), "T")]
    assert _code(reg.write, (1, 0), recs, False) == 0x80
    assert srv.lifetime(0) == before and srv.binding(0) == "U"
    reg.write((1, 0), [((1, 0, 1), 120)], False)
    assert srv.lifetime(0) == 120

# lwm2m.config: provisioning + persisted server writes, atomic saves, fallbacks.
import json
import os

from support import raises, setenv, tmpdir

from port import board
from lwm2m import config
from lwm2m.obj import LwError
from lwm2m.registry import Registry
from lwm2m.objects.security import MODE_PSK, MODE_NOSEC

PROV = {"endpoint": "dev-1",
        "servers": [{"uri": "coap://127.0.0.1:5683", "ssid": 1, "lifetime": 60, "binding": "U"}]}


def _state(prov=PROV, raw=None):
    d = tmpdir("cfg")
    setenv("UPDRAFT_STATE", d)
    with open(d + "/config.json", "w") as f:
        f.write(raw if raw is not None else json.dumps(prov))
    return d


def _boot(d=None):
    # what the client does at start: load, build; a "restart" is calling it again
    reg = Registry()
    cfg = config.load(d)
    sec, srv = config.build(reg, cfg)
    return reg, cfg, sec, srv


def _write(reg, rid, value):
    reg.write((1, 0, rid), [((1, 0, rid), value)], True)


def _lifetime(reg):
    return reg.read((1, 0, 1))[0][1]


def _files(d):
    return sorted(os.listdir(d))


def test_load_provisioning():
    d = _state()
    cfg = config.load()
    assert cfg["dir"] == d and cfg["endpoint"] == "dev-1" and len(cfg["servers"]) == 1
    acc = cfg["servers"][0]
    assert acc["uri"] == "coap://127.0.0.1:5683" and acc["ssid"] == 1
    assert acc["lifetime"] == 60 and acc["binding"] == "U" and acc["mode"] == MODE_NOSEC
    reg, cfg, sec, srv = _boot()
    got = dict(reg.read((1, 0)))
    assert got[(1, 0, 0)] == 1 and got[(1, 0, 1)] == 60 and got[(1, 0, 7)] == "U"
    assert got[(1, 0, 5)] == 86400 and got[(1, 0, 6)] is True and got[(1, 0, 17)] == 5
    assert sec.uri(sec.by_ssid(1)) == "coap://127.0.0.1:5683"
    assert raises(LwError, reg.read, (0,)).code == 0x81
    assert "lwm2m.json" not in _files(d)  # nothing written until a server writes


def test_written_values_survive_restart():
    d = _state()
    reg, cfg, _, srv = _boot()
    changes = []
    srv.on_config_change = changes.append
    _write(reg, 1, 120)
    reg.write((1, 0), [((1, 0, 2), 10), ((1, 0, 3), 600), ((1, 0, 5), 30),
                       ((1, 0, 6), False), ((1, 0, 18), 7)], False)
    assert changes == [0] and "lwm2m.json" in _files(d) and "lwm2m.json.tmp" not in _files(d)
    reg2, _, _, srv2 = _boot()  # restart: fresh registry, reload from disk
    got = dict(reg2.read((1, 0)))
    assert got[(1, 0, 1)] == 120 and got[(1, 0, 2)] == 10 and got[(1, 0, 3)] == 600
    assert got[(1, 0, 5)] == 30 and got[(1, 0, 6)] is False and got[(1, 0, 18)] == 7
    assert srv2.retry(0) == (5, 7, 86400, 1)
    # refused writes are not persisted
    raises(LwError, _write, reg2, 7, "T")
    raises(LwError, _write, reg2, 1, -1)
    reg3, _, _, _ = _boot()
    assert _lifetime(reg3) == 120 and reg3.read((1, 0, 7))[0][1] == "U"


def test_key_order_does_not_matter():
    # hand-written files with keys in another order than json.dumps would produce
    d = _state(raw='{"servers": [{"binding": "U", "lifetime": 45, "ssid": 3, '
                   '"uri": "coap://h:5683"}], "endpoint": "x"}')
    with open(d + "/lwm2m.json", "w") as f:
        f.write('{"servers": {"3": {"set": {"lifetime": 99}, "base": {"lifetime": 45, '
                '"binding": "U", "uri": "coap://h:5683"}}}, "v": 1}')
    reg, cfg, _, srv = _boot()
    assert cfg["endpoint"] == "x" and srv.ssid(0) == 3 and _lifetime(reg) == 99


def test_torn_tmp_never_replaces_good_file():
    d = _state()
    reg, _, _, _ = _boot()
    _write(reg, 1, 120)
    good = open(d + "/lwm2m.json").read()
    # power cut while the next save was writing its tmp file
    with open(d + "/lwm2m.json.tmp", "w") as f:
        f.write(good[: len(good) // 2])
    reg2, _, _, _ = _boot()
    assert _lifetime(reg2) == 120
    _write(reg2, 1, 300)  # the next save simply overwrites the torn tmp
    assert "lwm2m.json.tmp" not in _files(d)
    assert _lifetime(_boot()[0]) == 300


def test_save_failure_keeps_old_value():
    d = _state()
    reg, cfg, _, srv = _boot()
    _write(reg, 1, 120)
    os.mkdir(d + "/lwm2m.json.tmp")  # the tmp file cannot be created
    assert raises(LwError, _write, reg, 1, 500).code == 0xA0
    assert _lifetime(reg) == 120 and cfg["servers"][0]["lifetime"] == 120
    assert cfg["servers"][0]["set"]["lifetime"] == 120
    os.rmdir(d + "/lwm2m.json.tmp")
    assert _lifetime(_boot()[0]) == 120
    _write(reg, 1, 500)
    assert _lifetime(_boot()[0]) == 500


def test_complete_tmp_used_when_main_missing():
    # a save cut between FAT's remove and rename: only the (complete) tmp file exists
    d = _state()
    reg, _, _, _ = _boot()
    _write(reg, 1, 120)
    os.rename(d + "/lwm2m.json", d + "/lwm2m.json.tmp")
    assert _lifetime(_boot()[0]) == 120
    # but a torn tmp alone is ignored
    with open(d + "/lwm2m.json.tmp", "w") as f:
        f.write('{"v": 1, "servers": {"1": {"set": {"lifetime": 1')
    assert _lifetime(_boot()[0]) == 60


def test_corrupt_main_falls_back_to_provisioning():
    d = _state()
    reg, _, _, _ = _boot()
    _write(reg, 1, 120)
    for junk in (b"", b"\x00" * 40, b"\xff\xfe{", b'{"v": 1, "servers": {"1": ', b"[1, 2]",
                 b'{"v": 9, "servers": {}}', b'{"v": 1, "servers": {"1": {"set": 5}}}',
                 open(d + "/lwm2m.json", "rb").read() + b" " * 5000):  # oversized
        with open(d + "/lwm2m.json", "wb") as f:
            f.write(junk)
        reg2, cfg, _, _ = _boot()
        assert _lifetime(reg2) == 60, junk
        assert cfg["endpoint"] == "dev-1"
    # writing again replaces the corrupt file with a good one
    _write(reg2, 1, 90)
    assert _lifetime(_boot()[0]) == 90


def test_invalid_stored_values_ignored():
    d = _state()
    with open(d + "/lwm2m.json", "w") as f:
        f.write(json.dumps({"v": 1, "servers": {"1": {
            "base": {"uri": "coap://127.0.0.1:5683", "lifetime": 60, "binding": "U"},
            "set": {"lifetime": -4, "binding": "UQ", "pmin": 3}}}}))
    reg, _, _, srv = _boot()
    assert _lifetime(reg) == 60 and srv.binding(0) == "U" and srv.periods(0) == (3, None)


def test_reprovisioning_drops_written_values():
    d = _state()
    reg, _, _, _ = _boot()
    _write(reg, 1, 120)
    prov = {"endpoint": "dev-1",
            "servers": [{"uri": "coap://10.0.0.9:5683", "ssid": 1, "lifetime": 60}]}
    with open(d + "/config.json", "w") as f:
        f.write(json.dumps(prov))
    assert _lifetime(_boot()[0]) == 60
    # provisioning back as it was: the written value applies again (still on disk)
    with open(d + "/config.json", "w") as f:
        f.write(json.dumps(PROV))
    assert _lifetime(_boot()[0]) == 120


def test_security_provisioning_and_no_secret_on_disk():
    prov = {"endpoint": "dev-2", "servers": [
        {"uri": "coaps://srv:5684", "ssid": 1, "lifetime": 60,
         "security": {"mode": "psk", "identity": "dev-2", "key": "0011aabbccddeeff"}},
        {"uri": "coaps://srv2:5684", "ssid": 2, "identity": "flat", "key": "c0ffee"},
        {"uri": "coap://bs:5683", "bootstrap": True},
        {"uri": "coap://x:5683", "ssid": 4, "mode": "weird"},  # refused, others kept
        {"uri": "coaps://y:5684", "ssid": 5, "key": "not hex"},
        {"uri": "coap://z:5683", "ssid": 6, "mode": MODE_PSK},  # PSK on plain coap
        "junk",
    ]}
    d = _state(prov)
    reg, cfg, sec, srv = _boot()
    assert sec.credentials(sec.by_ssid(1)) == (MODE_PSK, b"dev-2", b"", bytes.fromhex("0011aabbccddeeff"))
    assert sec.credentials(sec.by_ssid(2)) == (MODE_PSK, b"flat", b"", b"\xc0\xff\xee")
    assert sorted(sec.data) == [0, 1, 2] and sec.is_bootstrap(2)
    assert srv.instances() == [0, 1] and srv.ssid(1) == 2  # no /1 for the bootstrap server
    assert [p for p, _ in reg.register_links() if p[0] == 1] == [(1,), (1, 0), (1, 1)]
    reg.write((1, 1, 1), [((1, 1, 1), 300)], True)
    data = open(d + "/lwm2m.json").read()
    assert "0011aabb" not in data and "c0ffee" not in data and "dev-2" not in data
    assert json.loads(data)["servers"]["2"]["set"] == {"lifetime": 300}


def test_bad_provisioning():
    d = _state(raw="{not json")
    cfg = config.load()
    assert cfg["servers"] == [] and cfg["endpoint"] == "updraft-" + board.unique_id().hex()
    reg, _, sec, srv = _boot()
    assert sec.instances() == [] and srv.instances() == []
    # an invalid value falls back to its default, the account stays
    _state({"servers": [{"uri": "coap://h:5683", "lifetime": 0, "binding": "X", "pmax": 10}]})
    reg, cfg, _, srv = _boot()
    assert srv.lifetime(0) == 86400 and srv.binding(0) == "U" and srv.periods(0) == (0, 10)
    assert srv.ssid(0) == 1  # ssid defaults to the entry's position + 1
    os.remove(d + "/config.json")
    assert config.load(d)["servers"] == []


def test_wipe_keeps_provisioning():
    d = _state()
    reg, _, _, _ = _boot()
    _write(reg, 1, 120)
    with open(d + "/lwm2m.json.tmp", "w") as f:
        f.write("{")
    config.wipe()
    assert "lwm2m.json" not in _files(d) and "lwm2m.json.tmp" not in _files(d)
    assert "config.json" in _files(d)
    assert _lifetime(_boot()[0]) == 60
    config.wipe()  # nothing to remove is fine

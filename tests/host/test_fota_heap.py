# Issue 5's memory requirement: a 1 MiB pull (CoAP from libcoap's coap-server, HTTP from
# nginx) and a 1 MiB push (coap-client -m put into /5/0/0) reach State 2 with a byte-identical
# slot on the MicroPython unix port, lib/ precompiled with mpy-cross, the chip in a file
# (port.flash), through the device's FirmwareUpdate + Journal + ABWriter + verify + engine
# (tests/peers/fota_node.py, driven by updraft.bench_fota). Functional, not timing.
#
# What the pip unix binary cannot show: loaded .mpy bytecode, its qstrs and module objects
# live in the heap there (110 to 160 KB for these runs), where a board with lib/ frozen keeps
# them in flash. So each update runs in 96 KiB *beyond* the code it imported (heap = measured
# import cost of exactly the modules the run loaded + 96 KiB): buffers, flash model, engine,
# verify and fragmentation must fit the 96 KiB. The literal `-X heapsize=96k` with the
# code in the heap does not fit yet and is kept as a strict xfail, so that it turns red (to be
# promoted) the day it does.
import os
import shutil
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))

from updraft import bench_fota  # noqa: E402

HEAP = bench_fota.HEAP


def _need(name):
    if not shutil.which(name):
        pytest.skip(name + " not installed (make setup)")


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    if not os.path.exists(bench_fota.MICROPYTHON):
        pytest.skip("no micropython binary")
    return bench_fota.Rig(str(tmp_path_factory.mktemp("fota_heap")))


@pytest.fixture(scope="module")
def coap_uri(rig):
    _need("coap-server-notls")
    with bench_fota.coap_server(rig.image) as (uri, _):
        yield uri


@pytest.fixture(scope="module")
def http_uri(rig):
    _need("nginx")
    with bench_fota.nginx(rig.tmp) as base:
        yield base + "/fw.bin"


def _push(rig):
    _need("coap-client-notls")
    client = shutil.which("coap-client-notls")
    return lambda heap: rig.push(client, heap, timeout=30)


def _beyond_code(rig, run):
    # one run without a limit tells which modules the update loads; then the limited run
    first = run(0)
    assert first["ok"], first["out"]
    code = rig.code_bytes(first["modules"])
    res = run(code + HEAP)
    assert res["ok"], "State %s Result %s at %d + %d:\n%s" % (res.get("state"), res.get("result"), code, HEAP,
                                                             res["out"])
    return code


def test_coap_pull_in_96k_beyond_code(rig, coap_uri):
    code = _beyond_code(rig, lambda heap: rig.pull(coap_uri, heap))
    assert code < 200 * 1024


def test_http_pull_in_96k_beyond_code(rig, http_uri):
    _beyond_code(rig, lambda heap: rig.pull(http_uri, heap))


def test_push_in_96k_beyond_code(rig):
    _beyond_code(rig, _push(rig))


_CODE_IN_HEAP = pytest.mark.xfail(strict=True, reason="the .mpy code of the update path (110-160 KB) "
                                  "lives in the unix port's heap; fits only frozen")


@_CODE_IN_HEAP
def test_coap_pull_in_96k(rig, coap_uri):
    assert rig.pull(coap_uri, HEAP)["ok"]


@_CODE_IN_HEAP
def test_http_pull_in_96k(rig, http_uri):
    assert rig.pull(http_uri, HEAP)["ok"]


@_CODE_IN_HEAP
def test_push_in_96k(rig):
    assert _push(rig)(HEAP)["ok"]

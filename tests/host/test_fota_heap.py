# Issue 5's memory requirement: a 1 MiB pull (CoAP from libcoap's coap-server, HTTP from
# nginx) and a 1 MiB push (coap-client -m put into /5/0/0) reach State 2 with a byte-identical
# slot on the MicroPython unix port with -X heapsize=96k, through the device's FirmwareUpdate +
# Journal + ABWriter + verify + engine, or Object 5's Block1 push stream (tests/peers/
# fota_node.py, driven by updraft.bench_fota), the chip in a file (port.flash). This is the
# update path: the rest of the client (registration, the registry, lwm2m.ops and its content
# formats) is not loaded, for the pull as for the push. The push also fits with lwm2m.formats
# loaded, as a registered client has it (~91 KiB today); make bench reports that for the pulls
# too (CoAP ~95 KiB: too close to 96 for a test) and a push dispatched through lwm2m.ops
# (~111 KiB). lib/ runs from a ROMFS image as a
# board deploys it (tools/updraft/romfs.py): bytecode stays in the image, everything the
# program creates is in the 96 KiB. Functional, not timing.
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


def _push(rig, extra=()):
    _need("coap-client-notls")
    client = shutil.which("coap-client-notls")
    return lambda heap: rig.push(client, heap, timeout=30, extra=extra)


# the push through lwm2m.ops needs ~111 KiB today (make bench): this keeps it from growing
# unseen while the update-path figures are the ones held to 96 KiB
OPS_HEAP = 120 * 1024


def _push_ops(rig):
    _need("coap-client-notls")
    return rig.push(shutil.which("coap-client-notls"), OPS_HEAP, timeout=30, extra=["ops"])


def _fits(res):
    assert res["ok"], "State %s Result %s:\n%s" % (res.get("state"), res.get("result"), res["out"])


def test_coap_pull_in_96k(rig, coap_uri):
    # every datagram is a fresh ~1 KiB allocation on MicroPython (no recvfrom_into): where
    # the heap has no hole for one, the engine goes on with smaller blocks
    _fits(rig.pull(coap_uri, HEAP))


@pytest.mark.parametrize("kib", [80, 88, 96])
def test_coap_pull_short_of_heap_ends_with_result_3(rig, coap_uri, kib):
    # where the CoAP transfer does not fit even with 256-byte blocks (today: below ~90 KiB),
    # the device says so: State 0 / Result 3 (Not enough RAM), the running image untouched
    # (the inactive slot may hold part of the download); never a Downloading that hangs or an
    # exception out of the loop or out of the Package URI write
    res = rig.pull(coap_uri, kib * 1024, timeout=60)
    if res.get("state") == 2:
        return _fits(res)  # it fits (96 KiB does): then it must be a whole, correct update
    assert (res.get("state"), res.get("result")) == (0, 3), res["out"]
    assert "Traceback" not in res["out"] and "timeout" not in res["out"], res["out"]
    assert rig.factory_intact(download=True)


def test_http_pull_in_96k(rig, http_uri):
    _fits(rig.pull(http_uri, HEAP))


@pytest.mark.parametrize("extra", [(), ("formats",)], ids=["update_path", "with_formats"])
def test_push_in_96k(rig, extra):
    # Object 5's push stream behind the endpoint, as the pull tests drive FirmwareUpdate:
    # the update path, and the same with lwm2m.formats loaded. Their names must stay under
    # the 620 qstrs at which MicroPython takes another ~8 KB pool (make bench: fota_push_1mib)
    _fits(_push(rig, extra)(HEAP))


def test_coap_pull_with_the_formats_layer_completes(rig, coap_uri):
    # the URI decoded by formats.text from a text/plain Write, as lwm2m.ops does; its heap is
    # make bench's fota_pull_1mib.coap.with_formats
    _fits(rig.pull(coap_uri, None, extra=["formats"]))


def test_push_through_lwm2m_ops_in_120k(rig):
    # the same push dispatched as the client does (a Registry and lwm2m.ops); its smallest
    # heap is make bench's fota_push_1mib.through_lwm2m_ops
    _fits(_push_ops(rig))


@pytest.mark.parametrize("cpython", [False, True], ids=["micropython", "cpython"])
def test_push_whose_blocks_find_no_heap_ends_with_result_3(rig, cpython):
    # the heap fills up mid-push (after 100 datagrams every receive finds none): the server
    # retransmits into a full heap and gives up; the device ends the push when no block
    # came for push_timeout (3 s here) with State 0 / Result 3, the RAM, not the link (4),
    # whose advice would be to retry; the running image untouched
    _need("coap-client-notls")
    res = rig.push(shutil.which("coap-client-notls"), None, timeout=10, extra=["starve=100"], cpython=cpython)
    assert (res.get("state"), res.get("result")) == (0, 3), res["out"]
    assert "Traceback" not in res["out"] and "timeout" not in res["out"], res["out"]
    assert "giving it up, result 3" in res["out"], res["out"]
    assert rig.factory_intact(download=True)


def test_update_path_code_stays_in_the_image(rig, coap_uri):
    # the ROMFS deployment is what makes the budget: importing the update path must cost far
    # less heap than the .mpy bytecode it runs (>= 126 KB when copied into the heap)
    res = rig.pull(coap_uri, 0)
    _fits(res)
    assert rig.code_bytes(res["modules"]) < 100 * 1024

# The design card's layout and the ESP32 partition table stay consistent.
import csv
import os

from conftest import ROOT


def _parts():
    rows = []
    with open(os.path.join(ROOT, "partitions.csv")) as f:
        for row in csv.reader(line for line in f if line.strip() and not line.startswith("#")):
            name, typ, sub, off, size = [c.strip() for c in row]
            rows.append((name, typ, sub, int(off, 0), int(size, 0)))
    return rows


def test_partitions_fit_4mib_without_overlap_and_apps_are_64k_aligned():
    rows = sorted(_parts(), key=lambda r: r[3])
    end = 0x9000  # bootloader + partition table come first
    for name, typ, _, off, size in rows:
        assert off >= end, "%s overlaps the previous partition" % name
        assert off % 0x1000 == 0 and size % 0x1000 == 0, name
        if typ == "app":
            assert off % 0x10000 == 0, "%s: app partitions start on 64 KiB" % name
        end = off + size
    assert end <= 0x400000


def test_partitions_have_what_the_updater_needs():
    names = {r[0] for r in _parts()}
    assert {"otadata", "ota_0", "ota_1", "bootctl", "journal", "app_a", "app_b", "vfs"} <= names
    sizes = {r[0]: r[4] for r in _parts()}
    assert sizes["ota_0"] == sizes["ota_1"] and sizes["app_a"] == sizes["app_b"]


def test_design_card_layout_exists():
    for p in ("firmware/manifest.py", "partitions.csv", "Makefile", "README.md", ".ci/run",
              "lib/port", "lib/coap", "tools", "tests"):
        assert os.path.exists(os.path.join(ROOT, p)), p

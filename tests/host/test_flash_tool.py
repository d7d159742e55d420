# `updraft flash` without a board: the generated partition table parsed back by an independent
# implementation (esp-idf-defs, an extract of ESP-IDF's gen_esp32part.py), the dry run's esptool
# commands (order, offsets from partitions.csv) accepted by esptool's own argument parser, and
# one-line errors with exit code 2 for bad inputs.
# SPDX-License-Identifier: MIT
import csv
import hashlib
import os
import shlex
import struct
import subprocess
import sys

import pytest

from conftest import ROOT
from updraft import cli, flash

esp_idf_defs = pytest.importorskip("esp_idf_defs")  # pinned in tools/requirements.txt

CSV = os.path.join(ROOT, "partitions.csv")


def csv_rows():
    # read here with the csv module, not with flash.read_csv
    with open(CSV) as f:
        rows = csv.reader(ln for ln in f if ln.strip() and not ln.startswith("#"))
        return [tuple(c.strip() for c in r) for r in rows]


def offsets():
    return {r[0]: (int(r[3], 0), int(r[4], 0)) for r in csv_rows()}


@pytest.fixture
def files(tmp_path):
    fw = tmp_path / "micropython.bin"
    fw.write_bytes(b"\xe9" + bytes(1000))
    app = tmp_path / "app.img"
    app.write_bytes(struct.pack("<I", flash.MCUBOOT_MAGIC) + bytes(2000))
    boot = tmp_path / "bootloader.bin"
    boot.write_bytes(b"\xe9" + bytes(100))
    return tmp_path, str(fw), str(app), str(boot)


def run(capsys, *args):
    rc = cli.main(["flash"] + list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_table_parsed_back_by_esp_idf_defs(tmp_path, capsys, files):
    _, fw, _, _ = files
    out = tmp_path / "pt.bin"
    rc, _, _ = run(capsys, "--firmware", fw, "--dry-run", "--out-table", str(out))
    assert rc == 0
    data = out.read_bytes()
    assert len(data) == 0xC00
    table = esp_idf_defs.PartitionTable.from_binary(data)  # checks the MD5 entry too
    rows = csv_rows()
    assert len(table) == len(rows)
    for p, (name, typ, sub, off, size) in zip(table, rows):
        assert p.name == name
        assert p.type == esp_idf_defs.partitions.get_ptype_as_int(typ)
        assert p.subtype == esp_idf_defs.partitions.get_subtype_as_int(typ, sub)
        assert (p.offset, p.size) == (int(off, 0), int(size, 0))
        assert not p.encrypted and not p.readonly
    n = 32 * len(rows)
    assert data[n:n + 16] == b"\xeb\xeb" + b"\xff" * 14
    assert data[n + 16:n + 32] == hashlib.md5(data[:n]).digest()
    assert data[n + 32:] == b"\xff" * (0xC00 - n - 32)
    # and byte for byte what ESP-IDF's generator makes of the same CSV
    with open(CSV) as f:
        theirs = esp_idf_defs.PartitionTable.from_csv(f.read())
    theirs.verify()
    assert theirs.to_binary() == data


def test_dry_run_prints_the_commands_in_order(capsys, files):
    tmp, fw, app, boot = files
    table = str(tmp / "pt.bin")
    rc, out, _ = run(capsys, "--firmware", fw, "--app", app, "--bootloader", boot, "--port",
                     "/dev/ttyUSB7", "--baud", "921600", "--dry-run", "--out-table", table)
    assert rc == 0
    lines = [shlex.split(ln) for ln in out.splitlines()]
    base = [sys.executable, "-m", "esptool", "--chip", "esp32", "--port", "/dev/ttyUSB7", "--baud", "921600"]
    o = offsets()
    want = [base + ["--after", "no-reset", "erase-region", hex(o[n][0]), hex(o[n][1])]
            for n in ("otadata", "bootctl", "journal", "rtctl", "app_b")]
    want.append(base + ["write-flash", "0x1000", boot, "0x8000", table, hex(o["ota_0"][0]), fw,
                        hex(o["app_a"][0]), app])
    assert lines == want


def test_dry_run_commands_parse_in_esptool(capsys, files):
    # esptool parses all arguments (and opens the files to write) before it opens the port:
    # a missing port, not a usage error, means the command line is valid esptool 5 syntax
    tmp, fw, app, boot = files
    rc, out, _ = run(capsys, "--firmware", fw, "--app", app, "--bootloader", boot, "--port",
                     "/dev/updraft-no-such-port", "--dry-run", "--out-table", str(tmp / "pt.bin"))
    assert rc == 0 and len(out.splitlines()) == 6  # five erases, one write
    for ln in out.splitlines():
        p = subprocess.run(shlex.split(ln), capture_output=True, text=True, timeout=60)
        msg = p.stdout + p.stderr
        assert "Could not open /dev/updraft-no-such-port" in msg, msg
        assert "Usage" not in msg, msg


def test_esptool_failure_stops_the_run(capfd, files):
    # not a dry run: the first esptool run fails on the port; nothing after it runs
    _, fw, _, _ = files
    rc = cli.main(["flash", "--firmware", fw, "--port", "/dev/updraft-no-such-port"])
    out, err = capfd.readouterr()
    assert rc != 0 and "Traceback" not in err
    assert err.count("Could not open /dev/updraft-no-such-port") == 1
    assert "updraft flash: esptool failed (exit %d): --chip esp32" % rc in err


def test_without_app_or_bootloader_and_other_chip(capsys, files):
    _, fw, _, boot = files
    rc, out, _ = run(capsys, "--firmware", fw, "--chip", "esp32s3", "--bootloader", boot, "--dry-run")
    assert rc == 0
    last = shlex.split(out.splitlines()[-1])
    assert last[3:5] == ["--chip", "esp32s3"] and "--port" not in last
    assert last[last.index("write-flash") + 1:][:2] == ["0x0", boot]  # S3 bootloader at 0x0
    assert hex(offsets()["app_a"][0]) not in last


def one_line_error(capsys, *args):
    rc, out, err = run(capsys, *args)
    assert rc == 2 and not out
    assert err.startswith("updraft flash: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_inputs_are_one_line_errors(capsys, files):
    tmp, fw, app, _ = files
    bad = tmp / "bad.img"
    bad.write_bytes(b"\x3d\xb8\xf3\x97" + bytes(100))
    assert "not an MCUboot image" in one_line_error(capsys, "--firmware", fw, "--app", str(bad), "--dry-run")
    big = tmp / "big.img"
    big.write_bytes(struct.pack("<I", flash.MCUBOOT_MAGIC) + bytes(offsets()["app_a"][1]))
    assert "does not fit app_a" in one_line_error(capsys, "--firmware", fw, "--app", str(big), "--dry-run")
    assert "app image not found" in one_line_error(capsys, "--firmware", fw, "--app", str(tmp / "nope"), "--dry-run")
    assert "firmware not found" in one_line_error(capsys, "--firmware", str(tmp / "nope"), "--dry-run")
    assert "bootloader not found" in one_line_error(capsys, "--firmware", fw, "--bootloader", str(tmp / "nope"))
    combined = tmp / "firmware.bin"
    combined.write_bytes(b"\xe9" + bytes(0x7000 - 1) + b"\xaa\x50" + bytes(100))
    assert "combined firmware.bin" in one_line_error(capsys, "--firmware", str(combined), "--dry-run")
    notesp = tmp / "x.bin"
    notesp.write_bytes(b"hello")
    assert "not an ESP app image" in one_line_error(capsys, "--firmware", str(notesp), "--dry-run")
    huge = tmp / "huge.bin"
    huge.write_bytes(b"\xe9" + bytes(offsets()["ota_0"][1]))
    assert "does not fit ota_0" in one_line_error(capsys, "--firmware", str(huge), "--dry-run")
    pt = tmp / "p.csv"
    pt.write_text("nvs, data, nvs, 0x9000, 0x4000\n")
    assert "missing ota_0" in one_line_error(capsys, "--firmware", fw, "--partitions", str(pt), "--dry-run")


def test_signed_image_from_updraft_sign_is_accepted(tmp_path, capsys, files):
    from updraft import sign

    _, fw, _, _ = files
    payload = tmp_path / "payload.bin"
    payload.write_bytes(os.urandom(5000))
    img = tmp_path / "app.img"
    sign.sign(None, str(payload), str(img), "1.0.0", check=False)  # unsigned: the header is what matters
    rc, out, _ = run(capsys, "--firmware", fw, "--app", str(img), "--dry-run")
    assert rc == 0 and str(img) in out

# `updraft flash`: put a factory layout on an ESP32 over USB with esptool: the partition
# table generated from partitions.csv at 0x8000, the MicroPython firmware (app image) in
# ota_0, optionally the second-stage bootloader and the signed application image (app_a),
# with otadata erased (= boot ota_0), the boot-control/journal/rtctl records erased
# (fota.boot's record logs start empty: erased is valid) and app_b erased (an image left
# there from an earlier life would be a boot fallback nobody chose).
# SPDX-License-Identifier: MIT
import argparse
import csv
import hashlib
import os
import shlex
import struct
import subprocess
import sys
import tempfile

from updraft.keys import ROOT

CSV = os.path.join(ROOT, "partitions.csv")
TABLE_OFFSET = 0x8000  # ESP-IDF's default CONFIG_PARTITION_TABLE_OFFSET (MicroPython's too)
TABLE_MAX = 0xC00  # the binary table is padded with 0xFF to this (gen_esp32part.py)
ENTRY = struct.Struct("<2sBBLL16sL")  # magic, type, subtype, offset, size, label, flags
MAGIC = b"\xaa\x50"
MD5_MAGIC = b"\xeb\xeb" + b"\xff" * 14
MCUBOOT_MAGIC = 0x96F3B83D  # fota.image / MCUboot IMAGE_MAGIC, little-endian
ESP_IMAGE_MAGIC = 0xE9  # first byte of an ESP app (and bootloader) image
ERASE = ("otadata", "bootctl", "journal", "rtctl", "app_b")  # erased = valid initial state
FIRMWARE_SLOT, APP_SLOT = "ota_0", "app_a"

# ESP-IDF names (components/partition_table/gen_esp32part.py); numbers pass as they are
TYPES = {"app": 0x00, "data": 0x01}
SUBTYPES = {
    0x00: dict({"factory": 0x00, "test": 0x20}, **{"ota_%d" % i: 0x10 + i for i in range(16)}),
    0x01: {"ota": 0x00, "phy": 0x01, "nvs": 0x02, "coredump": 0x03, "nvs_keys": 0x04,
           "efuse": 0x05, "undefined": 0x06, "esphttpd": 0x80, "fat": 0x81, "spiffs": 0x82,
           "littlefs": 0x83},
}
FLAGS = {"encrypted": 1, "readonly": 2}


class Error(Exception):
    pass  # a one-line reason for the user; no traceback


def _num(s, names, what, line):
    try:
        return names[s] if s in names else int(s, 0)
    except ValueError:
        raise Error("partitions line %d: unknown %s %r" % (line, what, s))


def read_csv(path=CSV):
    # -> [(name, type, subtype, offset, size, flags)], numbers; every field explicit (our
    # table gives all offsets: no auto-placement to reproduce)
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise Error("partitions: %s" % e)
    rows = []
    for no, row in enumerate(csv.reader(lines), 1):
        row = [c.strip() for c in row]
        if not row or not row[0] or row[0].startswith("#"):
            continue
        if len(row) < 5 or not all(row[:5]):
            raise Error("partitions line %d: needs name, type, subtype, offset, size" % no)
        name, typ, sub, off, size = row[:5]
        if len(name.encode()) > 16:
            raise Error("partitions line %d: name longer than 16 bytes: %s" % (no, name))
        t = _num(typ, TYPES, "type", no)
        flags = 0
        for fl in (x.strip() for x in (row[5] if len(row) > 5 else "").split(":") if x.strip()):
            flags |= _num(fl, FLAGS, "flag", no)
        rows.append((name, t, _num(sub, SUBTYPES.get(t, {}), "subtype", no),
                     _num(off, {}, "offset", no), _num(size, {}, "size", no), flags))
    return rows


def table_binary(rows):
    # ESP-IDF binary partition table: 32-byte entries, then the MD5 entry over them, 0xFF to 0xC00
    ents = b"".join(ENTRY.pack(MAGIC, t, s, o, n, name.encode(), fl) for name, t, s, o, n, fl in rows)
    out = ents + MD5_MAGIC + hashlib.md5(ents).digest()
    if len(out) >= TABLE_MAX:
        raise Error("partition table too long: %d entries" % len(rows))
    return out + b"\xff" * (TABLE_MAX - len(out))


def _file(path, what):
    if not os.path.isfile(path):
        raise Error("%s not found: %s" % (what, path))
    with open(path, "rb") as f:
        return f.read()


def check_firmware(path, slot):
    data = _file(path, "firmware")
    if not data or data[0] != ESP_IMAGE_MAGIC:
        raise Error("%s: not an ESP app image (first byte 0x%02x, expected 0xe9)" % (path, data[0] if data else 0))
    for t in (TABLE_OFFSET - 0x1000, TABLE_OFFSET):  # combined image from 0x1000 or 0x0
        if data[t:t + 2] == MAGIC:
            raise Error("%s: holds a partition table at 0x%x: a combined firmware.bin; pass the app "
                        "image (micropython.bin)" % (path, t))
    if len(data) > slot[4]:
        raise Error("%s: %d bytes, does not fit %s (%d bytes)" % (path, len(data), slot[0], slot[4]))


def check_app(path, slot):
    data = _file(path, "app image")
    magic = struct.unpack_from("<I", data)[0] if len(data) >= 4 else None
    if magic != MCUBOOT_MAGIC:
        raise Error("%s: not an MCUboot image (magic %s, expected 0x96f3b83d); make it with "
                    "`updraft sign`" % (path, "none" if magic is None else "0x%08x" % magic))
    if len(data) > slot[4]:
        raise Error("%s: %d bytes, does not fit %s (%d bytes)" % (path, len(data), slot[0], slot[4]))


def bootloader_offset(chip):
    from esptool.targets import CHIP_DEFS  # esptool's own per-chip value (0x1000 on esp32)

    return CHIP_DEFS[chip].BOOTLOADER_FLASH_OFFSET


def commands(rows, table, firmware, app=None, bootloader=None, chip="esp32", port=None, baud=None):
    # -> esptool argument lists, in order: erases, then one write-flash (it erases what it
    # writes). Every run but the last leaves the chip in its ROM loader (--after no-reset).
    by = {r[0]: r for r in rows}
    missing = [n for n in ERASE + (FIRMWARE_SLOT,) + ((APP_SLOT,) if app else ()) if n not in by]
    if missing:
        raise Error("partitions: missing %s" % ", ".join(missing))
    base = ["--chip", chip] + (["--port", port] if port else []) + (["--baud", str(baud)] if baud else [])
    runs = [["erase-region", "0x%x" % by[n][3], "0x%x" % by[n][4]] for n in ERASE]
    writes = ["0x%x" % bootloader_offset(chip), bootloader] if bootloader else []
    writes += ["0x%x" % TABLE_OFFSET, table, "0x%x" % by[FIRMWARE_SLOT][3], firmware]
    if app:
        writes += ["0x%x" % by[APP_SLOT][3], app]
    runs.append(["write-flash"] + writes)
    return [base + (["--after", "no-reset"] if i < len(runs) - 1 else []) + r for i, r in enumerate(runs)]


def esptool():
    return [sys.executable, "-m", "esptool"]  # the venv's, pinned in tools/requirements.txt


def main(argv=None):
    from esptool.targets import CHIP_LIST

    ap = argparse.ArgumentParser(prog="updraft flash", description=(
        "Put a factory layout on an ESP32 over USB with esptool: the partition table from "
        "partitions.csv, the MicroPython firmware in ota_0, otadata, the boot records and app_b "
        "erased, optionally the bootloader and the signed application image in app_a."))
    ap.add_argument("--firmware", required=True, help="MicroPython app image (micropython.bin)")
    ap.add_argument("--bootloader", help="second-stage bootloader image (bootloader.bin)")
    ap.add_argument("--app", help="signed application image for app_a (`updraft sign`)")
    ap.add_argument("--port", help="serial port (default: esptool's detection)")
    ap.add_argument("--baud", type=int, help="baud rate (default: esptool's)")
    ap.add_argument("--chip", default="esp32", choices=CHIP_LIST, help="default esp32")
    ap.add_argument("--partitions", default=CSV, help="partition table CSV (default: ours)")
    ap.add_argument("--out-table", help="also keep the generated binary partition table here")
    ap.add_argument("--dry-run", action="store_true", help="print the esptool commands, touch no device")
    args = ap.parse_args(argv)
    try:
        return flash(args)
    except Error as e:
        print("updraft flash: %s" % e, file=sys.stderr)
        return 2


def flash(args):
    rows = read_csv(args.partitions)
    by = {r[0]: r for r in rows}
    for name in (FIRMWARE_SLOT,) + ((APP_SLOT,) if args.app else ()):
        if name not in by:
            raise Error("partitions: missing %s" % name)
    check_firmware(args.firmware, by[FIRMWARE_SLOT])
    if args.app:
        check_app(args.app, by[APP_SLOT])
    if args.bootloader:
        _file(args.bootloader, "bootloader")
    data = table_binary(rows)
    with tempfile.TemporaryDirectory(prefix="updraft-flash-") as tmp:
        table = args.out_table or os.path.join(tmp, "partition-table.bin")
        try:
            with open(table, "wb") as f:
                f.write(data)
        except OSError as e:
            raise Error("--out-table: %s" % e)
        runs = [esptool() + r for r in commands(rows, table, args.firmware, args.app, args.bootloader,
                                                args.chip, args.port, args.baud)]
        for r in runs:
            print(shlex.join(r), flush=True)
        if args.dry_run:
            return 0
        for r in runs:
            rc = subprocess.call(r)
            if rc:
                print("updraft flash: esptool failed (exit %d): %s" % (rc, shlex.join(r[3:])), file=sys.stderr)
                return rc
    return 0

# A/B writer for the MicroPython runtime on ESP32: the ESP-IDF OTA partitions through
# esp32.Partition (get_next_update, set_boot, mark_app_valid_cancel_rollback).
# SPDX-License-Identifier: MIT
#
# The ESP-IDF bootloader needs the app image (magic 0xE9) at offset 0 of the OTA partition,
# so the MCUboot wrapper is laid out around it: the payload (the ESP app image) and the TLV
# area follow each other from offset 0, and the MCUboot header (`imgtool --header-size 0x20
# --pad-header`, at most 4 KiB) is kept in the partition's last sector, where it tells
# current_version() what runs. Verification reads through a view that puts the header back
# in front, so the bytes checked are exactly the bytes signed.
#
# Trial and rollback: given `boot`, a fota.boot.runtime.RuntimeBoot (what a board uses; boot.py
# runs the same one at power-on), activate() records the trial before set_boot(), boot.py
# counts trials and rolls back itself when the bootloader cannot (OSError(-261) from
# mark_app_valid_cancel_rollback: built without CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE), and
# the outcome (1 or 8) is in boot.last_update_outcome(). Without `boot` only the bootloader
# rolls back: with a bootloader that cannot, an unconfirmed new runtime simply stays, and the
# client can only compare running_label() after the reset with what activate() returned.
# `rollback` is the capability to report (True, False, None until known).
from fota import FotaError
from fota.slots import SECTOR, SectorStream, SlotWriter
from port.esp32_flash import Partition as _Wrap
from port import const

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_INTEGRITY_FAILURE = const(5)
_RESULT_NOT_ENOUGH_SPACE = const(2)
_RESULT_UNSUPPORTED_PACKAGE = const(6)

_NO_ROLLBACK = -261  # ESP_ERR_OTA_ROLLBACK_FAILED: bootloader built without rollback


class Esp32OtaWriter(SlotWriter):
    # keys, image, component as for the A/B writer; esp32: the esp32 module (a test passes a
    # stand-in, the board the real one).
    def __init__(self, keys, image=None, component=None, allow_downgrade=False, esp32=None,
                 buf=None, boot=None):
        if image is None:
            import fota.image as image
        if esp32 is None:
            import esp32
        self.esp32 = esp32
        self.keys = keys
        self.image = image
        self.component = component
        self.allow_downgrade = allow_downgrade
        self.stream = SectorStream(buf)
        self.hdr = bytearray(32)
        self.hsize = 32
        self.target = None  # esp32.Partition being written
        self.part = None  # its port.esp32_flash wrapper
        self.info = None
        self.rollback = None  # None: unknown until the first confirm()
        self.boot = boot  # RuntimeBoot or None

    def _running(self):
        P = self.esp32.Partition
        return P(P.RUNNING)

    def running_label(self):
        return self._running().info()[4]

    def open(self, size, resume_at=0):
        if self.boot is not None and self.boot.running()[1]:
            # as esp_ota_begin: the old runtime is the fallback of an unconfirmed trial
            raise FotaError(_RESULT_NOT_ENOUGH_SPACE, "runtime trial not confirmed yet")
        nxt = self._running().get_next_update()
        part = _Wrap(nxt)
        room = part.size - SECTOR  # the last sector keeps the MCUboot header
        if size is not None and size > room + SECTOR:
            raise FotaError(_RESULT_NOT_ENOUGH_SPACE, "image larger than OTA partition")
        self.target, self.part, self.info = nxt, part, None
        self.hsize = 32
        # no resume here: the header lives in RAM until finish(), so committed() stays 0 and
        # an interrupted runtime download starts over (resume_at is ignored)
        self.stream.start(part, room, 0)

    def write(self, offset, data):
        # bytes [0, hsize) are the MCUboot header, kept in RAM until finish()
        n = len(data)
        if offset < 32:
            k = min(n, 32 - offset)
            self.hdr[offset : offset + k] = memoryview(data)[:k]
            if offset + k == 32:
                h = self.image.parse_header(self.hdr)
                if h.hdr_size > SECTOR:
                    raise FotaError(_RESULT_UNSUPPORTED_PACKAGE, "header too large for OTA")
                if h.hashed_size + 4 - h.hdr_size > self.stream.limit:
                    raise FotaError(_RESULT_NOT_ENOUGH_SPACE, "image larger than OTA partition")
                self.hsize = h.hdr_size
        skip = max(0, self.hsize - offset)
        if skip < n:
            self.stream.write(offset + skip - self.hsize, memoryview(data)[skip:])

    def committed(self):
        return 0

    def _read(self, offset, mv):
        # the signed image as a contiguous byte range: header from the last sector, then the
        # payload and TLVs from offset 0 (reads never straddle: verify reads header then body)
        h = self.hsize
        n = len(mv)
        if offset < h:
            k = min(n, h - offset)
            self.part.read(self.part.size - SECTOR + offset, mv[:k])
            if k < n:
                self.part.read(0, mv[k:])
        else:
            self.part.read(offset - h, mv)

    def finish(self):
        st = self.stream
        st.flush()
        last = self.part.size // SECTOR - 1
        # only the 32 header bytes are kept; the padding up to hdr_size must be imgtool's
        # default 0xff (-R), which is what the erased sector reads as
        self.part.erase(last)
        self.part.write(last * SECTOR, self.hdr)
        info = self.image.verify(self._read, self.keys, self.part.size, self.component, st.buf)
        if info.total_size - info.hdr_size > st.done:
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "image truncated")
        cur = self.current_version()
        if (not self.allow_downgrade and cur is not None
                and self.image.compare_versions(info.version, cur) < 0):
            raise FotaError(_RESULT_UNSUPPORTED_PACKAGE, "downgrade refused")
        self.info = info
        return info

    def activate(self):
        # Returns the label that should be running after the reset (for the journal).
        if self.info is None:
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "nothing verified to activate")
        label = self.target.info()[4]
        if self.boot is not None:
            from fota.boot.runtime import LABELS

            self.boot.activate(LABELS.index(label), self.info, self.allow_downgrade)
        else:
            self.target.set_boot()
        return label

    def confirm(self):
        if self.boot is not None:
            done = self.boot.confirm()
            self.rollback = self.boot.rollback
            return done
        try:
            self.esp32.Partition.mark_app_valid_cancel_rollback()
        except OSError as e:
            if e.args and e.args[0] == _NO_ROLLBACK:
                self.rollback = False
                return False
            raise
        self.rollback = True
        return True

    def abort(self):
        # The OTA partition is left as is: the boot partition was never changed before
        # activate(), and the next open() overwrites it sector by sector.
        self.info = None
        self.stream.part = None

    def current_version(self):
        part = _Wrap(self._running())
        mv = memoryview(bytearray(32))
        try:
            part.read(part.size - SECTOR, mv)
            return self.image.parse_header(mv).version
        except Exception:  # factory-flashed runtime without our header
            return None

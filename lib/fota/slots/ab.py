# A/B writer for the application component: two raw flash slots, one confirmed and one to
# receive the next image; fota.boot chooses, trials and rolls back.
# SPDX-License-Identifier: MIT
#
# What an application image holds: an MCUboot image (`updraft sign --header-size 0x1000`, so
# the payload starts on a 4 KiB sector) whose payload is a LittleFS image of .py/.mpy files
# made by `updraft pack` in the geometry of fota.boot.appfs (4096-byte blocks). boot.py mounts
# the payload of the selected slot read-only at /app and puts it first on sys.path (vfs.VfsLfs2
# on the boards and the MicroPython unix port; on CPython the host board unpacks a copy).
from fota import FotaError
from fota.slots import SectorStream, SlotWriter, read_header
from port import const

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_INTEGRITY_FAILURE = const(5)
_RESULT_NOT_ENOUGH_SPACE = const(2)
_RESULT_UNSUPPORTED_PACKAGE = const(6)
_RESULT_UPDATE_FAILED = const(8)


class ABWriter(SlotWriter):
    # boot: a fota.boot.Boot (owns the two slot partitions and the record); keys: trusted
    # public keys; image: fota.image or a stand-in; component: expected component id or None;
    # allow_downgrade: accept an older version (the security counter floor still applies);
    # installed(image_id) -> version or None: what dependency TLVs are checked against.
    def __init__(self, boot, keys, image=None, component=None, allow_downgrade=False,
                 installed=None, buf=None):
        if image is None:
            import fota.image as image
        self.boot = boot
        self.keys = keys
        self.image = image
        self.component = component
        self.allow_downgrade = allow_downgrade
        self.installed = installed
        self.stream = SectorStream(buf)
        self.stream.on_sector = self._check_first
        self.slot = None
        self.info = None
        self._hb = bytearray(32)  # header reads never touch the stream's buffered tail

    def _target(self):
        return 1 - self.boot.running()[0]

    def open(self, size, resume_at=0):
        slot = self._target()
        part = self.boot.slots[slot]
        if size is not None and size > part.size:
            raise FotaError(_RESULT_NOT_ENOUGH_SPACE, "image larger than slot")
        self.boot.release(slot)  # refuses while a trial runs; drops a waiting activation
        self.slot = slot
        self.info = None
        self.stream.start(part, part.size, resume_at)

    def _check_first(self, sector, mv):
        # Before the first erase: the header must be ours and the image must fit.
        if sector:
            return
        self.image.parse_header(mv[:32], self.boot.slots[self.slot].size)

    def write(self, offset, data):
        self.stream.write(offset, data)

    def committed(self):
        return self.stream.done

    def finish(self):
        st = self.stream
        st.flush()
        part = self.boot.slots[self.slot]
        mv = memoryview(self._hb)
        part.read(0, mv)
        hdr = self.image.parse_header(mv)  # a bad header raises its own result here
        if hdr.hashed_size + 4 > st.done:
            # refuse before verify reads sectors this download never wrote (stale data)
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "image truncated")
        info = self.image.verify(part.read, self.keys, part.size, self.component, st.buf)
        if info.total_size > st.done:  # the TLVs came from stale bytes past the download
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "image truncated")
        self._check_version(info)
        if self.installed is not None:
            self.image.require_dependencies(info, self.installed)  # FotaError(13)
        self.info = info
        return info

    def _check_version(self, info):
        rec = self.boot.record()
        s = getattr(info, "security_counter", None) or 0
        if s < rec.min_sec:
            raise FotaError(_RESULT_UNSUPPORTED_PACKAGE, "security counter below floor")
        cur = self.current_version()
        if (not self.allow_downgrade and cur is not None
                and self.image.compare_versions(info.version, cur) < 0):
            raise FotaError(_RESULT_UNSUPPORTED_PACKAGE, "downgrade refused")

    def activate(self):
        if self.info is None:
            # After a reset in Downloaded the verification was forgotten with the RAM: check
            # the free slot again (the signature covers every byte, stale ones included).
            self._reverify()
        return self.boot.activate(self.slot, self.info, self.allow_downgrade)

    def _reverify(self):
        run, trial = self.boot.running()
        if trial:
            raise FotaError(_RESULT_UPDATE_FAILED, "a trial is still unconfirmed")
        slot = 1 - run
        part = self.boot.slots[slot]
        try:
            info = self.image.verify(part.read, self.keys, part.size, self.component, self.stream.buf)
        except FotaError as e:
            # it verified when the download finished: whatever fails now is damage (5)
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "slot no longer verifies: %s" % e.reason)
        self._check_version(info)
        if self.installed is not None:
            self.image.require_dependencies(info, self.installed)
        self.slot = slot
        self.info = info

    def confirm(self):
        return self.boot.confirm()

    def abort(self):
        # Nothing to erase: the slot is only reused by the next open(). A waiting activation
        # of this slot is dropped so the boot table never offers it.
        if self.slot is not None:
            try:
                self.boot.release(self.slot)
            except FotaError:
                pass  # the slot runs or backs a trial: nothing of ours to drop
        self.slot = None
        self.info = None
        self.stream.part = None

    def current_version(self):
        slot = self.boot.running()[0]
        hdr = read_header(self.boot.slots[slot], self._hb, self.image)
        return None if hdr is None else hdr.version

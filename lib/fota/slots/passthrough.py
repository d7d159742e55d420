# Pass-through writer for a component updated elsewhere (a modem, a co-processor): stage the
# image in a flash partition, verify it like any other, then hand it to the component.
# SPDX-License-Identifier: MIT
#
# The component gets only bytes that already passed the signature check, streamed back from
# the staging partition, so its own update protocol (AT commands, UART DFU, ...) never sees a
# tampered image. Trial and rollback, if any, belong to the component; confirm() forwards.
from fota import FotaError
from fota.slots import SectorStream, SlotWriter
from port import const

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_INTEGRITY_FAILURE = const(5)
_RESULT_NOT_ENOUGH_SPACE = const(2)


class PassthroughWriter(SlotWriter):
    # part: staging partition; keys: trusted keys; install(read, info): hands the verified
    # image to the component, read(offset, mv) reads it from staging (raise FotaError to fail);
    # version(): the component's running version or None; confirm(): optional, forwarded.
    def __init__(self, part, keys, install, version=None, confirm=None, image=None,
                 component=None, buf=None):
        if image is None:
            import fota.image as image
        self.part = part
        self.keys = keys
        self.image = image
        self.component = component
        self._install = install
        self._version = version
        self._confirm = confirm
        self.stream = SectorStream(buf)
        self.stream.on_sector = self._check_first
        self.info = None

    def _check_first(self, sector, mv):
        # Before the first erase: an MCUboot header whose image fits the staging area.
        if not sector:
            self.image.parse_header(mv[:32], self.part.size)

    def open(self, size, resume_at=0):
        if size is not None and size > self.part.size:
            raise FotaError(_RESULT_NOT_ENOUGH_SPACE, "image larger than staging area")
        self.info = None
        self.stream.start(self.part, self.part.size, resume_at)

    def write(self, offset, data):
        self.stream.write(offset, data)

    def committed(self):
        return self.stream.done

    def finish(self):
        self.stream.flush()
        if self.stream.done < 32:
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "image truncated")
        info = self.image.verify(self.part.read, self.keys, self.part.size, self.component,
                                 self.stream.buf)
        if info.total_size > self.stream.done:
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "image truncated")
        self.info = info
        return info

    def activate(self):
        if self.info is None:
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "nothing verified to hand over")
        info = self.info
        hdr = info.hdr_size

        def read(offset, mv):  # the payload only, as the component expects it
            self.part.read(hdr + offset, mv)

        self._install(read, info)

    def confirm(self):
        return bool(self._confirm()) if self._confirm is not None else False

    def abort(self):
        self.info = None
        self.stream.part = None

    def current_version(self):
        return self._version() if self._version is not None else None

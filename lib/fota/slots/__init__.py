# fota.slots: the one interface every updatable component implements, and the sector streamer
# the flash-backed writers share (4 KiB sectors erased on demand, programmed through a 1 KiB
# buffer).
# SPDX-License-Identifier: MIT
#
# Error contract: every failure with a defined Update Result raises fota.FotaError
# (verification failures come from fota.image as ImageError, a FotaError). Flash faults pass
# through unchanged; the update state machine maps anything else to its default.
from fota import FotaError
from port import const

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_INTEGRITY_FAILURE = const(5)
_RESULT_NOT_ENOUGH_SPACE = const(2)

SECTOR = const(4096)
CHUNK = const(1024)  # SectorStream's default buffer: programmed a chunk at a time


class SlotWriter:
    # Call order: open -> write* -> finish -> activate -> (reset) -> confirm; abort at any time.

    def open(self, size, resume_at=0):
        # Prepare to receive an image of `size` bytes (None: unknown yet). The size is checked
        # against the slot before anything is erased: FotaError(2). resume_at (a multiple of
        # 4096, from the journal's `committed()`) continues an interrupted download.
        raise NotImplementedError

    def write(self, offset, data):
        # Take bytes at `offset`. Bytes already taken are skipped (retransmitted blocks); a
        # gap raises FotaError(5); past the slot, FotaError(2).
        raise NotImplementedError

    def committed(self):
        # Bytes durably on flash (sector multiple until finish): the offset to resume from.
        raise NotImplementedError

    def finish(self):
        # Flush and verify; returns ImageInfo, or FotaError 5 (integrity/signature),
        # 6 (unsupported package, wrong component, downgrade), 2 (too large), 13 (dependency).
        raise NotImplementedError

    def activate(self):
        # Make the verified image the one to try at the next boot (mark pending).
        raise NotImplementedError

    def confirm(self):
        # Called by the new firmware once registered: keep it. True if something changed.
        raise NotImplementedError

    def abort(self):
        # Forget the image being received; never touches the running one.
        raise NotImplementedError

    def current_version(self):
        # (major, minor, revision, build) of the running component, or None if unknown.
        raise NotImplementedError


class SectorStream:
    # Streams a byte sequence into a partition through one small preallocated buffer (1 KiB:
    # a quarter of a sector, so a download holds 3 KiB less; Zephyr's stream_flash does the
    # same with 512 B). Each sector is erased only when its first chunk is programmed, so an
    # abort or power cut leaves untouched sectors alone and a slot is never erased ahead for
    # an image that may not come; partial tails carry across write() calls. `on_sector(index,
    # mv)` is called before a sector is erased, with the sector's first chunk, and may raise
    # to refuse (header checks before the first erase). `done`, the resume point, moves a
    # whole sector at a time: a cut inside a sector loses that sector, which the resumed
    # download erases and programs again.
    def __init__(self, buf=None):
        self.buf = buf if buf is not None else bytearray(CHUNK)  # len(buf) divides SECTOR
        self.part = None
        self.pos = 0  # bytes taken (programmed + buffered)
        self.at = 0  # bytes programmed
        self.done = 0  # bytes on flash a resume can start after: whole sectors, or all after flush()
        self.limit = 0
        self.on_sector = None

    def start(self, part, limit, resume_at=0):
        if resume_at % SECTOR or resume_at < 0 or resume_at > limit:
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "resume offset not a sector boundary")
        self.part = part
        self.limit = limit
        self.pos = self.at = self.done = resume_at

    def write(self, offset, data):
        if self.part is None:
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "write before open")
        n = len(data)
        if offset > self.pos:
            raise FotaError(_RESULT_INTEGRITY_FAILURE, "gap in image data")
        skip = self.pos - offset  # a retransmitted block: keep only what is new
        if skip >= n:
            return
        if offset + n > self.limit:
            raise FotaError(_RESULT_NOT_ENOUGH_SPACE, "image larger than slot")
        buf = self.buf
        size = len(buf)
        at = self.pos % size
        if not skip and at + n < size:
            # new bytes that do not complete the chunk (no views made)
            buf[at : at + n] = data
            self.pos += n
            return
        src = memoryview(data)[skip:]
        while len(src):
            at = self.pos % size
            k = min(size - at, len(src))
            buf[at : at + k] = src[:k]
            src = src[k:]
            self.pos += k
            if at + k == size:
                self._flush(size)

    def flush(self):
        # program the partial last chunk (the rest of its sector stays erased, 0xff)
        at = self.pos % len(self.buf)
        if at and self.at < self.pos:
            self._flush(at)
        self.done = self.at

    def _flush(self, n):
        addr = self.at
        mv = memoryview(self.buf)[:n]
        if not addr % SECTOR:
            sector = addr // SECTOR
            if self.on_sector is not None:
                self.on_sector(sector, mv)
            self.part.erase(sector)
        self.part.write(addr, mv)
        self.at = addr = addr + n
        if not addr % SECTOR:
            self.done = addr


def read_header(part, buf, image):
    # ImageInfo from the first 32 bytes of a partition, or None when it holds no image
    mv = memoryview(buf)[:32]
    try:
        part.read(0, mv)
        return image.parse_header(mv)
    except Exception:
        return None

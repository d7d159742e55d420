# fota.image.stream: the image check fed sequentially while a download arrives.
# SPDX-License-Identifier: MIT
import hashlib
import struct

from fota.image.header import fail, parse_header
from fota.image.tlv import finish, tlv_area
from port import const

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_UNSUPPORTED_PACKAGE = const(6)
_HEADER_SIZE = const(32)
_IMAGE_MAGIC = const(0x96F3B83D)


class Verifier:
    # The same check fed sequentially while a download arrives: feed(chunk) ... finish().
    # feed() raises as soon as the header is wrong (bad magic, too big for the slot), so a
    # download can stop early; `info` is the partial ImageInfo once 32 bytes are in.
    # Bytes after the TLV area (imgtool --pad trailer) are ignored.
    def __init__(self, keys, slot_size=None, component=None):
        self.keys = keys
        self.slot_size = slot_size
        self.component = component
        self.info = None
        self._sha = hashlib.sha256()
        self._pos = 0
        self._hdr = bytearray(_HEADER_SIZE)
        self._prot = None
        self._unprot = None
        self._end = self._hashed = self._total = 1 << 62  # set by the header

    def _collect(self, dst, start, mv, i, k):
        dst[self._pos - start : self._pos - start + k] = mv[i : i + k]

    def feed(self, data):
        mv = memoryview(data)
        i = 0
        n = len(mv)
        while i < n:
            pos = self._pos
            if pos < _HEADER_SIZE:
                k = min(_HEADER_SIZE - pos, n - i)
                self._collect(self._hdr, 0, mv, i, k)
                if pos + k == _HEADER_SIZE:
                    info = self.info = parse_header(self._hdr, self.slot_size)
                    self._sha.update(self._hdr)
                    self._end = info.hdr_size + info.img_size
                    self._hashed = info.hashed_size
                    if info.prot_size:
                        self._prot = bytearray(info.prot_size)
            elif pos < self._end:
                k = min(self._end - pos, n - i)
                self._sha.update(mv[i : i + k])
            elif pos < self._hashed:
                k = min(self._hashed - pos, n - i)
                self._collect(self._prot, self._end, mv, i, k)
            elif pos < self._hashed + 4:
                if self._unprot is None:
                    self._unprot = bytearray(4)
                k = min(self._hashed + 4 - pos, n - i)
                self._collect(self._unprot, self._hashed, mv, i, k)
                if pos + k == self._hashed + 4:
                    self._total = self._hashed + 4 + tlv_area(self.info, self._unprot, self.slot_size)
                    self._unprot = bytearray(self._total - self._hashed - 4)
            elif pos < self._total:
                k = min(self._total - pos, n - i)
                self._collect(self._unprot, self._hashed + 4, mv, i, k)
            else:
                return  # past the image
            self._pos = pos + k
            i += k
            if self._pos == self._hashed and self.info.digest is None:
                if self._prot is not None:
                    self._sha.update(self._prot)
                self.info.digest = self._sha.digest()

    def finish(self):
        # -> ImageInfo, or ImageError: 5 when cut short (6 when not even the magic came).
        if self.info is None and (self._pos < 4 or struct.unpack_from("<I", self._hdr)[0] != _IMAGE_MAGIC):
            fail("not an MCUboot image", _RESULT_UNSUPPORTED_PACKAGE)
        if self._pos < self._total:
            fail("truncated image")
        return finish(self.info, self._prot, self._unprot, self.keys, self.component)

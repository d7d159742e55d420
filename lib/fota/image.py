# fota.image: MCUboot images (imgtool 2.x layout, spec/micropython.md section 3): header,
# protected and unprotected TLV areas, streaming SHA-256 through one buffer, key hash and
# signature check against trusted keys. Fails closed: anything unexpected is an ImageError
# carrying the LwM2M Update Result it maps to (5 integrity, 6 unsupported, 2 too big, ...).
# SPDX-License-Identifier: MIT
import hashlib
import struct

from port import const
from fota.const import (
    FotaError,
    RESULT_DEPENDENCY_ERROR,
    RESULT_INTEGRITY_FAILURE,
    RESULT_NOT_ENOUGH_SPACE,
    RESULT_OUT_OF_RAM,
    RESULT_UNSUPPORTED_PACKAGE,
)
from fota.crypto.keys import load_key, from_module  # noqa: F401 (re-exported for callers)

IMAGE_MAGIC = const(0x96F3B83D)
HEADER_SIZE = const(32)
_INFO = const(0x6907)  # unprotected TLV area
_PROT_INFO = const(0x6908)  # protected TLV area (inside the hashed region)
TLV_KEYHASH = const(0x01)
TLV_PUBKEY = const(0x02)
TLV_SHA256 = const(0x10)
TLV_SHA384 = const(0x11)
TLV_SHA512 = const(0x12)
TLV_ECDSA_SIG = const(0x22)
TLV_ED25519 = const(0x24)
TLV_SIG_PURE = const(0x25)
TLV_DEPENDENCY = const(0x40)
TLV_SEC_CNT = const(0x50)
# updraft's component name, a protected vendor TLV: `imgtool sign --custom-tlv 0xa0 app`
# (`updraft sign --component app` does it). UTF-8, 1 to 32 bytes.
TLV_COMPONENT = const(0xA0)
_COMPONENT_MAX = const(32)
# Header flags we cannot honour: encrypted (AES128 0x4, AES256 0x8), compressed (LZMA1 0x200,
# LZMA2 0x400, ARM thumb filter 0x800). Others (PIC, NON_BOOTABLE, RAM_LOAD, ROM_FIXED) are
# the slot writer's business and exposed in ImageInfo.flags.
_F_UNSUPPORTED = const(0xE0C)
_TLV_MAX = const(1024)  # largest TLV area held in RAM; imgtool's are ~50 and ~150 bytes
BUF_SIZE = const(1024)  # default hash buffer; 4 KiB hashes ~15 % faster on MicroPython


class ImageError(FotaError):
    pass


def _fail(reason, result=RESULT_INTEGRITY_FAILURE):
    raise ImageError(result, reason)


class ImageInfo:
    # What a check learned. parse_header() fills the header fields only (total_size, digest
    # and the TLV fields stay None/empty); verify() and Verifier.finish() fill everything.
    def __init__(self, hdr):
        (magic, self.load_addr, self.hdr_size, self.prot_size, self.img_size, self.flags,
         maj, mnr, rev, build) = struct.unpack_from("<IIHHIIBBHI", hdr, 0)
        self.version = (maj, mnr, rev, build)
        self.hashed_size = self.hdr_size + self.img_size + self.prot_size
        self.total_size = None
        self.security_counter = None
        self.dependencies = []
        self.component = None
        self.digest = None
        self.key = None  # the trusted Key whose signature was valid

    def version_str(self):
        v = self.version
        return "%d.%d.%d+%d" % v if v[3] else "%d.%d.%d" % v[:3]

    def __repr__(self):
        return "<Image %s %s %d bytes>" % (self.component, self.version_str(), self.total_size or 0)


def parse_header(buf, slot_size=None):
    # The first 32 bytes -> ImageInfo (partial). Lets a downloader refuse before erasing.
    if len(buf) < HEADER_SIZE:
        _fail("short header", RESULT_UNSUPPORTED_PACKAGE)
    if struct.unpack_from("<I", buf, 0)[0] != IMAGE_MAGIC:
        _fail("not an MCUboot image", RESULT_UNSUPPORTED_PACKAGE)
    info = ImageInfo(buf)
    if info.hdr_size < HEADER_SIZE:
        _fail("header size")
    if info.flags & _F_UNSUPPORTED:
        _fail("encrypted or compressed image", RESULT_UNSUPPORTED_PACKAGE)
    if 0 < info.prot_size < 4 or info.prot_size > _TLV_MAX:
        _fail("protected TLV size")
    # the unprotected area (at least its 4-byte info header) follows the hashed region
    if slot_size is not None and info.hashed_size + 4 > slot_size:
        _fail("image larger than slot", RESULT_NOT_ENOUGH_SPACE)
    return info


def _tlv_area(info, info4, slot_size):
    # The unprotected area's info header -> length of the TLVs after it.
    magic, n = struct.unpack_from("<HH", info4, 0)
    if magic != _INFO or n < 4:
        _fail("TLV info magic")
    if n - 4 > _TLV_MAX:
        _fail("TLV area too large", RESULT_UNSUPPORTED_PACKAGE)
    info.total_size = info.hashed_size + n
    if slot_size is not None and info.total_size > slot_size:
        _fail("image larger than slot", RESULT_NOT_ENOUGH_SPACE)
    return n - 4


def _tlvs(area):
    # (type, value memoryview) of each TLV, bounds-checked. Types are u16: imgtool writes
    # standard ones as u8 + pad 0 and vendor ones as u16, both little-endian.
    mv = memoryview(area)
    off = 0
    end = len(mv)
    out = []
    while off < end:
        if off + 4 > end:
            _fail("TLV header past the area")
        t, n = struct.unpack_from("<HH", mv, off)
        off += 4
        if off + n > end:
            _fail("TLV past the area")
        out.append((t, mv[off : off + n]))
        off += n
    return out


def _protected(info, area):
    if area is None:
        return
    magic, n = struct.unpack_from("<HH", area, 0)
    if magic != _PROT_INFO or n != len(area):
        _fail("protected TLV info")
    for t, v in _tlvs(memoryview(area)[4:]):
        if t == TLV_SEC_CNT:
            if len(v) != 4 or info.security_counter is not None:
                _fail("security counter TLV")
            info.security_counter = struct.unpack_from("<I", v, 0)[0]
        elif t == TLV_DEPENDENCY:
            # image_id u8, 3 bytes slot/pad, then the image_version struct (MCUboot)
            if len(v) != 12:
                _fail("dependency TLV")
            i, maj, mnr, rev, build = struct.unpack_from("<B3xBBHI", v, 0)
            info.dependencies.append((i, (maj, mnr, rev, build)))
        elif t == TLV_COMPONENT:
            if not 0 < len(v) <= _COMPONENT_MAX or info.component is not None:
                _fail("component TLV")
            info.component = str(bytes(v), "utf-8")


def _unprotected(info, area, keys):
    tlvs = _tlvs(area)
    sha = None
    other_hash = False
    for t, v in tlvs:
        if t == TLV_SIG_PURE:
            _fail("pure signature (over the whole image) not supported", RESULT_UNSUPPORTED_PACKAGE)
        if t == TLV_SHA256:
            if sha is not None:
                _fail("two SHA256 TLVs")
            sha = v
        elif t == TLV_SHA384 or t == TLV_SHA512:
            other_hash = True
        elif t == TLV_SEC_CNT or t == TLV_DEPENDENCY or t == TLV_COMPONENT:
            # meaningful only where the hash covers them
            _fail("protected TLV in the unprotected area")
    if sha is None:
        if other_hash:
            _fail("only SHA-384/512 image hash", RESULT_UNSUPPORTED_PACKAGE)
        _fail("no SHA256 TLV")
    if bytes(sha) != info.digest:
        _fail("hash mismatch")
    # MCUboot's rule: a signature counts for the key named by the KEYHASH (or PUBKEY) TLV
    # before it; unknown keys and other algorithms are skipped; one valid signature is enough.
    cur = None
    for t, v in tlvs:
        if t == TLV_KEYHASH or t == TLV_PUBKEY:
            h = bytes(v) if t == TLV_KEYHASH else hashlib.sha256(v).digest()
            cur = None
            for k in keys:
                if k.keyhash == h:
                    cur = k
                    break
        elif t == TLV_ECDSA_SIG or t == TLV_ED25519:
            if cur is not None and cur.kind == t and cur.verify(info.digest, bytes(v)):
                info.key = cur
                return
            cur = None
    _fail("no valid signature from a trusted key")


def _finish(info, prot, unprot, keys, component):
    # All TLV checks, after the digest is known. Unexpected errors fail closed as 5.
    try:
        _protected(info, prot)
        _unprotected(info, unprot, keys)
    except ImageError:
        raise
    except MemoryError:
        _fail("out of memory", RESULT_OUT_OF_RAM)
    except Exception as e:
        _fail("malformed TLVs: %r" % (e,))
    if component is not None and info.component != component:
        _fail("wrong component", RESULT_UNSUPPORTED_PACKAGE)
    return info


def verify(read, keys, slot_size=None, component=None, buf=None):
    # Check the image that read(offset, mv) yields (fills mv). keys: list of trusted Keys.
    # buf: the one hash buffer (bytearray, default 1 KiB). Returns ImageInfo or raises
    # ImageError. The TLV areas are read once into their own small buffers, and the
    # protected area is hashed from the same bytes it is parsed from.
    if buf is None:
        buf = bytearray(BUF_SIZE)
    mv = memoryview(buf)
    hv = mv[:HEADER_SIZE]
    read(0, hv)
    info = parse_header(hv, slot_size)
    h = hashlib.sha256()
    h.update(hv)
    pos = HEADER_SIZE
    end = info.hdr_size + info.img_size
    n = len(mv)
    while end - pos >= n:
        read(pos, mv)
        h.update(mv)
        pos += n
    if pos < end:
        tail = mv[: end - pos]
        read(pos, tail)
        h.update(tail)
    prot = None
    if info.prot_size:
        prot = bytearray(info.prot_size)
        read(end, memoryview(prot))
        h.update(prot)
    info.digest = h.digest()
    hv = mv[:4]
    read(info.hashed_size, hv)
    unprot = bytearray(_tlv_area(info, hv, slot_size))
    read(info.hashed_size + 4, memoryview(unprot))
    return _finish(info, prot, unprot, keys, component)


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
        self._hdr = bytearray(HEADER_SIZE)
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
            if pos < HEADER_SIZE:
                k = min(HEADER_SIZE - pos, n - i)
                self._collect(self._hdr, 0, mv, i, k)
                if pos + k == HEADER_SIZE:
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
                    self._total = self._hashed + 4 + _tlv_area(self.info, self._unprot, self.slot_size)
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
        if self.info is None and (self._pos < 4 or struct.unpack_from("<I", self._hdr)[0] != IMAGE_MAGIC):
            _fail("not an MCUboot image", RESULT_UNSUPPORTED_PACKAGE)
        if self._pos < self._total:
            _fail("truncated image")
        return _finish(self.info, self._prot, self._unprot, self.keys, self.component)


def compare_versions(a, b):
    # -1, 0 or 1 for version tuples (major, minor, revision, build), compared in that order
    # (MCUboot with MCUBOOT_VERSION_CMP_USE_BUILD_NUMBER; pass 3-tuples to ignore the build).
    a = tuple(a)
    b = tuple(b)
    return (a > b) - (a < b)


def check_dependencies(info, installed):
    # Unmet dependencies as a list of (image_id, required_version). `installed` maps an
    # image id to the installed version tuple (dict or callable; None = not installed).
    # A dependency is met by an installed version >= the required one (MCUboot's rule).
    unmet = []
    for image_id, need in info.dependencies:
        have = installed(image_id) if callable(installed) else installed.get(image_id)
        if have is None or compare_versions(have, need) < 0:
            unmet.append((image_id, need))
    return unmet


def require_dependencies(info, installed):
    # check_dependencies() that raises ImageError(13) when anything is unmet.
    unmet = check_dependencies(info, installed)
    if unmet:
        raise ImageError(RESULT_DEPENDENCY_ERROR, "unmet dependency %r" % (unmet,))

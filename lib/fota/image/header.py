# fota.image.header: the 32-byte MCUboot image header, the error type and the version and
# dependency helpers (imgtool 2.x layout, spec/micropython.md section 3).
# SPDX-License-Identifier: MIT
import struct

from port import const
from fota import FotaError

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_DEPENDENCY_ERROR = const(13)
_RESULT_INTEGRITY_FAILURE = const(5)
_RESULT_NOT_ENOUGH_SPACE = const(2)
_RESULT_UNSUPPORTED_PACKAGE = const(6)

# The image format's numbers, private (fota.const has them public, for host tools and tests)
_IMAGE_MAGIC = const(0x96F3B83D)
_HEADER_SIZE = const(32)
_TLV_KEYHASH = const(0x01)
_TLV_PUBKEY = const(0x02)
_TLV_SHA256 = const(0x10)
_TLV_SHA384 = const(0x11)
_TLV_SHA512 = const(0x12)
_TLV_ECDSA_SIG = const(0x22)
_TLV_ED25519 = const(0x24)
_TLV_SIG_PURE = const(0x25)
_TLV_DEPENDENCY = const(0x40)
_TLV_SEC_CNT = const(0x50)
# updraft's component name, a protected vendor TLV: `imgtool sign --custom-tlv 0xa0 app`
# (`updraft sign --component app` does it). UTF-8, 1 to 32 bytes.
_TLV_COMPONENT = const(0xA0)
# Header flags we cannot honour: encrypted (AES128 0x4, AES256 0x8), compressed (LZMA1 0x200,
# LZMA2 0x400, ARM thumb filter 0x800). Others (PIC, NON_BOOTABLE, RAM_LOAD, ROM_FIXED) are
# the slot writer's business and exposed in ImageInfo.flags.
_F_UNSUPPORTED = const(0xE0C)
_TLV_MAX = const(1024)  # largest TLV area held in RAM; imgtool's are ~50 and ~150 bytes


class ImageError(FotaError):
    pass


def fail(reason, result=_RESULT_INTEGRITY_FAILURE):
    raise ImageError(result, reason)


class ImageInfo:
    # What a check learned. parse_header() fills the header fields only (total_size, digest
    # and the TLV fields stay None/empty); verify() and Verifier.finish() fill everything.
    def __init__(self, hdr):
        (magic, _, self.hdr_size, self.prot_size, self.img_size, self.flags,
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
    if len(buf) < _HEADER_SIZE:
        fail("short header", _RESULT_UNSUPPORTED_PACKAGE)
    if struct.unpack_from("<I", buf, 0)[0] != _IMAGE_MAGIC:
        fail("not an MCUboot image", _RESULT_UNSUPPORTED_PACKAGE)
    info = ImageInfo(buf)
    if info.hdr_size < _HEADER_SIZE:
        fail("header size")
    if info.flags & _F_UNSUPPORTED:
        fail("encrypted or compressed image", _RESULT_UNSUPPORTED_PACKAGE)
    if 0 < info.prot_size < 4 or info.prot_size > _TLV_MAX:
        fail("protected TLV size")
    # the unprotected area (at least its 4-byte info header) follows the hashed region
    if slot_size is not None and info.hashed_size + 4 > slot_size:
        fail("image larger than slot", _RESULT_NOT_ENOUGH_SPACE)
    return info


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
        raise ImageError(_RESULT_DEPENDENCY_ERROR, "unmet dependency %r" % (unmet,))

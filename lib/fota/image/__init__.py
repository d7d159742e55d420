# fota.image: MCUboot images (imgtool 2.x layout, spec/micropython.md section 3): header,
# protected and unprotected TLV areas, streaming SHA-256 through one buffer, key hash and
# signature check against trusted keys. Fails closed: anything unexpected is an ImageError
# carrying the LwM2M Update Result it maps to (5 integrity, 6 unsupported, 2 too big, ...).
# Split in small modules so that compiling them from source needs little heap at once; the
# streaming Verifier (fota.image.stream, for host tools) is not loaded by a device update.
#
# Error contract (ImageError.result):
#   6  not an MCUboot image (magic), encrypted/compressed, --pure Ed25519, only SHA-384/512,
#      or the expected component (vendor TLV 0xa0, `updraft sign --component`) is not there
#   5  anything that does not add up: header fields, hash, TLV bounds or magics, a protected
#      TLV (SEC_CNT, DEPENDENCY, component) found unprotected, no valid signature from a
#      trusted key (unknown keys are skipped, as MCUboot does), a cut image
#   2  the image (header sizes, then the TLV area) does not fit slot_size
#   3  MemoryError while checking the TLVs
#   13 is the caller's: check_dependencies() / require_dependencies(); downgrade policy too
#      (compare_versions(), ImageInfo.security_counter).
# SPDX-License-Identifier: MIT
import hashlib

from fota.crypto.keys import from_module, load_key  # noqa: F401 (for callers)
from fota.image.header import (  # noqa: F401 (the public API lives here)
    ImageError,
    ImageInfo,
    check_dependencies,
    compare_versions,
    parse_header,
    require_dependencies,
)
from fota.image.tlv import finish, tlv_area
from port import const

_HEADER_SIZE = const(32)  # MCUboot's numbers, private copies (fota.const has them public)
_BUF_SIZE = const(1024)  # default hash buffer; 4 KiB hashes ~15 % faster on MicroPython


def verify(read, keys, slot_size=None, component=None, buf=None):
    # Check the image that read(offset, mv) yields (fills mv). keys: list of trusted Keys.
    # buf: the one hash buffer (bytearray, default 1 KiB). Returns ImageInfo or raises
    # ImageError. The TLV areas are read once into their own small buffers, and the
    # protected area is hashed from the same bytes it is parsed from.
    if buf is None:
        buf = bytearray(_BUF_SIZE)
    elif len(buf) < _HEADER_SIZE:
        raise ValueError("hash buffer under 32 bytes")  # a caller bug, not an image fault
    mv = memoryview(buf)
    hv = mv[:_HEADER_SIZE]
    read(0, hv)
    info = parse_header(hv, slot_size)
    h = hashlib.sha256()
    h.update(hv)
    pos = _HEADER_SIZE
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
    unprot = bytearray(tlv_area(info, hv, slot_size))
    read(info.hashed_size + 4, memoryview(unprot))
    return finish(info, prot, unprot, keys, component)

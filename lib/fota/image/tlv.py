# fota.image.tlv: the protected and unprotected TLV areas after the payload: bounds, the
# meaning of each TLV we use, and MCUboot's rule for matching signatures to trusted keys.
# SPDX-License-Identifier: MIT
import hashlib
import struct

from port import const
from fota.image.header import ImageError, fail

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_NOT_ENOUGH_SPACE = const(2)
_RESULT_OUT_OF_RAM = const(3)
_RESULT_UNSUPPORTED_PACKAGE = const(6)

# MCUboot's numbers, private copies (fota.const has them public)
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
_TLV_COMPONENT = const(0xA0)
_TLV_MAX = const(1024)
_INFO = const(0x6907)  # unprotected TLV area
_PROT_INFO = const(0x6908)  # protected TLV area (inside the hashed region)
_COMPONENT_MAX = const(32)


def tlv_area(info, info4, slot_size):
    # The unprotected area's info header -> length of the TLVs after it.
    magic, n = struct.unpack_from("<HH", info4, 0)
    if magic != _INFO or n < 4:
        fail("TLV info magic")
    if n - 4 > _TLV_MAX:
        fail("TLV area too large")  # imgtool never makes one; erased flash reads so
    info.total_size = info.hashed_size + n
    if slot_size is not None and info.total_size > slot_size:
        fail("image larger than slot", _RESULT_NOT_ENOUGH_SPACE)
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
            fail("TLV header past the area")
        t, n = struct.unpack_from("<HH", mv, off)
        off += 4
        if off + n > end:
            fail("TLV past the area")
        out.append((t, mv[off : off + n]))
        off += n
    return out


def _protected(info, area):
    if area is None:
        return
    magic, n = struct.unpack_from("<HH", area, 0)
    if magic != _PROT_INFO or n != len(area):
        fail("protected TLV info")
    for t, v in _tlvs(memoryview(area)[4:]):
        if t == _TLV_SEC_CNT:
            if len(v) != 4 or info.security_counter is not None:
                fail("security counter TLV")
            info.security_counter = struct.unpack_from("<I", v, 0)[0]
        elif t == _TLV_DEPENDENCY:
            # image_id u8, 3 bytes slot/pad, then the image_version struct (MCUboot)
            if len(v) != 12:
                fail("dependency TLV")
            i, maj, mnr, rev, build = struct.unpack_from("<B3xBBHI", v, 0)
            info.dependencies.append((i, (maj, mnr, rev, build)))
        elif t == _TLV_COMPONENT:
            if not 0 < len(v) <= _COMPONENT_MAX or info.component is not None:
                fail("component TLV")
            info.component = str(bytes(v), "utf-8")


def _unprotected(info, area, keys):
    tlvs = _tlvs(area)
    sha = None
    other_hash = False
    for t, v in tlvs:
        if t == _TLV_SIG_PURE:
            fail("pure signature (over the whole image) not supported", _RESULT_UNSUPPORTED_PACKAGE)
        if t == _TLV_SHA256:
            if sha is not None:
                fail("two SHA256 TLVs")
            sha = v
        elif t == _TLV_SHA384 or t == _TLV_SHA512:
            other_hash = True
        elif t == _TLV_SEC_CNT or t == _TLV_DEPENDENCY or t == _TLV_COMPONENT:
            # meaningful only where the hash covers them
            fail("protected TLV in the unprotected area")
    if sha is None:
        if other_hash:
            fail("only SHA-384/512 image hash", _RESULT_UNSUPPORTED_PACKAGE)
        fail("no SHA256 TLV")
    if bytes(sha) != info.digest:
        fail("hash mismatch")
    # MCUboot's rule: a signature counts for the key named by the KEYHASH (or PUBKEY) TLV
    # before it; unknown keys and other algorithms are skipped; one valid signature is enough.
    cur = None
    for t, v in tlvs:
        if t == _TLV_KEYHASH or t == _TLV_PUBKEY:
            h = bytes(v) if t == _TLV_KEYHASH else hashlib.sha256(v).digest()
            cur = None
            for k in keys:
                if k.keyhash == h:
                    cur = k
                    break
        elif t == _TLV_ECDSA_SIG or t == _TLV_ED25519:
            if cur is not None and cur.kind == t and cur.verify(info.digest, bytes(v)):
                info.key = cur
                return
            cur = None
    fail("no valid signature from a trusted key")


def finish(info, prot, unprot, keys, component):
    # All TLV checks, after the digest is known. Unexpected errors fail closed as 5.
    try:
        _protected(info, prot)
        _unprotected(info, unprot, keys)
    except ImageError:
        raise
    except MemoryError:
        fail("out of memory", _RESULT_OUT_OF_RAM)
    except Exception as e:
        fail("malformed TLVs: %r" % (e,))
    if component is not None and info.component != component:
        fail("wrong component", _RESULT_UNSUPPORTED_PACKAGE)
    return info



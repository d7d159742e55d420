# A stand-in for fota.image in the slot and boot unit tests: same functions and error contract
# (verify / parse_header / compare_versions, FotaError with .result), trivially "signed": the
# trailer is SHA-256(key + header + body). The power-cut suite uses the real fota.image.
# SPDX-License-Identifier: MIT
import hashlib
import struct

from fota.const import FotaError

MAGIC = 0x46414B45
HDR = 32


class Info:
    def __init__(self, version, img_size, sec, component):
        self.version = version
        self.hdr_size = HDR
        self.img_size = img_size
        self.hashed_size = HDR + img_size
        self.total_size = None  # as fota.image: parse_header does not know the TLVs
        self.security_counter = sec
        self.dependencies = ()
        self.component = component


def make(body, version=(1, 0, 0, 0), key=b"k1", sec=0, component=None):
    hdr = bytearray(HDR)
    comp = (component or "").encode()
    struct.pack_into("<IBBHIII", hdr, 0, MAGIC, version[0], version[1], version[2],
                     version[3], len(body), sec)
    hdr[20 : 20 + len(comp)] = comp
    h = hashlib.sha256(key)
    h.update(hdr)
    h.update(body)
    return bytes(hdr) + bytes(body) + h.digest()


def parse_header(buf, slot_size=None):
    m, a, b, c, d, n, sec = struct.unpack_from("<IBBHIII", buf, 0)
    if m != MAGIC:
        raise FotaError(6, "bad magic")
    comp = bytes(buf[20:32]).rstrip(b"\0").decode() or None
    info = Info((a, b, c, d), n, sec, comp)
    if slot_size is not None and info.hashed_size + 4 > slot_size:
        raise FotaError(2, "image larger than slot")
    return info


def verify(read, keys, slot_size=None, component=None, buf=None):
    buf = buf if buf is not None else bytearray(256)
    mv = memoryview(buf)
    read(0, mv[:HDR])
    info = parse_header(mv[:HDR], slot_size)
    info.total_size = info.hashed_size + 32
    if slot_size is not None and info.total_size > slot_size:
        raise FotaError(2, "image larger than slot")
    if component is not None and info.component != component:
        raise FotaError(6, "wrong component")
    for key in keys:
        h = hashlib.sha256(key)
        off = 0
        end = HDR + info.img_size
        while off < end:
            n = min(len(mv), end - off)
            read(off, mv[:n])
            h.update(mv[:n])
            off += n
        read(end, mv[:32])
        if h.digest() == bytes(mv[:32]):
            return info
    raise FotaError(5, "bad signature")


def compare_versions(a, b):
    a, b = tuple(a), tuple(b)
    return (a > b) - (a < b)


def require_dependencies(info, installed):
    # the stand-in carries one dependency in the header's build field: "needs app 2.x"
    if info.version[3] and (installed(0) or (0,))[0] < info.version[3]:
        raise FotaError(13, "unmet dependency")

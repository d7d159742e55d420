# The application image's filesystem: a LittleFS (v2) image in the payload of an app slot,
# mounted read-only at /app by boot.py. One place for the geometry `updraft pack` builds with.
# SPDX-License-Identifier: MIT
#
# Geometry: 4096-byte blocks (one flash sector each), read and program size 256 (a tenth of
# the block-device calls of littlefs's default 32, spec/micropython.md section 2), lookahead
# 32 bytes. The cache size follows from these as MicroPython's vfs_lfs computes it,
# min(block, 4 * max(read, prog)) = 1024, which `updraft pack` copies so both sides agree on
# the largest inline file. The block count is the payload size / 4096: the image size must be
# a whole number of blocks, as littlefs checks the count in its superblock.
import sys

from port import const

BLOCK = const(4096)
READ_SIZE = const(256)
PROG_SIZE = const(256)
LOOKAHEAD = const(32)
CACHE_SIZE = const(1024)  # min(BLOCK, 4 * max(READ_SIZE, PROG_SIZE)), as vfs_lfs sets it


class SlotDevice:
    # Read-only block device over the payload of an app slot (after the MCUboot header: with
    # `updraft sign --header-size 0x1000` the payload starts on a sector), for vfs.VfsLfs2.
    def __init__(self, part, start, size):
        self.part = part
        self.start = start
        self.blocks = size // BLOCK

    def readblocks(self, block, buf, off=0):
        self.part.read(self.start + block * BLOCK + off, buf)

    def writeblocks(self, block, buf, off=None):
        raise OSError(30)  # EROFS: a slot only changes through a verified update

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return BLOCK
        if op in (1, 2, 3):  # init, deinit, sync: nothing to do
            return 0
        return -22  # erase and anything else: EINVAL, never silently "done"


def can_mount():
    # True where this runtime can mount the image itself (MicroPython with vfs.VfsLfs2: the
    # boards and the unix port). CPython has no vfs module: see port.host.mount_app.
    try:
        import vfs

        return hasattr(vfs, "VfsLfs2")
    except ImportError:
        return False


def mount(part, info, where):
    # Mount the LittleFS payload of a verified image (info: its ImageInfo) read-only at
    # `where` and put it first on sys.path. Raises OSError/ValueError when it is not one.
    import vfs

    if info.img_size % BLOCK:
        raise ValueError("app image not a whole number of 4096-byte blocks")
    dev = SlotDevice(part, info.hdr_size, info.img_size)
    fs = vfs.VfsLfs2(dev, readsize=READ_SIZE, progsize=PROG_SIZE, lookahead=LOOKAHEAD)
    try:
        vfs.umount(where)  # a soft reset that kept the last boot's mount
    except OSError:
        pass
    vfs.mount(fs, where, readonly=True)
    if where not in sys.path:
        sys.path.insert(0, where)

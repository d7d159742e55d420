# Boot-control record: which slot is confirmed, which one waits for a trial, and what the last
# update came to, kept power-cut safe in two flash sectors (MCUboot trailer / ESP-IDF otadata).
# SPDX-License-Identifier: MIT
#
# Layout: the two sectors form one append-only log of 64-byte records. Each record carries a
# sequence number and a CRC-32; the valid record with the highest sequence wins. A save
# programs the next erased slot after the newest record, so a torn program only spoils that
# slot and the previous record still stands. When the sector is full the *other* sector is
# erased and written from its start: it only holds older records, so a torn erase loses
# nothing current. Erased or corrupt slots read as absent; with none valid the record is
# "unset" (defaults: slot 0 confirmed, nothing pending). Confirmed steady-state boots write
# nothing, and a sector is erased once per 64 saves. The log itself (class Log) knows only
# magic, sequence and CRC, so fota.journal keeps its bigger records the same way.
import struct
from binascii import crc32

from port import const

_MAGIC = const(0x55445231)  # "1RDU" little-endian
_SIZE = const(64)
_SECTOR = const(4096)
_FF32 = b"\xff" * 32  # one erased stretch, what _blank() compares against
_FMT = const("<IIBBBBBBBBIIIII")  # magic seq | active pending trials flags | outcome reason oslot
#                            event | min_sec over tag psec pver; zeros up to byte 60, then the
#                            CRC-32 of bytes 0..59 (room to grow without a format change)
_HEAD = const(36)  # struct.calcsize(_FMT)
_CRC_AT = const(60)
_NO_SLOT = const(0xFF)  # no slot (pending, oslot); fota.const has the public numbers
_FLAG_ALLOW_DOWNGRADE = const(1)  # the pending image may be older than the active one
# Record's fields, and those stored as one byte (consts: defined before their first use)
_FIELDS = const((
    "seq", "active", "pending", "trials", "flags", "outcome", "reason", "oslot", "event",
    "min_sec", "over", "tag", "psec", "pver",
))
_BYTE_FIELDS = const(("active", "pending", "trials", "flags", "outcome", "reason", "oslot", "event"))


def pack_version(v):
    # (major, minor, revision[, build]) -> u32; the build number is not kept
    return ((v[0] & 0xFF) << 24) | ((v[1] & 0xFF) << 16) | (v[2] & 0xFFFF)


def unpack_version(u):
    return (u >> 24, (u >> 16) & 0xFF, u & 0xFFFF, 0)


class Record:
    # Field meanings:
    #   active   slot index booted normally (the last confirmed one)
    #   pending  slot index activated for a trial, or _NO_SLOT
    #   trials   boots already started from `pending` without a confirm
    #   flags    FLAG_* for the pending activation
    #   outcome  Update Result of the last finished update (0: nothing to report), with
    #   reason   a REASON_* code (fota.const), oslot/over the slot and version it concerns,
    #   tag      a counter bumped by each activation, so a journal can match outcome to update
    #   event    the last unusual boot event (fota.const EVENT_*), for diagnostics
    #   min_sec  security-counter floor: highest counter ever confirmed (anti-rollback)
    #   psec     security counter and pver version of the pending image (confirm() moves
    #            them into min_sec and the outcome)
    def __init__(self):
        self.valid = False  # False: nothing readable on flash, these are defaults
        self.seq = 0
        self.active = 0
        self.pending = _NO_SLOT
        self.trials = 0
        self.flags = 0
        self.outcome = 0
        self.reason = 0
        self.oslot = _NO_SLOT
        self.event = 0
        self.min_sec = 0
        self.over = 0
        self.tag = 0
        self.psec = 0
        self.pver = 0

    def copy(self):
        r = Record()
        for k in _FIELDS:
            setattr(r, k, getattr(self, k))
        r.valid = self.valid
        return r

    def pack_into(self, buf):
        for k in _BYTE_FIELDS:
            if not 0 <= getattr(self, k) <= 0xFF:
                raise ValueError(k)  # struct would truncate silently on MicroPython
        struct.pack_into(
            _FMT, buf, 0, _MAGIC, self.seq & 0xFFFFFFFF, self.active, self.pending,
            self.trials, self.flags, self.outcome, self.reason, self.oslot, self.event,
            self.min_sec & 0xFFFFFFFF, self.over & 0xFFFFFFFF, self.tag & 0xFFFFFFFF,
            self.psec & 0xFFFFFFFF, self.pver & 0xFFFFFFFF,
        )
        for i in range(_HEAD, _CRC_AT):
            buf[i] = 0
        struct.pack_into("<I", buf, _CRC_AT, crc32(memoryview(buf)[:_CRC_AT]) & 0xFFFFFFFF)

    def unpack(self, buf):
        # True when buf holds a valid record (magic and CRC), which is then loaded
        if not _valid(buf):
            return False
        f = struct.unpack_from(_FMT, buf, 0)
        for i, k in enumerate(_FIELDS):
            setattr(self, k, f[i + 1])
        self.valid = True
        return True


class Log:
    # A power-cut-safe log of fixed-size records over two flash sectors, shared by the boot
    # record (64 bytes) and the FU journal (fota.journal, bigger records). Every record starts
    # with a u32 magic and a u32 sequence number and ends with the CRC-32 of the bytes before
    # it; what lies between is the caller's. part: a port.flash-style partition
    # (read/write/erase); sector: first of the two sectors; size: record bytes, a power of two
    # from 32 to 2048 (records never straddle a sector).
    def __init__(self, part, sector=0, size=_SIZE, magic=_MAGIC):
        if size < 32 or size > 2048 or size & (size - 1):
            raise ValueError("record size")
        self.part = part
        self.sector = sector
        self.size = size
        self.magic = magic
        self._buf = bytearray(size if size > 512 else 512)
        self._where = None  # (sector index 0/1, slot) of the next append, found by newest()
        self._seq = 0  # highest sequence number seen on flash

    def newest(self):
        # Scan both sectors; returns a memoryview (into an internal buffer, valid until the
        # next call) of the newest valid record, or None when there is none.
        mv = memoryview(self._buf)
        size = self.size
        per = _SECTOR // size
        best_seq = -1
        best_at = -1  # partition offset of the newest valid record
        newest = 0  # sector holding it
        last_used = [-1, -1]  # per sector: index of the last non-erased slot
        for s in (0, 1):
            base = (self.sector + s) * _SECTOR
            for chunk in range(0, _SECTOR, len(self._buf)):
                self.part.read(base + chunk, mv)
                for o in range(0, len(self._buf), size):
                    rec = mv[o : o + size]
                    if rec[0] == 0xFF and _blank(rec):
                        continue
                    last_used[s] = (chunk + o) // size
                    if _valid(rec, self.magic):
                        seq = struct.unpack_from("<I", rec, 4)[0]
                        if seq > best_seq:
                            best_seq, best_at, newest = seq, base + chunk + o, s
        self._seq = best_seq if best_at >= 0 else 0
        nxt = last_used[newest] + 1
        self._where = (newest, nxt) if nxt < per else (1 - newest, -1)  # -1: erase first
        if best_at < 0:
            return None
        rec = mv[:size]
        self.part.read(best_at, rec)
        return rec

    def next_seq(self):
        if self._where is None:
            self.newest()
        return self._seq + 1

    def append(self, buf):
        # Program buf (exactly `size` bytes, body filled by the caller) as the newest record;
        # magic, sequence and CRC are stamped here. Returns the sequence number. Raises what
        # the flash raises; after a failure the previous record is still the valid one.
        if self._where is None:
            self.newest()
        size = self.size
        s, slot = self._where
        base = (self.sector + s) * _SECTOR
        if slot < 0:
            # the other sector only holds older records: a torn erase loses nothing current
            self.part.erase(self.sector + s)
            slot = 0
        seq = self._seq + 1
        struct.pack_into("<II", buf, 0, self.magic, seq)
        struct.pack_into("<I", buf, size - 4, crc32(memoryview(buf)[: size - 4]) & 0xFFFFFFFF)
        self._where = None  # whatever happens next, rescan before another append
        self.part.write(base + slot * size, buf)
        self._seq = seq
        nxt = slot + 1
        self._where = (s, nxt) if nxt < _SECTOR // size else (1 - s, -1)
        return seq


class RecordStore(Log):
    # The boot-control Record on a Log of 64-byte records.
    def __init__(self, part, sector=0):
        super().__init__(part, sector)
        self._rbuf = bytearray(_SIZE)

    def load(self):
        # The newest valid Record (or defaults, valid=False).
        best = Record()
        rec = self.newest()
        if rec is not None:
            best.unpack(rec)
        return best

    def save(self, rec):
        # Append rec as the newest record (rec.seq is advanced). Raises what the flash raises;
        # after a failure the previous record is still the valid one.
        rec.seq = self.next_seq()
        rec.pack_into(self._rbuf)
        self.append(self._rbuf)
        rec.valid = True


def _blank(mv):
    # every byte 0xff (an erased slot), compared 32 bytes at a time: no per-log copy of the
    # erased pattern, and no record-sized temporary per slot scanned
    for o in range(0, len(mv), 32):
        if bytes(mv[o : o + 32]) != _FF32:
            return False
    return True


def _valid(mv, magic=_MAGIC):
    n = len(mv) - 4
    return (struct.unpack_from("<I", mv, 0)[0] == magic
            and struct.unpack_from("<I", mv, n)[0] == crc32(mv[:n]) & 0xFFFFFFFF)

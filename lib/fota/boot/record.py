# Boot-control record: which slot is confirmed, which one waits for a trial, and what the last
# update came to, kept power-cut safe in two flash sectors (MCUboot trailer / ESP-IDF otadata).
# SPDX-License-Identifier: MIT
#
# Layout: the two sectors form one append-only log of 32-byte records. Each record carries a
# sequence number and a CRC-32; the valid record with the highest sequence wins. A save
# programs the next erased slot after the newest record, so a torn program only spoils that
# slot and the previous record still stands. When the sector is full the *other* sector is
# erased and written from its start: it only holds older records, so a torn erase loses
# nothing current. Erased or corrupt slots read as absent; with none valid the record is
# "unset" (defaults: slot 0 confirmed, nothing pending). Confirmed steady-state boots write
# nothing, and a sector is erased once per 64 saves.
import struct
from binascii import crc32

from port import const

_MAGIC = const(0x55445231)  # "1RDU" little-endian
_SIZE = const(64)
_PER_SECTOR = const(64)  # 4096 // 64
_SECTOR = const(4096)
_FMT = "<IIBBBBBBBBIIIII"  # magic seq | active pending trials flags | outcome reason oslot
#                            event | min_sec over tag psec pver; zeros up to byte 60, then the
#                            CRC-32 of bytes 0..59 (room to grow without a format change)
_HEAD = const(36)  # struct.calcsize(_FMT)
_CRC_AT = const(60)
NONE = const(0xFF)

FLAG_ALLOW_DOWNGRADE = const(1)  # the pending image may be older than the active one


def pack_version(v):
    # (major, minor, revision[, build]) -> u32; the build number is not kept
    return ((v[0] & 0xFF) << 24) | ((v[1] & 0xFF) << 16) | (v[2] & 0xFFFF)


def unpack_version(u):
    return (u >> 24, (u >> 16) & 0xFF, u & 0xFFFF, 0)


class Record:
    # Field meanings:
    #   active   slot index booted normally (the last confirmed one)
    #   pending  slot index activated for a trial, or NONE
    #   trials   boots already started from `pending` without a confirm
    #   flags    FLAG_* for the pending activation
    #   outcome  Update Result of the last finished update (0: nothing to report), with
    #   reason   a REASON_* code (fota.boot), oslot/over the slot and version it concerns,
    #   tag      a counter bumped by each activation, so a journal can match outcome to update
    #   event    the last unusual boot event (fota.boot EVENT_*), for diagnostics
    #   min_sec  security-counter floor: highest counter ever confirmed (anti-rollback)
    #   psec     security counter and pver version of the pending image (confirm() moves
    #            them into min_sec and the outcome)
    def __init__(self):
        self.valid = False  # False: nothing readable on flash, these are defaults
        self.seq = 0
        self.active = 0
        self.pending = NONE
        self.trials = 0
        self.flags = 0
        self.outcome = 0
        self.reason = 0
        self.oslot = NONE
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

    def same(self, other):
        for k in _FIELDS[1:]:
            if getattr(self, k) != getattr(other, k):
                return False
        return True


_FIELDS = (
    "seq", "active", "pending", "trials", "flags", "outcome", "reason", "oslot", "event",
    "min_sec", "over", "tag", "psec", "pver",
)
_BYTE_FIELDS = ("active", "pending", "trials", "flags", "outcome", "reason", "oslot", "event")


class RecordStore:
    # part: a port.flash-style partition (read/write/erase); sector: first of the two sectors.
    def __init__(self, part, sector=0):
        self.part = part
        self.sector = sector
        self._buf = bytearray(512)
        self._where = None  # (sector index 0/1, slot) of the next save, found by load()
        self._seq = 0  # highest sequence number seen on flash

    def load(self):
        # Scan both sectors; returns the newest valid Record (or defaults, valid=False).
        mv = memoryview(self._buf)
        best_seq = -1
        best_at = -1  # partition offset of the newest valid record
        newest = 0  # sector holding it
        last_used = [-1, -1]  # per sector: index of the last non-erased slot
        for s in (0, 1):
            base = (self.sector + s) * _SECTOR
            for chunk in range(0, _SECTOR, len(self._buf)):
                self.part.read(base + chunk, mv)
                for o in range(0, len(self._buf), _SIZE):
                    rec = mv[o : o + _SIZE]
                    if rec[0] == 0xFF and bytes(rec) == _ERASED:
                        continue
                    last_used[s] = (chunk + o) // _SIZE
                    if _valid(rec):
                        seq = struct.unpack_from("<I", rec, 4)[0]
                        if seq > best_seq:
                            best_seq, best_at, newest = seq, base + chunk + o, s
        best = Record()
        if best_at >= 0:
            rec = mv[:_SIZE]
            self.part.read(best_at, rec)
            best.unpack(rec)
        self._seq = best.seq if best.valid else 0
        nxt = last_used[newest] + 1
        self._where = (newest, nxt) if nxt < _PER_SECTOR else (1 - newest, -1)  # -1: erase
        return best

    def save(self, rec):
        # Append rec as the newest record (rec.seq is advanced). Raises what the flash raises;
        # after a failure the previous record is still the valid one.
        if self._where is None:
            self.load()
        s, slot = self._where
        base = (self.sector + s) * _SECTOR
        if slot < 0:
            self.part.erase(self.sector + s)
            slot = 0
        rec.seq = self._seq + 1
        buf = memoryview(self._buf)[:_SIZE]
        rec.pack_into(buf)
        self._where = None  # whatever happens next, rescan before another save
        self.part.write(base + slot * _SIZE, buf)
        rec.valid = True
        self._seq = rec.seq
        nxt = slot + 1
        self._where = (s, nxt) if nxt < _PER_SECTOR else (1 - s, -1)


_ERASED = b"\xff" * _SIZE


def _valid(mv):
    return (struct.unpack_from("<I", mv, 0)[0] == _MAGIC
            and struct.unpack_from("<I", mv, _CRC_AT)[0] == crc32(mv[:_CRC_AT]) & 0xFFFFFFFF)

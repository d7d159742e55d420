# fota.journal: what one Firmware Update instance must remember across a reset or a power cut
# (state, result, URI, bytes durably written, ETag, package name/version, component, size,
# last state change time, Severity, Maximum Defer Period and when a deferral began), as a
# record log with sequence numbers and CRC on two flash sectors.
# SPDX-License-Identifier: MIT
#
# Why: a client that forgets its State on reboot cannot report the update it just applied
# (anchors 3 item 1), and one that resumes from an offset still sitting in a RAM buffer writes
# a corrupt image (anchors 3 item 6). The caller passes only offsets the slot writer reports as
# committed(); this module never sees data. Records go through fota.boot.record.Log: a save
# programs the next erased 512-byte slot (8 per sector), a full sector makes the next save
# erase the other one, so a cut at any flash operation leaves the old or the new record.
#
# Wear: nothing is written when nothing changed, and offset-only saves are written only once
# the offset has moved by `every` bytes (one 4 KiB sector by default): a 1 MiB download costs
# about 256 records, 32 erases spread over the two sectors.
import struct

from fota.boot.record import Log
from port import const

_MAGIC = const(0x314A4455)  # "UDJ1" little-endian
_SIZE = const(512)
_FMT = const(1)  # body layout below; another value reads as "no journal"
_HEAD = const("<BBBBIII5B")  # fmt state result flags | offset size time | lengths of the 5 strings
_BODY = const(8)  # after magic and sequence
_STR = const(29)  # 8 + struct.calcsize(_HEAD): first string byte
_TAIL = const(500)  # max defer, deferred since: two u32 after the longest strings, before the CRC
_NONE32 = const(0xFFFFFFFF)  # size unknown
# flags: severity + 1 in bits 0-1 (0: not recorded, severity 1). The deferral fields sit in
# the zero-filled tail, so records of either layout read the same under fmt 1: firmware
# before them reads them as no deferral, and ignores what it does not know.

# string fields in their on-flash order, with their limits (spec 1.5: URI 0..255 bytes)
_STRINGS = const((("uri", 255), ("etag", 64), ("name", 64), ("version", 32), ("component", 32)))
FIELDS = ("state", "result", "offset", "size", "time", "severity", "max_defer", "deferred_at") + tuple(
    k for k, _ in _STRINGS)


def defaults():
    # severity, max_defer: /5/0/11, /5/0/13; deferred_at: clock() of the first deferral, 0: none
    return {"state": 0, "result": 0, "offset": 0, "size": None, "time": 0, "severity": 1, "max_defer": 0,
            "deferred_at": 0, "uri": "", "etag": None, "name": "", "version": "", "component": ""}


class Journal:
    # part: a port.flash-style partition (the `journal` one, or an esp32 partition); sector:
    # first of the two sectors this instance owns (a /33629 instance per sector pair);
    # every: bytes the offset must advance before an offset-only change is written.
    def __init__(self, part, sector=0, every=4096):
        self.log = Log(part, sector, _SIZE, _MAGIC)
        self.every = every
        self.writes = 0  # records written by this object (tests count wear with it)
        self._buf = bytearray(_SIZE)
        self._disk = None  # fields of the newest record on flash (None: not loaded yet)
        self._cur = None  # fields as the caller last set them (offset may run ahead of _disk)
        self._enc = False  # _buf's body is the encoding of _disk (the last record written)

    def load(self):
        # The newest valid record as a dict of FIELDS, or None when the journal is empty or
        # unreadable (erased, torn, foreign format): the caller starts from Idle.
        rec = self.log.newest()
        got = _decode(rec) if rec is not None else None
        self._disk = got if got is not None else defaults()
        self._cur = dict(self._disk)
        self._enc = False
        return None if got is None else dict(got)

    def get(self):
        # the current fields (a copy), including an offset not yet written
        if self._cur is None:
            self.load()
        return dict(self._cur)

    def save(self, **fields):
        # Merge fields into the current record and write it when something changed; returns
        # True when a record was written. ValueError for an unknown field or a value that does
        # not fit (nothing is written then).
        if self._cur is None:
            self.load()
        for k in fields:
            _check(k, fields[k])  # all or nothing: validate before anything is kept
        cur = self._cur
        for k in fields:
            v = fields[k]
            cur[k] = bytes(v) if k == "etag" and v is not None else v  # not a view into a buffer
        disk = self._disk
        changed = [k for k in cur if cur[k] != disk[k]]
        if not changed:
            return False
        if changed == ["offset"] and 0 < cur["offset"] - disk["offset"] < self.every:
            return False  # rate-limited: resuming a little further back only costs a re-fetch
        if changed == ["offset"] and self._enc:
            # the download's progress record: only the offset moves, patch it into the last
            # record's body instead of encoding every field again
            struct.pack_into("<I", self._buf, _BODY + 4, cur["offset"])
            self._append()
            disk["offset"] = cur["offset"]
            self._enc = True
            return True
        return self._write(cur)

    def flush(self):
        # write an offset held back by the rate limit (before a planned stop)
        if self._cur is not None and self._cur != self._disk:
            return self._write(self._cur)
        return False

    def _write(self, cur):
        _encode(cur, self._buf)
        self._append()
        self._disk = dict(cur)
        self._enc = True
        return True

    def _append(self):
        self._enc = False  # until the record is on flash, _buf may hold what _disk does not
        self.log.append(self._buf)
        self.writes += 1


_LIMITS = dict(_STRINGS)
_LIMITS.update({"state": 0xFF, "result": 0xFF, "offset": 0xFFFFFFFF, "size": 0xFFFFFFFE, "time": 0xFFFFFFFF,
                "severity": 2, "max_defer": 0xFFFFFFFF, "deferred_at": 0xFFFFFFFF})


def _check(k, v):
    if k not in _LIMITS:
        raise ValueError("journal field " + k)
    if k in ("uri", "name", "version", "component"):
        if not isinstance(v, str) or len(v.encode()) > _LIMITS[k]:
            raise ValueError(k)
    elif k == "etag":
        if v is not None and len(v) > _LIMITS[k]:
            raise ValueError(k)
    elif k == "size" and v is None:
        pass
    elif not isinstance(v, int) or not 0 <= v <= _LIMITS[k]:
        raise ValueError(k)  # struct truncates silently on MicroPython


def _bytes(v):
    if v is None:
        return b""
    return v.encode() if isinstance(v, str) else bytes(v)


def _encode(f, buf):
    # fields were checked by _check() on their way in
    strs = [_bytes(f[k]) for k, _ in _STRINGS]
    size = f["size"]
    struct.pack_into(
        _HEAD, buf, _BODY, _FMT, f["state"], f["result"], f["severity"] + 1, f["offset"],
        _NONE32 if size is None else size, f["time"], len(strs[0]), len(strs[1]),
        len(strs[2]), len(strs[3]), len(strs[4]),
    )
    at = _STR
    for b in strs:
        buf[at : at + len(b)] = b
        at += len(b)
    for i in range(at, _TAIL):  # no stale bytes in the CRC. In place: the record that
        buf[i] = 0  # says "failed, out of RAM" is written when the heap is full
    struct.pack_into("<II", buf, _TAIL, f["max_defer"], f["deferred_at"])


def _decode(rec):
    h = struct.unpack_from(_HEAD, rec, _BODY)
    if h[0] != _FMT:
        return None
    t = struct.unpack_from("<II", rec, _TAIL)
    f = {"state": h[1], "result": h[2], "offset": h[4], "size": None if h[5] == _NONE32 else h[5],
         "time": h[6], "severity": (h[3] & 3) - 1 if h[3] & 3 else 1, "max_defer": t[0], "deferred_at": t[1]}
    at = _STR
    for i, (k, _) in enumerate(_STRINGS):
        n = h[7 + i]
        b = bytes(rec[at : at + n])
        at += n
        if k == "etag":
            f[k] = b if n else None
        else:
            f[k] = b.decode()
    return f

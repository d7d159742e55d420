# CoAP message codec (RFC 7252 section 3): decode by index over the datagram, encode in place.
# A decoded Message keeps the datagram and reads options lazily, so the download path
# allocates nothing per block beyond the datagram itself.
# SPDX-License-Identifier: MIT
from port import const

_VERSION = const(1)
_MARKER = const(0xFF)
MAX_OPTION = const(65535)


class CoapError(ValueError):
    # The codec's only error: a malformed datagram or a value that does not fit the format.
    pass


def uint_bytes(v):
    # Minimal big-endian unsigned integer option value (RFC 7252 3.2): 0 is empty.
    if v < 0 or v > 0xFFFFFFFF:
        raise CoapError("uint option out of range")
    if v == 0:
        return b""
    if v < 0x100:
        return bytes((v,))
    if v < 0x10000:
        return bytes((v >> 8, v & 0xFF))
    if v < 0x1000000:
        return bytes((v >> 16, (v >> 8) & 0xFF, v & 0xFF))
    return bytes((v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF))


def _value_bytes(v):
    if isinstance(v, int):
        return uint_bytes(v)
    if isinstance(v, str):
        return v.encode()
    return v


def _ext(nib, raw, pos, end):
    # Extended option delta/length (RFC 7252 3.1); returns value, new position
    if nib < 13:
        return nib, pos
    if nib == 13:
        if pos >= end:
            raise CoapError("truncated option")
        return raw[pos] + 13, pos + 1
    if nib == 14:
        if pos + 1 >= end:
            raise CoapError("truncated option")
        return ((raw[pos] << 8) | raw[pos + 1]) + 269, pos + 2
    raise CoapError("reserved option nibble 15")


class Message:
    # One CoAP message. Built messages keep options in a list of (number, value);
    # decoded ones keep the datagram (raw) and the bounds of the option area.
    def __init__(self, type=0, code=0, mid=0, token=b"", payload=b""):
        self.type = type
        self.code = code
        self.mid = mid
        self._token = token
        self._payload = payload
        self.raw = None
        self._opts = []
        self._tkl = self._poff = 0
        self._ostart = self._oend = 0
        self._vs = self._ve = 0

    # token and payload of a decoded message are cut from the datagram only when asked
    # for: the download path compares the token in place and takes the payload once.
    @property
    def token(self):
        t = self._token
        if t is None:
            t = self._token = bytes(self.raw[4 : 4 + self._tkl]) if self._tkl else b""
        return t

    @token.setter
    def token(self, v):
        self._token = v

    @property
    def payload(self):
        p = self._payload
        if p is None:
            p = self._payload = memoryview(self.raw)[self._poff :] if self._poff else b""
        return p

    @payload.setter
    def payload(self, v):
        self._payload = v

    def token_is(self, ref):
        # Compare the token with ref without cutting it out of the datagram.
        if self._token is not None:
            return self._token == ref
        n = self._tkl
        if n != len(ref):
            return False
        raw = self.raw
        for i in range(n):
            if raw[4 + i] != ref[i]:
                return False
        return True

    # -- building -----------------------------------------------------------------------
    def add(self, num, value):
        # Options may be added in any order; repeatable ones keep their relative order.
        if num < 0 or num > MAX_OPTION:
            raise CoapError("option number out of range")
        self._materialize()
        self._opts.append((num, _value_bytes(value)))
        return self

    def set(self, num, value):
        # Replace every occurrence of an option (None removes it).
        self._materialize()
        self._opts = [o for o in self._opts if o[0] != num]
        if value is not None:
            self.add(num, value)
        return self

    def _materialize(self):
        # A decoded message that gets edited becomes a built one.
        if self.raw is not None:
            self._opts = self.options()
            self.raw = None

    # -- reading ------------------------------------------------------------------------
    def _find(self, num, nth):
        # Locate the nth occurrence of option num; sets _vs/_ve. No allocation.
        if self.raw is None:
            k = 0
            for o in self._opts:
                if o[0] == num:
                    if k == nth:
                        return o[1]
                    k += 1
            return None
        raw = self.raw
        pos = self._ostart
        end = self._oend
        n = 0
        k = 0
        while pos < end:
            # option header, inlined: decode() already checked the whole area
            b = raw[pos]
            pos += 1
            d = b >> 4
            ln = b & 15
            if d == 13:
                d = raw[pos] + 13
                pos += 1
            elif d == 14:
                d = ((raw[pos] << 8) | raw[pos + 1]) + 269
                pos += 2
            if ln == 13:
                ln = raw[pos] + 13
                pos += 1
            elif ln == 14:
                ln = ((raw[pos] << 8) | raw[pos + 1]) + 269
                pos += 2
            n += d
            if n > num:
                return None
            if n == num:
                if k == nth:
                    self._vs = pos
                    self._ve = pos + ln
                    return True
                k += 1
            pos += ln
        return None

    def has(self, num):
        return self._find(num, 0) is not None

    def opt(self, num, default=None):
        # First value of an option as bytes, or default.
        v = self._find(num, 0)
        if v is None:
            return default
        if v is True:
            return bytes(self.raw[self._vs : self._ve])
        return v

    def opt_uint(self, num, default=None):
        v = self._find(num, 0)
        if v is None:
            return default
        if v is True:
            raw, s, e = self.raw, self._vs, self._ve
        else:
            raw, s, e = v, 0, len(v)
        if e - s > 4:
            raise CoapError("uint option too long")
        x = 0
        while s < e:
            x = (x << 8) | raw[s]
            s += 1
        return x

    def opt_equals(self, num, ref):
        # Compare an option value with ref in place (ETag checks on every block).
        v = self._find(num, 0)
        if v is None:
            return ref is None
        if ref is None:
            return False
        if v is not True:
            return v == ref
        s = self._vs
        if self._ve - s != len(ref):
            return False
        raw = self.raw
        for i in range(len(ref)):
            if raw[s + i] != ref[i]:
                return False
        return True

    def opt_all(self, num):
        out = []
        i = 0
        while True:
            v = self._find(num, i)
            if v is None:
                return out
            out.append(bytes(self.raw[self._vs : self._ve]) if v is True else v)
            i += 1

    def path(self):
        # Uri-Path segments as a tuple of str (CoapError if not UTF-8).
        return tuple(_text(s) for s in self.opt_all(11))

    def query(self):
        return [_text(s) for s in self.opt_all(15)]

    def options(self):
        # All options as a list of (number, bytes), in wire order.
        if self.raw is None:
            return _stable_sorted(self._opts)
        out = []
        raw = self.raw
        pos = self._ostart
        end = self._oend
        n = 0
        while pos < end:
            b = raw[pos]
            pos += 1
            d, pos = _ext(b >> 4, raw, pos, end)
            ln, pos = _ext(b & 15, raw, pos, end)
            n += d
            out.append((n, bytes(raw[pos : pos + ln])))
            pos += ln
        return out

    def critical_unknown(self, known):
        # First critical (odd) option number not in known, or None (RFC 7252 5.4.1).
        for num, _ in self.options():
            if num & 1 and num not in known:
                return num
        return None

    # -- wire -----------------------------------------------------------------------------
    def encode_into(self, buf, off=0):
        # Write the message into buf at off; returns the end offset.
        tkl = len(self.token)
        if tkl > 8:
            raise CoapError("token longer than 8 bytes")
        if not (0 <= self.type <= 3 and 0 <= self.code <= 255 and 0 <= self.mid <= 0xFFFF):
            raise CoapError("header field out of range")
        size = len(buf)
        if off + 4 + tkl > size:
            raise CoapError("buffer too small")
        buf[off] = 0x40 | (self.type << 4) | tkl
        buf[off + 1] = self.code
        buf[off + 2] = self.mid >> 8
        buf[off + 3] = self.mid & 0xFF
        pos = off + 4
        buf[pos : pos + tkl] = self.token
        pos += tkl
        last = 0
        for num, val in self.options():
            pos = encode_option(buf, pos, num - last, val)
            last = num
        pl = self.payload
        if pl:
            n = len(pl)
            if pos + 1 + n > size:
                raise CoapError("buffer too small")
            buf[pos] = _MARKER
            buf[pos + 1 : pos + 1 + n] = pl
            pos += 1 + n
        return pos

    def encode(self):
        n = 4 + len(self.token) + len(self.payload) + 1
        for _, v in self.options():
            n += 5 + len(v)
        buf = bytearray(n)
        return bytes(memoryview(buf)[: self.encode_into(buf)])


def _text(b):
    try:
        return b.decode()
    except UnicodeError:
        raise CoapError("option is not UTF-8")


def _stable_sorted(opts):
    # Insertion sort by option number: MicroPython's sort is not stable, and repeated
    # options (Uri-Path segments) must keep their order. Option lists are short.
    out = []
    for o in opts:
        i = len(out)
        while i and out[i - 1][0] > o[0]:
            i -= 1
        out.insert(i, o)
    return out


def _nibble(x):
    if x < 13:
        return x
    if x < 269:
        return 13
    return 14


def encode_option(buf, pos, delta, val):
    # One option header + value at pos (RFC 7252 3.1); returns the new position.
    ln = len(val)
    if delta < 0 or delta > MAX_OPTION or ln > 65535 + 269:
        raise CoapError("option does not fit")
    dn = _nibble(delta)
    lnib = _nibble(ln)
    need = 1 + (0 if dn < 13 else dn - 12) + (0 if lnib < 13 else lnib - 12) + ln
    if pos + need > len(buf):
        raise CoapError("buffer too small")
    buf[pos] = (dn << 4) | lnib
    pos = _put_ext(buf, pos + 1, dn, delta)
    pos = _put_ext(buf, pos, lnib, ln)
    buf[pos : pos + ln] = val
    return pos + ln


def _put_ext(buf, pos, nib, x):
    if nib == 13:
        buf[pos] = x - 13
        return pos + 1
    if nib == 14:
        x -= 269
        buf[pos] = x >> 8
        buf[pos + 1] = x & 0xFF
        return pos + 2
    return pos


def decode(data, msg=None):
    # Parse a datagram into msg (or a new Message). Raises CoapError on any format error
    # (RFC 7252 3, 4.2: such a CON gets RST, anything else is silently dropped).
    n = len(data)
    if n < 4:
        raise CoapError("shorter than a header")
    b0 = data[0]
    if b0 >> 6 != _VERSION:
        raise CoapError("unknown version")
    tkl = b0 & 15
    if tkl > 8:
        raise CoapError("token length 9-15 is reserved")
    code = data[1]
    cls = code >> 5
    if cls == 1 or cls == 6 or cls == 7:
        raise CoapError("reserved code class")
    if code == 0 and (n != 4 or tkl):
        raise CoapError("empty message with content")
    if 4 + tkl > n:
        raise CoapError("truncated token")
    if msg is None:
        msg = Message()
    msg.type = (b0 >> 4) & 3
    msg.code = code
    msg.mid = (data[2] << 8) | data[3]
    msg.raw = data
    if msg._opts:
        msg._opts = []
    msg._tkl = tkl
    msg._token = None
    msg._payload = None
    msg._poff = 0
    pos = 4 + tkl
    msg._ostart = pos
    num = 0
    while pos < n:
        b = data[pos]
        if b == _MARKER:
            if pos + 1 == n:
                raise CoapError("payload marker without payload")
            msg._oend = pos
            msg._poff = pos + 1
            return msg
        pos += 1
        # extended delta / length inlined (no tuple per option: this runs for every block)
        d = b >> 4
        ln = b & 15
        if d >= 13:
            if d == 15:
                raise CoapError("reserved option nibble 15")
            if d == 13:
                if pos >= n:
                    raise CoapError("truncated option")
                d = data[pos] + 13
                pos += 1
            else:
                if pos + 1 >= n:
                    raise CoapError("truncated option")
                d = ((data[pos] << 8) | data[pos + 1]) + 269
                pos += 2
        if ln >= 13:
            if ln == 15:
                raise CoapError("reserved option nibble 15")
            if ln == 13:
                if pos >= n:
                    raise CoapError("truncated option")
                ln = data[pos] + 13
                pos += 1
            else:
                if pos + 1 >= n:
                    raise CoapError("truncated option")
                ln = ((data[pos] << 8) | data[pos + 1]) + 269
                pos += 2
        num += d
        if num > MAX_OPTION:
            raise CoapError("option number out of range")
        pos += ln
        if pos > n:
            raise CoapError("option runs past the datagram")
    msg._oend = n
    return msg


def code_str(code):
    # "2.05" style, for logs and test messages
    return "%d.%02d" % (code >> 5, code & 31)


def block_value(num, more, szx):
    # a Block1/Block2 option value (RFC 7959 2.2)
    return (num << 4) | (8 if more else 0) | szx


def split(value):
    # a Block1/Block2 option value -> (num, more, szx)
    return value >> 4, (value >> 3) & 1, value & 7

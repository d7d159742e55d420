# Object 5, Firmware Update (spec lwm2m-fota.md 1.5; object version 1.1): a thin map from
# resources onto one fota.update.FirmwareUpdate, which owns every decision. Push arrives as
# Block1 writes to Package (opaque, or base64 text as Wakaama sends) and streams into the
# slot writer; pull starts from a Package URI write.
# SPDX-License-Identifier: MIT
from port import const
from port import log
from coap.block import Block1Receiver
from coap.message import Message
from lwm2m.obj import Object, R, W, E, M, RW, LwError
from fota import FotaError
from fota.update import Refused

# Update Results as private constants (fota.const has them all): inlined by mpy-cross, no
# qstr or dict entry on the device (tests/unit/test_fota_const.py keeps them equal)
_RESULT_NOT_ENOUGH_SPACE = const(2)
_RESULT_OUT_OF_RAM = const(3)
_RESULT_UNSUPPORTED_PACKAGE = const(6)
_RESULT_UNSUPPORTED_PROTOCOL = const(9)

# CoAP numbers as private constants (coap.const has them all, with their RFC names): a
# private const is inlined by mpy-cross and costs no dict entry or qstr on the device
# (tests/unit/test_coap_const.py keeps the copies equal to coap.const)
_BAD_REQUEST = const(0x80)  # 4.00
_BLOCK1 = const(27)
_CHANGED = const(0x44)  # 2.04
_METHOD_NOT_ALLOWED = const(0x85)  # 4.05
_REQUEST_ENTITY_TOO_LARGE = const(0x8D)  # 4.13
_SERVICE_UNAVAILABLE = const(0xA3)  # 5.03

_PACKAGE = const(0)
_URI = const(1)
_UPDATE = const(2)
_STATE = const(3)
_RESULT = const(5)
_NAME = const(6)
_VERSION = const(7)
_PROTOCOLS = const(8)
_DELIVERY = const(9)
_CANCEL = const(10)
_SEVERITY = const(11)
_LAST_CHANGE = const(12)
_MAX_DEFER = const(13)
_BOTH = const(2)  # Delivery Method: pull and push
_FIELD_RID = const((("state", _STATE), ("result", _RESULT), ("time", _LAST_CHANGE), ("uri", _URI),
                    ("name", _NAME), ("version", _VERSION)))


class Firmware(Object):
    ID = 5
    VERSION = "1.1"  # Cancel, Severity, Max Defer and results 10/11 are implemented
    RES = ((_PACKAGE, W, "opaque"), (_URI, RW, "str"), (_UPDATE, E, "none"), (_STATE, R, "int"),
           (_RESULT, R, "int"), (_NAME, R, "str"), (_VERSION, R, "str"), (_PROTOCOLS, R | M, "int"),
           (_DELIVERY, R, "int"), (_CANCEL, E, "none"), (_SEVERITY, RW, "int"),
           (_LAST_CHANGE, R, "time"), (_MAX_DEFER, RW, "uint"))
    COMPUTED = (_PACKAGE, _URI, _STATE, _RESULT, _NAME, _VERSION, _PROTOCOLS, _DELIVERY, _SEVERITY,
                _LAST_CHANGE, _MAX_DEFER)

    def __init__(self, fu, protocols, max_size):
        # fu: fota.update.FirmwareUpdate; protocols: /5/0/8 values (fota.download.protocols());
        # max_size: the slot size, announced with 4.13 to a push that is too large.
        Object.__init__(self)
        self.fu = fu
        self.protocols = protocols
        self.max_size = max_size
        self.data = {0: {}}
        self._rx = None
        fu.on_change = self._fu_changed

    def _fu_changed(self, field):
        for f, rid in _FIELD_RID:
            if f == field:
                self.changed(0, rid)

    def get(self, iid, rid):
        fu = self.fu
        if rid == _STATE:
            return fu.state
        if rid == _RESULT:
            return fu.result
        if rid == _URI:
            return fu.uri or ""
        if rid == _NAME:
            return fu.name or ""
        if rid == _VERSION:
            return fu.version or ""
        if rid == _PROTOCOLS:
            return [(i, p) for i, p in enumerate(self.protocols)]
        if rid == _DELIVERY:
            return _BOTH
        if rid == _SEVERITY:
            return fu.severity
        if rid == _LAST_CHANGE:
            return fu.changed_at
        if rid == _MAX_DEFER:
            return fu.max_defer
        raise LwError(_METHOD_NOT_ALLOWED)  # Package is write-only

    def check(self, iid, rid, value):
        if rid == _SEVERITY and not (isinstance(value, int) and 0 <= value <= 2):
            raise LwError(_BAD_REQUEST, "severity is 0..2")
        if rid == _MAX_DEFER and not (isinstance(value, int) and 0 <= value <= 0xFFFFFFFF):
            raise LwError(_BAD_REQUEST, "max defer period is 0..2^32-1 s")
        return value

    def set(self, iid, rid, value):
        fu = self.fu
        try:
            if rid == _URI:
                return fu.write_uri(value)
            if rid == _PACKAGE:
                return fu.write_package_whole(value)
        except Refused as e:
            raise LwError(e.code, e.reason)
        except FotaError as e:
            # the request was taken and its failure is the Update Result now (spec 5.2);
            # an unsupported scheme is also refused at the CoAP level, as Anjay does
            log.warning("fw: result", e.result, e.reason)
            if e.result == _RESULT_UNSUPPORTED_PROTOCOL:
                raise LwError(_BAD_REQUEST, "unsupported protocol")
            return
        if rid == _SEVERITY:
            fu.configure(severity=value)
        elif rid == _MAX_DEFER:
            fu.configure(max_defer=value)

    def execute(self, iid, rid, args):
        try:
            if rid == _UPDATE:
                self.fu.execute_update()
            elif rid == _CANCEL:
                self.fu.cancel()
            else:
                raise LwError(_METHOD_NOT_ALLOWED)
        except Refused as e:
            raise LwError(e.code, e.reason)
        except FotaError as e:
            log.warning("fw: update failed, result", e.result, e.reason)

    # -- push: Block1 writes to /5/0/0 stream into the slot (ops.py calls stream()) --
    def stream(self, iid, rid, cf):
        # opaque (42) and base64 text (0) are the image itself; a TLV, SenML or CBOR body
        # wraps it and is decoded like any write (a small one: set() gets the value)
        if rid != _PACKAGE or cf not in (0, 42):
            return None
        if self._rx is None or self._rx.cf != cf:
            self._rx = _PushStream(self.fu, self.max_size, cf)
        return self._rx


class _PushStream:
    # Block1Receiver front for /5/0/0: decides between reset (empty / NULL), a whole package
    # in one message, and a block-wise stream; maps refusals to their CoAP codes.
    def __init__(self, fu, max_size, cf):
        self.fu = fu
        self.cf = cf
        self.text = cf == 0  # base64 in text/plain (Wakaama); blocks are multiples of 4
        self.rx = Block1Receiver(self, max_size if not self.text else max_size * 4 // 3 + 4)

    def handle(self, req, peer):
        pl = req.payload
        b1 = req.opt_uint(_BLOCK1)
        if (b1 is None or b1 >> 3 == 0) and (len(pl) == 0 or (len(pl) == 1 and pl[0] == 0)
                                             or (self.text and bytes(pl) == b"AA==")):
            # empty or NULL (in base64 too), also as a block-wise body of one block
            try:
                self.fu.reset()  # T7: empty or NULL package
            except Refused as e:
                return Message(code=e.code)
            return Message(code=_CHANGED)
        rx = self.rx
        if b1 is not None and b1 >> 4 == 0 and self._running() and rx.active and peer != rx.peer:
            # another server's first block while this push runs: not ours to cut short; it
            # may try again once this one ends (RFC 9175 3.1: 5.03 for a transfer not taken)
            return Message(code=_SERVICE_UNAVAILABLE)
        resp = rx.handle(req, peer)
        if resp.code == _REQUEST_ENTITY_TOO_LARGE:
            if self._running():
                self._failed(_RESULT_NOT_ENOUGH_SPACE)  # a block past the slot (T9)
            elif self.fu.state == 0:
                try:
                    self.fu.write_package_begin(rx.max_size + 1)  # records Result 2 (T9 / 5.2)
                except (FotaError, Refused):
                    pass
        return resp

    def _running(self):
        return self.fu.pushing and self.fu.state == 1

    def _failed(self, result):
        # the transfer was refused midway: the push ends here, not at its timeout
        if self._running():
            self.fu.download_failed(result)

    # Block1Receiver sink
    def begin(self, size):
        if size is not None and self.text:
            size = max(size * 3 // 4 - 2, 0)  # the least it decodes to ("=" padding unseen yet)
        try:
            # first block again from the running push's server: it starts over (the other
            # servers' were answered 5.03 in handle())
            self.fu.write_package_begin(size, self._running())
        except Refused as e:
            raise _Coded(e.code, e.reason)
        except FotaError as e:
            code = _REQUEST_ENTITY_TOO_LARGE if e.result == _RESULT_NOT_ENOUGH_SPACE else _BAD_REQUEST
            raise _Coded(code, e.reason)
        self.written = 0

    def write(self, off, data):
        if self.text:
            try:
                from lwm2m.formats import b64  # only a text push needs it

                data = b64.decode(bytes(data).decode())
            except MemoryError:
                self._failed(_RESULT_OUT_OF_RAM)
                raise _Coded(_SERVICE_UNAVAILABLE, "no heap to decode a block")
            except Exception:
                self._failed(_RESULT_UNSUPPORTED_PACKAGE)  # a text package that is no image
                raise _Coded(_BAD_REQUEST, "package is not base64")
        try:
            self.fu.write_package(self.written, data)
        except Refused as e:
            raise _Coded(e.code, e.reason)
        except FotaError as e:
            raise _Coded(_BAD_REQUEST, e.reason)  # the Result tells the server why
        self.written += len(data)

    def end(self):
        try:
            self.fu.write_package_end()
        except Refused as e:
            raise _Coded(e.code, e.reason)
        except FotaError as e:
            # verification failed: Result 5/6/...; the Write itself succeeded (Anjay)
            log.warning("fw: pushed package refused, result", e.result, e.reason)


class _Coded(Exception):
    def __init__(self, code, why):
        super().__init__(why)
        self.code = code

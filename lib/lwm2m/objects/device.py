# Object 3, Device (spec/lwm2m-fota.md 1.3): identity from the board, firmware version from
# the running image, Reboot/Factory Reset through the client's scheduler, error codes, clock.
# SPDX-License-Identifier: MIT
import sys
import time

from port import const, MICROPYTHON
from port import board
from lwm2m.obj import Object, LwError, R, E, M, RW

_BAD_REQUEST = const(0x80)  # 4.00
_NOT_FOUND = const(0x84)  # 4.04
_METHOD_NOT_ALLOWED = const(0x85)  # 4.05
_INTERNAL_SERVER_ERROR = const(0xA0)  # 5.00

_MANUFACTURER = const(0)
_MODEL = const(1)
_SERIAL = const(2)
_FW_VERSION = const(3)
_REBOOT = const(4)
_FACTORY_RESET = const(5)
_POWER_SOURCES = const(6)
_POWER_VOLTAGE = const(7)
_POWER_CURRENT = const(8)
_MEM_FREE = const(10)
_ERROR_CODE = const(11)
_RESET_ERRORS = const(12)
_TIME = const(13)
_UTC_OFFSET = const(14)
_TIMEZONE = const(15)
_BINDINGS = const(16)
_DEVICE_TYPE = const(17)
_HW_VERSION = const(18)
_SW_VERSION = const(19)
_MEM_TOTAL = const(21)

_MAX_STR = const(64)  # bound what a server can make us store in RAM

# The package version (pyproject.toml); the default Firmware Version when the client does
# not pass the running image's version.
PACKAGE_VERSION = "0.1.0"

# Error codes (res 11), spec 1.3
ERR_LOW_BATTERY = const(1)
ERR_EXT_POWER = const(2)
ERR_GPS = const(3)
ERR_LOW_SIGNAL = const(4)
ERR_OUT_OF_MEMORY = const(5)
ERR_SMS = const(6)
ERR_IP = const(7)
ERR_PERIPHERAL = const(8)

# Ports whose time.time() counts from 2000 (older MicroPython boards) are moved to Unix
# time, which is what the Time type carries.
try:
    _EPOCH = 946684800 if time.gmtime(0)[0] == 2000 else 0
except (AttributeError, OSError, OverflowError):
    _EPOCH = 0


def _runtime():
    v = sys.implementation.version
    name = "MicroPython" if MICROPYTHON else "CPython"
    return name, "%s %d.%d.%d" % (name, v[0], v[1], v[2])


class Device(Object):
    # Device(firmware_version=None, schedule=None, power=((0, None, None),))
    #   firmware_version()  -> str or None: version of the running image (fota); read on
    #                         every Read so it is right right after an update
    #   schedule(fn)        run fn once the current response has been sent (client facade).
    #                       Reboot and Factory Reset need it: without it they answer 5.00.
    #   power               ((source, mV or None, mA or None), ...) for res 6/7/8; the
    #                       default is one DC source without measurements (the host).
    #   reset, wipe         what Reboot and Factory Reset finally do; default
    #                       port.board.reset and lwm2m.config.wipe (tests pass fakes)
    # Device-side API: add_error(code), clear_error(code), set_firmware_version(fn).
    ID = 3
    VERSION = "1.1"
    RES = (
        (_MANUFACTURER, R, "str"),
        (_MODEL, R, "str"),
        (_SERIAL, R, "str"),
        (_FW_VERSION, R, "str"),
        (_REBOOT, E, "none"),
        (_FACTORY_RESET, E, "none"),
        (_POWER_SOURCES, R | M, "int"),
        (_POWER_VOLTAGE, R | M, "int"),
        (_POWER_CURRENT, R | M, "int"),
        (_MEM_FREE, R, "int"),
        (_ERROR_CODE, R | M, "int"),
        (_RESET_ERRORS, E, "none"),
        (_TIME, RW, "time"),
        (_UTC_OFFSET, RW, "str"),
        (_TIMEZONE, RW, "str"),
        (_BINDINGS, R, "str"),
        (_DEVICE_TYPE, R, "str"),
        (_HW_VERSION, R, "str"),
        (_SW_VERSION, R, "str"),
        (_MEM_TOTAL, R, "int"),
    )

    def __init__(self, firmware_version=None, schedule=None, power=((0, None, None),),
                 reset=None, wipe=None, bindings="U", device_type=None):
        Object.__init__(self)
        self.firmware_version = firmware_version
        self.schedule = schedule
        self._reset = reset or board.reset
        self._wipe = wipe
        self._errors = [0]
        self._offset = 0  # seconds added to time.time(): a server's Write never sets the clock
        rt, sw = _runtime()
        inst = {
            _MANUFACTURER: "updraft",
            _MODEL: "%s (%s)" % (board.name, rt),
            _SERIAL: board.unique_id().hex(),
            _BINDINGS: bindings,
            _DEVICE_TYPE: device_type or ("simulator" if board.name == "host" else "board"),
            _HW_VERSION: _hardware(),
            _SW_VERSION: sw,
        }
        inst[_POWER_SOURCES] = [(i, p[0]) for i, p in enumerate(power)]
        volts = [(i, p[1]) for i, p in enumerate(power) if p[1] is not None]
        amps = [(i, p[2]) for i, p in enumerate(power) if p[2] is not None]
        if volts:
            inst[_POWER_VOLTAGE] = volts
        if amps:
            inst[_POWER_CURRENT] = amps
        self.data[0] = inst
        # Memory is a computed resource only where the runtime can tell (not CPython); the
        # instance attribute shadows the class's COMPUTED for has().
        comp = [_FW_VERSION, _ERROR_CODE, _TIME]
        if board.mem_free() is not None:
            comp.append(_MEM_FREE)
            if _heap_total() is not None:
                comp.append(_MEM_TOTAL)
        self.COMPUTED = tuple(comp)

    def create(self, iid):
        raise LwError(_METHOD_NOT_ALLOWED, "single-instance object")

    # -- values -------------------------------------------------------------------------
    def get(self, iid, rid):
        if rid == _FW_VERSION:
            v = self.firmware_version() if self.firmware_version else PACKAGE_VERSION
            if v is None:
                raise LwError(_NOT_FOUND)  # unknown right now: absent from reads
            return v
        if rid == _ERROR_CODE:
            return [(i, c) for i, c in enumerate(self._errors)]
        if rid == _TIME:
            return self.now()
        if rid == _MEM_FREE:
            # kilobytes of free heap; the spec means storage, but heap is what runs out
            # first on a board running the client (1.2 text: kilobyte = 1000 bytes)
            return board.mem_free() // 1000
        if rid == _MEM_TOTAL:
            return _heap_total() // 1000
        return Object.get(self, iid, rid)

    def check(self, iid, rid, value):
        # Validation without side effects (a registry may call it before applying a Write).
        if rid == _TIME:
            if not isinstance(value, int) or value is True or value is False or value < 0:
                raise LwError(_BAD_REQUEST, "time must be a non-negative integer")
        elif rid == _UTC_OFFSET or rid == _TIMEZONE:
            if not isinstance(value, str) or len(value) > _MAX_STR:
                raise LwError(_BAD_REQUEST, "string of at most 64 characters expected")
            for c in value:
                if not " " <= c <= "~":
                    raise LwError(_BAD_REQUEST, "printable ASCII expected")
        else:
            raise LwError(_METHOD_NOT_ALLOWED)
        return value

    def set(self, iid, rid, value):
        self.check(iid, rid, value)
        if rid == _TIME:
            self._offset = value - int(time.time()) - _EPOCH
        else:
            self.data[0][rid] = value

    def now(self):
        # Unix seconds as the server set them (or the system clock when it did not)
        return int(time.time()) + _EPOCH + self._offset

    # -- executes -----------------------------------------------------------------------
    def execute(self, iid, rid, args):
        if rid == _REBOOT:
            self._later(self._reset)
        elif rid == _FACTORY_RESET:
            # 1.2 arguments 0/1 choose which device identities to keep; we have none, so
            # any argument means the same. Wipe first (a failure answers 5.00 and nothing
            # reboots), then reboot once the response is out.
            if self.schedule is None:
                raise LwError(_INTERNAL_SERVER_ERROR, "no scheduler for the reboot")
            wipe = self._wipe
            if wipe is None:
                from lwm2m.config import wipe
            try:
                wipe()
            except OSError:
                raise LwError(_INTERNAL_SERVER_ERROR, "cannot wipe configuration")
            self._later(self._reset)
        elif rid == _RESET_ERRORS:
            if self._errors != [0]:
                self._errors = [0]
                self.changed(0, _ERROR_CODE)
        else:
            raise LwError(_METHOD_NOT_ALLOWED)

    def _later(self, fn):
        # Never reset inside the handler: the server must get its 2.04 first (spec 1.3).
        if self.schedule is None:
            raise LwError(_INTERNAL_SERVER_ERROR, "no scheduler for the reboot")
        self.schedule(fn)

    # -- device-side API ------------------------------------------------------------------
    def add_error(self, code):
        # Report a condition (ERR_*); the healthy 0 entry goes away while any is present.
        if code in self._errors or code == 0:
            return
        errs = [c for c in self._errors if c != 0]
        errs.append(code)
        self._errors = errs
        self.changed(0, _ERROR_CODE)

    def clear_error(self, code):
        if code in self._errors and code != 0:
            errs = [c for c in self._errors if c != code]
            self._errors = errs or [0]
            self.changed(0, _ERROR_CODE)

    def errors(self):
        return list(self._errors)

    def set_firmware_version(self, fn):
        self.firmware_version = fn
        self.changed(0, _FW_VERSION)


def _hardware():
    # The board's own description where MicroPython has one ("Generic ESP32 module with
    # ESP32"); the host's machine and platform otherwise.
    m = getattr(sys.implementation, "_machine", None)
    if m:
        return m
    try:
        import os

        return "%s %s" % (sys.platform, os.uname().machine)
    except (AttributeError, OSError):
        return sys.platform


def _heap_total():
    # Free + allocated heap, MicroPython only (gc.mem_alloc does not exist on CPython).
    import gc

    try:
        return gc.mem_free() + gc.mem_alloc()
    except AttributeError:
        return None

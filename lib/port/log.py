# Log policy (aiocoap's): debug = normal operation; info = expected events worth seeing in a
# field log (retransmits, registration, download progress); warning = the peer or the image
# is wrong; error = we are wrong. Functions take arguments and format only when enabled.
# SPDX-License-Identifier: MIT
import sys

from port import const

# levels: debug 10, info 20, warning 30, error 40 (private consts: no qstr on the device)
_DEBUG = const(10)
_INFO = const(20)
_WARNING = const(30)
_ERROR = const(40)
level = _WARNING
_once = set()  # warning_once keys, at most 32


def _emit(at, args):
    # at: the level logged at (10..40); one string of letters, as a letter each would be a
    # qstr each
    out = ["DIWE"[at // 10 - 1]]
    for a in args:
        out.append(str(a))
    print(" ".join(out))


def debug(*args):
    if level <= _DEBUG:
        _emit(_DEBUG, args)


def info(*args):
    if level <= _INFO:
        _emit(_INFO, args)


def warning(*args):
    if level <= _WARNING:
        _emit(_WARNING, args)


def error(*args):
    if level <= _ERROR:
        _emit(_ERROR, args)
        for a in args:
            if isinstance(a, BaseException):
                try:
                    sys.print_exception(a)  # MicroPython
                except AttributeError:
                    import traceback

                    traceback.print_exception(type(a), a, a.__traceback__)


def warning_once(key, *args):
    # For floods from the network (malformed datagrams): say it once per key.
    if key in _once:
        return
    if len(_once) < 32:
        _once.add(key)
    warning(*args)


def set_level(n):
    global level
    level = n

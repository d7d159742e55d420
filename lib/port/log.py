# Log policy (aiocoap's): debug = normal operation; info = expected events worth seeing in a
# field log (retransmits, registration, download progress); warning = the peer or the image
# is wrong; error = we are wrong. Functions take arguments and format only when enabled.
# SPDX-License-Identifier: MIT
import sys

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
level = WARNING
_once = set()
_MAX_ONCE = 32


def _emit(tag, args):
    out = [tag]
    for a in args:
        out.append(str(a))
    print(" ".join(out))


def debug(*args):
    if level <= DEBUG:
        _emit("D", args)


def info(*args):
    if level <= INFO:
        _emit("I", args)


def warning(*args):
    if level <= WARNING:
        _emit("W", args)


def error(*args):
    if level <= ERROR:
        _emit("E", args)
        for a in args:
            if isinstance(a, BaseException):
                _print_exc(a)


def warning_once(key, *args):
    # For floods from the network (malformed datagrams): say it once per key.
    if key in _once:
        return
    if len(_once) < _MAX_ONCE:
        _once.add(key)
    warning(*args)


def set_level(n):
    global level
    level = n


def _print_exc(e):
    try:
        sys.print_exception(e)  # MicroPython
    except AttributeError:
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__)

# updraft port: the few primitives every layer needs, identical on MicroPython and CPython.
# Board specifics (flash, reset, ids, network) live in port.board; this file stays tiny
# because boot.py imports it.
# SPDX-License-Identifier: MIT
import sys

MICROPYTHON = sys.implementation.name == "micropython"

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


_PERIOD = const(1 << 30)  # MicroPython's tick period on ports with small ints (CPython's ticks)
_HALF = const(1 << 29)

try:
    from time import ticks_ms, ticks_us, ticks_add, ticks_diff, sleep_ms
except ImportError:
    import time as _time

    _t0 = _time.monotonic_ns()

    def ticks_ms():
        return ((_time.monotonic_ns() - _t0) // 1000000) & (_PERIOD - 1)

    def ticks_us():
        return ((_time.monotonic_ns() - _t0) // 1000) & (_PERIOD - 1)

    def ticks_add(t, delta):
        return (t + delta) & (_PERIOD - 1)

    def ticks_diff(a, b):
        # a - b, wrapped into [-PERIOD/2, PERIOD/2), as MicroPython defines it
        return ((a - b + _HALF) & (_PERIOD - 1)) - _HALF

    def sleep_ms(ms):
        _time.sleep(ms / 1000)


try:
    from os import urandom as random_bytes
except ImportError:  # boards without os.urandom
    from random import getrandbits as _grb

    def random_bytes(n):
        return bytes(_grb(8) for _ in range(n))


def random_int(bits):
    # Unpredictable: for tokens, message-ID starts, nonces (one syscall each).
    return int.from_bytes(random_bytes((bits + 7) >> 3), "big") & ((1 << bits) - 1)


_jit = [random_int(31) | 1]


def jitter(bits=16):
    # Cheap non-cryptographic randomness for timer jitter (xorshift32, no syscall):
    # called for every CON we send, so it must cost nothing.
    x = _jit[0]
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    _jit[0] = x
    return x & ((1 << bits) - 1)

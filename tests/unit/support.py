# Helpers shared by the unit tests; plain Python that runs on both runtimes.
import os

from port import random_int


def py_files(d):
    # every .py file under directory d, recursively (no os.walk on MicroPython)
    for name in os.listdir(d):
        p = d + "/" + name
        if name.endswith(".py"):
            yield p
        elif "." not in name:
            yield from py_files(p)


def tmpdir(tag="t"):
    # A fresh directory under /tmp (no tempfile module on MicroPython).
    base = "/tmp/updraft-%s-%d" % (tag, random_int(30))
    os.mkdir(base)
    return base


def raises(exc, fn, *args):
    # Returns the exception so tests can look at it; fails when nothing (or else) is raised.
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %r" % (exc.__name__, fn))


def setenv(key, value):
    # MicroPython has os.putenv but no os.environ; CPython's getenv reads os.environ.
    try:
        os.environ[key] = value
    except AttributeError:
        os.putenv(key, value)

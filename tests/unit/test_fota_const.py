# Device modules keep private copies of the FOTA numbers they use (`_RESULT_SUCCESS = const(1)`:
# inlined by mpy-cross, no qstr or dict entry on the device, which never loads fota.const) and
# import FotaError from the fota package; each copy must equal fota.const's. Runs on both
# runtimes.
import os

from fota import const as C
from support import py_files

# Update States and Results, the boot record's numbers, MCUboot's image format
PREFIXES = ("_STATE_", "_RESULT_", "_TRIALS", "_REASON_", "_EVENT_", "_NO_SLOT", "_FLAG_ALLOW_DOWNGRADE",
            "_IMAGE_MAGIC", "_HEADER_SIZE", "_TLV_", "_BUF_SIZE")
IDENT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


def _device_files():
    # lib/ and the two files that stay on the device's filesystem
    yield from py_files("lib")
    for p in ("boot.py", "main.py"):
        try:
            os.stat(p)
        except OSError:
            continue
        yield p


def _read(path):
    with open(path) as f:
        return f.read()


def _copies(text):
    # (name without the underscore, value) of each top-level `_STATE_X = const(N)` line (and
    # the other PREFIXES)
    out = []
    for line in text.split("\n"):
        if not line.startswith(PREFIXES) or " = const(" not in line:
            continue
        name = line[1 : line.index(" = ")]
        value = line[line.index("const(") + 6 : line.index(")")]
        out.append((name, int(value, 16) if value.startswith("0x") else int(value)))
    return out


def _uses(text):
    # every identifier with one of the PREFIXES in the text (whole identifiers only)
    out = set()
    for prefix in PREFIXES:
        i = text.find(prefix)
        while i >= 0:
            j = i + len(prefix)
            while j < len(text) and text[j] in IDENT:
                j += 1
            if i == 0 or text[i - 1] not in IDENT:
                out.add(text[i:j])
            i = text.find(prefix, j)
    return out


def test_private_copies_equal_fota_const():
    seen = 0
    for path in _device_files():
        for name, value in _copies(_read(path)):
            assert hasattr(C, name), (path, name, "not in fota.const")
            assert getattr(C, name) == value, (path, name, value, getattr(C, name))
            seen += 1
    assert seen >= 50, "the copies were not found: %d" % seen


def test_every_copy_used_is_defined_in_its_module():
    # a use without its `_RESULT_X = const(N)` line would be a NameError only on the (often
    # rare, error) path that reaches it
    for path in _device_files():
        if path == "lib/fota/const.py":
            continue  # host only (and its comments name the pattern)
        text = _read(path)
        defined = ["_" + n for n, _ in _copies(text)]
        for name in _uses(text):
            assert name in defined, (path, name)


def test_no_device_module_loads_fota_const():
    # fota.const is for host tools and tests: on the device its names would be ~20 qstrs and
    # dict entries (the update path sits near the count where MicroPython allocates another
    # 8 KB qstr pool)
    seen = 0
    for path in _device_files():
        seen += 1
        if path == "lib/fota/const.py":
            continue
        text = _read(path)
        for bad in ("from fota.const import", "import fota.const", "from fota import const"):
            assert bad not in text, (path, bad)
    assert seen > 40, seen


def test_fota_error_is_one_class():
    # host code and tests still reach it as fota.const.FotaError: the same class, so an except
    # clause on either name catches what device code raises
    import fota

    assert C.FotaError is fota.FotaError
    e = fota.FotaError(C.RESULT_OUT_OF_RAM, "x")
    assert e.result == 3 and e.reason == "x" and str(e) == "result 3: x"

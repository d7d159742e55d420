# Device modules keep private copies of the CoAP numbers they use (`_CON = const(0)`: inlined
# by mpy-cross, no qstr or dict entry on the device, which never loads coap.const); each copy
# must equal coap.const's. Runs on both runtimes.
from coap import const as C
from support import py_files

PRIVATE = ("lib/coap/endpoint.py", "lib/coap/transfer.py", "lib/coap/message.py", "lib/coap/observe.py",
           "lib/coap/block.py", "lib/lwm2m/ops.py", "lib/lwm2m/rd.py", "lib/lwm2m/objects/firmware.py",
           "lib/fota/download/coap.py", "lib/fota/download/coap_tcp.py", "lib/lwm2m/obj.py",
           "lib/lwm2m/registry.py", "lib/lwm2m/notify.py", "lib/lwm2m/objects/security.py",
           "lib/lwm2m/objects/connmon.py", "lib/lwm2m/objects/server.py", "lib/lwm2m/objects/device.py",
           "lib/lwm2m/formats/__init__.py")


def _copies(path):
    # (name, value) of each `_NAME = const(VALUE)` line whose NAME coap.const defines
    out = []
    with open(path) as f:
        for line in f:
            if not line.startswith("_") or " = const(" not in line:
                continue
            name = line[1 : line.index(" = ")]
            if hasattr(C, name):
                value = line[line.index("const(") + 6 : line.index(")")]
                out.append((name, int(value, 16) if value.startswith("0x") or value.startswith("0X") else int(value)))
    return out


def test_private_copies_equal_coap_const():
    seen = 0
    for path in PRIVATE:
        for name, value in _copies(path):
            assert getattr(C, name) == value, (path, name, value)
            seen += 1
    assert seen >= 40, "the copies were not found"


def test_no_device_module_loads_coap_const():
    # coap.const is for host tools and tests: on the device its names would be ~50 qstrs and
    # dict entries (a whole device sits near the 1260 qstrs where MicroPython allocates a
    # 14 KB qstr pool)
    seen = 0
    for path in py_files("lib"):
        seen += 1
        if path == "lib/coap/const.py":
            continue
        with open(path) as f:
            text = f.read()
        for bad in ("from coap import const", "from coap.const import", "import coap.const"):
            assert bad not in text, (path, bad)
    assert seen > 40, seen


def _word(c):
    return c.isalpha() or c.isdigit() or c == "_"


def test_private_consts_are_defined_before_their_first_use():
    # mpy-cross replaces `_NAME` by its const() value only after the definition, and stores
    # no global for it: a use above the definition is a NameError on the device (CPython,
    # which runs the definition at import, would never notice)
    seen = 0
    for path in py_files("lib"):
        with open(path) as f:
            lines = f.read().split("\n")
        for n, line in enumerate(lines):
            if not line.startswith("_") or " = const(" not in line:
                continue
            name = line[: line.index(" = ")]
            seen += 1
            for before in lines[:n]:
                code = before.split("#")[0]
                at = code.find(name)
                while at >= 0:
                    end = at + len(name)
                    inside = (at and (_word(code[at - 1]) or code[at - 1] == ".")) or (
                        end < len(code) and _word(code[end]))
                    assert inside, (path, name, before)
                    at = code.find(name, end)
    assert seen > 200, seen


def test_private_consts_are_not_used_from_another_module():
    # a private const is no attribute of its module on the device (mpy-cross inlines it and
    # stores no global): `from m import _X` or `m._X` works on CPython only
    consts = {}  # module file -> its private const names
    sources = {}
    for path in py_files("lib"):
        with open(path) as f:
            text = f.read()
        sources[path] = text
        consts[path] = [ln[: ln.index(" = ")] for ln in text.split("\n") if ln.startswith("_") and " = const(" in ln]
    assert sum(len(v) for v in consts.values()) > 200

    def module_file(mod):
        base = "lib/" + mod.replace(".", "/")
        return base + ".py" if base + ".py" in consts else base + "/__init__.py"

    for path, text in sources.items():
        for line in text.split("\n"):
            code = line.split("#")[0].strip()
            if code.startswith("from ") and " import " in code:
                owner = module_file(code[5 : code.index(" import ")].strip())
                for name in code[code.index(" import ") + 8 :].replace("(", ",").replace(")", ",").split(","):
                    name = name.split()[0] if name.split() else ""
                    assert name not in consts.get(owner, ()), (path, line)
            at = code.find("._")
            while at >= 0:
                end = at + 2
                while end < len(code) and _word(code[end]):
                    end += 1
                # m._X where m names a module (its last dotted part) that defines _X
                words = code[:at].replace("(", " ").replace("[", " ").replace(",", " ").split()
                owner = words[-1].split(".")[-1] if words else ""
                for other, names in consts.items():
                    if other != path and code[at + 1 : end] in names and _stem(other) == owner:
                        raise AssertionError((path, line))
                at = code.find("._", end)


def _stem(path):
    # the name a module is known by: lib/coap/endpoint.py -> endpoint, lib/lwm2m/formats/__init__.py -> formats
    parts = path.split("/")
    return parts[-2] if parts[-1] == "__init__.py" else parts[-1][:-3]

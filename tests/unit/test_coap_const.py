# The CoAP modules on the download path keep private copies of the CoAP numbers they use
# (`_CON = const(0)`: inlined by mpy-cross, no qstr or dict entry on the device); each copy
# must equal coap.const's. Runs on both runtimes.
from coap import const as C

PRIVATE = ("lib/coap/endpoint.py", "lib/coap/transfer.py", "lib/coap/message.py", "lib/coap/observe.py",
           "lib/fota/download/coap.py", "lib/fota/download/coap_tcp.py")


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
    assert seen >= 20, "the copies were not found"

# Host-side object model of the dev server: resource names and value kinds for the objects
# updraft serves (/0 /1 /3 /4 /5 /33629), content-format names, and the JSON form of values.
# SPDX-License-Identifier: MIT
#
# The server needs the kinds to decode TLV and text (untyped on the wire, spec 3.4/3.5), the
# way Leshan loads object models; names only make logs and the demo readable.
import base64

from updraft.devserver import use_device_codecs

use_device_codecs()
from coap import const as C  # noqa: E402  (lib/ is on the path only after the call above)
from lwm2m import formats  # noqa: E402
from lwm2m.formats import ObjLink  # noqa: E402

# (obj, res) -> (name, kind, multiple)
_M = True
RESOURCES = {}


def _obj(oid, rows):
    for rid, name, kind, *multi in rows:
        RESOURCES[(oid, rid)] = (name, kind, bool(multi))


_obj(0, [(0, "LwM2M Server URI", "str"), (1, "Bootstrap-Server", "bool"), (2, "Security Mode", "int"),
         (3, "Public Key or Identity", "opaque"), (4, "Server Public Key", "opaque"),
         (5, "Secret Key", "opaque"), (10, "Short Server ID", "int"), (11, "Client Hold Off Time", "int")])
_obj(1, [(0, "Short Server ID", "int"), (1, "Lifetime", "int"), (2, "Default Minimum Period", "int"),
         (3, "Default Maximum Period", "int"), (4, "Disable", "none"), (5, "Disable Timeout", "int"),
         (6, "Notification Storing", "bool"), (7, "Binding", "str"),
         (8, "Registration Update Trigger", "none"), (9, "Bootstrap-Request Trigger", "none"),
         (10, "APN Link", "objlnk"), (11, "TLS-DTLS Alert Code", "uint"), (12, "Last Bootstrapped", "time"),
         (13, "Registration Priority Order", "uint"), (14, "Initial Registration Delay Timer", "uint"),
         (15, "Registration Failure Block", "bool"), (16, "Bootstrap on Registration Failure", "bool"),
         (17, "Communication Retry Count", "uint"), (18, "Communication Retry Timer", "uint"),
         (19, "Communication Sequence Delay Timer", "uint"),
         (20, "Communication Sequence Retry Count", "uint"), (21, "Trigger", "bool"),
         (22, "Preferred Transport", "str"), (23, "Mute Send", "bool")])
_obj(3, [(0, "Manufacturer", "str"), (1, "Model Number", "str"), (2, "Serial Number", "str"),
         (3, "Firmware Version", "str"), (4, "Reboot", "none"), (5, "Factory Reset", "none"),
         (6, "Available Power Sources", "int", _M), (7, "Power Source Voltage", "int", _M),
         (8, "Power Source Current", "int", _M), (9, "Battery Level", "int"), (10, "Memory Free", "int"),
         (11, "Error Code", "int", _M), (12, "Reset Error Code", "none"), (13, "Current Time", "time"),
         (14, "UTC Offset", "str"), (15, "Timezone", "str"), (16, "Supported Binding and Modes", "str"),
         (17, "Device Type", "str"), (18, "Hardware Version", "str"), (19, "Software Version", "str"),
         (20, "Battery Status", "int"), (21, "Memory Total", "int"), (22, "ExtDevInfo", "objlnk", _M)])
_obj(4, [(0, "Network Bearer", "int"), (1, "Available Network Bearer", "int", _M),
         (2, "Radio Signal Strength", "int"), (3, "Link Quality", "int"), (4, "IP Addresses", "str", _M),
         (5, "Router IP Addresses", "str", _M), (6, "Link Utilization", "int"), (7, "APN", "str", _M),
         (8, "Cell ID", "int"), (9, "SMNC", "int"), (10, "SMCC", "int"), (11, "SignalSNR", "int"),
         (12, "LAC", "int"), (13, "Coverage Enhancement Level", "int")])
_FU = [(0, "Package", "opaque"), (1, "Package URI", "str"), (2, "Update", "none"), (3, "State", "int"),
       (5, "Update Result", "int"), (6, "PkgName", "str"), (7, "PkgVersion", "str"),
       (8, "Firmware Update Protocol Support", "int", _M), (9, "Firmware Update Delivery Method", "int")]
_obj(5, _FU)
_obj(33629, _FU + [(10, "Cancel", "none"), (11, "Severity", "int"), (12, "Last State Change Time", "time"),
                   (13, "Maximum Defer Period", "uint"), (14, "Component Name", "str"),
                   (15, "Current Version", "str"), (16, "Linked Instances", "objlnk", _M),
                   (17, "Conflicting Instances", "objlnk", _M)])

OBJECTS = {0: "Security", 1: "Server", 3: "Device", 4: "Connectivity Monitoring", 5: "Firmware Update",
           33629: "Advanced Firmware Update"}

# API format names -> CoAP Content-Format numbers (spec 3.4)
FORMATS = {"text": C.CF_TEXT, "link": C.CF_LINK, "opaque": C.CF_OPAQUE, "cbor": C.CF_CBOR,
           "senml_json": C.CF_SENML_JSON, "senml_cbor": C.CF_SENML_CBOR, "tlv": C.CF_LWM2M_TLV,
           "json": C.CF_LWM2M_JSON, "legacy_text": C.CF_LEGACY_TEXT, "legacy_tlv": C.CF_LEGACY_TLV}
FORMAT_NAMES = {v: k for k, v in FORMATS.items()}


def cf(name_or_number):
    # "tlv" | "11542" | 11542 -> 11542; None stays None. Raises ValueError on unknown names.
    if name_or_number is None or name_or_number == "":
        return None
    if isinstance(name_or_number, int):
        return name_or_number
    s = str(name_or_number)
    if s.isdigit():
        return int(s)
    if s not in FORMATS:
        raise ValueError("unknown format %r (one of %s)" % (s, ", ".join(sorted(FORMATS))))
    return FORMATS[s]


def kind(path):
    # The codecs' resolver (lib/lwm2m/formats/__init__.py): never raises.
    if len(path) < 3:
        return None
    r = RESOURCES.get((path[0], path[2]))
    return r[1] if r else None


def name(path):
    if len(path) >= 3:
        r = RESOURCES.get((path[0], path[2]))
        return r[0] if r else None
    if path:
        return OBJECTS.get(path[0])
    return None


def to_json(value):
    # Device value -> JSON: bytes as {"hex"}, objlnk as {"objlnk": "o:i"}, () as [].
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    if isinstance(value, ObjLink):
        return {"objlnk": "%d:%d" % (value.obj, value.inst)}
    if value == ():
        return []
    return value


def from_json(value):
    # The inverse of to_json; {"b64": ...} is accepted for opaque too.
    if isinstance(value, dict):
        if "hex" in value:
            return bytes.fromhex(value["hex"])
        if "b64" in value:
            return base64.b64decode(value["b64"])
        if "objlnk" in value:
            return formats.parse_objlnk(value["objlnk"])
        raise ValueError("value object needs hex, b64 or objlnk")
    if value == []:
        return ()
    return value


def records_json(records):
    return [{"path": formats.path_str(p), "name": name(p), "value": to_json(v)} for p, v in records]


def decode(content_format, payload, base):
    # -> (records, error). Single-value formats come back as one record at base.
    mod = formats.codec(content_format) if content_format is not None else None
    if mod is None or content_format == C.CF_LINK:
        return None, None
    try:
        return mod.decode(payload, base, kind), None
    except Exception as e:  # FormatError on malformed input; anything else is a codec bug
        return None, "%s: %s" % (type(e).__name__, e)


def encode(content_format, records, base):
    mod = formats.codec(content_format)
    if mod is None or content_format == C.CF_LINK:
        raise ValueError("cannot write with content format %s" % content_format)
    return mod.encode(records, base, kind)


def parse_links(payload):
    # CoRE link payload -> [{"path": "/3/0", "attrs": {...}}]; raises FormatError.
    from lwm2m.formats import link

    out = []
    for uri, attrs in link.decode(payload):
        out.append({"path": uri, "attrs": {k: v for k, v in attrs}})
    return out


def pretty(records):
    # Readable lines for logs and the demo: "/3/0/0  Manufacturer = updraft"
    lines = []
    for p, v in records:
        n = name(p) or ""
        if isinstance(v, (bytes, bytearray)):
            shown = "<%d bytes %s>" % (len(v), bytes(v[:16]).hex())
        elif isinstance(v, ObjLink):
            shown = "%d:%d" % (v.obj, v.inst)
        else:
            shown = repr(v) if isinstance(v, str) else str(v)
        lines.append("%-12s %-28s = %s" % (formats.path_str(p), n, shown))
    return lines

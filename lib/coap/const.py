# CoAP numbers shared across packages (RFC 7252 section 12, RFC 7959, RFC 7641), and the
# Content-Format numbers LwM2M uses.
# SPDX-License-Identifier: MIT
from port import const

# Message types
CON = const(0)
NON = const(1)
ACK = const(2)
RST = const(3)

# Codes: class << 5 | detail
EMPTY = const(0)
GET = const(1)
POST = const(2)
PUT = const(3)
DELETE = const(4)
FETCH = const(5)
IPATCH = const(7)
CREATED = const(0x41)  # 2.01
DELETED = const(0x42)  # 2.02
VALID = const(0x43)  # 2.03
CHANGED = const(0x44)  # 2.04
CONTENT = const(0x45)  # 2.05
CONTINUE = const(0x5F)  # 2.31
BAD_REQUEST = const(0x80)  # 4.00
UNAUTHORIZED = const(0x81)
BAD_OPTION = const(0x82)  # 4.02
FORBIDDEN = const(0x83)
NOT_FOUND = const(0x84)  # 4.04
METHOD_NOT_ALLOWED = const(0x85)  # 4.05
NOT_ACCEPTABLE = const(0x86)  # 4.06
REQUEST_ENTITY_INCOMPLETE = const(0x88)  # 4.08
PRECONDITION_FAILED = const(0x8C)  # 4.12
REQUEST_ENTITY_TOO_LARGE = const(0x8D)  # 4.13
UNSUPPORTED_CONTENT_FORMAT = const(0x8F)  # 4.15
INTERNAL_SERVER_ERROR = const(0xA0)  # 5.00
NOT_IMPLEMENTED = const(0xA1)
SERVICE_UNAVAILABLE = const(0xA3)

# Option numbers
IF_MATCH = const(1)
URI_HOST = const(3)
ETAG = const(4)
IF_NONE_MATCH = const(5)
OBSERVE = const(6)
URI_PORT = const(7)
LOCATION_PATH = const(8)
URI_PATH = const(11)
CONTENT_FORMAT = const(12)
MAX_AGE = const(14)
URI_QUERY = const(15)
ACCEPT = const(17)
LOCATION_QUERY = const(20)
BLOCK2 = const(23)
BLOCK1 = const(27)
SIZE2 = const(28)
PROXY_URI = const(35)
PROXY_SCHEME = const(39)
SIZE1 = const(60)
NO_RESPONSE = const(258)

# Content-Format numbers (RFC 7252 12.3 registry; LwM2M 1.1 TS Core 5.1). 1541-1544 are the
# LwM2M 1.0 drafts' numbers (Anjay and Leshan still accept 1542 for TLV).
CF_TEXT = const(0)
CF_LINK = const(40)
CF_OPAQUE = const(42)
CF_CBOR = const(60)
CF_SENML_JSON = const(110)
CF_SENML_CBOR = const(112)
CF_LEGACY_TEXT = const(1541)
CF_LEGACY_TLV = const(1542)
CF_LEGACY_JSON = const(1543)
CF_LEGACY_OPAQUE = const(1544)
CF_LWM2M_TLV = const(11542)
CF_LWM2M_JSON = const(11543)
CF_LWM2M_CBOR = const(11544)


def is_request(code):
    return 1 <= code <= 31


def is_response(code):
    return code >= 64


# fota.const: numbers shared by the FOTA layer: LwM2M Firmware Update State and "Update Result"
# (/5/0/5, /33629/x/5, OMA-TS-LightweightM2M_Core appendix E.6) and the error that carries one.
# For host tools and tests: device modules keep private copies (`_RESULT_X = const(N)`) and
# import FotaError from the package, so none of these names costs a qstr there.
# SPDX-License-Identifier: MIT
from fota import FotaError  # noqa: F401 (re-exported for host code and tests)
from port import const

# Firmware Update State (/5/0/3, /33629/x/3; spec 2.1)
STATE_IDLE = const(0)
STATE_DOWNLOADING = const(1)
STATE_DOWNLOADED = const(2)
STATE_UPDATING = const(3)

RESULT_INITIAL = const(0)
RESULT_SUCCESS = const(1)
RESULT_NOT_ENOUGH_SPACE = const(2)
RESULT_OUT_OF_RAM = const(3)
RESULT_CONNECTION_LOST = const(4)
RESULT_INTEGRITY_FAILURE = const(5)
RESULT_UNSUPPORTED_PACKAGE = const(6)
RESULT_INVALID_URI = const(7)
RESULT_UPDATE_FAILED = const(8)
RESULT_UNSUPPORTED_PROTOCOL = const(9)
RESULT_UPDATE_CANCELLED = const(10)
RESULT_DEFERRED = const(11)
RESULT_CONFLICTING_STATE = const(12)
RESULT_DEPENDENCY_ERROR = const(13)

# The boot record (fota.boot, fota.boot.record; device modules keep private copies)
TRIALS = const(3)  # boots a new image gets to confirm itself
REASON_CONFIRMED = const(1)  # why the last update ended: the trial image confirmed itself   -> 1
REASON_TRIALS = const(2)  # trial budget spent without confirm                              -> 8
REASON_VERIFY = const(3)  # pending image failed verification at boot                      -> 5
REASON_DOWNGRADE = const(4)  # pending image older than allowed at boot                    -> 8
EVENT_SWITCHED = const(1)  # confirmed slot damaged, booted the other (verified) one
EVENT_UNVERIFIED = const(2)  # no slot verified: booted the confirmed slot regardless
NO_SLOT = const(0xFF)  # a record's pending / oslot when there is none
FLAG_ALLOW_DOWNGRADE = const(1)  # record flag: the pending image may be older than the active one

# MCUboot's image format (fota.image; imgtool 2.x): header magic and size, TLV types
IMAGE_MAGIC = const(0x96F3B83D)
HEADER_SIZE = const(32)
TLV_KEYHASH = const(0x01)
TLV_PUBKEY = const(0x02)
TLV_SHA256 = const(0x10)
TLV_SHA384 = const(0x11)
TLV_SHA512 = const(0x12)
TLV_ECDSA_SIG = const(0x22)  # also a trusted key's kind (fota.crypto.keys): P-256
TLV_ED25519 = const(0x24)  # and Ed25519
TLV_SIG_PURE = const(0x25)
TLV_DEPENDENCY = const(0x40)
TLV_SEC_CNT = const(0x50)
TLV_COMPONENT = const(0xA0)  # updraft's component name, a protected vendor TLV
TLV_MAX = const(1024)  # largest TLV area fota.image holds in RAM
BUF_SIZE = const(1024)  # fota.image.verify's default hash buffer

# fota.const: numbers shared by the FOTA layer: LwM2M Firmware Update State and "Update Result"
# (/5/0/5, /33629/x/5, OMA-TS-LightweightM2M_Core appendix E.6) and the error that carries one.
# SPDX-License-Identifier: MIT
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


class FotaError(Exception):
    # Raised by fota code for a failure that has a defined Update Result; the state
    # machine reports `result` and logs `reason` (a short str, never formatted eagerly).
    def __init__(self, result, reason=""):
        super().__init__(result, reason)
        self.result = result
        self.reason = reason

    def __str__(self):
        return "result %d: %s" % (self.result, self.reason)

# fota: firmware update: image checks, slots, boot control, the update state machine.
# SPDX-License-Identifier: MIT
#
# FotaError lives here, not in fota.const: device modules import it from this package, which
# is loaded anyway, so fota.const (public numbers for host tools and tests, each one a qstr
# and a dict entry) is never loaded on the device. Device modules keep private copies of the
# numbers they use (tests/unit/test_fota_const.py keeps them equal).


class FotaError(Exception):
    # Raised by fota code for a failure that has a defined Update Result; the state
    # machine reports `result` and logs `reason` (a short str, never formatted eagerly).
    def __init__(self, result, reason=""):
        super().__init__(result, reason)
        self.result = result
        self.reason = reason

    def __str__(self):
        return "result %d: %s" % (self.result, self.reason)

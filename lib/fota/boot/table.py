# Boot decision table: what a power-on does, given the boot record and which images verify.
# Checked in order, first match wins, like MCUboot's boot_swap_tables[].
# SPDX-License-Identifier: MIT
#
# Inputs, in the order each row lists them ("*" = any value):
#   P  a slot is pending (activated, not yet confirmed)            0 / 1
#   T  trials of the pending slot: FRESH (never booted),            0 / 1 / 2
#      RETRY (booted, reset before confirm), SPENT (budget used)
#   V  the pending image: OK, BAD (integrity, signature, size,      0 / 1 / 2
#      component), OLD (downgrade by version or security counter)
#   A  the active (last confirmed) slot verifies                    0 / 1
#   O  the other slot verifies                                      0 / 1
# "Confirmed?" is not a separate input: confirm() commits the trial slot as active and clears
# pending in one record write, so a confirmed slot is simply "not pending".
# Inputs are evaluated lazily left to right, so a boot with nothing pending verifies only the
# active slot, and a spent trial is rolled back without reading the image at all.
from port import const

ANY = const(-1)
FRESH = const(0)
RETRY = const(1)
SPENT = const(2)
OK = const(0)
BAD = const(1)
OLD = const(2)

# Actions. RUN_* end the decision; the others change the record and decide again.
RUN_ACTIVE = const(1)  # boot the confirmed slot
RUN_TRIAL = const(2)  # count a trial, boot the pending slot in trial
ROLLBACK = const(3)  # trial budget spent: drop pending, report Update Failed (8)
REJECT_BAD = const(4)  # pending image fails verification: drop it, report Integrity (5)
REJECT_OLD = const(5)  # pending image is a downgrade: drop it, report Update Failed (8)
SWITCH = const(6)  # the confirmed slot is damaged but the other verifies: make it active
RUN_UNVERIFIED = const(7)  # nothing verifies: boot the confirmed slot anyway (last resort)

INPUTS = ("P", "T", "V", "A", "O")
DOMAIN = ((0, 1), (FRESH, RETRY, SPENT), (OK, BAD, OLD), (0, 1), (0, 1))

TABLE = (
    # P    T      V    A    O      action
    ((1, SPENT, ANY, ANY, ANY), ROLLBACK),
    ((1, ANY, BAD, ANY, ANY), REJECT_BAD),
    ((1, ANY, OLD, ANY, ANY), REJECT_OLD),
    ((1, ANY, OK, ANY, ANY), RUN_TRIAL),
    ((0, ANY, ANY, 1, ANY), RUN_ACTIVE),
    ((0, ANY, ANY, 0, 1), SWITCH),
    ((0, ANY, ANY, 0, 0), RUN_UNVERIFIED),
)

NAMES = {
    RUN_ACTIVE: "run-active", RUN_TRIAL: "run-trial", ROLLBACK: "rollback",
    REJECT_BAD: "reject-bad", REJECT_OLD: "reject-old", SWITCH: "switch",
    RUN_UNVERIFIED: "run-unverified",
}


def decide(get):
    # get(i) returns input i (0..4), computed on demand; returns the first matching action.
    # Raises ValueError when no row matches (the exhaustive test proves that cannot happen).
    for row, action in TABLE:
        for i in range(5):
            want = row[i]
            if want != ANY and get(i) != want:
                break
        else:
            return action
    raise ValueError("no boot rule")

# main.py placeholder until the LwM2M client lands: it runs after boot.py chose the slot.
# The client must call fota.boot.start.make_boot().confirm() only after registering with its
# LwM2M server (an unconfirmed trial rolls back after the trial budget).
# SPDX-License-Identifier: MIT
try:
    import fota.boot.start as _start

    sel = _start.selected
    print("main: slot", sel.slot if sel else None, "trial" if sel and sel.trial else "")
except Exception as e:
    print("main:", repr(e))

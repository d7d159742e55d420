# boot.py: first thing at every power-on. Picks the application slot (trial, rollback, see
# lib/fota/boot) and mounts it; imports nothing of the network stack and never raises out.
# SPDX-License-Identifier: MIT
try:
    import fota.boot.start

    fota.boot.start.run()
except ImportError as e:
    # a board without trusted keys (never provisioned for slot updates): nothing to select
    print("boot: no slot boot:", e)
except Exception as e:  # worst case: the confirmed slot / the filesystem's main.py runs
    try:
        import sys

        print("boot: slot selection failed:", repr(e))
        sys.print_exception(e) if hasattr(sys, "print_exception") else None
    except Exception:
        pass

# The bundled dev LwM2M server (`updraft server`): registration interface and DM client on
# aiocoap (lwm2m.py), a JSON API over HTTP on localhost (api.py) and its client (apiclient.py).
# SPDX-License-Identifier: MIT
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LIB = os.path.join(ROOT, "lib")


def use_device_codecs():
    # The content-format codecs in lib/lwm2m/formats run on CPython too; the host reuses
    # them rather than carrying a second TLV/SenML implementation. Appended, not prepended:
    # lib/ must not shadow anything the host already imports.
    if LIB not in sys.path:
        sys.path.append(LIB)

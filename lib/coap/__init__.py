# CoAP (RFC 7252, 7959, 7641) for updraft: one implementation for MicroPython and CPython.
# SPDX-License-Identifier: MIT

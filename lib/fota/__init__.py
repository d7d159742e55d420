# fota: firmware update: image checks, slots, boot control, the update state machine.
# SPDX-License-Identifier: MIT

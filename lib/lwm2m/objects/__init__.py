# LwM2M objects, one module per object (spec/lwm2m-fota.md 1).
# SPDX-License-Identifier: MIT

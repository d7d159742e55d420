# LwM2M client (OMA LwM2M 1.1): data model, operations, registration.
# SPDX-License-Identifier: MIT

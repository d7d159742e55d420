# The board we run on: picks the implementation once, by platform. Every board module
# offers the same small surface: name, unique_id(), state_dir(), reset(), mem_free(),
# network_info() (for /4 Connectivity Monitoring).
# SPDX-License-Identifier: MIT
import sys

if sys.platform == "esp32":
    from port.esp32 import *  # noqa: F401,F403
elif sys.platform in ("nrf", "nrf52", "nrf91"):
    from port.nrf import *  # noqa: F401,F403
else:
    from port.host import *  # noqa: F401,F403

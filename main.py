# main.py: runs after boot.py chose the application slot. Starts the device agent (the LwM2M
# client and firmware update); a trial image confirms itself once it has registered.
# SPDX-License-Identifier: MIT
import agent

agent.run()

# main.py: runs after boot.py chose the application slot. Starts the device agent (the LwM2M
# client and firmware update); a trial image confirms itself once it has registered.
# SPDX-License-Identifier: MIT
try:
    import agent

    agent.run()
except Exception as e:
    # The agent died (no heap at start-up, a bug): a board left in the REPL can never be
    # reached again, so reset after a pause (no tight loop). boot.py runs again, and a trial
    # image that keeps failing this way uses up its trials and is rolled back.
    print("main: agent stopped:", repr(e))
    import time
    from port import board

    time.sleep(5)
    board.reset()

# ESP32 board: thin wrappers over MicroPython's machine/network/esp32 modules. Imported only
# on the board (port.board picks it), so it may import board-only modules at the top.
# SPDX-License-Identifier: MIT
import gc
import machine

name = "esp32"


def state_dir():
    try:
        import os

        os.mkdir("/state")
    except OSError:
        pass
    return "/state"


def unique_id():
    return machine.unique_id()


def reset():
    machine.reset()


def mem_free():
    return gc.mem_free()


def network_info():
    import network

    sta = network.WLAN(network.STA_IF)
    ip = sta.ifconfig()[0] if sta.isconnected() else "0.0.0.0"
    try:
        rssi = sta.status("rssi")
    except (OSError, ValueError):
        rssi = 0
    return {"bearer": 21, "available": (21,), "rssi": rssi, "link_quality": 0,
            "ips": (ip,), "router_ips": (sta.ifconfig()[2],) if sta.isconnected() else ()}

# nRF-class boards: the place for their board module. MicroPython's nrf port has no
# networking of its own (an nRF91 modem is driven through AT commands), so only the
# board-neutral parts are filled in; network_info() reports nothing until a modem driver
# exists.
# SPDX-License-Identifier: MIT
import gc
import machine

name = "nrf"


def state_dir():
    return "/flash"


def unique_id():
    return machine.unique_id()


def reset():
    machine.reset()


def mem_free():
    return gc.mem_free()


def network_info():
    return {"bearer": 7, "available": (7,), "rssi": 0, "link_quality": 0, "ips": (), "router_ips": ()}

# Freeze updraft into a MicroPython firmware image (ESP32):
#   make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/updraft/firmware/manifest.py
# Frozen bytecode and constant tables (the curve tables) live in flash, not in the heap.
# boot.py and main.py stay on the filesystem; they are thin.
include("$(PORT_DIR)/boards/manifest.py")
package("port", base_path="../lib")
package("coap", base_path="../lib")
package("lwm2m", base_path="../lib")
package("fota", base_path="../lib")

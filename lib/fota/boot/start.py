# Power-on glue for boot.py: find the board's flash partitions and trusted keys, run the boot
# decision, mount the chosen application slot. Nothing here may raise out of boot.py.
# SPDX-License-Identifier: MIT
#
# Partitions (partitions.csv / port.flash.DEFAULT_TABLE): bootctl (two sectors of boot
# record), app_a and app_b. Trusted keys: the module written by `updraft keygen --trusted
# lib/trusted_keys.py` (imported by name, so a board can freeze it; the host board also finds
# it in its state dir). On the host the chip is <state dir>/flash.bin, persisted across
# simulated resets.
#
# The app slot's payload is a LittleFS image (fota.boot.appfs) mounted read-only at /app and
# put first on sys.path: on the boards and on the MicroPython unix port by vfs.VfsLfs2, on
# CPython (no vfs) by port.host.mount_app, which unpacks the verified image into <state
# dir>/app with littlefs-python, or mounts nothing when that package is missing.
import sys

from fota.boot import Boot
from fota.boot.record import RecordStore

KEYS_MODULE = "trusted_keys"
APP_MOUNT = "/app"
selected = None  # the Selection of this boot, for main.py
runtime = None  # ESP32: fota.boot.runtime.RuntimeBoot of this boot (None elsewhere)
mounted = None  # where the selected app is on sys.path (APP_MOUNT or the host copy), or None
mount_error = None  # what mounting the selected app raised, if it did
_boot = None


def partitions():
    # -> (bootctl, (app_a, app_b)) for this board
    if sys.platform == "esp32":
        from port.esp32_flash import find

        return find("bootctl"), (find("app_a"), find("app_b"))
    from port.board import state_dir
    from port.flash import Flash

    f = Flash(path=state_dir() + "/flash.bin")
    return f.partition("bootctl"), (f.partition("app_a"), f.partition("app_b"))


def trusted_keys(name=KEYS_MODULE):
    from fota.crypto.keys import from_module

    try:
        mod = __import__(name)
    except ImportError:
        if sys.platform == "esp32":
            raise
        from port.board import state_dir  # the host board keeps its provisioning there

        sys.path.append(state_dir())
        mod = __import__(name)
    return from_module(mod)


def make_boot(keys=None):
    bootctl, slots = partitions()
    return Boot(RecordStore(bootctl), slots, keys if keys is not None else trusted_keys())


def boot():
    # The Boot of this power-on (for confirm() and last_update_outcome() in the firmware).
    global _boot
    if _boot is None:
        _boot = make_boot()
    return _boot


def run(keys=None, mount=None):
    # The whole of boot.py's work; returns the Selection. mount: None mounts the selected app
    # where the runtime can (see the header), False never, True always tries. Raises on a
    # broken board setup (boot.py catches that and carries on from the filesystem); a slot
    # that verifies but does not mount is reported, not raised: the selection stands (a trial
    # that cannot run its app never confirms, and rolls back).
    global selected, mounted, mount_error, _boot
    if sys.platform == "esp32":
        try:
            runtime_power_on()
        except Exception as e:  # the runtime's own trial bookkeeping must not stop the app
            print("boot: runtime check failed: %r" % (e,))
    _boot = make_boot(keys)
    try:
        selected = _boot.power_on()
    except Exception as e:  # worst case: the confirmed slot, chosen without a record write
        print("boot: slot selection failed, running the confirmed slot: %r" % (e,))
        selected = _boot.fallback()
    _unload("fota.boot", "select", "table")
    mounted = mount_error = None
    if selected.verified and mount is not False:
        try:
            mounted = mount_app(selected, mount)
        except Exception as e:
            mount_error = e
            print("boot: app slot %d not mounted: %r" % (selected.slot, e))
    return selected


def _unload(package, *names):
    # The decision is made and recorded: its code is not needed again this power-on, so the
    # firmware that runs next gets its heap back (a later power_on() would load it again).
    pkg = sys.modules.get(package)
    for n in names:
        sys.modules.pop(package + "." + n, None)
        try:
            delattr(pkg, n)
        except AttributeError:
            pass


def confirm():
    # Commit this boot's trial; the firmware calls it after registering with its LwM2M
    # server. False (nothing written) when this boot runs no trial, or when the trial's app
    # failed to mount: a trial that never ran its app has proven nothing.
    if selected is None or not selected.trial or mount_error is not None:
        return False
    return boot().confirm()


def mount_app(sel, force=None):
    from fota.boot import appfs

    if appfs.can_mount():
        appfs.mount(sel.part, sel.info, APP_MOUNT)
        return APP_MOUNT
    if sys.platform in ("linux", "darwin", "win32"):  # CPython on the host
        from port.host import mount_app

        info = sel.info
        if info.img_size % appfs.BLOCK:
            raise ValueError("app image not a whole number of 4096-byte blocks")
        geometry = (appfs.BLOCK, appfs.READ_SIZE, appfs.PROG_SIZE, appfs.CACHE_SIZE,
                    appfs.LOOKAHEAD)
        return mount_app(sel.part, info.hdr_size, info.img_size, geometry, force)
    return None


def runtime_power_on(esp32=None, reset=None):
    # ESP32: trial bookkeeping of the MicroPython runtime (fota.boot.runtime) in partition
    # "rtctl"; a table without it leaves runtime rollback to the bootloader alone. May reset
    # the board (our own rollback when the bootloader has none).
    global runtime
    from fota.boot.runtime import RuntimeBoot
    from port.esp32_flash import find

    try:
        part = find("rtctl")
    except OSError:
        return None
    if esp32 is None:
        import esp32
    runtime = RuntimeBoot(RecordStore(part), esp32, reset)
    return runtime.power_on()

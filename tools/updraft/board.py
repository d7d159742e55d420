# A simulated board's factory provisioning (`updraft sim --keys --factory`, tests, the demo):
# the trusted-keys module in its state dir and a factory image in app_a of its flash.bin, as a
# board leaves the factory; and the signed test/demo app images (keygen, pack, sign).
# SPDX-License-Identifier: MIT
import os
import shutil

from updraft.keys import ROOT  # noqa: F401 (puts lib/ on sys.path: port.flash is the device's)

KEYS_FILE = "trusted_keys.py"  # fota.boot.start.KEYS_MODULE, found in the host board's state dir
FLASH_FILE = "flash.bin"
HEADER_SIZE = 0x1000  # packed app images: the filesystem starts on a sector after the header
SLOT_SIZE = 0x40000  # port.flash.DEFAULT_TABLE app_a / app_b


def install_keys(state, src):
    # src: a trusted-keys module (.py, `updraft keygen --trusted`) copied as it is, or a key
    # PEM whose public half becomes the module
    from updraft import keys

    os.makedirs(state, exist_ok=True)
    dst = os.path.join(state, KEYS_FILE)
    if src.endswith(".py"):
        shutil.copy(src, dst)
    else:
        if os.path.exists(dst):
            os.remove(dst)
        keys.add_trusted(dst, src)
    return dst


def flash_factory(state, image):
    # A fresh chip (boot record, journal and slots erased) with `image` in app_a: boot.py
    # finds no record and boots slot A as the confirmed one, as on a board out of the factory.
    from port.flash import SECTOR, Flash

    with open(image, "rb") as f:
        img = f.read()
    if len(img) > SLOT_SIZE:
        raise ValueError("%s: %d bytes do not fit app_a (%d)" % (image, len(img), SLOT_SIZE))
    path = os.path.join(state, FLASH_FILE)
    if os.path.exists(path):
        os.remove(path)
    flash = Flash(path=path)
    part = flash.partition("app_a")
    for s in range((len(img) + SECTOR - 1) // SECTOR):
        part.erase(s)
    part.write(0, img)
    return path


def provision(state, keys=None, factory=None):
    # Either or both; returns what was written, for the caller to say.
    done = []
    if keys:
        done.append(install_keys(state, keys))
    if factory:
        done.append(flash_factory(state, factory))
    return done


def make_app(src, version, files=None):
    # A tiny app directory: hello.py says its version (what test_boot_e2e imports)
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "hello.py"), "w") as f:
        f.write("V = %r\n" % version)
    for name, text in (files or {}).items():
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    return src


def make_key(d, name="key"):
    # -> (key PEM, trusted-keys module) in d
    from updraft import keys

    os.makedirs(d, exist_ok=True)
    pem = os.path.join(d, name + ".pem")
    module = os.path.join(d, name + "_trusted.py")
    keys.generate("ecdsa-p256", pem)
    keys.add_trusted(module, pem)
    return pem, module


def make_image(d, key, version, name=None, component="app", src=None):
    # pack + sign an app image of version (src: its directory, default a tiny one); -> path
    from updraft import pack, sign

    name = name or "v" + version
    src = src or make_app(os.path.join(d, name), version)
    raw = os.path.join(d, name + ".img")
    out = os.path.join(d, name + ".bin")
    pack.pack(src, raw)
    with open(os.devnull, "w") as quiet:
        sign.sign(key, raw, out, version, component=component, header_size=HEADER_SIZE, slot_size=SLOT_SIZE,
                  stream=quiet)
    return out

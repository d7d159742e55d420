# `updraft sign`: an MCUboot image (imgtool sign underneath) with updraft's conventions:
# header padded in front of the payload, security counter from the version, the component
# name in protected vendor TLV 0xa0 (see fota.const.TLV_COMPONENT), MCUboot dependency TLVs.
# The result is checked again with the device verifier (fota.image) before it is kept.
# SPDX-License-Identifier: MIT
import argparse
import contextlib
import io
import os
import re
import sys

from updraft.keys import ROOT, public_raw  # noqa: F401 (ROOT puts lib/ on sys.path)

COMPONENT_TLV = "0xa0"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,31}$")
_DEP = re.compile(r"^\s*\(\s*\d+\s*,\s*\d+(\.\d+){0,2}(\+\d+)?\s*\)\s*$")
_BIG = 1 << 20  # show progress from this size on


class Progress:
    # A plain percentage on stderr for long work (no tqdm on the host by design).
    def __init__(self, label, total, stream=None, force=False):
        self.label = label
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.on = force or total >= _BIG
        self.last = -1

    def update(self, done):
        pct = done * 100 // self.total
        if self.on and pct != self.last:
            self.last = pct
            self.stream.write("\r%s %3d%%" % (self.label, pct))
            if pct >= 100:
                self.stream.write("\n")
            self.stream.flush()


def _check_args(version, component, dependencies):
    if not re.match(r"^\d+(\.\d+){0,2}(\+\d+)?$", version):
        raise ValueError("version must look like 1.2.3 or 1.2.3+4: %r" % version)
    if component is not None and (not _NAME.match(component) or component.startswith("0x")):
        raise ValueError("component name: 1-32 of [A-Za-z0-9._:-], not starting 0x: %r" % component)
    for d in dependencies or ():
        if not _DEP.match(d):
            raise ValueError("dependency must look like (image_id,1.2.3): %r" % d)


def sign(key, infile, outfile, version, component=None, dependencies=(), slot_size=None,
         header_size=0x200, security_counter="auto", extra=(), check=True, stream=None):
    # Sign infile into outfile; returns the device-side ImageInfo of the result.
    # `extra`: further imgtool sign arguments (tests use it for --pure, --pad-sig, ...).
    _check_args(version, component, dependencies)
    from imgtool import main as imgmain

    size = os.path.getsize(infile)
    if slot_size is None:
        slot_size = header_size + size + 0x10000  # no bound: room for any TLV area
    argv = ["--header-size", str(header_size), "--pad-header", "-S", str(slot_size), "-v", version]
    if key is not None:  # None makes an unsigned image (tests only)
        argv += ["-k", key]
    if security_counter is not None:
        argv += ["-s", str(security_counter)]
    if component is not None:
        argv += ["--custom-tlv", COMPONENT_TLV, component]
    if dependencies:
        argv += ["-d", ",".join(d.strip() for d in dependencies)]
    argv += list(extra) + [infile, outfile]
    err = stream or sys.stderr
    if size >= _BIG:
        err.write("signing %s (%d bytes) with imgtool...\n" % (infile, size))
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            imgmain.sign.main(argv, prog_name="imgtool sign", standalone_mode=False)
    except Exception as e:
        raise ValueError("imgtool sign failed: %s %s" % (e, out.getvalue().strip()))
    if not check or key is None:
        return None
    return check_file(outfile, [public_raw(key)], slot_size, component, err)


def check_file(path, raw_keys, slot_size=None, component=None, stream=None):
    # Stream a signed file through fota.image.stream.Verifier (the device code) with progress.
    from fota.crypto.keys import load_key
    from fota.image.stream import Verifier

    v = Verifier([load_key(r) for r in raw_keys], slot_size, component)
    total = os.path.getsize(path)
    prog = Progress("verifying %s" % os.path.basename(path), total, stream)
    done = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                break
            v.feed(chunk)
            done += len(chunk)
            prog.update(done)
    return v.finish()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="updraft sign", description="Sign an updraft image "
                                 "(MCUboot format, imgtool underneath) and verify the result.")
    ap.add_argument("--key", "-k", required=True, help="private key PEM (updraft keygen)")
    ap.add_argument("--version", "-v", required=True, help="1.2.3 or 1.2.3+build")
    ap.add_argument("--component", "-c", help="component name, e.g. app, runtime, modem")
    ap.add_argument("--dependency", "-d", action="append", default=[],
                    help='"(image_id,1.2.3)": needs that image at >= that version; repeatable')
    ap.add_argument("--slot-size", "-S", type=lambda s: int(s, 0),
                    help="refuse images that would not fit a slot of this many bytes")
    ap.add_argument("--header-size", "-H", type=lambda s: int(s, 0), default=0x200)
    ap.add_argument("--security-counter", "-s", default="auto",
                    help="auto (from the version, default), a number, or none")
    ap.add_argument("infile")
    ap.add_argument("outfile")
    args = ap.parse_args(argv)
    sc = None if args.security_counter == "none" else args.security_counter
    try:
        info = sign(args.key, args.infile, args.outfile, args.version, args.component,
                    args.dependency, args.slot_size, args.header_size, sc)
    except Exception as e:
        print("updraft sign: %s" % e, file=sys.stderr)
        return 1
    print("%s: version %s, component %s, %d bytes, security counter %s, dependencies %s, "
          "sha256 %s" % (args.outfile, info.version_str(), info.component, info.total_size,
                         info.security_counter, info.dependencies or "none", info.digest.hex()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

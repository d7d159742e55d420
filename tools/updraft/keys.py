# `updraft keygen`: an image signing key (imgtool underneath) plus the device-side trusted
# key module that fota.crypto.keys.from_module() loads: raw public key, its KEYHASH
# (SHA-256 of the SubjectPublicKeyInfo) and the key's precomputed multiples, as literals
# so a board can freeze them into flash. Test keys only in tests/; keep real keys offline.
# SPDX-License-Identifier: MIT
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(ROOT, "lib") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "lib"))

TYPES = ("ecdsa-p256", "ed25519")
HEAD = (
    "# updraft trusted image keys, written by `updraft keygen`: do not edit by hand.\n"
    "# KEYS = ((raw public key, SHA-256 of its SPKI DER = MCUboot KEYHASH, tables), ...)\n"
    "# SPDX-License-Identifier: MIT\n"
)


def generate(kind, path):
    # New private key in PEM at `path` (imgtool's own key generation).
    from imgtool import main as imgmain

    if kind not in TYPES:
        raise ValueError("key type must be one of %s" % ", ".join(TYPES))
    imgmain.keygens[kind](path, None)
    os.chmod(path, 0o600)


def public_raw(pem_path):
    # Raw public key bytes of a PEM (private or public): 04||X||Y or the 32 Ed25519 bytes.
    from cryptography.hazmat.primitives import serialization
    from imgtool import keys as ikeys

    key = ikeys.load(pem_path)
    pub = key._get_public()
    if isinstance(key, (ikeys.ECDSA256P1, ikeys.ECDSA256P1Public)):
        return pub.public_bytes(serialization.Encoding.X962,
                                serialization.PublicFormat.UncompressedPoint)
    if isinstance(key, (ikeys.Ed25519, ikeys.Ed25519Public)):
        return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raise ValueError("%s: only ecdsa-p256 and ed25519 keys are supported" % pem_path)


def entry(raw):
    # (raw, keyhash, tables) exactly as the device code computes them.
    from fota.crypto.keys import load_key

    k = load_key(raw)
    return k.raw, k.keyhash, k.tables


def render(entries):
    # entries: list of (comment, raw, keyhash, tables)
    from updraft.gen_tables import bytes_literal, tables_literal

    out = [HEAD, "KEYS = (\n"]
    for comment, raw, kh, tables in entries:
        out.append("    # %s\n    (\n" % comment)
        for b in (raw, kh):
            out.append("        %s,\n" % bytes_literal(b, 8))
        out.append("        %s,\n    ),\n" % (tables_literal(tables, 8) if tables else "None"))
    out.append(")\n")
    return "".join(out)


def read_module(path):
    # Existing entries of a trusted-keys module, with their comments, in file order.
    if not os.path.exists(path):
        return []
    ns = {}
    with open(path) as f:
        text = f.read()
    exec(compile(text, path, "exec"), ns)
    comments = [ln.strip()[2:] for ln in text.splitlines() if ln.startswith("    # ")]
    return [(comments[i] if i < len(comments) else "key", *k) for i, k in enumerate(ns["KEYS"])]


def add_trusted(module_path, pem_path, comment=None, tables=True):
    # Add the public key of pem_path to the module (created if missing); returns keyhash.
    # tables=False leaves the key's multiples out (~2-3 KiB less flash; the board then
    # computes them when it loads the key: a few ms and the same RAM).
    raw = public_raw(pem_path)
    raw, kh, tabs = entry(raw)
    tables = tabs if tables else None
    entries = [e for e in read_module(module_path) if e[2] != kh]
    kind = "ecdsa-p256" if len(raw) == 65 else "ed25519"
    entries.append((comment or "%s %s" % (kind, os.path.basename(pem_path)), raw, kh, tables))
    tmp = module_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(render(entries))
    os.replace(tmp, module_path)
    return kh


def default_module(key_path):
    return os.path.splitext(key_path)[0] + "_trusted.py"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="updraft keygen", description=(
        "Generate an image signing key and add its public half to a device trusted-keys "
        "module (load it with fota.crypto.keys.from_module)."))
    ap.add_argument("--type", "-t", choices=TYPES, default="ecdsa-p256")
    ap.add_argument("-k", "--key", required=True, help="private key PEM to write")
    ap.add_argument("--trusted", help="trusted-keys module to create or extend "
                    "(default: KEY without .pem + _trusted.py)")
    ap.add_argument("--export-only", action="store_true",
                    help="do not generate: add the existing KEY to the trusted module")
    ap.add_argument("--force", action="store_true", help="overwrite an existing KEY")
    ap.add_argument("--no-tables", action="store_true",
                    help="leave the precomputed key multiples out of the trusted module")
    args = ap.parse_args(argv)
    if not args.export_only:
        if os.path.exists(args.key) and not args.force:
            ap.error("%s exists (use --force to replace it, --export-only to reuse it)" % args.key)
        generate(args.type, args.key)
        print("wrote %s (%s)" % (args.key, args.type))
    module = args.trusted or default_module(args.key)
    kh = add_trusted(module, args.key, tables=not args.no_tables)
    print("trusted key %s... added to %s" % (kh[:8].hex(), module))
    return 0


if __name__ == "__main__":
    sys.exit(main())

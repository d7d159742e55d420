# Trusted public keys for image checks: a key is its raw bytes (P-256 uncompressed point
# 04||X||Y, or Ed25519 32 bytes), the SHA-256 of its SubjectPublicKeyInfo (what MCUboot's
# KEYHASH TLV carries) and its precomputed multiples, kept for the life of the process.
# The device list is a module `KEYS = ((raw, keyhash, tables or None), ...)` written by
# `updraft keygen`; frozen into flash on a board, so the tables cost no RAM there.
# SPDX-License-Identifier: MIT
import hashlib

from port import const

# SPKI DER up to the key bits: P-256 then 04||X||Y (91 bytes), Ed25519 then the key (44 bytes)
_SPKI_P256 = const(b"\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00")
_SPKI_ED25519 = const(b"\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00")
# Key.kind: the MCUboot signature TLV a key checks (fota.const has them public)
_TLV_ECDSA_SIG = const(0x22)
_TLV_ED25519 = const(0x24)


class Key:
    def __init__(self, kind, raw, keyhash, tables):
        self.kind = kind  # _TLV_ECDSA_SIG or _TLV_ED25519
        self.raw = raw
        self.keyhash = keyhash
        self.tables = tables

    def verify(self, digest, sig):
        # True when sig (bytes of the signature TLV) signs the 32-byte image digest.
        # Malformed signatures are just invalid (False), never an exception.
        try:
            if self.kind == _TLV_ECDSA_SIG:
                from fota.crypto import der, p256

                r, s = der.ecdsa_sig(sig)
                return p256.verify(self.tables, int.from_bytes(digest, "big"), r, s)
            from fota.crypto import ed25519

            return ed25519.verify(self.tables, self.raw, digest, sig)
        except ValueError:
            return False

    def __repr__(self):
        return "<Key %s %s>" % (
            "p256" if self.kind == _TLV_ECDSA_SIG else "ed25519",
            self.keyhash[:4].hex(),
        )


def load_key(raw, keyhash=None, tables=None):
    # Key from raw bytes (or a full SPKI DER). `keyhash`, when given, must match; `tables`
    # are key_tables() output precomputed on the host, otherwise built here (a few ms).
    raw = bytes(raw)
    if len(raw) == 91 and raw[:26] == _SPKI_P256:
        raw = raw[26:]
    elif len(raw) == 44 and raw[:12] == _SPKI_ED25519:
        raw = raw[12:]
    if len(raw) == 65 and raw[0] == 4:
        from fota.crypto import p256

        kind = _TLV_ECDSA_SIG
        x = int.from_bytes(raw[1:33], "big")
        y = int.from_bytes(raw[33:], "big")
        if not p256.on_curve(x, y):
            raise ValueError("not a P-256 point")
        if tables is None:
            tables = p256.key_tables(x, y)
        elif len(tables) != 4 or len(tables[0]) != 512 or tables[0][:64] != raw[1:]:
            raise ValueError("tables do not match the key")
        h = hashlib.sha256(_SPKI_P256)
    elif len(raw) == 32:
        from fota.crypto import ed25519

        kind = _TLV_ED25519
        x, y = ed25519.decode(raw)
        if tables is None:
            tables = ed25519.key_tables(x, y)
        elif (len(tables) != 4 or len(tables[0]) != 768
              or tables[0][:32] != ((y + x) % ed25519.P).to_bytes(32, "big")):
            raise ValueError("tables do not match the key")
        h = hashlib.sha256(_SPKI_ED25519)
    else:
        raise ValueError("unknown key format")
    h.update(raw)
    kh = h.digest()
    if keyhash is not None and bytes(keyhash) != kh:
        raise ValueError("key hash does not match the key")
    return Key(kind, raw, kh, tables)


def from_module(mod):
    # Keys of a trusted-keys module (see the header); a bad entry raises ValueError.
    return [load_key(*k) for k in mod.KEYS]

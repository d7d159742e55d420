# Client configuration: the provisioning file (state_dir()/config.json, written by the
# simulator or at the factory) merged with what servers wrote to /1 (state_dir()/lwm2m.json,
# replaced atomically), and the /0 and /1 instances built from it.
# SPDX-License-Identifier: MIT
#
# config.json (read only; key order never matters, MicroPython dicts are unordered):
#   {"endpoint": NAME,
#    "servers": [{"uri": "coap://host:5683", "ssid": 1, "lifetime": 60, "binding": "U",
#                 optional: "pmin", "pmax", "disable_timeout", "storing", "retry_count",
#                 "retry_timer", "seq_delay", "seq_retry_count", "bootstrap": false,
#                 "mode": "nosec"|"psk"|"rpk"|"cert" or 0..3, "identity": text,
#                 "identity_hex", "key": hex, "server_key": hex}]}
#   The security fields may also sit in a "security" object inside the server entry. A
#   missing mode means psk for a coaps URI and nosec otherwise.
# lwm2m.json (ours): {"v": 1, "servers": {"<ssid>": {"base": {...}, "set": {...}}}}
#   "set" holds the values servers wrote; "base" the provisioned values they replaced.
#   When the provisioning of that server changes (the device was re-provisioned), "base"
#   no longer matches and the written values are dropped. Secrets are never stored here.
# Saving writes lwm2m.json.tmp, reads it back, then renames it over lwm2m.json, so a power
# cut leaves either the old or the new file, never a torn one. A tmp file is only ever
# used when lwm2m.json is missing (FAT's rename removes the target first); a corrupt
# lwm2m.json falls back to the provisioned values.
import json
import os

from port import board, const, log
from lwm2m.obj import LwError
from lwm2m.objects.security import Security, MODE_PSK, MODE_NOSEC
from lwm2m.objects.server import Server, KEYS, check

PROVISION = "config.json"
STORE = "lwm2m.json"
_V = const(1)
_MAX_PROVISION = const(16384)  # certificates in hex fit; anything larger is not a config
_MAX_STORE = const(4096)
_ENOENT = const(2)
_MODES = {"psk": 0, "rpk": 1, "cert": 2, "certificate": 2, "nosec": 3}


def load(state=None):
    # -> {"dir", "endpoint", "servers": [account]}; never raises for bad files (they are
    # logged and treated as absent). An account is a dict with "uri", "ssid", "bootstrap",
    # "mode", "identity", "server_key", "key" (bytes), the KEYS values of /1, and "base"
    # and "set" (bookkeeping for persistence). Do not log accounts: they hold keys.
    d = state or board.state_dir()
    prov = _read(d + "/" + PROVISION, _MAX_PROVISION)
    if not isinstance(prov, dict):
        log.warning("config:", PROVISION, "missing or unreadable; no servers")
        prov = {}
    ep = prov.get("endpoint")
    if not isinstance(ep, str) or not ep:
        ep = "updraft-" + board.unique_id().hex()
    servers = []
    entries = prov.get("servers")
    for i, s in enumerate(entries if isinstance(entries, list) else ()):
        try:
            servers.append(_account(s, i))
        except (LwError, ValueError, TypeError, KeyError) as e:
            log.warning("config: server entry", i, "ignored:", getattr(e, "why", None) or e)
    cfg = {"dir": d, "endpoint": ep, "servers": servers}
    _merge(cfg, _read_store(d))
    return cfg


def provisioned(state, key):
    # A device-wide setting of the provisioning file ("log", "tls", ...) that load() does not
    # keep, or None.
    prov = _read(state + "/" + PROVISION, _MAX_PROVISION)
    return prov.get(key) if isinstance(prov, dict) else None


def build(registry, cfg):
    # Create /0 and /1 (or reuse those already added) with one instance per account, and
    # make every /1 Write by a server persist. -> (security, server). An account the
    # objects refuse is logged and skipped.
    sec = registry.objects.get(0) or registry.add(Security())
    srv = registry.objects.get(1) or registry.add(Server())
    for acc in cfg["servers"]:
        siid = _free(sec)
        try:
            sec.add(siid, acc["uri"], acc["ssid"], acc["bootstrap"], acc["mode"],
                    acc["identity"], acc["server_key"], acc["key"])
            if not acc["bootstrap"]:
                srv.add(_free(srv), acc["ssid"], acc)
        except LwError as e:
            sec.data.pop(siid, None)
            log.warning("config: account", acc["ssid"], "refused:", e.why)

    def persist(iid, key, value):
        save_value(cfg, srv.ssid(iid), key, value)

    srv.persist = persist
    return sec, srv


def save_value(cfg, ssid, key, value):
    # Record a server-written /1 value and save atomically. Raises OSError when the file
    # cannot be written; cfg is then unchanged.
    acc = _find(cfg, ssid)
    if acc is None:
        return
    written = acc["set"]
    had = key in written
    old = written.get(key)
    written[key] = value
    try:
        save(cfg)
    except OSError:
        if had:
            written[key] = old
        else:
            del written[key]
        raise
    acc[key] = value


def save(cfg):
    servers = {}
    for acc in cfg["servers"]:
        if acc["set"] and not acc["bootstrap"]:
            servers[str(acc["ssid"])] = {"base": acc["base"], "set": acc["set"]}
    data = json.dumps({"v": _V, "servers": servers}).encode()
    _write_atomic(cfg["dir"] + "/" + STORE, data)


def wipe(state=None):
    # Factory reset: forget what servers wrote; provisioning stays. Raises OSError only
    # when a file exists and cannot be removed.
    d = state or board.state_dir()
    for name in (STORE + ".tmp", STORE):
        try:
            os.remove(d + "/" + name)
        except OSError as e:
            if e.args[0] != _ENOENT:
                raise


# -- provisioning ---------------------------------------------------------------------------
def _account(s, i):
    # One provisioning entry -> account dict; raises on what cannot make an account.
    if not isinstance(s, dict):
        raise ValueError("not an object")
    sec = s.get("security")
    if not isinstance(sec, dict):
        sec = s
    uri = s.get("uri")
    if not isinstance(uri, str) or "://" not in uri:
        raise ValueError("bad uri")
    bootstrap = s.get("bootstrap") is True
    ssid = s.get("ssid", None if bootstrap else i + 1)
    if ssid is not None and (not isinstance(ssid, int) or isinstance(ssid, bool)
                             or not 1 <= ssid <= 65534):
        raise ValueError("bad ssid")
    mode = sec.get("mode")
    if mode is None:
        mode = MODE_PSK if uri.startswith("coaps") else MODE_NOSEC
    elif isinstance(mode, str):
        mode = _MODES[mode.lower()]  # KeyError: unknown name
    identity = sec.get("identity")
    identity = identity.encode() if isinstance(identity, str) else _hex(sec, "identity_hex")
    acc = {"uri": uri, "ssid": ssid, "bootstrap": bootstrap, "mode": mode,
           "identity": identity, "server_key": _hex(sec, "server_key"),
           "key": _hex(sec, "key"), "set": {}}
    base = {"uri": uri}
    for rid, key in KEYS:
        if key in s:
            try:
                acc[key] = base[key] = check(rid, s[key])
            except LwError:
                log.warning("config: server", ssid, key, "invalid; default used")
    acc["base"] = base
    return acc


def _hex(d, key):
    v = d.get(key)
    if v is None:
        return b""
    return bytes.fromhex(v)  # ValueError / TypeError: the entry is refused


def _find(cfg, ssid):
    for acc in cfg["servers"]:
        if acc["ssid"] == ssid and not acc["bootstrap"]:
            return acc
    return None


def _free(obj):
    iid = 0
    while iid in obj.data:
        iid += 1
    return iid


# -- the store file -------------------------------------------------------------------------
def _merge(cfg, stored):
    for acc in cfg["servers"]:
        ent = stored.get(str(acc["ssid"]))
        if acc["bootstrap"] or not isinstance(ent, dict):
            continue
        written = ent.get("set")
        if not isinstance(written, dict):
            log.warning("config: stored values of server", acc["ssid"], "not understood")
            continue
        if ent.get("base") != acc["base"]:
            log.info("config: server", acc["ssid"], "re-provisioned; written values dropped")
            continue
        for rid, key in KEYS:
            if key in written:
                try:
                    acc[key] = acc["set"][key] = check(rid, written[key])
                except LwError:
                    log.warning("config: stored", key, "invalid; ignored")


def _read_store(d):
    main = d + "/" + STORE
    doc = _read(main, _MAX_STORE)
    if doc is None and not _exists(main):
        doc = _read(main + ".tmp", _MAX_STORE)  # a save cut between remove and rename
    if doc is None:
        if _exists(main):
            log.warning("config:", STORE, "corrupt; provisioned values used")
        return {}
    if not isinstance(doc, dict) or doc.get("v") != _V or not isinstance(doc.get("servers"), dict):
        log.warning("config:", STORE, "not understood; provisioned values used")
        return {}
    return doc["servers"]


def _read(path, limit):
    # -> parsed JSON, or None when the file is missing, too large or not JSON
    # Size first: read(limit) would allocate the whole limit on MicroPython.
    try:
        if os.stat(path)[6] > limit:
            return None
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        return json.loads(data.decode())
    except (ValueError, TypeError):  # UnicodeError is a ValueError on both runtimes
        return None


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        n = f.write(data)
        if n is not None and n != len(data):
            raise OSError(28)  # ENOSPC: short write
        try:
            f.flush()
            os.fsync(f.fileno())  # CPython; MicroPython has no fsync (close flushes)
        except (AttributeError, OSError):
            pass
    # Read back before the rename: what replaces the good file must be the whole new one.
    with open(tmp, "rb") as f:
        if f.read() != data:
            raise OSError(5)  # EIO
    os.rename(tmp, path)

# STYLE.md 7.2 as a test: device packages import only downward. boot.py and the boot-safe
# group (image, slots, boot, journal, crypto) must never pull in network code.
import ast
import os
import sys

from conftest import ROOT

LIB = os.path.join(ROOT, "lib")
BOOT_SAFE = ("port", "fota.image", "fota.slots", "fota.boot", "fota.journal", "fota.crypto")
# (module prefix, allowed import prefixes); the longest matching prefix wins.
RULES = (
    ("port", ("port",)),
    ("port.host", ("port", "littlefs", "shutil")),  # CPython's app mount (host only)
    ("coap", ("port", "coap")),
    ("lwm2m", ("port", "coap", "lwm2m")),
    ("lwm2m.objects.firmware", ("port", "coap", "lwm2m", "fota.update", "fota.FotaError")),
    ("lwm2m.objects.advanced_firmware", ("port", "coap", "lwm2m", "fota.update", "fota.FotaError")),
    ("fota", BOOT_SAFE + ("fota.FotaError",)),
    ("fota.update", BOOT_SAFE + ("fota.FotaError", "fota.download", "fota.push")),
    ("fota.push", BOOT_SAFE + ("fota.FotaError", "coap")),
    ("fota.download", ("port", "fota.FotaError", "fota.download", "fota.journal", "coap.uri")),
    ("fota.download.coap", ("port", "fota.FotaError", "fota.download", "coap")),
    ("boot", ("port", "fota.boot")),
    # the device agent (lib/agent.py): wires the LwM2M client, FOTA and boot confirmation
    ("agent", ("port", "coap", "lwm2m", "fota", "agent")),
)
STDLIB = {
    "traceback",
    "sys", "os", "gc", "time", "struct", "select", "socket", "errno", "hashlib", "binascii",
    "micropython", "machine", "esp32", "network", "random", "json", "io", "collections",
    "array", "math", "ssl", "tls", "vfs", "deflate", "re", "asyncio", "cryptolib",
}


def _modules():
    for dirpath, _, files in os.walk(LIB):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, LIB)[:-3].replace(os.sep, ".")
                if rel.endswith(".__init__"):
                    rel = rel[: -len(".__init__")]
                yield rel, path
    yield "boot", os.path.join(ROOT, "boot.py")


def _imports(path):
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError("%s: relative imports do not freeze well" % path)
            # "pkg.name" for `from pkg import name`: a rule may allow fota.FotaError alone
            for a in node.names:
                yield node.module + "." + a.name


def _under(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


def violations():
    bad = []
    for mod, path in _modules():
        if not os.path.exists(path):
            continue
        rules = [r for r in RULES if _under(mod, r[0])]
        if not rules:
            bad.append("%s: no layering rule covers it" % mod)
            continue
        allowed = max(rules, key=lambda r: len(r[0]))[1]
        for imp in _imports(path):
            if imp.split(".")[0] in STDLIB:
                continue
            if not any(_under(imp, a) for a in allowed):
                bad.append("%s imports %s" % (mod, imp))
    return bad


def test_lib_imports_only_downward():
    bad = violations()
    assert not bad, "\n".join(bad)


def test_rule_catches_upward_import(tmp_path, monkeypatch):
    # The checker itself must be able to fail: a port module importing coap is flagged.
    fake = tmp_path / "port"
    fake.mkdir()
    (fake / "x.py").write_text("import coap.message\n")
    monkeypatch.setattr(sys.modules[__name__], "LIB", str(tmp_path))
    assert any("port.x imports coap.message" in v for v in violations())

# `make test`: every part of the suite, one closing line "N passed, M failed".
#  (a) pytest on CPython (tests/unit + tests/host)
#  (b) tests/unit on the real MicroPython unix port (tests/run_unix.py)
#  (c) mpy-cross over every device file
# (the import-layering check is a pytest test in tests/host/test_layering.py)
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def device_files():
    out = [f for f in ("boot.py", "main.py") if os.path.exists(os.path.join(ROOT, f))]
    for dirpath, _, files in os.walk(os.path.join(ROOT, "lib")):
        out += [os.path.relpath(os.path.join(dirpath, f), ROOT) for f in files if f.endswith(".py")]
    return sorted(out)


def run_pytest(extra):
    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, "junit.xml")
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "--junitxml", xml] + extra, cwd=ROOT)
        if not os.path.exists(xml):
            return 0, 1
        suite = ET.parse(xml).getroot()
        suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
        total, fail = int(suite.get("tests")), int(suite.get("failures")) + int(suite.get("errors"))
        skipped = int(suite.get("skipped"))
        passed = total - fail - skipped
        if rc not in (0, 1) and not fail:
            fail = 1  # pytest itself broke (usage error, no tests: exit 5)
        return passed, fail


def run_unix(extra):
    # a roomier heap than the 2 MB default: the unit tests hold whole simulated chips and
    # test vectors in one long process (the heap budgets of the device are measured by
    # `make bench` and tests/host/test_fota_heap.py, not here)
    proc = subprocess.run([os.path.join(BIN, "micropython"), "-X", "heapsize=16m", "tests/run_unix.py"] + extra,
                          cwd=ROOT, capture_output=True, text=True)
    sys.stdout.write(proc.stdout + proc.stderr)
    m = re.search(r"unix: (\d+) passed, (\d+) failed", proc.stdout)
    if not m:
        return 0, 1
    passed, failed = int(m.group(1)), int(m.group(2))
    if proc.returncode and not failed:
        failed = 1
    return passed, failed


def run_mpy_cross():
    passed = failed = 0
    for f in device_files():
        proc = subprocess.run([os.path.join(BIN, "mpy-cross"), "-o", os.devnull, f],
                              cwd=ROOT, capture_output=True, text=True)
        if proc.returncode:
            failed += 1
            print("mpy-cross FAIL", f, proc.stderr.strip())
        else:
            passed += 1
    print("mpy-cross: %d passed, %d failed" % (passed, failed))
    return passed, failed


def main():
    extra = sys.argv[1:]
    parts = [
        ("pytest (CPython)", run_pytest(extra)),
        ("MicroPython unix port", run_unix([])),
        ("mpy-cross", run_mpy_cross()),
    ]
    print()
    for name, (p, f) in parts:
        print("  %-24s %4d passed, %d failed" % (name, p, f))
    passed = sum(p for _, (p, _f) in parts)
    failed = sum(f for _, (_p, f) in parts)
    if any(p == 0 for _, (p, _f) in parts):
        failed += 1  # a part that ran nothing is a failure
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

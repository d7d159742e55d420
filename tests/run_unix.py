# Runs tests/unit/test_*.py on the MicroPython unix port: import each module, call every
# test_* function, count. Usage (from the repo root): micropython tests/run_unix.py [substr...]
# Prints "unix: N passed, M failed"; exits 1 on any failure or when nothing ran.
import gc
import os
import sys

sys.path.insert(0, "tests/unit")
sys.path.insert(0, "lib")

wanted = sys.argv[1:]
mods = sorted(
    n[:-3] for n in os.listdir("tests/unit") if n.startswith("test_") and n.endswith(".py")
)
passed = failed = 0
for name in mods:
    try:
        mod = __import__(name)
    except Exception as e:
        failed += 1
        print("FAIL", name, "(import)")
        sys.print_exception(e)
        continue
    for attr in sorted(dir(mod)):
        if not attr.startswith("test_"):
            continue
        full = name + "." + attr
        if wanted and not any(w in full for w in wanted):
            continue
        fn = getattr(mod, attr)
        if not callable(fn):
            continue
        gc.collect()  # one long process runs every test: keep fragmentation from piling up
        try:
            fn()
            passed += 1
        except Exception as e:
            failed += 1
            print("FAIL", full)
            sys.print_exception(e)
print("unix: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or not passed else 0)

"""run: runs every test_* function of every test_*.py file here, in file order, and prints one
line per test and a closing 'N passed, N failed' line. Exit status 1 when any failed.
Pass names as arguments to run only tests whose name contains one of them."""
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    wanted = sys.argv[1:]
    passed = failed = 0
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = importlib.import_module(fname[:-3])
        tests = [(n, f) for n, f in vars(mod).items() if n.startswith("test_") and callable(f)]
        tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
        for name, fn in tests:
            full = "%s.%s" % (fname[:-3], name)
            if wanted and not any(w in full for w in wanted):
                continue
            t0 = time.monotonic()
            try:
                fn()
            except Exception:  # a failing test must not stop the others
                failed += 1
                print("FAIL %s (%.1fs)" % (full, time.monotonic() - t0))
                traceback.print_exc()
            else:
                passed += 1
                print("PASS %s (%.1fs)" % (full, time.monotonic() - t0))
            sys.stdout.flush()
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())

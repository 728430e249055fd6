"""run: runs every test_* function of every test_*.py file here, in file order, and prints one
line per test and a closing 'N passed, N failed' line. Exit status 1 when any failed.
Pass names as arguments to run only tests whose name contains one of them.
After each file that ran a test, `jangteoctl ledger-check` checks the stack's books: a
violation fails that file (one more failure, named <file>.ledger_check, report printed)."""
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def ledger_check(module):
    """Runs jangteoctl ledger-check against the stack; prints and returns 1 on a violation."""
    from jt import ctl
    t0 = time.monotonic()
    rc, out = ctl("ledger-check")
    if rc == 0:
        return 0
    print("FAIL %s.ledger_check (%.1fs): jangteoctl ledger-check exited %d:\n%s"
          % (module, time.monotonic() - t0, rc, out.rstrip("\n")))
    return 1


def main():
    wanted = sys.argv[1:]
    passed = failed = 0
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = importlib.import_module(fname[:-3])
        tests = [(n, f) for n, f in vars(mod).items() if n.startswith("test_") and callable(f)]
        tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
        ran = False
        for name, fn in tests:
            full = "%s.%s" % (fname[:-3], name)
            if wanted and not any(w in full for w in wanted):
                continue
            ran = True
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
        if ran:
            failed += ledger_check(fname[:-3])
            sys.stdout.flush()
    print("integration: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())

"""A TAP writer: one line per test, diagnostics as '#' lines.

The host runner numbers the lines and adds the plan, so this writes
'ok - name' / 'not ok - name' / 'ok - name # SKIP reason'."""

import time
import traceback

from iommuvm import Unavailable


class Skip(Exception):
    """Raised by a test that cannot run here; the reason is printed."""


class Tap:
    def __init__(self, path, prefix):
        self.f = open(path, "w", buffering=1)
        self.prefix = prefix
        self.passed = self.failed = self.skipped = 0
        self.planned, self.ran = None, 0

    def _emit(self, line):
        self.f.write(line + "\n")
        print(line, flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            self._emit("# " + line)

    def plan(self, n):
        """The Python tests about to run (the C runner declares its own)."""
        self.planned = (self.planned or 0) + n
        self.diag(f"plan: {n} Python tests")

    def run(self, name, fn, *args):
        self.ran += 1
        full = f"{self.prefix}: {name}"
        start = time.monotonic()
        try:
            figures = fn(*args)
        # What a VM helper finds missing in this boot is a SKIP too
        except (Skip, Unavailable) as e:
            self.skipped += 1
            self._emit(f"ok - {full} # SKIP {e}")
            return
        except Exception as e:  # a failed assertion or a broken setup
            self.failed += 1
            self._emit(f"not ok - {full}")
            self.diag(f"{type(e).__name__}: {e}")
            tb = traceback.extract_tb(e.__traceback__)[-3:]
            self.diag("".join(traceback.format_list(tb)).rstrip())
            return
        self.passed += 1
        self._emit(f"ok - {full}")
        self.diag(f"  {name}: {time.monotonic() - start:.1f}s")
        if isinstance(figures, str):    # what a test measured, for the note
            self.diag(f"  {figures}")

    def result(self, name, ok, skip=None, diag=None):
        """Record a result obtained elsewhere (e.g. a C runner's TAP)."""
        full = f"{self.prefix}: {name}"
        if skip is not None:
            self.skipped += 1
            self._emit(f"ok - {full} # SKIP {skip}")
        elif ok:
            self.passed += 1
            self._emit(f"ok - {full}")
        else:
            self.failed += 1
            self._emit(f"not ok - {full}")
        if diag and (not ok or skip):
            self.diag(diag)

    def done(self):
        if self.planned is not None and self.ran != self.planned:
            self.result(f"the Python suite ran all {self.planned} tests of its plan", False,
                        diag=f"{self.ran} ran")
        self._emit(f"# suite done: {self.passed} passed, {self.failed} failed, "
                   f"{self.skipped} skipped")
        self.f.close()


def check(cond, msg):
    """assert that survives python -O and says what was expected."""
    if not cond:
        raise AssertionError(msg)

"""The attach policy suite: runs the C test runner (selftests/vm/policy,
kselftest-harness style, libbpf skeletons) and folds its TAP into ours, one
line per test, its diagnostics kept."""

import os
import re
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(TOP, "build", "policy-tests", "policy_test")
RESULT = re.compile(r"^(ok|not ok) \d+ (\S+)(?: # SKIP (.*))?$")


def run(tap, only=None):
    if not os.path.exists(RUNNER):
        tap.result("policy runner built", False, diag=f"{RUNNER} missing: run 'make tools'")
        return
    args = [RUNNER] + (["-t", only] if only else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    seen = 0
    for line in proc.stdout:
        line = line.rstrip("\n")
        m = RESULT.match(line)
        if m:
            seen += 1
            tap.result(m.group(2), m.group(1) == "ok", skip=m.group(3))
        elif line.startswith("#") and not line.startswith("# RUN"):
            tap.diag(line[1:].strip())
    rc = proc.wait()
    # A runner that crashed or printed nothing must not pass silently.
    tap.result("policy runner exited cleanly", rc in (0, 1) and seen > 0,
               diag=f"exit status {rc}, {seen} results")

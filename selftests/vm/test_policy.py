"""The attach policy suite: runs the C test runner (selftests/vm/policy,
kselftest-harness style, libbpf skeletons) and folds its TAP into ours, one
line per test, its diagnostics kept."""

import os
import re
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join(TOP, "build", "policy-tests", "policy_test")
RESULT = re.compile(r"^(ok|not ok) \d+ (\S+)(?: # SKIP (.*))?$")
PLAN = re.compile(r"^1\.\.(\d+)$")


def run(tap, only=None, exclude=None):
    if not os.path.exists(RUNNER):
        tap.result("policy runner built", False, diag=f"{RUNNER} missing: run 'make tools'")
        return
    args = [RUNNER] + (["-t", only] if only else []) + (["-x", exclude] if exclude else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    seen = failed = 0
    plan = None
    # The runner prints a test's diagnostics while it runs, before its
    # result; TAP wants them after the line they explain.
    held = []
    for line in proc.stdout:
        line = line.rstrip("\n")
        m = RESULT.match(line)
        p = PLAN.match(line)
        if m:
            seen += 1
            failed += m.group(1) != "ok"
            tap.result(m.group(2), m.group(1) == "ok", skip=m.group(3))
            for d in held:
                tap.diag(d)
            held = []
        elif p and plan is None:
            plan = int(p.group(1))
        elif line.startswith("# RUN"):
            for d in held:      # what came before the first test
                tap.diag(d)
            held = []
        elif line.startswith("#"):
            held.append(line[1:].strip())
        elif line:
            held.append(line)   # the runner's stderr: a -t that names no test
    for d in held:
        tap.diag(d)
    rc = proc.wait()
    # The runner declares its plan before it runs anything: a crash, a
    # hang cut short or a test that never reported is short of it.
    tap.result("policy runner ran its whole plan", plan is not None and seen == plan and
               plan > 0, diag=f"plan {plan}, {seen} results")
    tap.result("policy runner's exit status agrees with its results",
               rc == (1 if failed else 0), diag=f"exit status {rc}, {failed} failed")

#!/usr/bin/python3
"""Entry point of the VM test suite: runs inside virtme-ng, as root, on the
patched kernel.  Writes TAP to <out>/results.tap (and stdout).

    main.py --profile PROFILE --out DIR [--golden-out DIR] [-k NAME]
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The tests' own helpers (iommutest) beside, the VM library (iommuvm) in vmlib/
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "vmlib")]

from iommuvm import realdev  # noqa: E402
from iommutest.tap import Tap  # noqa: E402
import test_iommuctl  # noqa: E402
import test_iommuctl_intervals  # noqa: E402
import test_iommuctl_observe  # noqa: E402
import test_iommuctl_policy  # noqa: E402
import test_policy  # noqa: E402
import test_policy_deploy  # noqa: E402
import test_policy_stress  # noqa: E402
import test_rmrr  # noqa: E402
import test_tracepoints  # noqa: E402


# Boots that make the kernel's own DMA choice strict or lock the kernel
# down from the command line, and the attach policy tests written for them.
CMDLINE_PROFILES = {
    "policy-cm-lockdown": "cmdline_forced_strict,optin_is_what_the_boot_asked",
    "policy-strict": "cmdline_strict_,optin_is_what_the_boot_asked",
    "policy-strict-noopt": "cmdline_strict_,optin_is_what_the_boot_asked",
    "policy-strict-conf": "cmdline_strict_,optin_is_what_the_boot_asked",
}


# Without iommu_policy.allow_loosen, only what the opt-in decides: the tests
# whose outcome depends on it (each checks both ways); 'policy' runs the rest.
NOOPT_TESTS = ("rmrr_", "iommuctl_policy_show_matches_sysfs",
               "iommuctl_policy_replace_swaps_rules", "iommuctl_policy_rules_conditions",
               "iommuctl_policy_rules_check_warns_clamped")
NOOPT_POLICY_TESTS = ",".join([
    "optin_is_what_the_boot_asked", "needs_optin", "dma_mode_each_verdict",
    "dma_mode_driver_constraints_win",
    "dma_mode_strictest_wins_in_group", "resv_direct_each_verdict",
    "replace_through_link_update", "every_decision_is_traced", "pci_policy_applies",
    "rmrr_user_claim", "failed_replacement_keeps_exit_record",
])

KMEMLEAK = "/sys/kernel/debug/kmemleak"

# The runner's tests the checkers have something to find in: the life cycle,
# each hook, the fail-safe and its races, the fault walks and real PCI.  Not
# the permission tests: they run on the main kernel, user namespaces too.
DEBUG_POLICY_TESTS = ",".join([
    "attach_detach_state", "dev_trust_holds_for_the_whole_group",
    "dma_mode_strictest_wins_in_group", "pasid_attach_each_verdict", "dma_owner_each_verdict",
    "invalid_verdict_detaches_policy", "init_error_refuses_attach", "replace_through_link_update",
    "every_decision_is_traced", "slow_decision_detaches_policy", "name_readers",
    "failed_allocations", "detach_while_deciding", "pci_policy_applies",
    "rmrr_user_claim", "late_error_of_replaced_policy", "error_detach_spares",
    "failed_replacement_keeps_exit_record",
])


def kmemleak(cmd):
    with open(KMEMLEAK, "w") as f:
        f.write(cmd)


def debug_suite(tap, only):
    """The debug kernel (lockdep, KASAN, UBSAN, kmemleak): the RMRR checks,
    the stress test and the attach policy suite,
    then kmemleak's findings.  The console check of run-vm.sh fails the run
    on any other report.  Not the deployment tests: verifying the table
    policy takes about 6 minutes on this kernel under TCG, and they test
    iommuctl, not the kernel paths the C suite already drives."""
    if not os.path.exists(KMEMLEAK):
        os.system("mount -t debugfs none /sys/kernel/debug")
    # The kernel has no automatic scans (kernel/config/debug/70-debug.config)
    # What boot leaked before the tests is not theirs
    kmemleak("scan")
    kmemleak("clear")
    suite = (test_rmrr.tests("policy") + test_tracepoints.tests("debug") +
             test_policy_stress.tests("debug"))
    suite = [(n, fn) for n, fn in suite if not only or only in n]
    tap.plan(len(suite))
    for name, fn in suite:
        tap.run(name, fn)
    # The runner's tests of the life cycle, the fail-safe and its races,
    # the fault walks, one of each hook and real PCI: the whole runner
    # takes about 30 minutes on this kernel under TCG.  Not lockdown: it
    # locks the kernel down for good, debugfs with it, and kmemleak must
    # be read afterwards.
    test_policy.run(tap, only or DEBUG_POLICY_TESTS)
    kmemleak("scan")
    kmemleak("scan")    # objects must be unreferenced for two scans
    with open(KMEMLEAK) as f:
        leaks = f.read()
    tap.result("kmemleak finds nothing unreferenced after the suite",
               "unreferenced object" not in leaks, diag=leaks[:3000])
    tap.done()
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", required=True,
                    choices=["intel", "virtio", "mock", "stock", "stock-6.12", "stock-newest",
                             "policy", "policy-noopt",
                             "debug", *CMDLINE_PROFILES])
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", help="the name results are reported under (intel-7.2 for "
                    "the intel profile on 7.2); default: the profile")
    ap.add_argument("--golden-out", help="write event formats here and exit")
    ap.add_argument("-k", dest="only", help="run tests whose name has this")
    ap.add_argument("--only-python", action="store_true",
                    help="skip the C attach policy suite")
    args = ap.parse_args()

    if args.golden_out:
        test_tracepoints.write_formats(args.golden_out)
        return 0

    tap = Tap(os.path.join(args.out, "results.tap"), args.name or args.profile)
    tap.diag(f"kernel {os.uname().release}, profile {args.profile}")
    if args.profile in CMDLINE_PROFILES:
        # Only the attach policy tests written for this boot; each checks
        # what the command line asked for.
        test_policy.run(tap, args.only or CMDLINE_PROFILES[args.profile])
        tap.done()
        return 0
    if args.profile == "debug":
        return debug_suite(tap, args.only)
    realdev.guest_modules()
    if args.profile.startswith("policy"):
        # Two edu devices, one with a firmware 1:1 map (selftests/vm/acpi):
        # the tracepoint and iommuctl tests assume one plain edu.
        suite = (test_rmrr.tests(args.profile) + test_iommuctl_policy.tests(args.profile) +
                 test_policy_deploy.tests(args.profile) +
                 test_policy_stress.tests(args.profile))
    else:
        # top and metrics on 'intel' only (the same BPF code under either IOMMU)
        suite = (test_iommuctl.first_tests(args.profile) + test_tracepoints.tests(args.profile) +
                 test_iommuctl.tests(args.profile) + test_iommuctl_observe.tests(args.profile) +
                 test_iommuctl_intervals.tests(args.profile))
    only, runner_only = args.only, args.only
    if args.profile == "policy-noopt" and not args.only:
        # Each prefix must still name a test: a renamed one must not drop out
        for prefix in NOOPT_TESTS:
            if not any(n.startswith(prefix) for n, _ in suite):
                tap.result(f"policy-noopt's test list names only tests that exist: {prefix}",
                           False)
        suite = [(n, fn) for n, fn in suite if n.startswith(NOOPT_TESTS)]
        runner_only = NOOPT_POLICY_TESTS
        only = None
    if only:
        suite = [(n, fn) for n, fn in suite if only in n]
        if not suite:
            tap.result(f"-k {only} selects a test", False)
    # The plan first, as the C runner declares its own: a suite that dies
    # midway is short of it (Tap.done checks)
    tap.plan(len(suite))
    for name, fn in suite:
        tap.run(name, fn)
    if args.profile.startswith("policy") and not args.only_python:
        # The attach policy suite (C, libbpf skeletons); its lockdown test
        # runs last, so nothing may follow it in this boot.
        # Not the cmdline_ tests: they need a boot of their own
        # (CMDLINE_PROFILES) and could only skip here
        test_policy.run(tap, runner_only, exclude="cmdline_")
    tap.done()
    return 0


if __name__ == "__main__":
    sys.exit(main())

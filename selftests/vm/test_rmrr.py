"""The 'policy' profiles' firmware 1:1 map, on the kernel as it is: a DMAR
override (selftests/vm/acpi/) adds an RMRR for the first of two edu devices.
The kernel must take the override without a firmware-bug complaint, report
the range as a 'direct' reserved region of that edu's group only, and
refuse to let user space claim that edu (VFIO cdev + iommufd) while it
lets it claim the other.  Policy tests build on exactly this setup."""

import errno

from iommuvm import kmsg, pci
from iommutest import rmrr
from iommutest.tap import check

FW_MSG = "Firmware has requested this device have a 1:1 IOMMU mapping"


def test_dmar_override_taken(_profile):
    log = kmsg.lines()
    base, end, _ = rmrr.from_dsl()
    check(any("Table Upgrade: override [DMAR-BOCHS -BXPC    ]" in m for m in log),
          "no 'Table Upgrade: override [DMAR-...]': is the cpio the initrd?")
    check(any(f"RMRR base: {base:#016x} end: {end:#016x}" in m for m in log),
          f"DMAR did not parse the RMRR [{base:#x}-{end:#x}]")
    # memmap= made the range E820-reserved, so no FW_BUG "No firmware
    # reserved region can cover this RMRR" (nor any other firmware bug).
    bugs = [m for m in log if "[Firmware Bug]" in m]
    check(not bugs, f"firmware bug lines: {bugs}")
    with open("/proc/iomem") as f:
        check(f"{base:08x}-{end:08x} : Reserved" in f.read(),
              f"[{base:#x}-{end:#x}] is not E820-reserved in /proc/iomem")


def test_direct_region_on_first_edu_only(_profile):
    base, end, bdf = rmrr.from_dsl()
    direct, others = rmrr.edus()
    check(direct == bdf, f"the edu with a direct region is {direct}, the RMRR names {bdf}")
    check(rmrr.direct_regions(direct) == [(base, end)],
          f"{direct} group's direct regions {rmrr.direct_regions(direct)}, "
          f"wanted [({base:#x}, {end:#x})]")
    check(len(others) == 1 and not any(t.startswith("direct") for o in others
                                       for _, _, t in rmrr.reserved_regions(o)),
          f"the other edu(s) {others}: {[rmrr.reserved_regions(o) for o in others]}")


def test_claim_refused_on_rmrr_edu(_profile):
    bdf, _ = rmrr.edus()
    before = pci.driver(bdf)
    with kmsg.Since() as k:
        err = rmrr.try_claim(bdf)
        log = k.lines()
    check(err == errno.EINVAL,
          f"claiming {bdf} gave {errno.errorcode.get(err, err)}, wanted EINVAL")
    check(any(FW_MSG in m and bdf in m for m in log),
          f"no '{FW_MSG}' for {bdf} in: {log}")
    check(pci.driver(bdf) == before, f"{bdf} left on {pci.driver(bdf)}, was {before}")


def test_claim_allowed_on_other_edu(_profile):
    _, others = rmrr.edus()
    bdf = others[0]
    before = pci.driver(bdf)
    with kmsg.Since() as k:
        err = rmrr.try_claim(bdf)
        log = k.lines()
    check(err == 0, f"claiming {bdf} gave {errno.errorcode.get(err, err)}")
    check(not any(FW_MSG in m for m in log), f"unexpected: {log}")
    check(pci.driver(bdf) == before, f"{bdf} left on {pci.driver(bdf)}, was {before}")


def test_profile_cmdline(profile):
    # The one difference between the two profiles (unknown to a kernel
    # without policy support, which ignores it).
    with open("/proc/cmdline") as f:
        args = f.read().split()
    want = profile == "policy"
    check(("iommu_policy.allow_loosen=1" in args) == want,
          f"iommu_policy.allow_loosen=1 {'missing from' if want else 'in'} {args}")


def tests(profile):
    if profile not in ("policy", "policy-noopt"):
        return []
    order = [
        test_profile_cmdline,
        test_dmar_override_taken,
        test_direct_region_on_first_edu_only,
        test_claim_refused_on_rmrr_edu,
        test_claim_allowed_on_other_edu,
    ]
    return [("rmrr_" + fn.__name__[len("test_"):], (lambda fn=fn: fn(profile)))
            for fn in order]

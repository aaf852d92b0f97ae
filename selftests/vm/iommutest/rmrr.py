"""A firmware-required 1:1 map (IOMMU_RESV_DIRECT from an Intel RMRR) on
one edu device, as the 'policy' VM profiles set it up with a DMAR override
(selftests/vm/acpi/dmar-rmrr.dsl): where it is, which edu has it, and
whether user space may claim a device through VFIO + iommufd, which the
kernel refuses while the device requires its 1:1 map (require_direct)."""

import os
import re

from iommuvm import claim, pci

DSL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "acpi", "dmar-rmrr.dsl")


def from_dsl(path=DSL):
    """(base, end, bdf) of the RMRR in the override's source, the one place
    they are written: e.g. (0x70000000, 0x700fffff, "0000:00:10.0")."""
    with open(path) as f:
        text = f.read()
    rmrr = re.split(r"Subtable Type\s*:\s*0001", text, maxsplit=1)[1]

    def field(name):
        return re.search(re.escape(name) + r"\s*:\s*([0-9A-Fa-f,]+)", rmrr).group(1)

    dev, fn = (int(x, 16) for x in field("PCI Path").split(","))
    bdf = f"0000:{int(field('PCI Bus Number'), 16):02x}:{dev:02x}.{fn}"
    return int(field("Base Address"), 16), int(field("End Address (limit)"), 16), bdf


def reserved_regions(bdf):
    """[(start, end, type)] of bdf's IOMMU group, from sysfs."""
    gid = pci.group(bdf)
    if gid is None:
        return []
    with open(f"/sys/kernel/iommu_groups/{gid}/reserved_regions") as f:
        return [(int(s, 16), int(e, 16), t) for s, e, t in (line.split() for line in f)]


def direct_regions(bdf):
    """The firmware 1:1 maps ('direct', not 'direct-relaxable') of bdf's group."""
    return [(s, e) for s, e, t in reserved_regions(bdf) if t == "direct"]


def edus():
    """(the edu device whose group has a direct region, [the other edus])."""
    all_edu = pci.find(pci.EDU)
    direct = [b for b in all_edu if direct_regions(b)]
    if len(direct) != 1:
        raise RuntimeError(f"want exactly one edu with a direct region (boot the "
                           f"policy profile), got {direct} of {all_edu}")
    return direct[0], [b for b in all_edu if b != direct[0]]


# The device's own helpers live in the VM library (make run uses them too)
restore, try_claim = claim.restore, claim.try_claim


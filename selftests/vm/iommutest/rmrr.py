"""A firmware-required 1:1 map (IOMMU_RESV_DIRECT from an Intel RMRR) on
one edu device, as the 'policy' VM profiles set it up with a DMAR override
(selftests/vm/acpi/dmar-rmrr.dsl): where it is, which edu has it, and
whether user space may claim a device through VFIO + iommufd, which the
kernel refuses while the device requires its 1:1 map (require_direct)."""

import os
import re

from iommuvm import pci, uapi

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


def restore(bdf, drv):
    """Put bdf back on drv (None: no driver, driver_override cleared)."""
    if drv:
        pci.bind(bdf, drv)
        return
    pci.unbind(bdf)
    with open(f"{pci.PCI}/devices/{bdf}/driver_override", "w") as f:
        f.write("\n")


def try_claim(bdf):
    """Bind bdf to vfio-pci and claim it for user space the way a VFIO user
    does: open its VFIO cdev and bind it to an iommufd
    (VFIO_DEVICE_BIND_IOMMUFD -> iommu_device_claim_dma_owner, which puts
    the group in a blocking domain).  Release it, put the device back on
    its previous driver, and return 0 or the bind's errno."""
    prev = pci.driver(bdf)
    pci.bind(bdf, "vfio-pci")
    try:
        dev = uapi.IommufdDevice(bdf)
        try:
            dev.bind()
            return 0
        except OSError as e:
            return e.errno
        finally:
            dev.close()     # releases DMA ownership if the bind took it
    finally:
        restore(bdf, prev)


"""Claiming a PCI device's DMA for user space as a VFIO user does, and
putting it back: the RMRR tests and make run."""

from iommuvm import pci, uapi


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

"""PCI devices in sysfs: find QEMU's edu device, move it between drivers,
and read or change its IOMMU group's default domain type."""

import errno
import os
import time

PCI = "/sys/bus/pci"
EDU = ("0x1234", "0x11e8")


def _read(path):
    with open(path) as f:
        return f.read().strip()


def _write(path, val):
    with open(path, "w") as f:
        f.write(val)


def find(vendor_device):
    vendor, device = vendor_device
    found = []
    for bdf in sorted(os.listdir(f"{PCI}/devices")):
        d = f"{PCI}/devices/{bdf}"
        if _read(f"{d}/vendor") == vendor and _read(f"{d}/device") == device:
            found.append(bdf)
    return found


def edu():
    devs = find(EDU)
    if not devs:
        raise RuntimeError("no QEMU edu device (1234:11e8): boot with -device edu")
    return devs[0]


def driver(bdf):
    link = f"{PCI}/devices/{bdf}/driver"
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


def unbind(bdf):
    if driver(bdf):
        _write(f"{PCI}/devices/{bdf}/driver/unbind", bdf)


def bind(bdf, drv):
    """Bind bdf to drv through driver_override, whatever it had before."""
    if driver(bdf) == drv:
        return
    unbind(bdf)
    _write(f"{PCI}/devices/{bdf}/driver_override", drv)
    try:
        _write(f"{PCI}/drivers/{drv}/bind", bdf)
    except OSError as e:
        raise RuntimeError(f"binding {bdf} to {drv} failed: {e}") from e
    if driver(bdf) != drv:
        raise RuntimeError(f"{bdf} is bound to {driver(bdf)}, not {drv}")


def group(bdf):
    link = f"{PCI}/devices/{bdf}/iommu_group"
    if not os.path.islink(link):
        return None
    return int(os.path.basename(os.readlink(link)))


def group_type(gid):
    return _read(f"/sys/kernel/iommu_groups/{gid}/type")


def set_group_type(gid, typ):
    """Write sysfs 'type' (the device must be unbound)."""
    path = f"/sys/kernel/iommu_groups/{gid}/type"
    try:
        _write(path, typ)
    except OSError as e:
        raise RuntimeError(f"writing {typ!r} to {path}: {e}") from e


def remove(bdf):
    _write(f"{PCI}/devices/{bdf}/remove", "1")


def rescan(bdf, timeout=30):
    _write(f"{PCI}/rescan", "1")
    deadline = time.monotonic() + timeout
    while not os.path.exists(f"{PCI}/devices/{bdf}"):
        if time.monotonic() > deadline:
            raise OSError(errno.ENODEV, f"{bdf} did not come back after rescan")
        time.sleep(0.1)

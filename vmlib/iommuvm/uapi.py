"""The few VFIO-cdev and iommufd ioctls the VM code needs, from
include/uapi/linux/{vfio,iommufd}.h.  All are _IO(';', nr) with the struct
size in the struct itself."""

import ctypes
import fcntl
import mmap
import os
import struct


def io(nr):
    """_IO(';', nr); the selftests' iommufd_mock builds on io and ioctl."""
    return (ord(";") << 8) | nr


VFIO_DEVICE_BIND_IOMMUFD = io(100 + 18)
VFIO_DEVICE_ATTACH_IOMMUFD_PT = io(100 + 19)
IOMMU_IOAS_ALLOC = io(0x81)
IOMMU_IOAS_MAP = io(0x85)
IOMMU_IOAS_UNMAP = io(0x86)
IOMMU_IOAS_MAP_WRITEABLE = 1 << 1
IOMMU_IOAS_MAP_READABLE = 1 << 2


def ioctl(fd, req, fmt, *vals):
    """ioctl req on a struct packed as fmt; returns the struct unpacked."""
    buf = bytearray(struct.pack(fmt, *vals))
    fcntl.ioctl(fd, req, buf, True)
    return struct.unpack(fmt, bytes(buf))


def vfio_cdev(bdf):
    """/dev/vfio/devices/vfioN of a device bound to vfio-pci."""
    d = f"/sys/bus/pci/devices/{bdf}/vfio-dev"
    names = os.listdir(d) if os.path.isdir(d) else []
    if not names:
        raise RuntimeError(f"{bdf} has no VFIO cdev (CONFIG_VFIO_DEVICE_CDEV, bound to vfio-pci?)")
    return f"/dev/vfio/devices/{names[0]}"


class IommufdDevice:
    """A device opened through its VFIO cdev and bound to an iommufd."""

    def __init__(self, bdf):
        self.iommufd = os.open("/dev/iommu", os.O_RDWR)
        self.devfd = os.open(vfio_cdev(bdf), os.O_RDWR)
        self.buf = None

    def bind(self):
        # struct vfio_device_bind_iommufd { argsz, flags, iommufd, out_devid }
        return ioctl(self.devfd, VFIO_DEVICE_BIND_IOMMUFD, "<IIiI",
                      16, 0, self.iommufd, 0)[3]

    def ioas_alloc(self):
        # struct iommu_ioas_alloc { size, flags, out_ioas_id }
        return ioctl(self.iommufd, IOMMU_IOAS_ALLOC, "<III", 12, 0, 0)[2]

    def attach(self, pt_id):
        # struct vfio_device_attach_iommufd_pt { argsz, flags, pt_id }
        return ioctl(self.devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, "<III",
                      12, 0, pt_id)[2]

    def map(self, ioas, length):
        """Map an anonymous buffer; returns the IOVA the kernel chose."""
        self.buf = mmap.mmap(-1, length)
        self.buf[:] = b"\x5a" * length   # fault the pages in
        va = ctypes.addressof(ctypes.c_char.from_buffer(self.buf))
        # struct iommu_ioas_map { size, flags, ioas_id, rsvd, user_va, length, iova }
        return ioctl(self.iommufd, IOMMU_IOAS_MAP, "<IIIIQQQ", 40,
                      IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE,
                      ioas, 0, va, length, 0)[6]

    def unmap(self, ioas, iova, length):
        # struct iommu_ioas_unmap { size, ioas_id, iova, length }
        return ioctl(self.iommufd, IOMMU_IOAS_UNMAP, "<IIQQ", 24, ioas,
                      iova, length)[3]

    def close(self):
        os.close(self.devfd)
        os.close(self.iommufd)

"""The few VFIO-cdev and iommufd ioctls the tests need, from
include/uapi/linux/{vfio,iommufd}.h.  All are _IO(';', nr) with the struct
size in the struct itself."""

import ctypes
import fcntl
import mmap
import os
import struct


def _io(nr):
    return (ord(";") << 8) | nr


VFIO_DEVICE_BIND_IOMMUFD = _io(100 + 18)
VFIO_DEVICE_ATTACH_IOMMUFD_PT = _io(100 + 19)
IOMMU_IOAS_ALLOC = _io(0x81)
IOMMU_IOAS_MAP = _io(0x85)
IOMMU_IOAS_UNMAP = _io(0x86)
IOMMU_IOAS_MAP_WRITEABLE = 1 << 1
IOMMU_IOAS_MAP_READABLE = 1 << 2


def _ioctl(fd, req, fmt, *vals):
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
        return _ioctl(self.devfd, VFIO_DEVICE_BIND_IOMMUFD, "<IIiI",
                      16, 0, self.iommufd, 0)[3]

    def ioas_alloc(self):
        # struct iommu_ioas_alloc { size, flags, out_ioas_id }
        return _ioctl(self.iommufd, IOMMU_IOAS_ALLOC, "<III", 12, 0, 0)[2]

    def attach(self, pt_id):
        # struct vfio_device_attach_iommufd_pt { argsz, flags, pt_id }
        return _ioctl(self.devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, "<III",
                      12, 0, pt_id)[2]

    def map(self, ioas, length):
        """Map an anonymous buffer; returns the IOVA the kernel chose."""
        self.buf = mmap.mmap(-1, length)
        self.buf[:] = b"\x5a" * length   # fault the pages in
        va = ctypes.addressof(ctypes.c_char.from_buffer(self.buf))
        # struct iommu_ioas_map { size, flags, ioas_id, rsvd, user_va, length, iova }
        return _ioctl(self.iommufd, IOMMU_IOAS_MAP, "<IIIIQQQ", 40,
                      IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE,
                      ioas, 0, va, length, 0)[6]

    def unmap(self, ioas, iova, length):
        # struct iommu_ioas_unmap { size, ioas_id, iova, length }
        return _ioctl(self.iommufd, IOMMU_IOAS_UNMAP, "<IIQQ", 24, ioas,
                      iova, length)[3]

    def close(self):
        os.close(self.devfd)
        os.close(self.iommufd)


# iommufd's selftest mock (CONFIG_IOMMUFD_TEST), from
# drivers/iommu/iommufd/iommufd_test.h: struct iommu_test_cmd is 72 bytes,
# { size, op, id, __reserved, union (48 bytes), last }.
IOMMU_DESTROY = _io(0x80)
IOMMU_TEST_CMD = _io(0x80 + 32)
IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12
IOMMU_TEST_OP_PASID_ATTACH = 16
IOMMU_TEST_OP_PASID_DETACH = 17
MOCK_FLAGS_DEVICE_PASID = 1 << 2
TEST_CMD = "<IIII48sI4x"


class Iommufd:
    """An iommufd context, for driving the selftest mock."""

    def __init__(self):
        self.fd = os.open("/dev/iommu", os.O_RDWR)

    def ioas_alloc(self):
        return _ioctl(self.fd, IOMMU_IOAS_ALLOC, "<III", 12, 0, 0)[2]

    def _test(self, op, obj_id, payload):
        size = struct.calcsize(TEST_CMD)
        out = _ioctl(self.fd, IOMMU_TEST_CMD, TEST_CMD, size, op, obj_id, 0,
                     payload.ljust(48, b"\0"), 0)
        return out[4]

    def mock_domain(self, ioas, dev_flags=0):
        """A mock device bound and attached to ioas: (stdev, hwpt, idev)."""
        out = self._test(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ioas,
                         struct.pack("<IIII", 0, 0, 0, dev_flags))
        return struct.unpack_from("<III", out)

    def pasid_attach(self, stdev, pasid, hwpt):
        self._test(IOMMU_TEST_OP_PASID_ATTACH, stdev, struct.pack("<II", pasid, hwpt))

    def pasid_detach(self, stdev, pasid):
        self._test(IOMMU_TEST_OP_PASID_DETACH, stdev, struct.pack("<II", pasid, 0))

    def destroy(self, obj_id):
        _ioctl(self.fd, IOMMU_DESTROY, "<II", 8, obj_id)

    def close(self):
        os.close(self.fd)

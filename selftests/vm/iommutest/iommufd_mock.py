"""iommufd's selftest mock (CONFIG_IOMMUFD_TEST), a test-only kernel
interface: mock devices that can advertise what no emulated endpoint has
(PASID).  From drivers/iommu/iommufd/iommufd_test.h.

Its PASID ops differ by kernel: 6.12 has the ones the backport adds
(kernel/patches-6.12, BACKPORT-ONLY: attach and detach, ops 16 and 17,
straight to iommu_attach_device_pasid()); mainline has upstream's
(attach, replace, detach and check, ops 18 to 21, through iommufd's own
attach paths, which want PASID-compatible HWPTs)."""

import os
import struct

from iommuvm import kernel, uapi

# struct iommu_test_cmd is 72 bytes,
# { size, op, id, __reserved, union (48 bytes), last }.
IOMMU_DESTROY = uapi.io(0x80)
IOMMU_HWPT_ALLOC = uapi.io(0x89)
IOMMU_TEST_CMD = uapi.io(0x80 + 32)
IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10
IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12
MOCK_FLAGS_DEVICE_PASID = 1 << 2
IOMMU_HWPT_ALLOC_PASID = 1 << 3
TEST_CMD = "<IIII48sI4x"


# Upstream's PASID ops, on every kernel after the 6.12 backport
UPSTREAM_PASID_OPS = kernel.mainline()
if UPSTREAM_PASID_OPS:
    IOMMU_TEST_OP_PASID_ATTACH = 18
    IOMMU_TEST_OP_PASID_REPLACE = 19
    IOMMU_TEST_OP_PASID_DETACH = 20
    IOMMU_TEST_OP_PASID_CHECK_HWPT = 21
else:
    IOMMU_TEST_OP_PASID_ATTACH = 16
    IOMMU_TEST_OP_PASID_DETACH = 17


class Iommufd:
    """An iommufd context, for driving the selftest mock."""

    def __init__(self):
        self.fd = os.open("/dev/iommu", os.O_RDWR)

    def ioas_alloc(self):
        return uapi.ioctl(self.fd, uapi.IOMMU_IOAS_ALLOC, "<III", 12, 0, 0)[2]

    def hwpt_alloc(self, dev_id, pt_id, flags=0):
        """A paging HWPT on pt_id for the iommufd device dev_id.
        struct iommu_hwpt_alloc { size, flags, dev_id, pt_id, out_hwpt_id,
        __reserved, data_type, data_len, data_uptr, fault_id, __reserved2 }"""
        fmt = "<IIIIIIIIQII"
        out = uapi.ioctl(self.fd, IOMMU_HWPT_ALLOC, fmt, struct.calcsize(fmt), flags,
                         dev_id, pt_id, 0, 0, 0, 0, 0, 0, 0)
        return out[4]

    def _test(self, op, obj_id, payload):
        size = struct.calcsize(TEST_CMD)
        out = uapi.ioctl(self.fd, IOMMU_TEST_CMD, TEST_CMD, size, op, obj_id, 0,
                         payload.ljust(48, b"\0"), 0)
        return out[4]

    def mock_domain(self, ioas, dev_flags=0):
        """A mock device bound and attached to ioas: (stdev, hwpt, idev)."""
        out = self._test(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, ioas,
                         struct.pack("<IIII", 0, 0, 0, dev_flags))
        return struct.unpack_from("<III", out)

    def mock_domain_replace(self, stdev, pt_id):
        """Move the mock device's RID to pt_id."""
        self._test(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev, struct.pack("<I", pt_id))

    def pasid_attach(self, stdev, pasid, hwpt):
        self._test(IOMMU_TEST_OP_PASID_ATTACH, stdev, struct.pack("<II", pasid, hwpt))

    def pasid_replace(self, stdev, pasid, hwpt):
        self._test(IOMMU_TEST_OP_PASID_REPLACE, stdev, struct.pack("<II", pasid, hwpt))

    def pasid_detach(self, stdev, pasid):
        self._test(IOMMU_TEST_OP_PASID_DETACH, stdev, struct.pack("<II", pasid, 0))

    def pasid_has_hwpt(self, stdev, pasid, hwpt):
        """Whether the PASID's domain is hwpt's (0: none); the kernel
        answers EINVAL when it is not."""
        try:
            self._test(IOMMU_TEST_OP_PASID_CHECK_HWPT, stdev, struct.pack("<II", pasid, hwpt))
        except OSError as e:
            if e.errno == 22:
                return False
            raise
        return True

    def destroy(self, obj_id):
        uapi.ioctl(self.fd, IOMMU_DESTROY, "<II", 8, obj_id)

    def close(self):
        os.close(self.fd)

"""iommufd's selftest mock (CONFIG_IOMMUFD_TEST), a test-only kernel
interface: mock devices that can advertise what no emulated endpoint has
(PASID).  From drivers/iommu/iommufd/iommufd_test.h."""

import os
import struct

from iommuvm import uapi

# struct iommu_test_cmd is 72 bytes,
# { size, op, id, __reserved, union (48 bytes), last }.
IOMMU_DESTROY = uapi.io(0x80)
IOMMU_TEST_CMD = uapi.io(0x80 + 32)
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
        return uapi.ioctl(self.fd, uapi.IOMMU_IOAS_ALLOC, "<III", 12, 0, 0)[2]

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

    def pasid_attach(self, stdev, pasid, hwpt):
        self._test(IOMMU_TEST_OP_PASID_ATTACH, stdev, struct.pack("<II", pasid, hwpt))

    def pasid_detach(self, stdev, pasid):
        self._test(IOMMU_TEST_OP_PASID_DETACH, stdev, struct.pack("<II", pasid, 0))

    def destroy(self, obj_id):
        uapi.ioctl(self.fd, IOMMU_DESTROY, "<II", 8, obj_id)

    def close(self):
        os.close(self.fd)

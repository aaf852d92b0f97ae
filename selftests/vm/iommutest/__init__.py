"""Helpers for the iommu-bpf VM tests: TAP output, tracefs, PCI and the
uAPIs (dma_map_benchmark, VFIO cdev, iommufd) the tests drive."""

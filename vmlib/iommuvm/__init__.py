"""Helpers for code that runs inside the iommu-bpf VMs (vmlib/launch.sh
boots them): tracefs, PCI and the edu device, dma_map_benchmark, real
drivers under load, iommuctl in the background, the kernel's uAPIs.  The
selftests, make run (tools/demo) and make bench (bench/) all use them, so
nothing here knows about TAP: a failed expectation is a RuntimeError, a
boot without what a helper needs is Unavailable."""


class Unavailable(Exception):
    """This boot lacks what a helper needs (a device, a module): a test
    reports it as a SKIP, the demo and the benchmark say so and go on."""


def expect(cond, msg):
    """Raise RuntimeError(msg) unless cond: the VM is not as a helper
    needs it (unlike assert, this survives python -O)."""
    if not cond:
        raise RuntimeError(msg)

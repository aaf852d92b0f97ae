"""QEMU's edu device as the tests, make run and make bench use it: found,
bound to dma_map_benchmark, its IOMMU group switched between DMA modes
through sysfs."""

from . import expect, pci
from .tracefs import Trace, by

BENCH = "dma_map_benchmark"


class Ctx:
    """What its user learns about the edu device as it goes."""

    def __init__(self, profile):
        self.profile = profile
        self.bdf = None
        self.gid = None
        self.domain = None      # id of the group's current default domain
        self.mode = None


def ensure_group(ctx):
    """The edu device's IOMMU group.  virtio-iommu only probes a device
    when a driver binds, so bind the benchmark driver first if needed."""
    ctx.bdf = ctx.bdf or pci.edu()
    if pci.group(ctx.bdf) is None:
        pci.bind(ctx.bdf, BENCH)
    ctx.gid = pci.group(ctx.bdf)
    expect(ctx.gid is not None, f"{ctx.bdf} has no IOMMU group")
    return ctx.gid


def switch_mode(ctx, mode, extra_events=()):
    """Put the edu group in mode through sysfs and bind the benchmark.
    Returns the trace of the switch (default_domain, attach_dev, ...)."""
    ensure_group(ctx)
    with Trace() as t:
        t.enable("default_domain", "attach_dev", *extra_events)
        t.start()
        pci.unbind(ctx.bdf)
        pci.set_group_type(ctx.gid, mode)
        pci.bind(ctx.bdf, BENCH)
        t.stop()
        recs = t.records()
    expect(pci.group_type(ctx.gid) == mode,
          f"group {ctx.gid} type is {pci.group_type(ctx.gid)}, wanted {mode}")
    dd = by(recs, "default_domain", group=ctx.gid)
    expect(len(dd) == 1, f"expected one default_domain event for group {ctx.gid}, got {dd}")
    ctx.domain = dd[0].int("domain")
    ctx.mode = mode
    return recs

"""The edu device as the tests use it: found, bound to dma_map_benchmark,
its IOMMU group switched between DMA modes through sysfs."""

from . import pci
from .tap import check
from .tracefs import Trace

BENCH = "dma_map_benchmark"


class Ctx:
    """What the tests learn about the edu device as they go."""

    def __init__(self, profile):
        self.profile = profile
        self.bdf = None
        self.gid = None
        self.domain = None      # id of the group's current default domain
        self.mode = None


def by(recs, event, **match):
    """Records of one event whose fields equal the given values."""
    return [r for r in recs if r.event == event and
            all(r.f.get(k) == str(v) for k, v in match.items())]


def ensure_group(ctx):
    """The edu device's IOMMU group.  virtio-iommu only probes a device
    when a driver binds, so bind the benchmark driver first if needed."""
    ctx.bdf = ctx.bdf or pci.edu()
    if pci.group(ctx.bdf) is None:
        pci.bind(ctx.bdf, BENCH)
    ctx.gid = pci.group(ctx.bdf)
    check(ctx.gid is not None, f"{ctx.bdf} has no IOMMU group")
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
    check(pci.group_type(ctx.gid) == mode,
          f"group {ctx.gid} type is {pci.group_type(ctx.gid)}, wanted {mode}")
    dd = by(recs, "default_domain", group=ctx.gid)
    check(len(dd) == 1, f"expected one default_domain event for group {ctx.gid}, got {dd}")
    ctx.domain = dd[0].int("domain")
    ctx.mode = mode
    return recs



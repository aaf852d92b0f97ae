#!/usr/bin/python3
"""The VM suite's reading of ftrace output, checked on lines of the shapes
the kernel prints, so a parser bug cannot pass for a kernel bug."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "vmlib"))
from iommuvm.tracefs import parse  # noqa: E402

TRACE = """\
# tracer: nop
#
#                                _-----=> irqs-off/BH-disabled
          <idle>-0       [001] d.s2.    12.345678: dma_fq_flush: domain=7 reason=timer released=42 duration_ns=1503
 dma-map-benchma-88      [000] .....  1234.000001: iommu_dma_unmap: device=0000:00:03.0 domain=12 iova=0xfffff000 size=0x1000 dir=bidirectional queued=0 duration_ns=2211
   python3-140     [001] .....    99.5: attach_pasid: device=iommufd_mock0 group=-1 pasid=5 old_domain=0 old_type=none new_domain=2 new_type=unmanaged ret=-16
   python3-140     [001] .....    99.6: dma_owner: group=3 device= op=claim owner_cnt=1 ret=0
   kworker/u8:2-55 [000] d..1.     7.000000: dma_map_page: 0000:00:03.0 dir=BIDIRECTIONAL dma_addr=fffff000 size=4096 phys_addr=1000 attrs=
"""
# Checks made: selftests/host/run.sh fails the suite if fewer are printed
PLAN = 8


def main():
    print(f"1..{PLAN}", flush=True)
    recs = parse(TRACE)
    fails = 0

    def t(name, cond):
        nonlocal fails
        print(f"{'ok' if cond else 'not ok'} - host: tracefs parser: {name}", flush=True)
        fails += not cond

    t("skips comments, keeps every event line", [r.event for r in recs] ==
      ["dma_fq_flush", "iommu_dma_unmap", "attach_pasid", "dma_owner", "dma_map_page"])
    t("cpu and timestamp", (recs[0].cpu, recs[0].ts) == (1, 12.345678))
    t("task names with spaces and dashes", recs[1].int("domain") == 12 and recs[4].cpu == 0)
    t("hex and negative values", recs[1].int("iova") == 0xfffff000 and recs[2].int("ret") == -16)
    t("empty values", recs[3].f["device"] == "" and recs[3].f["op"] == "claim")
    t("raw body of events without key=value names", recs[4].body.startswith("0000:00:03.0 "))
    t("only the events named, not those with the name in a field",
      [r.event for r in parse(TRACE + TRACE.replace("dma_owner:", "x: dma_owner:"),
                              ("dma_owner", "dma_fq_flush"))] ==
      ["dma_fq_flush", "dma_owner", "dma_fq_flush"])
    t("the first records only, when limited",
      [r.event for r in parse(TRACE, limit=2)] == ["dma_fq_flush", "iommu_dma_unmap"])
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

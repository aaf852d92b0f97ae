#!/usr/bin/python3
"""What tracing adds to DMA map/unmap latency, side by side in one boot:
dma_map_benchmark's averages with no tracing, under `iommuctl trace
latency`, under `iommuctl trace flush`, under an equivalent bpftrace
kprobe/kretprobe histogram, and with the tracepoints enabled in ftrace only.
Setups are interleaved over several rounds so drift hits them all alike."""

import os
import shutil
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "selftests", "vm"))
from iommutest import dmabench  # noqa: E402
from iommutest.background import IOMMUCTL, Background  # noqa: E402
from iommutest.edu import Ctx, switch_mode  # noqa: E402
from iommutest.tracefs import Trace  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BPFTRACE = """
kprobe:iommu_dma_map_page, kprobe:iommu_dma_unmap_page { @start[tid] = nsecs; }
kretprobe:iommu_dma_map_page, kretprobe:iommu_dma_unmap_page /@start[tid]/ {
    @lat[probe] = hist(nsecs - @start[tid]); delete(@start[tid]); }
"""


def bpftrace():
    # bpftrace prints "Attaching N probes..." to stdout: wrap to get it on stderr
    return Background(["sh", "-c", f"exec bpftrace -e '{BPFTRACE}' 1>&2"], "Attaching",
                      stdout=subprocess.DEVNULL)


class Ftrace:
    def __init__(self):
        self.t = Trace("bench")
        self.t.enable("iommu_dma_map", "iommu_dma_unmap")
        self.t.start()

    def stop(self):
        self.t.close()


SETUPS = [
    ("no tracing", lambda: None),
    ("iommuctl trace latency",
     lambda: Background([IOMMUCTL, "trace", "latency"], stdout=subprocess.DEVNULL)),
    ("iommuctl trace flush",
     lambda: Background([IOMMUCTL, "trace", "flush"], stdout=subprocess.DEVNULL)),
    ("bpftrace kprobe+kretprobe", bpftrace),
    ("ftrace (tracepoints only)", Ftrace),
]


def main():
    ctx = Ctx("intel")
    switch_mode(ctx, "DMA")
    have_bpftrace = shutil.which("bpftrace") is not None
    results = {name: [] for name, _ in SETUPS}
    for r in range(ROUNDS):
        for name, start in SETUPS:
            if "bpftrace" in name and not have_bpftrace:
                continue
            tool = start()
            try:
                results[name].append(dmabench.run(seconds=SECONDS))
            finally:
                if tool:
                    tool.stop()
            print(f"# round {r + 1}: {name}: {results[name][-1]}", flush=True)
    avg = {n: (sum(m for m, _ in v) / len(v), sum(u for _, u in v) / len(v))
           for n, v in results.items() if v}
    base_m, base_u = avg["no tracing"]
    print(f"\nstrict mode, {ROUNDS} rounds x {SECONDS} s of dma_map_benchmark "
          "(TCG: compare ratios, not absolute values)\n")
    print(f"{'setup':28s} {'map ns':>8s} {'unmap ns':>9s} {'+map':>7s} {'+unmap':>7s} "
          f"{'+total':>7s}")
    added = {}
    for n, (m, u) in avg.items():
        added[n] = (m - base_m) + (u - base_u)
        print(f"{n:28s} {m:8.0f} {u:9.0f} {m - base_m:7.0f} {u - base_u:7.0f} "
              f"{added[n]:7.0f}")
    if have_bpftrace and added.get("bpftrace kprobe+kretprobe", 0) > 0:
        bt = added["bpftrace kprobe+kretprobe"]
        for n in ("iommuctl trace latency", "iommuctl trace flush"):
            print(f"\n{n}: adds {added[n] / bt:.2f}x what bpftrace adds (goal <= 0.25x)",
                  end="")
        print()
    elif not have_bpftrace:
        print("\nbpftrace is not installed (apt-get install bpftrace): no comparison")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""make run, inside the VM: put QEMU's edu device (bound to
dma_map_benchmark) in each DMA mode in turn, make DMA traffic, and show what
iommuctl sees; then the same for real drivers under real load, an NVMe disk
under fio and a NIC under iperf3, so what strict mode costs a real disk is
plain in one screen."""

import json
import os
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "vmlib"))
from iommuvm import Unavailable, dmabench  # noqa: E402
from iommuvm.background import IOMMUCTL, iommuctl  # noqa: E402
from iommuvm.edu import Ctx, switch_mode  # noqa: E402
from iommuvm.realdev import RealDevices  # noqa: E402

MODES = [("identity", "identity (passthrough)"), ("DMA-FQ", "lazy (DMA-FQ)"),
         ("DMA", "strict (DMA)")]


def banner(text):
    print(f"\n{'=' * 78}\n{text}\n{'=' * 78}", flush=True)


def traced(args, seconds):
    """iommuctl for one interval while the benchmark makes traffic."""
    return iommuctl(*args, str(seconds + 1), "1")


def fmt(ns):
    """dma_map_benchmark reports in 100 ns units: below that it says 0."""
    return f"{ns / 1000:.1f}" if ns else "<0.1"


def main():
    ctx = Ctx("intel")
    summary = []
    for mode, label in MODES:
        switch_mode(ctx, mode)
        banner(f"DMA mode: {label}   device {ctx.bdf}, IOMMU group {ctx.gid}")
        if mode == MODES[0][0]:
            subprocess.run([IOMMUCTL, "devices"])
        # First untraced, for the summary; then again under iommuctl.
        clean_map, clean_unmap = dmabench.run(seconds=2)
        seconds = 2
        lat = traced(["trace", "latency", "-d", ctx.bdf, "-o", "dma_map,dma_unmap", "-j"],
                     seconds)
        flush = traced(["trace", "flush", "-E"], seconds)
        avg_map, avg_unmap = dmabench.run(seconds=seconds)
        lat_out, _ = lat.wait()
        flush_out, _ = flush.wait()
        ops = {e["op"]: e for e in json.loads(lat_out.strip().splitlines()[-1])["latency"]}
        print(f"\ndma_map_benchmark: average map {fmt(clean_map)} us, unmap "
              f"{fmt(clean_unmap)} us untraced; {fmt(avg_map)} / {fmt(avg_unmap)} us "
              f"under iommuctl (TCG: compare ratios, not values)")
        print("\niommuctl trace latency (IOMMU part of each DMA map/unmap):")
        if not ops:
            print("  no IOMMU map/unmap at all: the device bypasses translation")
        for name, e in ops.items():
            print(f"  {name:18s} count {e['count']:8d}  avg {e['avg'] / 1000:8.2f} us  "
                  f"p50 {e['p50'] / 1000:7.2f}  p99 {e['p99'] / 1000:7.2f}  "
                  f"max {e['max'] / 1000:8.2f}")
        print("\niommuctl trace flush:")
        print(flush_out if "DOMAIN" in flush_out else "  no IOTLB flushes\n")
        unmap = ops.get("dma_unmap_strict") or ops.get("dma_unmap_queued")
        summary.append((label, clean_map, clean_unmap, unmap["avg"] if unmap else 0))
    banner("What each mode costs (dma_map_benchmark averages; TCG, so read the ratios)")
    lazy = next(u for label, m, u, _ in summary if label.startswith("lazy")) or 1
    print(f"{'mode':24s} {'map us':>8s} {'unmap us':>9s} {'unmap vs lazy':>14s}")
    for label, m, u, _ in summary:
        print(f"{label:24s} {fmt(m):>8s} {fmt(u):>9s} {u / lazy:13.1f}x")
    print("\nStrict mode flushes the IOTLB inside every unmap; lazy mode defers it to "
          "the flush queue,\nleaving each unmapped buffer reachable for the exposure "
          "window shown above.")


def per_device(lat_out, flush_out, bdf):
    """trace latency -D and trace flush lines for one device."""
    lat = json.loads(lat_out.strip().splitlines()[-1])["latency"]
    for e in lat:
        if e["device"] == bdf:
            print(f"    {e['op']:18s} count {e['count']:7d}  avg {e['avg'] / 1000:7.2f} us  "
                  f"p99 {e['p99'] / 1000:7.2f}  max {e['max'] / 1000:8.2f}")
    fl = json.loads(flush_out.strip().splitlines()[-1])
    for d in fl["domains"]:
        if d["device"] != bdf:
            continue
        for kind, k in d["flushes"].items():
            print(f"    IOTLB {kind:9s} count {k['count']:7d}  {k['per_s']:8.1f}/s  "
                  f"avg {k['avg_ns'] / 1000:7.2f} us")
        if d.get("exposure_ns"):
            x = d["exposure_ns"]
            print(f"    exposure window (queued unmap -> flush): avg {x['avg'] / 1000:.0f} us, "
                  f"max {x['max'] / 1000:.0f} us")


def real_devices():
    try:
        devs = RealDevices()
    except Unavailable as e:
        print(f"\n(no NVMe disk or NIC in this boot: {e})")
        return
    rows = []
    for mode, label in MODES:
        devs.set_mode(mode)
        devs.link_up()
        banner(f"DMA mode: {label}   NVMe {devs.nvme_bdf}, NIC {devs.nic_bdf}")
        results = {}
        for what, bdf, work in (("NVMe, fio random 4 KiB direct reads", devs.nvme_bdf,
                                 devs.fio),
                                ("NIC, iperf3 TCP to the host", devs.nic_bdf, devs.iperf)):
            lat = traced(["trace", "latency", "-D", "-o", "dma_map,dma_unmap", "-j"], 3)
            flush = traced(["trace", "flush", "-E", "-j"], 3)
            results[what] = work(seconds=2)
            lat_out, _ = lat.wait()
            flush_out, _ = flush.wait()
            r = results[what]
            print(f"\n{what}: " + (f"{r[0]:.0f} IOPS, {r[1]:.0f} us mean latency"
                                   if isinstance(r, tuple) else f"{r:.1f} Mbit/s"))
            per_device(lat_out, flush_out, bdf)
        devs.link_down()
        iops, lat_us = results["NVMe, fio random 4 KiB direct reads"]
        rows.append((label, iops, lat_us, results["NIC, iperf3 TCP to the host"]))
    devs.unload()
    banner("What each mode costs real devices (TCG, so read the ratios)")
    base = rows[0]
    print(f"{'mode':24s} {'fio IOPS':>9s} {'vs id.':>7s} {'lat us':>8s} "
          f"{'iperf3 Mbit/s':>14s} {'vs id.':>7s}")
    for label, iops, lat_us, mbits in rows:
        print(f"{label:24s} {iops:9.0f} {iops / base[1]:6.2f}x {lat_us:8.0f} "
              f"{mbits:14.1f} {mbits / base[3]:6.2f}x")
    print("\nEach 4 KiB read maps and unmaps one page: in strict mode every unmap waits "
          "for an IOTLB\nflush (the range flushes above), in lazy mode the flush queue "
          "batches them.  Under TCG\none run's ratios move by tens of percent: make bench "
          "repeats and interleaves.")


if __name__ == "__main__":
    main()
    real_devices()

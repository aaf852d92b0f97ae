#!/usr/bin/python3
"""make run, inside the VM (tools/demo/run.sh boots it twice).

run-in-vm.py policy: the boot with iommu_policy.allow_loosen=1.  Load the
rules of tools/demo/policy.rules as a BPF policy, let it decide the devices
probed at boot (policy apply), show that user ownership of the edu device is
refused and what the policy decided for each device (policy explain).

run-in-vm.py noopt cost: the boot without the opt-in.  The same rules: the
kernel clamps the NVMe's identity verdict (no_optin); unload the policy.
Then the costs: put QEMU's edu device (bound to dma_map_benchmark) in each
DMA mode in turn, make DMA traffic, and show what iommuctl sees; then the
same for real drivers under real load, an NVMe disk under fio and a NIC
under iperf3, so what strict mode costs a real disk is plain in one
screen."""

import errno
import glob
import json
import os
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "vmlib"))
from iommuvm import Unavailable, claim, dmabench, pci  # noqa: E402
from iommuvm.background import IOMMUCTL, iommuctl  # noqa: E402
from iommuvm.edu import Ctx, switch_mode  # noqa: E402
from iommuvm.realdev import RealDevices  # noqa: E402

MODES = [("identity", "identity (passthrough)"), ("DMA-FQ", "lazy (DMA-FQ)"),
         ("DMA", "strict (DMA)")]
RULES = "tools/demo/policy.rules"       # relative: the VM runs from the top
os.environ["PATH"] = os.path.dirname(IOMMUCTL) + os.pathsep + os.environ["PATH"]


def banner(text):
    print(f"\n{'=' * 78}\n{text}\n{'=' * 78}", flush=True)


def step(text):
    """A short heading: what the next command shows, and why."""
    print(f"\n--- {text}", flush=True)


def say(text):
    print(text, flush=True)


def show(cmd):
    """Run a shell command line (iommuctl is on PATH), print it as typed and
    its output, stdout and stderr as a terminal shows them."""
    print("$ " + cmd, flush=True)
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=300)
    print(r.stdout.rstrip("\n"), flush=True)
    if r.returncode:
        raise RuntimeError(f"{cmd} exited {r.returncode}")
    return r.stdout


def by_class(cls):
    """PCI addresses of the devices whose class starts with cls (hex)."""
    found = []
    for d in sorted(glob.glob("/sys/bus/pci/devices/*")):
        with open(f"{d}/class") as f:
            if f.read().strip()[2:].startswith(cls):      # 0x010802
                found.append(os.path.basename(d))
    return found


def nvme_nic():
    """The NVMe disk's and the NIC's PCI addresses, before their drivers bind."""
    nvme, nic = by_class("0108"), by_class("0200")
    if not nvme or not nic:
        raise Unavailable("this boot has no NVMe disk or NIC (vmlib/launch.sh --device real)")
    return nvme[0], nic[0]


def policy_opt_in():
    """The boot with iommu_policy.allow_loosen=1: the policy as written."""
    banner("1. An IOMMU policy, on a boot with iommu_policy.allow_loosen=1")
    say("Without a policy the kernel gives every device the same DMA mode (here lazy,\n"
        "DMA-FQ).  A policy is a BPF program (struct iommu_policy_ops) the kernel asks\n"
        "per device; iommuctl builds one from a rules file.  Loosening verdicts (more\n"
        "DMA reach than the kernel's choice, such as identity) need this boot's opt-in.")
    nvme, nic = nvme_nic()
    edu = pci.edu()
    step(f"The rules: the NVMe disk ({nvme}) in identity, the NIC ({nic}) strict,\n"
         f"    the edu device ({edu}) never to user space")
    show(f"cat {RULES}")
    step("Load them: iommuctl fills the table policy's maps from the file and attaches it")
    show(f"iommuctl policy load -r {RULES}")
    step("Apply them to the devices probed at boot, before the policy: every IOMMU group\n"
         "    with no driver bound is decided again (the NVMe and NIC drivers are not loaded\n"
         "    yet); a group whose driver is bound keeps its mode until it is rebound (here\n"
         "    the VM's own virtio devices: its root filesystem and console)")
    show("iommuctl policy apply")
    step("Load the NVMe and NIC drivers: their groups keep the DMA mode the policy chose")
    devs = RealDevices()
    show(f"iommuctl devices | grep -E '^DEVICE|^({nvme}|{nic}|{edu}) '")
    step("User ownership of the edu device is refused: bind it to vfio-pci and claim it\n"
         "    through iommufd, as QEMU does to give a device to a VM")
    say(f"$ (bind {edu} to vfio-pci, open its VFIO cdev, VFIO_DEVICE_BIND_IOMMUFD)")
    err = claim.try_claim(edu)
    say("claimed: the policy did not refuse it" if err == 0 else
        f"refused: {os.strerror(err)} ({errno.errorcode.get(err, err)})")
    step("Why each device is in its mode: the facts the kernel gave the policy, what the\n"
         "    policy said, what the kernel applied and why")
    for bdf in (nvme, nic, edu):
        show(f"iommuctl policy explain {bdf}")
    step("The policy's state and counters (/sys/kernel/iommu_policy)")
    show("iommuctl policy show")
    devs.unload()


def policy_no_opt_in():
    """The boot without the opt-in: the same rules, the loosening clamped."""
    banner("2. The same policy, on a boot without the opt-in")
    say("No iommu_policy.allow_loosen=1 on this kernel's command line: the kernel still\n"
        "asks the policy, but clamps a loosening verdict to its own choice and records\n"
        "why (reason no_optin); the NIC's strict verdict is applied as before.")
    nvme, nic = nvme_nic()
    step("Check the rules first: load -c warns of each verdict this boot would clamp")
    show(f"iommuctl policy load -c -r {RULES}")
    step("Load and apply them as on the first boot (only the NVMe's and the NIC's groups\n"
         "    shown: the others are as before)")
    show(f"iommuctl policy load -r {RULES}")
    show(f"iommuctl policy apply | grep -A1 -E 'group ({pci.group(nvme)}|{pci.group(nic)}):"
         f"|groups re-evaluated' | grep -v '^--'")
    step("The NVMe's identity verdict was clamped to lazy: the kernel's record says why")
    show(f"iommuctl policy explain {nvme}")
    show("iommuctl policy show")
    step("Unload the policy (decisions made stay) so that the rest can set each DMA mode\n"
         "    by hand through sysfs and measure what it costs")
    show("iommuctl policy unload")


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


def cost():
    banner("3. What each DMA mode costs, per device")
    say("Each group is put in identity, lazy and strict mode in turn by hand (sysfs), DMA\n"
        "traffic is made, and iommuctl traces it: QEMU's edu device under the kernel's\n"
        "dma_map_benchmark, then the NVMe disk under fio and the NIC under iperf3.")
    main()
    real_devices()


PARTS = {"policy": policy_opt_in, "noopt": policy_no_opt_in, "cost": cost}

if __name__ == "__main__":
    if not sys.argv[1:] or any(a not in PARTS for a in sys.argv[1:]):
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(PARTS)}}}...")
    for part in sys.argv[1:]:
        PARTS[part]()

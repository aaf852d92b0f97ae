#!/usr/bin/python3
"""make bench, inside one VM boot: measure, write $BENCH_OUT/KIND.json.

    in_vm.py patched     the series' kernel: every setup below
    in_vm.py unpatched   the same config without the series: no tracing only

With BENCH_COUNT=1 (a boot under -icount with the insn_count plugin,
bench/run.sh) it counts instead of timing: $BENCH_OUT/KIND-count.json, see
count_main().

Two workloads, both in strict mode (an IOTLB flush in every unmap, where a
tracer's share is largest): dma_map_benchmark on QEMU's edu (kernel thread,
average map and unmap time) and fio on QEMU's NVMe (random 4 KiB direct
reads: IOPS).  Setups are interleaved over rounds, each round in a rotated order, so
drift and order hit them all alike; bench/report.py turns the results into
ratios."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "vmlib"))
from iommuvm import bpfmaps, dmabench, pci  # noqa: E402
from iommuvm.background import IOMMUCTL, Background  # noqa: E402
from iommuvm.edu import BENCH  # noqa: E402
from iommuvm.realdev import RealDevices  # noqa: E402
from iommuvm.tracefs import Trace  # noqa: E402
from insn_mark import Markers  # noqa: E402  (bench/, this script's directory)

SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
OUT = os.environ.get("BENCH_OUT", "/tmp")
FLOOR_OBJ = os.path.join(TOP, "build", "bench", "floor.bpf.o")
BPFTOOL = os.path.join(TOP, "build", "bpftools", "bpftool")
BPFTRACE = """
kprobe:iommu_dma_map_{x}, kprobe:iommu_dma_unmap_{x} {{ @start[tid] = nsecs; }}
kretprobe:iommu_dma_map_{x}, kretprobe:iommu_dma_unmap_{x} /@start[tid]/ {{
    @lat[probe] = hist(nsecs - @start[tid]); delete(@start[tid]); }}
"""


def dma_map_suffix():
    """The DMA API's dma-iommu entry points: iommu_dma_map_page(), or
    iommu_dma_map_phys() since the DMA API maps physical addresses (7.2);
    iommuctl's kprobe fallback picks the same way."""
    with open("/proc/kallsyms") as f:
        return "page" if any(" iommu_dma_map_page" in line for line in f) else "phys"
# The table policy with rules that match both devices: it is attached, yet
# nothing of it runs on the DMA path.
RULES = "pci=1234:11e8 dma_mode strict\npci=1b36:0010 dma_mode strict\n"


class Floor:
    """The empty tp_btf programs of floor.bpf.c, attached by bpftool."""
    PIN = "/sys/fs/bpf/iommubpf_floor"

    def __init__(self):
        subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], capture_output=True)
        subprocess.run([BPFTOOL, "prog", "loadall", FLOOR_OBJ, self.PIN, "autoattach"],
                       check=True)

    def run_stats(self):
        """(runs, ns) of its programs, from the kernel's run-time stats."""
        runs = ns = 0
        for name in os.listdir(self.PIN):      # bpftool pinned the links
            r = subprocess.run([BPFTOOL, "link", "show", "pinned", f"{self.PIN}/{name}", "-j"],
                               capture_output=True, text=True, check=True)
            prog = json.loads(r.stdout)["prog_id"]
            r = subprocess.run([BPFTOOL, "prog", "show", "id", str(prog), "-j"],
                               capture_output=True, text=True, check=True)
            info = json.loads(r.stdout)
            runs += info.get("run_cnt", 0)      # absent when 0
            ns += info.get("run_time_ns", 0)
        return runs, ns

    def stop(self):
        shutil.rmtree(self.PIN)


class Ftrace:
    def __init__(self):
        self.t = Trace("bench")
        self.t.enable("iommu_dma_map", "iommu_dma_unmap")
        self.t.start()

    def stop(self):
        self.t.close()


class Policy:
    def __init__(self):
        path = os.path.join(OUT, "bench.rules")
        with open(path, "w") as f:
            f.write(RULES)
        subprocess.run([IOMMUCTL, "policy", "load", "-r", path], check=True,
                       capture_output=True)

    def stop(self):
        subprocess.run([IOMMUCTL, "policy", "unload"], check=True, capture_output=True)


def bpftrace():
    # bpftrace prints "Attaching N probes..." to stdout: wrap to get it on stderr
    script = BPFTRACE.format(x=dma_map_suffix())
    return Background(["sh", "-c", f"exec bpftrace -e '{script}' 1>&2"], "Attaching",
                      stdout=subprocess.DEVNULL)


def iommuctl(*args):
    return Background([IOMMUCTL, *args], stdout=subprocess.DEVNULL)


SETUPS = {
    "patched": [
        ("no tracing", lambda: None),
        ("floor: empty BPF on the tracepoints", Floor),
        ("iommuctl trace latency", lambda: iommuctl("trace", "latency")),
        ("iommuctl trace latency -D", lambda: iommuctl("trace", "latency", "-D")),
        ("iommuctl trace flush", lambda: iommuctl("trace", "flush")),
        ("bpftrace kprobe+kretprobe", bpftrace),
        ("ftrace (tracepoints only)", Ftrace),
        ("table policy attached", Policy),
    ],
    "unpatched": [("no tracing", lambda: None)],
}

# What make bench's memory table measures: each command's maps
MEMORY = [("trace latency",), ("trace latency", "-D"), ("trace flush",),
          ("trace flush", "-E"), ("trace events",)]


def program_costs():
    """What each BPF setup's programs cost per run, by the kernel's own
    run-time statistics (kernel.bpf_stats_enabled), in a pass of its own:
    the statistics add two clock reads to every run, which the rounds above
    must not carry.  End to end, a tracer also pays for the tracepoint's
    dispatch, which is the same for all of these."""
    costs = {}
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        floor = Floor()
        try:
            dmabench.run(seconds=SECONDS)
            runs, ns = floor.run_stats()
        finally:
            floor.stop()
        costs["floor: empty BPF on the tracepoints"] = {"runs": runs, "ns": ns}
        for cmd in (("latency",), ("latency", "-D"), ("flush",)):
            tool = Background([IOMMUCTL, "trace", *cmd, "--stats"], stdout=subprocess.DEVNULL)
            dmabench.run(seconds=SECONDS)
            tool.p.send_signal(signal.SIGINT)
            _, err = tool.wait()
            m = re.search(r"BPF programs ran (\d+) times, (\d+) ns per run", err)
            if m:
                costs["iommuctl trace " + " ".join(cmd)] = {
                    "runs": int(m[1]), "ns": int(m[1]) * int(m[2])}
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("0")
    return costs


def set_mode(bdf, driver, typ):
    """The device's group to typ (DMA, DMA-FQ, identity) through sysfs, with
    its driver let go meanwhile; the type the group then has."""
    gid = pci.group(bdf)
    pci.unbind(bdf)
    pci.set_group_type(gid, typ)
    pci.bind(bdf, driver)
    return pci.group_type(gid)


def strict(bdf, driver):
    """The device's group in strict mode (no tracepoint needed: either kernel)."""
    assert set_mode(bdf, driver, "DMA") == "DMA", f"{bdf}: group is not strict"


def memory_table():
    rows = []
    for cmd in MEMORY:
        tool = iommuctl(*cmd[0].split(), *cmd[1:])
        try:
            maps, total, server = bpfmaps.memory(tool.p.pid)
        finally:
            tool.stop()
        rows.append({"command": " ".join(cmd), "maps": len(maps), "bytes": total,
                     "cpus": bpfmaps.possible_cpus(), "bytes_256_cpus": server})
    return rows


# --- The counted boot (BENCH_COUNT=1)
#
# Under -icount shift=0,sleep=off the guest's clock is its instruction
# count (1 ns per instruction while it runs; it jumps to the next timer when
# it idles), so instructions are what is measured: bench/insn_count.c on
# the host counts every instruction and every atomic (LOCK-prefixed, or
# XCHG with memory) the whole machine runs between a start and a stop
# marker, kernel and user, and writes one line per window to its log
# ($BENCH_OUT/KIND-count.plugin.log); bench/report.py joins those lines
# with this boot's KIND-count.json, by window id and order.
#
# Per operation: the number of dma_map+dma_unmap pairs in a window must
# come from the same source on both kernels, and the unpatched kernel has
# none of the series' tracepoints; a kprobe or a tracepoint would be the
# very cost being measured, and dma_map_benchmark returns averages, not
# its loop count.  So the plugin counts them itself: it counts executions
# of the first instruction of the DMA API's entry points (dma_map_phys and
# dma_unmap_phys, or dma_map_page_attrs and dma_unmap_page_attrs before
# 7.2: every dma_map_single() goes through them, in every DMA mode), at
# their System.map addresses, which bench/run.sh passes to both (no KASLR:
# the kernels are built without CONFIG_RELOCATABLE, and run.sh appends
# nokaslr; checked against /proc/kallsyms below).  The guest is not touched.  fio's unit is its own
# count of I/Os, exact: a fixed number of them, not a time (with sleep=off
# guest time races ahead while the guest waits for the host's disk, so a
# time-based run would do few I/Os and carry the idle ticks).
#
# dma_map_benchmark runs for whole seconds only (1 at least): one guest
# second is about 1e9 instructions, most of them map+unmap loops.  Each
# loop also does four ktime_get(), five atomic64 ops (one locked each) and
# a cond_resched(): the untraced setup carries them too, so "minus no
# tracing" is what a setup adds.  DMA_FROM_DEVICE: no 4 KiB memset() per
# loop (REP STOSB counts once per iteration), which would swamp the rest.
COUNT = os.environ.get("BENCH_COUNT") == "1"
COUNT_SECONDS = int(os.environ.get("BENCH_COUNT_SECONDS", "1"))
FIO_IOS = int(os.environ.get("BENCH_FIO_IOS", "2000"))
INSN_MARK = os.path.join(OUT, "insn_mark")     # bench/build.sh put it there
DMA_FROM_DEVICE = 2                             # include/linux/map_benchmark.h
# dma_map_benchmark in each DMA mode (the edu device's group type), then fio
MODES = [("strict", "DMA"), ("lazy", "DMA-FQ"), ("identity", "identity")]
WORKLOADS = [m for m, _ in MODES] + ["fio"]


def window_ids(kind):
    """One window id per setup and workload, stable whatever is installed:
    the rounds of one are its occurrences, in order."""
    return {(name, w): 1 + i * len(WORKLOADS) + j
            for i, (name, _) in enumerate(SETUPS[kind]) for j, w in enumerate(WORKLOADS)}


def counted_entries():
    """BENCH_MAP/BENCH_UNMAP (SYMBOL@0xADDR, what the plugin counts) against
    /proc/kallsyms: an address that is not the symbol's counts nothing."""
    kallsyms = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            addr, _, sym = line.split()[:3]
            kallsyms.setdefault(sym, int(addr, 16))
    out = {}
    for name in ("map", "unmap"):
        sym, _, addr = os.environ.get(f"BENCH_{name.upper()}", "@").partition("@")
        want = int(addr, 16) if addr else None
        out[name] = {"symbol": sym, "addr": want, "kallsyms": kallsyms.get(sym),
                     "ok": want is not None and kallsyms.get(sym) == want}
    return out


def fio_counted(devs, wid):
    """FIO_IOS random 4 KiB direct reads in window wid, the window around
    fio's whole run (bench/insn_mark.c: its fork, exec and exit too); the
    number of I/Os fio made."""
    r = subprocess.run(
        [INSN_MARK, "run", str(wid), "--", "fio", "--name=randread",
         f"--filename=/dev/{devs.disk}", "--rw=randread", "--bs=4k", "--direct=1",
         "--ioengine=psync", f"--number_ios={FIO_IOS}", "--output-format=json"],
        capture_output=True, text=True, timeout=1800)
    if r.returncode:
        raise RuntimeError(f"fio failed: {r.stderr[-500:]}")
    return json.loads(r.stdout[r.stdout.index("{"):])["jobs"][0]["read"]["total_ios"]


def count_main(kind, edu, devs, setups):
    """Every setup's workloads between markers, ROUNDS times: per round and
    setup, dma_map_benchmark in each DMA mode, then fio (strict).  A window
    is recorded when its markers ran; "ok" when its workload finished."""
    ids = window_ids(kind)
    marks = Markers(ids.values())
    windows = []
    for r in range(ROUNDS):
        for name, start in setups[r % len(setups):] + setups[:r % len(setups)]:
            tool = start()
            try:
                for mode, typ in MODES:
                    # The table policy may hold the group to strict: what
                    # it ran in is recorded, not assumed
                    try:
                        got = set_mode(edu, BENCH, typ)
                    except RuntimeError as e:
                        print(f"# count round {r + 1}: {name}: {mode} not measured: {e}",
                              flush=True)
                        continue
                    rec = {"id": ids[name, mode], "setup": name, "workload": mode,
                           "round": r, "group_type": got, "ok": False}
                    windows.append(rec)
                    m, u = marks.window(rec["id"], dmabench.run, seconds=COUNT_SECONDS,
                                        dma_dir=DMA_FROM_DEVICE)
                    rec.update(ok=True, bench_map_ns=m, bench_unmap_ns=u)
                strict(edu, BENCH)
                rec = {"id": ids[name, "fio"], "setup": name, "workload": "fio", "round": r,
                       "group_type": pci.group_type(pci.group(devs.nvme_bdf)), "ok": False}
                windows.append(rec)
                rec.update(ok=True, ios=fio_counted(devs, rec["id"]))
            finally:
                if tool:
                    tool.stop()
            print(f"# count round {r + 1}: {name}: done", flush=True)
    return {"kind": kind, "kernel": os.uname().release, "rounds": ROUNDS,
            "seconds": COUNT_SECONDS, "fio_ios": FIO_IOS, "modes": dict(MODES),
            "counted": counted_entries(), "windows": windows}


def main():
    kind = sys.argv[1]
    edu = pci.edu()
    strict(edu, BENCH)
    devs = RealDevices()
    strict(devs.nvme_bdf, "nvme")
    time.sleep(1)
    have_bpftrace = shutil.which("bpftrace") is not None
    setups = [(n, s) for n, s in SETUPS[kind] if have_bpftrace or "bpftrace" not in n]
    if COUNT:
        out = count_main(kind, edu, devs, setups)
        out["bpftrace"] = have_bpftrace
        devs.unload()
        with open(os.path.join(OUT, f"{kind}-count.json"), "w") as f:
            json.dump(out, f, indent=1)
        return 0
    results = {name: {"dma": [], "fio": []} for name, _ in setups}
    for r in range(ROUNDS):
        # Each round starts one setup later: every setup runs in every place
        # of the order, so what follows what hits them all alike.
        for name, start in setups[r % len(setups):] + setups[:r % len(setups)]:
            tool = start()
            try:
                results[name]["dma"].append(dmabench.run(seconds=SECONDS))
                results[name]["fio"].append(devs.fio(seconds=SECONDS))
            finally:
                if tool:
                    tool.stop()
            print(f"# round {r + 1}: {name}: dma {results[name]['dma'][-1]}, "
                  f"fio {results[name]['fio'][-1]}", flush=True)
    out = {"kind": kind, "kernel": os.uname().release, "rounds": ROUNDS,
           "seconds": SECONDS, "bpftrace": have_bpftrace, "results": results}
    if kind == "patched":
        out["memory"] = memory_table()
        out["program_costs"] = program_costs()
    devs.unload()
    with open(os.path.join(OUT, f"{kind}.json"), "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

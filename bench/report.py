#!/usr/bin/python3
"""make bench's tables, from the two boots' results (bench/in_vm.py):
every figure a ratio of two measured in the same run."""

import json
import os
import sys


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if not n:
        return float("nan")
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def spread(xs):
    """(max - min) / median of a setup's rounds: how far apart rounds of
    the same thing land, the noise any ratio must be read against."""
    return (max(xs) - min(xs)) / median(xs) if xs and median(xs) else float("nan")


def load(path):
    with open(path) as f:
        return json.load(f)


def dma(res, name):
    """Median map and unmap ns of dma_map_benchmark over the rounds."""
    runs = res["results"][name]["dma"]
    return median([m for m, _ in runs]), median([u for _, u in runs])


def iops(res, name):
    return median([i for i, _ in res["results"][name]["fio"]])


def goal(ok):
    return "ok" if ok else "MISSED"


def main():
    out = sys.argv[1]
    p = load(os.path.join(out, "patched.json"))
    u = load(os.path.join(out, "unpatched.json"))
    print(f"\nmake bench: {p['rounds']} rounds x {p['seconds']} s per setup and workload, "
          "strict mode, TCG (compare ratios, not absolute values)")

    print(f"\n1. The series, nothing traced: {p['kernel']} vs {u['kernel']} "
          "(the same config without it), one boot each")
    pm, pu = dma(p, "no tracing")
    um, uu = dma(u, "no tracing")
    pi, ui = iops(p, "no tracing"), iops(u, "no tracing")
    pr, ur = p["results"]["no tracing"], u["results"]["no tracing"]
    print(f"   {'':28s} {'patched':>10s} {'unpatched':>10s} {'ratio':>7s} {'noise':>7s}  "
          "goal within 2%")
    for label, a, b, lower_is_better, runs in (
            ("dma_map_benchmark map ns", pm, um, True,
             [m for m, _ in pr["dma"]] + [m for m, _ in ur["dma"]]),
            ("dma_map_benchmark unmap ns", pu, uu, True,
             [x for _, x in pr["dma"]] + [x for _, x in ur["dma"]]),
            ("fio IOPS", pi, ui, False, [i for i, _ in pr["fio"]] + [i for i, _ in ur["fio"]])):
        ratio = a / b
        worse = ratio - 1 if lower_is_better else 1 - ratio
        noise = max(spread([x for x in runs[:len(runs) // 2]]),
                    spread([x for x in runs[len(runs) // 2:]]))
        verdict = goal(worse <= 0.02)
        if noise > 0.02 and abs(ratio - 1) < noise:
            verdict = "within noise (2% is below it)"
        print(f"   {label:28s} {a:10.0f} {b:10.0f} {ratio:6.3f}x {noise:6.1%}  {verdict}")
    print("   noise: the larger (max - min) / median of a kernel's untraced rounds")

    base_m, base_u = dma(p, "no tracing")
    added = {}
    print("\n2. What each setup adds to a DMA map+unmap (dma_map_benchmark), and fio's "
          "IOPS under it")
    print(f"   {'setup':38s} {'map ns':>8s} {'unmap ns':>9s} {'+total ns':>10s} "
          f"{'spread':>7s} {'fio IOPS':>9s} {'vs none':>8s} {'spread':>7s}")
    for name in p["results"]:
        m, un = dma(p, name)
        added[name] = (m - base_m) + (un - base_u)
        i = iops(p, name)
        runs = p["results"][name]
        print(f"   {name:38s} {m:8.0f} {un:9.0f} {added[name]:10.0f} "
              f"{spread([a + b for a, b in runs['dma']]):6.1%} {i:9.0f} {i / pi:7.3f}x "
              f"{spread([x for x, _ in runs['fio']]):6.1%}")
    print("   medians over the rounds; spread: (max - min) / median of the setup's rounds")

    print("\n3. Ratios (goals from issue 10)")
    floor = added.get("floor: empty BPF on the tracepoints")
    bt = added.get("bpftrace kprobe+kretprobe")
    for n in ("iommuctl trace latency", "iommuctl trace latency -D", "iommuctl trace flush"):
        if floor and floor > 0:
            r = added[n] / floor
            print(f"   {n:28s} adds {r:5.2f}x the floor's   (goal <= 1.2x)   {goal(r <= 1.2)}")
        if bt and bt > 0:
            r = added[n] / bt
            print(f"   {n:28s} adds {r:5.2f}x bpftrace's   (goal <= 0.25x)  {goal(r <= 0.25)}")
    if not p["bpftrace"]:
        print("   bpftrace is not installed: no comparison (make bench installs it)")
    pol = added.get("table policy attached")
    if pol is not None:
        totals = [m + un for m, un in p["results"]["no tracing"]["dma"]]
        noise = max(totals) - min(totals)
        print(f"   table policy attached: {pol:+.0f} ns per map+unmap; "
              f"the untraced rounds spread {noise:.0f} ns   (goal: within noise)   "
              f"{goal(abs(pol) <= max(noise, 1))}")

    costs = p.get("program_costs", {})
    if costs:
        print("\n   The programs' own cost per run, from the kernel's run-time statistics "
              "(one pass with them on):")
        fl = costs.get("floor: empty BPF on the tracepoints")
        fl_ns = fl["ns"] / fl["runs"] if fl and fl["runs"] else 0
        for name, c in costs.items():
            per = c["ns"] / c["runs"] if c["runs"] else float("nan")
            extra = f"   {per - fl_ns:+6.0f} ns beyond the floor's" if fl_ns else ""
            print(f"   {name:38s} {c['runs']:9d} runs  {per:7.0f} ns per run{extra}")

    print("\n4. BPF map memory per command (kernel's fdinfo memlock; per-CPU maps "
          "scaled to 256 CPUs)")
    print(f"   {'command':22s} {'maps':>5s} {'bytes':>10s} {'CPUs':>5s} {'MiB at 256':>11s}")
    for row in p.get("memory", []):
        print(f"   {row['command']:22s} {row['maps']:5d} {row['bytes']:10d} {row['cpus']:5d} "
              f"{row['bytes_256_cpus'] / 2**20:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

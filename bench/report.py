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


# --- The counted boots (bench/run.sh's count_boot, in_vm.py's count_main)

def plugin_log(path):
    """The insn_count plugin's log: {window id: [its counts, occurrence by
    occurrence]} ("window ID insns N atomics M map K unmap L" lines), and
    what it complained of (unmatched or bad markers, a warning)."""
    occ, problems = {}, []
    if not os.path.exists(path):
        return occ, [f"no {path}"]
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) >= 2 and w[0] == "window":
                occ.setdefault(int(w[1]), []).append(
                    {k: int(v) for k, v in zip(w[2::2], w[3::2])})
            elif w and w[0] in ("unmatched", "bad", "warning:"):
                problems.append(line.strip())
    return occ, problems


def counted(out, kind):
    """A counted boot's windows joined with the plugin's counts, window id
    by window id in order of occurrence: {(setup, workload): [per-operation
    counts, round by round]}, the boot's results, and what did not add up.
    The operations: dma_unmap calls (the plugin's 'unmap' count) in a
    dma_map_benchmark window, fio's own count of I/Os in a fio window."""
    path = os.path.join(out, f"{kind}-count.json")
    if not os.path.exists(path):
        return None
    res = load(path)
    occ, problems = plugin_log(os.path.join(out, f"{kind}-count.plugin.log"))
    problems = [f"{kind}: {line}" for line in problems]
    entries_ok = all(e["ok"] for e in res["counted"].values())
    if not entries_ok:
        problems.append(f"{kind}: the counted addresses are not the symbols' "
                        f"({res['counted']}): no dma_map_benchmark figures")
    # Joined by order: an id whose occurrences do not add up on both sides
    # (a line lost) cannot say which round is which, and is left out whole
    recorded = {}
    for w in res["windows"]:
        recorded[w["id"]] = recorded.get(w["id"], 0) + 1
    for wid in sorted(set(recorded) | set(occ)):
        if recorded.get(wid, 0) != len(occ.get(wid, [])):
            problems.append(f"{kind}: window {wid}: the guest ran it {recorded.get(wid, 0)} "
                            f"times, the plugin counted it {len(occ.get(wid, []))} times")
    seen, per = {}, {}
    for w in res["windows"]:
        k = seen[w["id"]] = seen.get(w["id"], -1) + 1
        where = f"{kind}: {w['setup']}, {w['workload']}, round {w['round'] + 1}"
        if recorded[w["id"]] != len(occ.get(w["id"], [])):
            continue
        c = occ[w["id"]][k]
        if not w["ok"]:
            problems.append(f"{where}: the workload failed")
            continue
        if w["workload"] == "fio":
            ops = w["ios"]
        elif entries_ok:
            ops = c.get("unmap", 0)
            if abs(c.get("map", 0) - ops) > max(2, ops // 1000):
                problems.append(f"{where}: {c.get('map')} maps but {ops} unmaps")
        else:
            continue
        if not ops:
            problems.append(f"{where}: no operation in the window")
            continue
        per.setdefault((w["setup"], w["workload"]), []).append(
            {"insns": c["insns"] / ops, "atomics": c["atomics"] / ops,
             "group_type": w["group_type"]})
    return {"res": res, "per": per, "problems": problems}


FLOOR = "floor: empty BPF on the tracepoints"


def counted_tables(out):
    p, u = counted(out, "patched"), counted(out, "unpatched")
    if not p:
        return
    res = p["res"]
    print(f"\n5. Counted, not timed: guest instructions and atomics (LOCK-prefixed, or XCHG "
          f"with memory) per operation, {res['rounds']} rounds")
    print("   under -icount shift=0,sleep=off with bench/insn_count.c: the whole machine "
          "(kernel and user, every task) between markers;")
    print(f"   per dma_map+dma_unmap pair of dma_map_benchmark ({res['seconds']} s windows, "
          f"DMA_FROM_DEVICE) and per fio I/O ({res['fio_ios']} random 4 KiB reads),")
    print("   median [min..max] of the rounds and their spread, then against the untraced "
          "setup (-none, /none) and the floor")
    print("   (-floor, and adds x floor: what the setup adds to no tracing over what the floor "
          "adds);")
    print("   the unpatched kernel's row is against the patched kernel's untraced setup; "
          "x floor '-': the floor adds less than the rounds spread")
    modes = res["modes"]
    for metric in ("insns", "atomics"):
        prec = 0 if metric == "insns" else 2
        for wl in [m for m in modes] + ["fio"]:
            unit = "per fio I/O" if wl == "fio" else f"per map+unmap pair, {wl}"
            print(f"\n   {metric} {unit}")
            print(f"   {'setup':42s} {'median':>9s} {'min':>9s} {'max':>9s} {'spread':>7s} "
                  f"{'-none':>8s} {'/none':>6s} {'-floor':>8s} {'x floor':>7s}")
            rows = [(f"{n} (unpatched)", u["per"].get((n, wl))) for n in
                    ([n for n, w in u["per"] if w == wl] if u else [])]
            rows += [(n, runs) for (n, w), runs in p["per"].items() if w == wl]
            med = {name: median([r[metric] for r in runs]) for name, runs in rows if runs}
            b, f = med.get("no tracing"), med.get(FLOOR)
            # A ratio to what the floor adds only where that is above the
            # rounds' own noise (identity mode: nothing to add)
            noise = max([max(xs) - min(xs) for xs in
                         ([r[metric] for r in runs] for name, runs in rows
                          if runs and name in ("no tracing", FLOOR))] or [0])
            for name, runs in rows:
                if not runs:
                    continue
                xs = [r[metric] for r in runs]
                m = med[name]
                typ = {r["group_type"] for r in runs}
                want = "DMA" if wl == "fio" else modes[wl]
                label = name if typ == {want} else f"{name} (ran in {'/'.join(sorted(typ))})"
                cols = f"{m:9.{prec}f} {min(xs):9.{prec}f} {max(xs):9.{prec}f} {spread(xs):6.1%}"
                if b is not None:
                    cols += f" {m - b:+8.{prec}f} {m / b if b else float('nan'):5.3f}x"
                if f is not None:
                    cols += f" {m - f:+8.{prec}f}"
                    if b is not None and abs(f - b) > noise:
                        cols += f" {(m - b) / (f - b):6.2f}x"
                    else:
                        cols += f" {'-':>7s}"
                print(f"   {label[:42]:42s} {cols}")
    problems = p["problems"] + (u["problems"] if u else ["no unpatched-count.json"])
    if problems:
        print("\n   What did not add up (those windows are left out):")
        for line in problems[:20]:
            print(f"   {line}")
        if len(problems) > 20:
            print(f"   ... and {len(problems) - 20} more")


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
    counted_tables(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""iommuctl against independent ground truth: sysfs for `devices`, ftrace
hist triggers on the same tracepoints for `trace latency` and `trace flush`.
The counts must be equal, not close: both see every event of the window."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

from iommuvm import bpfmaps, dmabench, pci, uapi
from iommuvm.background import IOMMUCTL
from iommuvm.background import iommuctl as start_iommuctl
from iommuvm.edu import BENCH, Ctx, ensure_group, switch_mode
from iommuvm.realdev import RealDevices
from iommuvm.tracefs import TRACEFS, Trace, mount
from iommutest.tap import Skip, check



def iommuctl(*args, timeout=120):
    return subprocess.run([IOMMUCTL, *args], capture_output=True, text=True,
                          timeout=timeout)


class HistTrigger:
    """An ftrace hist trigger on an iommu event: the ground truth."""

    def __init__(self, event, spec):
        mount()
        self.dir = os.path.join(TRACEFS, "events", "iommu", event)
        self.spec = spec
        with open(os.path.join(self.dir, "trigger"), "w") as f:
            f.write(spec)

    def read(self):
        with open(os.path.join(self.dir, "hist")) as f:
            return f.read()

    def close(self):
        with open(os.path.join(self.dir, "trigger"), "w") as f:
            f.write("!" + self.spec)


def hist_rows(text, key):
    """{key value: {field: int}} from a hist file."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\{ " + key + r":\s*(\S+)\s*\}\s+(.*)$", line)
        if m:
            rows[m[1]] = {k: int(v) for k, v in re.findall(r"(\w+):\s*(\d+)", m[2])}
    return rows


def test_devices_match_sysfs(ctx):
    ensure_group(ctx)
    r = iommuctl("devices", "-j")
    check(r.returncode == 0, f"devices -j failed: {r.stderr}")
    devs = {d["device"]: d for d in json.loads(r.stdout)["devices"]}
    groups = "/sys/kernel/iommu_groups"
    seen = 0
    for g in os.listdir(groups):
        for name in os.listdir(f"{groups}/{g}/devices"):
            seen += 1
            d = devs.get(name)
            check(d is not None, f"{name} (group {g}) missing from iommuctl devices")
            path = f"{groups}/{g}/devices/{name}"
            with open(f"{groups}/{g}/type") as f:
                typ = f.read().strip()
            with open(f"{groups}/{g}/reserved_regions") as f:
                nresv = len(f.read().splitlines())
            drv = os.path.basename(os.readlink(f"{path}/driver")) \
                if os.path.islink(f"{path}/driver") else None
            iommu = os.path.basename(os.readlink(f"{path}/iommu"))
            got_resv = sum(d["reserved_regions"].values())
            check(d["group"] == int(g) and d["domain_type"] == typ and
                  d["driver"] == drv and d["iommu"] == iommu and got_resv == nresv,
                  f"{name}: iommuctl says {d}, sysfs says group {g} type {typ} "
                  f"driver {drv} iommu {iommu} {nresv} reserved regions")
    check(seen == len(devs), f"sysfs has {seen} devices behind an IOMMU, iommuctl {len(devs)}")
    edu = devs[ctx.bdf]
    check(edu["vendor_device"] == "1234:11e8" and edu["bus"] == "pci", f"edu: {edu}")


def test_devices_coherent_is_snoop_control(ctx):
    """`coherent` is whether the edu device's IOMMU enforces DMA cache
    coherency (IOMMU_CAP_ENFORCE_CACHE_COHERENCY): on VT-d, the kernel's
    intel_iommu_capable() returns ecap_sc_support(), bit 7 (SC, snoop
    control) of the unit's extended capabilities, which sysfs shows in hex
    in /sys/class/iommu/dmar0/intel-iommu/ecap."""
    if ctx.profile != "intel":
        raise Skip("the ground truth is VT-d's ecap")
    ensure_group(ctx)
    iommu = os.path.basename(os.readlink(f"/sys/bus/pci/devices/{ctx.bdf}/iommu"))
    with open(f"/sys/class/iommu/{iommu}/intel-iommu/ecap") as f:
        ecap = f.read().strip()
    want = bool(int(ecap, 16) >> 7 & 1)
    r = iommuctl("devices", "-j")
    check(r.returncode == 0, f"devices -j failed: {r.stderr}")
    edu = {d["device"]: d for d in json.loads(r.stdout)["devices"]}.get(ctx.bdf)
    check(edu is not None, f"{ctx.bdf} missing from iommuctl devices")
    check(edu["iommu"] == iommu, f"edu: iommuctl says IOMMU {edu['iommu']}, sysfs {iommu}")
    check(edu["coherent"] is want,
          f"edu behind {iommu}: iommuctl says coherent {edu['coherent']} (null: debugfs "
          f"iommu_policy/devices unreadable), ecap {ecap} has SC={int(want)}")
    r = iommuctl("devices")
    row = [line for line in r.stdout.splitlines() if line.startswith(ctx.bdf + " ")]
    word = "coherent" if want else "noncoherent"
    check(r.returncode == 0 and len(row) == 1 and f" {word} " in row[0],
          f"devices table row of {ctx.bdf} should say {word}: {row or r.stdout}")


def test_latency_matches_ftrace_hist(ctx):
    switch_mode(ctx, "DMA")
    tool = start_iommuctl("trace", "latency", "-D", "-j", "--stats",
                      "-o", "dma_map,dma_unmap", "6", "1")
    # Unsplit, iommuctl keeps one per-CPU array slot per operation instead;
    # this one also attaches the raw_tp copies of the programs.
    total = start_iommuctl("trace", "latency", "-j", "--force-raw-tp", "6", "1")
    maps = HistTrigger("iommu_dma_map", "hist:keys=device:vals=hitcount,duration_ns")
    unmaps = HistTrigger("iommu_dma_unmap",
                         "hist:keys=device:vals=hitcount,duration_ns if queued == 0")
    try:
        dmabench.run(seconds=1)
        truth_map = hist_rows(maps.read(), "device")
        truth_unmap = hist_rows(unmaps.read(), "device")
    finally:
        maps.close()
        unmaps.close()
    out, err = tool.wait()
    check("events in" in err and "ns per run" in err, f"--stats line missing: {err}")
    # -o dma_map,dma_unmap loads those two programs only: one run per
    # operation recorded, none for the domain_map and domain_unmap each of
    # them makes (strict DMA mode: the runs were twice the events before)
    m = re.search(r"(\d+) events in .*BPF programs ran (\d+) times", err)
    check(m and 0 < int(m[1]) <= int(m[2]) <= int(m[1]) * 1.01 + 20,
          f"-o dma_map,dma_unmap -S: runs should be the events recorded: {err}")
    tot_out, tot_err = total.wait()
    check("attaching raw tracepoints" in tot_err, f"raw_tp mode not announced: {tot_err}")
    tot = {e["op"]: e for e in json.loads(tot_out.strip().splitlines()[-1])["latency"]}
    for op, truth in (("dma_map", truth_map), ("dma_unmap_strict", truth_unmap)):
        want = sum(t["hitcount"] for t in truth.values())
        want_ns = sum(t["duration_ns"] for t in truth.values())
        got = tot.get(op, {"count": 0, "sum": 0})
        check(got["count"] == want and got["sum"] == want_ns,
              f"unsplit {op}: iommuctl {got['count']} ops / {got['sum']} ns, "
              f"ftrace {want} / {want_ns}")
    lat = json.loads(out.strip().splitlines()[-1])["latency"]
    mine = {(e["op"], e["device"]): e for e in lat}

    for op, truth in (("dma_map", truth_map), ("dma_unmap_strict", truth_unmap)):
        t = truth.get(ctx.bdf)
        e = mine.get((op, ctx.bdf))
        check(t and t["hitcount"] > 100, f"ftrace saw {t} {op} for {ctx.bdf}")
        check(e is not None, f"iommuctl has no {op} histogram for {ctx.bdf}: {list(mine)}")
        check(e["count"] == t["hitcount"],
              f"{op}: iommuctl counted {e['count']}, ftrace {t['hitcount']}")
        check(e["sum"] == t["duration_ns"],
              f"{op}: iommuctl summed {e['sum']} ns, ftrace {t['duration_ns']} ns")
        check(0 < e["p50"] <= e["p90"] <= e["p99"] <= e["max"] and
              sum(b["count"] for b in e["hist"]) == e["count"],
              f"{op}: inconsistent summary {e}")
    # -D splits by device: every name is a real device.
    for op, dev in mine:
        check(dev and os.path.exists(f"/sys/bus/pci/devices/{dev}"),
              f"per-device key {dev!r} ({op}) is not a PCI device")
    check(("dma_unmap_queued", ctx.bdf) not in mine, "strict mode produced queued unmaps")


def test_flush_matches_ftrace_hist(ctx):
    switch_mode(ctx, "DMA-FQ")
    tool = start_iommuctl("trace", "flush", "-E", "-j", "6", "1")
    fq = HistTrigger("dma_fq_flush", "hist:keys=domain_id:vals=hitcount,released")
    try:
        dmabench.run(seconds=1)
        time.sleep(0.5)         # the flush timer runs 10 ms after the last unmap
        truth = hist_rows(fq.read(), "domain_id")
    finally:
        fq.close()
    out, _ = tool.wait()
    doms = {d["domain"]: d for d in json.loads(out.strip().splitlines()[-1])["domains"]}
    d = doms.get(ctx.domain)
    check(d is not None, f"iommuctl saw no flushes in edu's domain {ctx.domain}: {list(doms)}")
    check(d["device"] == ctx.bdf, f"domain {ctx.domain} attributed to {d['device']}")
    t = truth.get(str(ctx.domain))
    check(t, f"ftrace saw no flush-queue flush in domain {ctx.domain}: {truth}")
    fl = d["flushes"]
    count = sum(fl.get(k, {}).get("count", 0) for k in ("fq_timer", "fq_full"))
    released = sum(fl.get(k, {}).get("released", 0) for k in ("fq_timer", "fq_full"))
    check(count == t["hitcount"] and released == t["released"],
          f"flush-queue flushes: iommuctl {count} releasing {released}, "
          f"ftrace {t['hitcount']} releasing {t['released']}")
    expo = d.get("exposure_ns")
    check(expo and expo["count"] > 0 and expo["max"] < 1_000_000_000,
          f"no plausible exposure window: {expo}")
    # Every queued unmap is exposed until a flush that released it.
    check(expo["count"] <= released, f"{expo['count']} exposures, {released} released")


def test_real_devices_match_ftrace_hist(ctx):
    """Real drivers under real load: an NVMe disk under fio and a NIC under
    iperf3.  Per device, trace latency -D counts exactly the maps and unmaps
    ftrace's hist triggers count over the same window, and the window's
    traffic is what fio and iperf3 say it was."""
    devs = RealDevices()
    try:
        devs.link_up()
        tool = start_iommuctl("trace", "latency", "-D", "-j", "-o", "dma_map,dma_unmap",
                              "120", "1")
        maps = HistTrigger("iommu_dma_map", "hist:keys=device:vals=hitcount")
        unmaps = HistTrigger("iommu_dma_unmap", "hist:keys=device:vals=hitcount")
        try:
            iops, lat_us = devs.fio(seconds=2)
            mbits = devs.iperf(seconds=2)
            # The NIC's ring goes with its link: nothing arrives after this.
            devs.link_down()
            time.sleep(0.5)
            truth_map = hist_rows(maps.read(), "device")
            truth_unmap = hist_rows(unmaps.read(), "device")
        finally:
            maps.close()
            unmaps.close()
        tool.p.send_signal(signal.SIGINT)
        out, _ = tool.wait()
    finally:
        devs.unload()
    print(f"# fio {iops:.0f} IOPS, {lat_us:.0f} us mean; iperf3 {mbits:.1f} Mbit/s")
    check(iops > 0 and mbits > 0, f"no traffic: fio {iops} IOPS, iperf3 {mbits} Mbit/s")
    got = {}
    for e in json.loads(out.strip().splitlines()[-1])["latency"]:
        op = "dma_unmap" if e["op"].startswith("dma_unmap") else e["op"]
        got[op, e["device"]] = got.get((op, e["device"]), 0) + e["count"]
    for bdf, what in ((devs.nvme_bdf, "NVMe"), (devs.nic_bdf, "NIC")):
        for op, truth in (("dma_map", truth_map), ("dma_unmap", truth_unmap)):
            want = truth.get(bdf, {}).get("hitcount", 0)
            check(want > 0, f"ftrace saw no {op} of the {what} {bdf}: {truth}")
            check(got.get((op, bdf), 0) == want,
                  f"{what} {bdf} {op}: iommuctl {got.get((op, bdf), 0)}, ftrace {want}")
    # fio reads 4 KiB per I/O, each a DMA map of the disk: at least IOPS x 2 s
    check(truth_map[devs.nvme_bdf]["hitcount"] >= iops * 2 * 0.9,
          f"{truth_map[devs.nvme_bdf]['hitcount']} NVMe maps for {iops:.0f} IOPS over 2 s")


# Issue 10: the BPF maps of any one command fit in 16 MiB on a 256-CPU server.
MAP_BUDGET = 16 << 20


def maps_within_budget(name, pid):
    """The maps pid holds, from the kernel; fails if they would exceed the
    budget on a SERVER_CPUS server.  Returns the unscaled total."""
    maps, total, server = bpfmaps.memory(pid)
    check(maps, f"{name}: no BPF map in /proc/{pid}/fdinfo")
    print(f"# maps of {name}: {len(maps)}, {total} bytes with {bpfmaps.possible_cpus()} "
          f"possible CPUs, {server / 2**20:.2f} MiB at {bpfmaps.SERVER_CPUS}")
    check(server <= MAP_BUDGET,
          f"{name}: maps take {server / 2**20:.1f} MiB at {bpfmaps.SERVER_CPUS} CPUs "
          f"(budget 16): {maps}")
    return total


def test_maps_fit_a_server(ctx):
    """Each trace command's maps, read from the kernel while it runs, take
    at most 16 MiB with per-CPU maps scaled to 256 possible CPUs; --stats
    reports the same total; and Ctrl-C in the middle of an interval reports
    the interval's real length."""
    ensure_group(ctx)
    ncpu = bpfmaps.possible_cpus()
    events = start_iommuctl("trace", "events", "-j")
    maps_within_budget("trace events", events.p.pid)
    events.p.send_signal(signal.SIGINT)
    events.wait()
    # top and metrics load the per-device latency and the flush programs
    with tempfile.TemporaryDirectory() as textfile_dir:
        for name, args in (("top", ("top", "-b", "-j", "60", "1")),
                           ("metrics", ("metrics", "-t", textfile_dir, "60"))):
            tool = start_iommuctl(*args)
            maps_within_budget(name, tool.p.pid)
            tool.p.send_signal(signal.SIGINT)
            tool.wait()
    commands = [("latency",), ("latency", "-D"), ("latency", "-d", ctx.bdf),
                ("flush",), ("flush", "-E")]
    for cmd in commands:
        tool = start_iommuctl("trace", *cmd, "-j", "--stats", "60", "1")
        began = time.monotonic()
        name = "trace " + " ".join(cmd)
        total = maps_within_budget(name, tool.p.pid)
        time.sleep(1)
        tool.p.send_signal(signal.SIGINT)
        out, err = tool.wait()
        took = time.monotonic() - began
        m = re.search(r"BPF maps use (\d+) bytes .* with (\d+) possible CPUs", err)
        check(m and int(m[1]) == total and int(m[2]) == ncpu,
              f"{name}: --stats should report {total} bytes, {ncpu} CPUs: {err}")
        obj = json.loads(out.strip().splitlines()[-1])
        check(0.5 < obj["interval_s"] <= took,
              f"{name}: interrupted after {took:.1f} s of a 60 s interval, "
              f"reported interval_s {obj['interval_s']}")
        lost = obj.get("lost", {})
        check(lost.get("map_full") == 0 and lost.get("recursion") == 0 and
              ("exposure_untracked" in lost) == ("-E" in cmd),
              f"{name}: per-interval losses {lost}")


def test_full_map_is_counted(ctx):
    """With room for one per-device histogram, the second operation's
    samples are not recorded: counted ones plus lost ones equal ftrace's
    count of both operations, in the interval's own "lost" field."""
    switch_mode(ctx, "DMA")
    tool = start_iommuctl("trace", "latency", "-D", "-K", "1", "-d", ctx.bdf, "-j",
                          "-o", "dma_map,dma_unmap", "6", "1")
    maps = HistTrigger("iommu_dma_map", "hist:keys=device:vals=hitcount")
    unmaps = HistTrigger("iommu_dma_unmap", "hist:keys=device:vals=hitcount")
    try:
        dmabench.run(seconds=1)
        want = sum(hist_rows(h.read(), "device").get(ctx.bdf, {}).get("hitcount", 0)
                   for h in (maps, unmaps))
    finally:
        maps.close()
        unmaps.close()
    out, err = tool.wait()
    obj = json.loads(out.strip().splitlines()[-1])
    got = sum(e["count"] for e in obj["latency"])
    lost = obj["lost"]["map_full"]
    check(len(obj["latency"]) == 1 and lost > 100,
          f"one histogram and many samples lost expected: {len(obj['latency'])} "
          f"histograms, {lost} lost")
    check(got + lost == want,
          f"recorded {got} + not recorded {lost} != ftrace's {want} maps and unmaps")
    text = start_iommuctl("trace", "latency", "-D", "-K", "1", "-d", ctx.bdf, "4", "1")
    dmabench.run(seconds=1)
    out, _ = text.wait()
    check(re.search(r"^\(not recorded: \d+ samples with a new key \(map full\)", out, re.M),
          f"the text output should end with a footnote: {out[-300:]}")
    r = iommuctl("trace", "latency", "-K", "8", "1", "1")
    check(r.returncode == 2 and "-D" in r.stderr, f"-K without -D: {r.returncode} {r.stderr}")


def iommufd_claim(bdf):
    """Bind bdf to vfio-pci and to iommufd, which claims its DMA (the group
    moves to a blocking domain), then close: the claim is released."""
    pci.bind(bdf, "vfio-pci")
    dev = uapi.IommufdDevice(bdf)
    try:
        dev.bind()
    finally:
        dev.close()


def test_events_timestamp_is_the_events_own(ctx):
    """trace events -T prints when each event happened, not when it was
    printed: the command is stopped (SIGSTOP) while a sysfs type change
    makes events and resumed two seconds later; each line's time must be
    the change's, not the resume's."""
    ensure_group(ctx)
    tool = start_iommuctl("trace", "events", "-T", "-d", ctx.bdf)
    try:
        tool.p.send_signal(signal.SIGSTOP)
        before = time.time()
        switch_mode(ctx, "DMA")
        after = time.time()
        time.sleep(2)
        resumed = time.time()
        tool.p.send_signal(signal.SIGCONT)
        time.sleep(0.5)
    finally:
        tool.p.send_signal(signal.SIGCONT)
        tool.p.send_signal(signal.SIGINT)
    out, _ = tool.wait()
    stamps = []
    for line in out.splitlines():
        m = re.match(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) ", line)
        check(m, f"trace events -T: no timestamp on {line!r}")
        # The day's date is the event's: rebuild the full time around 'before'
        day = time.localtime(before)
        t = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, int(m[1]), int(m[2]),
                         int(m[3]), 0, 0, -1)) + int(m[4]) / 1000
        stamps.append(t)
    print(f"# {len(stamps)} events; change at {before:.3f}..{after:.3f}, resumed "
          f"{resumed:.3f}; printed {[f'{t:.3f}' for t in stamps]}")
    check(stamps, f"trace events -T printed nothing for the type change: {out!r}")
    for t in stamps:
        # a millisecond clock, printed truncated: allow that much
        check(before - 0.002 <= t <= after + 0.002,
              f"an event stamped {t:.3f}, outside the change ({before:.3f}..{after:.3f}); "
              f"resumed at {resumed:.3f}")


def test_events_match_ftrace(ctx):
    """The event stream carries what the tracepoints carry: compared record
    by record with an ftrace instance on the same events."""
    events = ["attach_dev", "detach_dev", "default_domain", "dma_owner"]
    ensure_group(ctx)
    truth_trace = Trace("events_truth")
    truth_trace.enable(*events)
    truth_trace.start()
    tool = start_iommuctl("trace", "events", "-j")
    try:
        switch_mode(ctx, "DMA")
        iommufd_claim(ctx.bdf)
        pci.bind(ctx.bdf, BENCH)
        time.sleep(0.5)         # let the ring buffer drain
    finally:
        truth_trace.stop()
        tool.p.send_signal(signal.SIGINT)
    out, _ = tool.wait()
    truth = truth_trace.records()
    truth_trace.close()
    mine = [json.loads(line) for line in out.splitlines() if line.strip()]

    def key_truth(r):
        f = r.f
        if r.event == "default_domain":
            return (r.event, f["device"], int(f["group"]), f["driver_type"], f["req_type"],
                    int(f["domain"]), f["type"], int(f["ret"]))
        if r.event == "dma_owner":
            return (r.event, f["device"] or None, int(f["group"]), f["op"],
                    int(f["owner_cnt"]), int(f["ret"]))
        return (r.event, f["device"], int(f["group"]), int(f["pasid"]), int(f["old_domain"]),
                f["old_type"], int(f["new_domain"]), f["new_type"], int(f["ret"]))

    def key_mine(e):
        if e["event"] == "default_domain":
            return (e["event"], e["device"] or "", e["group"], e["driver_type"], e["req_type"],
                    e["domain"], e["type"], e["ret"])
        if e["event"] == "dma_owner":
            return (e["event"], e["device"], e["group"], e["op"], e["owner_cnt"], e["ret"])
        return (e["event"], e["device"], e["group"], e["pasid"], e["old_domain"],
                e["old_type"], e["new_domain"], e["new_type"], e["ret"])

    want = sorted(key_truth(r) for r in truth if r.event in events)
    got = sorted(key_mine(e) for e in mine if e["event"] in events)
    check(len(want) >= 6, f"too few events provoked: {want}")
    check(got == want, "iommuctl trace events differs from ftrace:\n"
          f"only ftrace: {sorted(set(want) - set(got))}\nonly iommuctl: {sorted(set(got) - set(want))}")
    kinds = {k[0] for k in got}
    check({"attach_dev", "default_domain", "dma_owner"} <= kinds, f"kinds seen: {kinds}")


def moves(ctx, mode):
    """The edu through identity, an iommufd claim (a blocking domain) and
    back to mode, with no tracer of the test's own (switch_mode traces)."""
    pci.unbind(ctx.bdf)
    pci.set_group_type(ctx.gid, "identity")
    pci.bind(ctx.bdf, BENCH)
    iommufd_claim(ctx.bdf)
    pci.unbind(ctx.bdf)
    pci.set_group_type(ctx.gid, mode)
    pci.bind(ctx.bdf, BENCH)


def test_events_alone_number_static_domains(ctx):
    """iommuctl trace events with nothing else tracing.  intel-iommu's
    identity and blocking domains are static: never allocated, numbered
    when first attached.  The same moves traced by ftrace afterwards must
    give the same moves and, for those static domains, the same ids.  Runs
    before every other test: one that attached a static domain first (with
    ftrace, which numbers what it records) would hide a missing id."""
    ensure_group(ctx)
    mode = pci.group_type(ctx.gid)
    tool = start_iommuctl("trace", "events", "-j")
    try:
        moves(ctx, mode)
        time.sleep(0.5)         # let the ring buffer drain
    finally:
        tool.p.send_signal(signal.SIGINT)
    out, _ = tool.wait()
    mine = [json.loads(line) for line in out.splitlines() if line.strip()]
    mine = [(e["old_type"], e["old_domain"], e["new_type"], e["new_domain"], e["ret"])
            for e in mine if e["event"] == "attach_dev" and e["device"] == ctx.bdf]
    with Trace("alone_truth") as t:
        t.enable("attach_dev")
        t.start()
        moves(ctx, mode)
        t.stop()
        truth = [(r.f["old_type"], int(r.f["old_domain"]), r.f["new_type"],
                  int(r.f["new_domain"]), int(r.f["ret"]))
                 for r in t.records("attach_dev") if r.f["device"] == ctx.bdf]
    check(len(mine) >= 4, f"iommuctl saw {len(mine)} attaches of {ctx.bdf}: {mine}")
    unnumbered = [m for m in mine if (m[0] != "none" and not m[1]) or not m[3]]
    check(not unnumbered, f"attaches with a domain but no id: {unnumbered}")
    types = [(m[0], m[2], m[4]) for m in mine]
    check(types == [(m[0], m[2], m[4]) for m in truth],
          f"iommuctl alone saw the moves {types}; ftrace afterwards {truth}")
    check(any(t[1] == "identity" for t in types), f"no move to identity in {types}")
    if ctx.profile == "intel":
        ids = {(name, t): {m[3] for m in seq if m[2] == t}
               for name, seq in (("iommuctl", mine), ("ftrace", truth))
               for t in ("identity", "blocked")}
        for t in ("identity", "blocked"):
            check(len(ids["iommuctl", t]) == 1 and ids["iommuctl", t] == ids["ftrace", t],
                  f"the static {t} domain: ids {ids['iommuctl', t]} alone, "
                  f"{ids['ftrace', t]} in ftrace afterwards")


# The fallback's slots and the functions each may time, newest last: the
# test's own copy of iommuctl's table, checked against /proc/kallsyms.
FALLBACK_SLOTS = {
    "dma_map": ("iommu_dma_map_page", "iommu_dma_map_phys"),
    "dma_unmap": ("iommu_dma_unmap_page", "iommu_dma_unmap_phys"),
    "dma_map_sg": ("iommu_dma_map_sg",),
    "dma_unmap_sg": ("iommu_dma_unmap_sg",),
    "map": ("iommu_map",),
    "map_sg": ("iommu_map_sg",),
    "map_atomic": ("iommu_map_atomic",),          # before 6.3
    "map_sg_atomic": ("iommu_map_sg_atomic",),
    "unmap": ("iommu_unmap",),
    "unmap_fast": ("iommu_unmap_fast",),
}
# What trace latency reports each slot as
SLOT_OPS = {"dma_map": ("dma_map",), "dma_unmap": ("dma_unmap_strict", "dma_unmap_queued"),
            "dma_map_sg": ("dma_map_sg",), "dma_unmap_sg": ("dma_unmap_sg",),
            "map": ("domain_map",), "map_sg": ("domain_map",),
            "map_atomic": ("domain_map",), "map_sg_atomic": ("domain_map",),
            "unmap": ("domain_unmap",), "unmap_fast": ("domain_unmap",)}


class KprobeCount:
    """ftrace kprobe events with a hist trigger on each function: its
    calls, counted by ftrace, which shares nothing with iommuctl's BPF."""
    GROUP = "iommubpf_truth"

    def __init__(self, funcs):
        mount()
        self.funcs = funcs
        for fn in funcs:
            self._kprobe_events(f"p:{self.GROUP}/{fn} {fn}")
            with open(self._dir(fn) + "/trigger", "w") as f:
                f.write("hist:keys=common_type:vals=hitcount")

    def _dir(self, fn):
        return f"{TRACEFS}/events/{self.GROUP}/{fn}"

    @staticmethod
    def _kprobe_events(line):
        # O_APPEND without Python's "a" mode, which seeks: tracefs says EINVAL
        fd = os.open(f"{TRACEFS}/kprobe_events", os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def counts(self):
        hits = {}
        for fn in self.funcs:
            with open(self._dir(fn) + "/hist") as f:
                m = re.search(r"Hits: (\d+)", f.read())
            hits[fn] = int(m[1]) if m else 0
        return hits

    def close(self):
        for fn in self.funcs:
            with open(self._dir(fn) + "/trigger", "w") as f:
                f.write("!hist:keys=common_type:vals=hitcount")
            self._kprobe_events(f"-:{self.GROUP}/{fn}")


def kallsyms_functions():
    names = set()
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in "tT":
                names.add(parts[2])
    return names


def cdroms(timeout=30):
    """QEMU's CD-ROM (SATA): the kernel polls it for media every 2 s, with
    a command whose data is DMA through a scatterlist.  Polling off, so DMA
    happens only when a test asks (opening the drive checks the media).

    The stock profiles that ask (run-vm.sh: --iommu intel --device e1000e)
    all have one: virtme-ng boots x86 under TCG as '-machine q35' without
    -nodefaults (virtme/architectures.py), so QEMU adds its default empty
    CD-ROM on the ICH9 AHCI controller whatever devices vmlib/launch.sh is
    given.  Debian's kernels drive it with modules: load them, and wait for
    the SCSI scan, which runs async.  No drive fails the test."""
    for mod in ("ahci", "sr_mod"):
        subprocess.run(["modprobe", "-q", mod])
    deadline = time.monotonic() + timeout
    while True:
        drives = [d for d in os.listdir("/sys/block") if d.startswith("sr")]
        if drives or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    check(drives, f"no CD-ROM (/sys/block/sr*) within {timeout} s: QEMU's default one on "
                  "q35's AHCI is the test's only scatterlist DMA (modules ahci, sr_mod)")
    for d in drives:
        with open(f"/sys/block/{d}/events_poll_msecs", "w") as f:
            f.write("0")
    return drives


def real_dma(nics, drives, times=2):
    """A NIC's receive ring is mapped when its link goes up, unmapped when
    it goes down; opening a CD-ROM maps a scatterlist: real DMA through
    dma-iommu, ending quiet."""
    for _ in range(times):
        for n in nics:
            subprocess.run(["ip", "link", "set", n, "up"], check=True)
        for d in drives:
            os.close(os.open(f"/dev/{d}", os.O_RDONLY | os.O_NONBLOCK))
        time.sleep(0.5)
        for n in nics:
            subprocess.run(["ip", "link", "set", n, "down"], check=True)
    time.sleep(0.5)


def fallback_window(nics, drives, want, *args):
    """trace latency's fallback over a window of real DMA, and ftrace's
    kprobe counts of the functions over the same window: (iommuctl's
    announced choices, its stderr, its interval object, the hits)."""
    tool = start_iommuctl("trace", "latency", "-D", "-j", *args, "60", "1")
    maps_within_budget("trace latency -D (fallback)", tool.p.pid)
    chosen = dict(re.findall(r" (\w+)=(\w+|\(none\))", tool.early))
    chosen = {k: (None if v == "(none)" else v) for k, v in chosen.items()
              if k in FALLBACK_SLOTS}
    truth = KprobeCount([fn for fn in want.values() if fn])
    try:
        real_dma(nics, drives)
        hits = truth.counts()
    finally:
        truth.close()
    tool.p.send_signal(signal.SIGINT)
    out, err = tool.wait()
    return chosen, err, json.loads(out.strip().splitlines()[-1]), hits


def test_fallback_on_stock_kernel(ctx):
    """A distribution kernel has none of the series' tracepoints: trace
    latency says so once and which function it times for each slot (the
    ones kallsyms has, newest name last), and counts exactly the calls an
    ftrace kprobe event counts over the same window of real DMA, with
    fentry/fexit and again with kprobes."""
    subprocess.run(["modprobe", "-q", "e1000e"])
    nics = [n for n in os.listdir("/sys/class/net") if n != "lo"]
    check(nics, "no NIC in the VM (boot with -device e1000e)")
    pci_names = {os.path.basename(os.readlink(f"/sys/class/net/{n}/device")) for n in nics}
    drives = cdroms()
    time.sleep(2.5)     # a media check already under way ends
    have = kallsyms_functions()
    want = {slot: next((fn for fn in fns if fn in have), None)
            for slot, fns in FALLBACK_SLOTS.items()}
    print(f"# {os.uname().release}: " + " ".join(f"{k}={v}" for k, v in want.items()))
    check(want["dma_map"] and want["dma_unmap"] and want["unmap_fast"],
          f"this kernel lacks what every DMA unmap goes through: {want}")
    for mode, args in (("fentry/fexit", ()), ("kprobes", ("--force-kprobes",))):
        chosen, err, obj, hits = fallback_window(nics, drives, want, *args)
        check(chosen == want, f"{mode}: iommuctl times {chosen}; kallsyms has {want}")
        check(err.count("no iommu:") == 1 and f"attached with {mode}" in err,
              f"{mode}: the fallback and its mode should be announced once: {err}")
        kprobes = mode == "kprobes"
        lost = obj["lost"]
        check(lost["map_full"] == 0 and lost["too_deep"] == 0 and lost["recursion"] == 0 and
              ("kprobe" in lost) == kprobes and not lost.get("kprobe"),
              f"{mode}: losses {lost}")
        if kprobes:
            release = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])
            check((lost["kprobe"] is None) == (release < (6, 7)),
                  f"kprobe misses should be null exactly before 6.7: {lost}")
        lat = obj["latency"]
        got = {}
        for e in lat:
            got[e["op"]] = got.get(e["op"], 0) + e["count"]
        got["dma_unmap_strict"] = (got.get("dma_unmap_strict", 0) +
                                   got.pop("dma_unmap_queued", 0))
        expect = {}
        for slot, fn in want.items():
            op = SLOT_OPS[slot][0]
            expect[op] = expect.get(op, 0) + (hits.get(fn, 0) if fn else 0)
        print(f"# {mode}: ftrace kprobe hits {hits}; iommuctl {got}")
        check(expect["dma_map"] > 0 and expect["domain_unmap"] > 0 and
              expect["dma_map_sg"] > 0,
              f"the NIC and CD-ROM {drives} made no DMA through dma-iommu: {hits}")
        for op, n in expect.items():
            check(got.get(op, 0) == n, f"{mode}: {op}: iommuctl counted {got.get(op, 0)}, "
                  f"ftrace's kprobes {n} ({hits})")
        # Every DMA API map and unmap goes through the core: a core function
        # this kernel uses and iommuctl does not time shows here.
        dma_maps = got.get("dma_map", 0) + got.get("dma_map_sg", 0)
        dma_unmaps = got.get("dma_unmap_strict", 0) + got.get("dma_unmap_sg", 0)
        check(got.get("domain_map", 0) >= dma_maps and
              got.get("domain_unmap", 0) >= dma_unmaps,
              f"core maps/unmaps {got.get('domain_map', 0)}/{got.get('domain_unmap', 0)} "
              f"below the DMA API's {dma_maps}/{dma_unmaps}: a path is not timed")
        mine = {(e["op"], e["device"]): e for e in lat}
        maps = [e for (op, dev), e in mine.items() if op == "dma_map" and dev in pci_names]
        check(maps and maps[0]["hist"] and maps[0]["max"] > 0,
              f"{mode}: no DMA map histogram for {pci_names}: {list(mine)}")
    r = iommuctl("trace", "flush", "1", "1")
    check(r.returncode == 1 and "no iommu:" in r.stderr and "iommu-bpf kernel series" in r.stderr,
          f"trace flush on a stock kernel should fail clearly: {r.returncode} {r.stderr}")


def first_tests(profile):
    """Tests that must see the boot's first attach of a static domain."""
    if profile not in ("intel", "virtio") or not os.access(IOMMUCTL, os.X_OK):
        return []
    ctx = Ctx(profile)
    return [("iommuctl_events_alone_number_static_domains",
             lambda: test_events_alone_number_static_domains(ctx))]


def tests(profile):
    ctx = Ctx(profile)
    if profile.startswith("stock"):
        return [("iommuctl_fallback_on_stock_kernel",
                 lambda: test_fallback_on_stock_kernel(ctx))]
    if profile == "mock":
        return []
    if not os.access(IOMMUCTL, os.X_OK):
        def missing():
            check(False, f"{IOMMUCTL} is not built (make tools)")
        return [("iommuctl_built", missing)]
    order = [
        test_devices_match_sysfs,
        # its ground truth is VT-d's ecap: not run where it would only skip
        *([test_devices_coherent_is_snoop_control] if profile == "intel" else []),
        test_latency_matches_ftrace_hist,
        test_flush_matches_ftrace_hist,
        test_events_match_ftrace,
        test_events_timestamp_is_the_events_own,
    ]
    if profile == "intel":     # the same BPF code under either IOMMU: once
        order += [test_maps_fit_a_server, test_full_map_is_counted,
                  test_real_devices_match_ftrace_hist]
    return [("iommuctl_" + fn.__name__[len("test_"):], (lambda fn=fn: fn(ctx)))
            for fn in order]

"""What a fleet runs all day: iommuctl's interval commands under traffic
that does not stop at an interval boundary.

Each command runs alone (no other tracer beside it) with one-second
intervals while dma_map_benchmark drives the edu device on two threads and
fio reads the NVMe disk, both across more than ten interval boundaries.
An ftrace hist trigger on the same events, opened after the command
attached and read after the traffic stopped, is the ground truth: the sum
over the intervals must equal it exactly (the command reports no loss),
and every interval's histogram, and every scrape of the metrics file, must
be a consistent histogram (its buckets add up to its count).
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

from iommuvm import dmabench
from iommuvm.background import IOMMUCTL, Background
from iommuvm.edu import Ctx, switch_mode
from iommuvm.realdev import RealDevices
from iommutest.tap import check
from test_iommuctl import HistTrigger, hist_rows
from test_iommuctl_observe import fq_settled, wait_replaced

# At least this many of the command's intervals (frames, metrics files)
# must pass while both kinds of traffic run; the traffic lasts until they
# have, within TRAFFIC_MAX_S
MIN_INTERVALS = 10
TRAFFIC_MAX_S = 120


class Tool:
    """An interval command in the background, its stdout read as it comes
    (one JSON object a line), so that the traffic can last until enough
    intervals have passed."""

    def __init__(self, *args):
        self.bg = Background([IOMMUCTL, *args])
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.bg.p.stdout:
            if line.strip():
                self.lines.append(line)

    def stop(self):
        """SIGINT: the command prints the interval under way and exits 0.
        Its intervals, parsed."""
        self.bg.p.send_signal(signal.SIGINT)
        rc = self.bg.p.wait(timeout=120)
        self.reader.join(timeout=60)
        err = self.bg.early + self.bg.p.stderr.read()
        check(rc == 0, f"{' '.join(self.bg.argv)} exited {rc}: {err[-1000:]}")
        return [json.loads(line) for line in self.lines]


class Traffic:
    """fio reading the NVMe disk and, once its I/O flows, dma_map_benchmark
    on the edu device (two threads), both until the command has passed more
    than MIN_INTERVALS intervals (progress(): how many it has so far)."""

    def __init__(self, devs):
        self.devs = devs

    def reads(self):
        with open(f"/sys/block/{self.devs.disk}/stat") as f:
            return int(f.read().split()[0])

    def run(self, progress):
        fio = subprocess.Popen(
            ["fio", "--name=randread", f"--filename=/dev/{self.devs.disk}", "--rw=randread",
             "--bs=4k", "--direct=1", "--ioengine=psync", f"--runtime={TRAFFIC_MAX_S + 60}",
             "--time_based", "--output-format=json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # fio takes a while to start; the benchmark's two threads would
            # starve it: wait for its reads to reach the disk
            first, deadline = self.reads(), time.monotonic() + 60
            while self.reads() < first + 100 and time.monotonic() < deadline:
                check(fio.poll() is None, f"fio exited {fio.returncode} before it read")
                time.sleep(0.1)
            check(self.reads() >= first + 100, "fio made no reads of the NVMe disk in 60 s")
            deadline = time.monotonic() + TRAFFIC_MAX_S
            base = progress()
            while progress() - base <= MIN_INTERVALS and time.monotonic() < deadline:
                dmabench.run(seconds=2, threads=2)
            check(fio.poll() is None, f"fio ended before the benchmark: {fio.returncode}")
        finally:
            fio.send_signal(signal.SIGINT)
            fio.communicate(timeout=120)


def hits(trigger, key, value, field="hitcount"):
    return hist_rows(trigger.read(), key).get(str(value), {}).get(field, 0)


def consistent(h, what):
    """A histogram of the JSON output: its buckets add up to its count."""
    n = sum(b["count"] for b in h.get("hist", []))
    check(n == h["count"], f"{what}: buckets add up to {n}, count {h['count']}")


def map_unmap_window(ctx, devs, tool, names):
    """The traffic under ftrace hist triggers on iommu_dma_map and
    iommu_dma_unmap: {(name of map or unmap, device): count} for the edu
    and the NVMe disk, names as the command's output calls them."""
    maps = HistTrigger("iommu_dma_map", "hist:keys=device:vals=hitcount")
    unmaps = HistTrigger("iommu_dma_unmap", "hist:keys=device:vals=hitcount")
    try:
        Traffic(devs).run(lambda: len(tool.lines))
        return {(op, dev): hits(t, "device", dev)
                for op, t in zip(names, (maps, unmaps)) for dev in (ctx.bdf, devs.nvme_bdf)}
    finally:
        maps.close()
        unmaps.close()


def lost(frames, what):
    """The samples the command says it lost over all its intervals.  No
    map may fill up here; a program run the kernel skipped because the
    same program was already running on that CPU (an NVMe completion
    interrupting the benchmark's unmap) is counted as 'recursion'."""
    total = 0
    for f in frames:
        check(not f["lost"].get("map_full"), f"{what}: a map was full: {f['lost']}")
        # only what drops a count: not exposure_untracked (-E's windows)
        total += sum(f["lost"].get(k) or 0 for k in ("recursion", "ringbuf", "kprobe"))
    return total


def agree(got, want, n_lost, what):
    """Exactly ftrace's counts, short of them by no more than the command
    says it lost (every key), and by nothing at all when it lost nothing."""
    short = {k: n - got.get(k, 0) for k, n in want.items()}
    print(f"# {what}: ftrace {want}, short by {short}, reported lost {n_lost}")
    for k, n in want.items():
        check(n > 0, f"{what}: ftrace saw no {k[0]} of {k[1]}")
        check(short[k] >= 0, f"{what}: {k[0]} of {k[1]}: {got.get(k, 0)}, more than ftrace's {n}")
    check(sum(short.values()) <= n_lost,
          f"{what}: short of ftrace by {sum(short.values())} ({short}), lost only {n_lost}")


def test_latency_intervals_sum_to_ftrace(ctx, devs):
    """trace latency -D -j 1: per device and operation, the intervals add
    up to ftrace's count of the window, for the edu and the NVMe disk."""
    switch_mode(ctx, "DMA")
    tool = Tool("trace", "latency", "-D", "-j", "-o", "dma_map,dma_unmap", "1", "600")
    want = map_unmap_window(ctx, devs, tool, ("dma_map", "dma_unmap"))
    frames = tool.stop()
    n_lost = lost(frames, "trace latency -D")
    got, busy = {}, 0
    for f in frames:
        edu = 0
        for e in f["latency"]:
            op = "dma_unmap" if e["op"].startswith("dma_unmap") else e["op"]
            consistent(e, f"interval at {f['time']}, {e['op']} of {e['device']}")
            got[op, e["device"]] = got.get((op, e["device"]), 0) + e["count"]
            edu += e["count"] if e["device"] == ctx.bdf else 0
        busy += edu > 0
    print(f"# trace latency -D: {len(frames)} intervals, {busy} with edu traffic; "
          f"iommuctl {got}; ftrace {want}")
    check(busy >= MIN_INTERVALS, f"only {busy} intervals carried the edu's maps")
    agree(got, want, n_lost, "trace latency -D")


def test_flush_intervals_sum_to_ftrace(ctx, devs):
    """trace flush -j 1 in lazy mode: the edu domain's flush-queue flushes
    and the IOVAs they released, over the intervals, are ftrace's."""
    switch_mode(ctx, "DMA-FQ")
    tool = Tool("trace", "flush", "-j", "1", "600")
    fq = HistTrigger("dma_fq_flush", "hist:keys=domain_id:vals=hitcount,released")
    queued = HistTrigger("iommu_dma_unmap", "hist:keys=device:vals=hitcount if queued == 1")
    try:
        Traffic(devs).run(lambda: len(tool.lines))
        fq_settled(ctx, queued, fq)
        want_n = hits(fq, "domain_id", ctx.domain)
        want_rel = hits(fq, "domain_id", ctx.domain, "released")
    finally:
        fq.close()
        queued.close()
    frames = tool.stop()
    n_lost = lost(frames, "trace flush")
    n = rel = busy = 0
    for f in frames:
        mine = [d for d in f["domains"] if d["domain"] == ctx.domain]
        check(len(mine) <= 1, f"domain {ctx.domain} twice in an interval: {mine}")
        for d in mine:
            fl = d["flushes"]
            c = sum(fl.get(k, {}).get("count", 0) for k in ("fq_timer", "fq_full"))
            n += c
            rel += sum(fl.get(k, {}).get("released", 0) for k in ("fq_timer", "fq_full"))
            busy += c > 0
            for name in ("range_bytes", "exposure_ns"):
                if name in d:
                    consistent(d[name], f"interval at {f['time']}, {name}")
    print(f"# trace flush: {len(frames)} intervals, {busy} with edu flushes; "
          f"iommuctl {n} releasing {rel}, ftrace {want_n} releasing {want_rel}")
    check(busy >= MIN_INTERVALS, f"only {busy} intervals carried the edu's flushes")
    # a flush-queue flush counted short loses its released IOVAs with it,
    # so only the flushes are bounded by the runs the kernel skipped
    agree({("fq_flush", ctx.domain): n}, {("fq_flush", ctx.domain): want_n}, n_lost,
          "trace flush")
    if n == want_n:
        check(rel == want_rel, f"released: iommuctl {rel}, ftrace {want_rel}")


def test_top_frames_sum_to_ftrace(ctx, devs):
    """top -b -j 1: each device's maps and unmaps over the frames are
    ftrace's, for the edu and the NVMe disk."""
    switch_mode(ctx, "DMA")
    tool = Tool("top", "-b", "-j", "1", "600")
    want = map_unmap_window(ctx, devs, tool, ("map", "unmap"))
    frames = tool.stop()
    n_lost = lost(frames, "top")
    got, busy = {}, 0
    for f in frames:
        for d in f["devices"]:
            for op in ("map", "unmap"):
                got[op, d["device"]] = got.get((op, d["device"]), 0) + d[op]["count"]
            busy += d["device"] == ctx.bdf and d["map"]["count"] > 0
    print(f"# top -b -j: {len(frames)} frames, {busy} with edu traffic; "
          f"top {dict((k, v) for k, v in got.items() if k in want)}; ftrace {want}")
    check(busy >= MIN_INTERVALS, f"only {busy} frames carried the edu's maps")
    agree(got, want, n_lost, "top -b -j")


BUCKET = re.compile(r'^(iommu_dma_(?:map|unmap)_duration_seconds)_(bucket|count)\{(.*)\} (\S+)$')


def scrape_histograms(text):
    """{(family, labels without le): ([(le, value)], count)} of a scrape"""
    out = {}
    for line in text.splitlines():
        m = BUCKET.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m[3]))
        le = labels.pop("le", None)
        key = (m[1], tuple(sorted(labels.items())))
        buckets, count = out.get(key, ([], None))
        if m[2] == "bucket":
            buckets.append((float(le), float(m[4])))
        else:
            count = float(m[4])
        out[key] = (buckets, count)
    return out


class Scraper(threading.Thread):
    """Reads the metrics file as a Prometheus server would, every 50 ms,
    and checks each scrape: every histogram's buckets are cumulative and
    end at +Inf = _count, and no _count goes down from one scrape to the
    next."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.stop, self.scrapes, self.bad = path, False, 0, []
        self.last, self.files = {}, set()

    def run(self):
        while not self.stop:
            try:
                with open(self.path) as f:
                    self.files.add(os.fstat(f.fileno()).st_ino)
                    text = f.read()
            except FileNotFoundError:
                continue
            self.scrapes += 1
            for key, (buckets, count) in scrape_histograms(text).items():
                vals = [v for _, v in sorted(buckets)]
                if (not buckets or vals != sorted(vals) or sorted(buckets)[-1][0] != float("inf")
                        or vals[-1] != count):
                    self.bad.append(f"{key}: buckets {sorted(buckets)[-3:]} count {count}")
                if count is not None and count < self.last.get(key, 0):
                    self.bad.append(f"{key}: _count {self.last[key]} then {count}")
                self.last[key] = count
            time.sleep(0.05)


def test_metrics_scrapes_consistent_and_exact(ctx, devs):
    """metrics -t DIR 1 in lazy mode under traffic: every scrape is a valid
    histogram, counts never go down, and the last scrape's counts of the
    edu's and the NVMe's maps and the edu's queued unmaps are ftrace's."""
    switch_mode(ctx, "DMA-FQ")
    d = tempfile.mkdtemp(prefix="iommuctl-metrics-")
    path = os.path.join(d, "iommu.prom")
    tool = Background([IOMMUCTL, "metrics", "-t", d, "1"])
    check(os.path.exists(path), "no metrics file right after the programs attached")
    scraper = Scraper(path)
    scraper.start()
    try:
        maps = HistTrigger("iommu_dma_map", "hist:keys=device:vals=hitcount")
        queued = HistTrigger("iommu_dma_unmap",
                             "hist:keys=device:vals=hitcount if queued == 1")
        try:
            Traffic(devs).run(lambda: len(scraper.files))
            want_map = {dev: hits(maps, "device", dev) for dev in (ctx.bdf, devs.nvme_bdf)}
            want_q = hits(queued, "device", ctx.bdf)
        finally:
            maps.close()
            queued.close()
        wait_replaced(path)
        with open(path) as f:
            text = f.read()
    finally:
        scraper.stop = True
        scraper.join()
        tool.p.send_signal(signal.SIGINT)
        tool.wait()
    last = scrape_histograms(text)

    def count(family, dev, **labels):
        key = (family, tuple(sorted({"device": dev, **labels}.items())))
        return last.get(key, ([], 0))[1] or 0

    got_map = {dev: count("iommu_dma_map_duration_seconds", dev) for dev in want_map}
    got_q = count("iommu_dma_unmap_duration_seconds", ctx.bdf, mode="queued")
    print(f"# metrics: {scraper.scrapes} scrapes; maps {got_map} queued {got_q}; "
          f"ftrace maps {want_map} queued {want_q}")
    check(scraper.scrapes > 50 and not scraper.bad,
          f"{len(scraper.bad)} bad scrapes of {scraper.scrapes}: {scraper.bad[:3]}")
    n_lost = sum(int(v) for v in re.findall(
        r'^iommu_trace_lost_samples_total\{reason="\w+"\} (\d+)$', text, re.M))
    got = {("map", dev): n for dev, n in got_map.items()}
    got["queued unmap", ctx.bdf] = got_q
    want = {("map", dev): n for dev, n in want_map.items()}
    want["queued unmap", ctx.bdf] = want_q
    agree(got, want, n_lost, "metrics")


def tests(profile):
    if profile != "intel" or not os.access(IOMMUCTL, os.X_OK):
        return []
    ctx = Ctx(profile)
    order = [
        test_latency_intervals_sum_to_ftrace,
        test_flush_intervals_sum_to_ftrace,
        test_top_frames_sum_to_ftrace,
        test_metrics_scrapes_consistent_and_exact,
    ]

    def run(fn):
        devs = RealDevices()
        try:
            return fn(ctx, devs)
        finally:
            devs.unload()

    return [("iommuctl_" + fn.__name__[len("test_"):], (lambda fn=fn: run(fn)))
            for fn in order]

"""iommuctl top and iommuctl metrics against the same ground truth as the
trace commands: ftrace hist triggers on the same tracepoints over the same
window of DMA (the edu device under dma_map_benchmark).  The counts must be
equal.  top's screen is driven in tmux, the metrics file is checked with
promtool (Debian's prometheus package) while it is being replaced."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from iommuvm import dmabench
from iommuvm.background import IOMMUCTL, Background
from iommuvm.edu import Ctx, switch_mode
from iommutest.tap import check
from test_iommuctl import HistTrigger, hist_rows


def dev_hits(trigger, bdf):
    return hist_rows(trigger.read(), "device").get(bdf, {}).get("hitcount", 0)


def fq_settled(ctx, queued, fq, timeout=20):
    """Wait until the flush queue has released every IOVA that the queued
    unmaps ftrace counted put in it: the ground truth's own count, not a
    sleep.  queued: a trigger keyed by device on queued unmaps; fq: one
    keyed by domain_id on dma_fq_flush with vals released."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        released = hist_rows(fq.read(), "domain_id").get(str(ctx.domain), {}).get("released", 0)
        if released >= dev_hits(queued, ctx.bdf):
            return
        time.sleep(0.05)


def test_top_batch_matches_ftrace_hist(ctx):
    """top -b -j over eight 2 s frames: the edu device's maps, unmaps and
    range flushes summed over the frames are exactly what ftrace counted;
    the text frames show the same device in its DMA mode."""
    switch_mode(ctx, "DMA")
    # Both windows must hold the benchmark's: the text one starts first
    text = Background([IOMMUCTL, "top", "-b", "-s", "device", "12", "1"])
    tool = Background([IOMMUCTL, "top", "-b", "-j", "2", "8"])
    maps = HistTrigger("iommu_dma_map", "hist:keys=device:vals=hitcount")
    unmaps = HistTrigger("iommu_dma_unmap", "hist:keys=device:vals=hitcount")
    syncs = HistTrigger("iotlb_sync", "hist:keys=domain_id:vals=hitcount")
    try:
        dmabench.run(seconds=1)
        want_map, want_unmap = dev_hits(maps, ctx.bdf), dev_hits(unmaps, ctx.bdf)
        want_sync = hist_rows(syncs.read(), "domain_id").get(str(ctx.domain), {}) \
            .get("hitcount", 0)
    finally:
        for t in (maps, unmaps, syncs):
            t.close()
    out, _ = tool.wait()
    frames = [json.loads(line) for line in out.splitlines() if line.strip()]
    check(len(frames) == 8, f"top -b -j 2 8 printed {len(frames)} frames: {out[-2000:]}")
    got = {"map": 0, "unmap": 0, "range": 0, "queued": 0}
    mode = None
    for f in frames:
        check(f["schema_version"] == 1 and f["sort"] == "map" and "lost" in f, f"frame: {f}")
        names = [d["device"] for d in f["devices"]]
        check(len(names) == len(set(names)), f"a device twice in a frame: {names}")
        for d in f["devices"]:
            if d["device"] != ctx.bdf:
                continue
            mode = d["dma_mode"]
            got["map"] += d["map"]["count"]
            got["unmap"] += d["unmap"]["count"]
            got["queued"] += d["unmap"]["queued"]
            got["range"] += d["flushes"]["range"]["count"]
            if d["map"]["count"]:
                check(0 < d["map"]["p50_ns"] <= d["map"]["p99_ns"] <= d["map"]["max_ns"],
                      f"map latency summary: {d['map']}")
        lost = sum(v or 0 for v in f["lost"].values())
        check(lost == 0, f"top lost samples: {f['lost']}")
        rates = [d["map"]["per_s"] for d in f["devices"]]
        check(rates == sorted(rates, reverse=True), f"frame not sorted by map rate: {rates}")
    print(f"# top -b -j: edu {got}; ftrace maps {want_map} unmaps {want_unmap} "
          f"range flushes {want_sync}")
    check(want_map > 100, f"ftrace saw only {want_map} maps of {ctx.bdf}")
    check(mode == "DMA", f"top says {ctx.bdf} is in {mode}, sysfs DMA")
    check(got["map"] == want_map and got["unmap"] == want_unmap,
          f"maps/unmaps: top {got['map']}/{got['unmap']}, ftrace {want_map}/{want_unmap}")
    check(got["queued"] == 0, f"strict mode, yet {got['queued']} queued unmaps")
    check(got["range"] == want_sync,
          f"range flushes in domain {ctx.domain}: top {got['range']}, ftrace {want_sync}")
    out, _ = text.wait()
    print("# top -b frame:\n" + "\n".join("#   " + line for line in out.splitlines()))
    lines = out.splitlines()
    check(lines and lines[0].startswith("iommuctl top - ") and "sort DEVICE" in lines[0],
          f"status line: {lines[:1]}")
    check(len(lines) > 1 and lines[1].split()[:4] == ["DEVICE", "MODE", "MAP/s", "UNMAP/s"],
          f"header: {lines[1:2]}")
    rows = [line.split() for line in lines[2:] if line.strip()]
    names = [r[0] for r in rows]
    check(names == sorted(names), f"text frame not sorted by device: {names}")
    edu = [r for r in rows if r[0] == ctx.bdf]
    check(edu and edu[0][1] == "DMA" and float(edu[0][2]) > 0,
          f"text row of {ctx.bdf}: {edu}")


class Tmux:
    """A detached tmux session on a private server, read with capture-pane."""

    def __init__(self, command, width=200, height=50):
        self.sock = "iommuctl-test"
        self.env = dict(os.environ, TERM="xterm")
        self.tmux("kill-server", check=False)
        self.tmux("new-session", "-d", "-s", "top", "-x", str(width), "-y", str(height),
                  command)

    def tmux(self, *args, check=True):
        r = subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True,
                           text=True, env=self.env, timeout=30)
        if check and r.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr}")
        return r.stdout

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "top").splitlines()

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "top", *keys)

    def wait(self, pred, what, timeout=60):
        deadline = time.monotonic() + timeout
        screen = []
        while time.monotonic() < deadline:
            screen = self.screen()
            if pred(screen):
                return screen
            time.sleep(0.3)
        check(False, f"top's screen never showed {what}:\n" + "\n".join(screen))

    def close(self):
        self.tmux("kill-server", check=False)


def top_rows(screen):
    """(status line, [(device, mode, ...)]) of a drawn frame"""
    head = next((i for i, line in enumerate(screen) if line.startswith("DEVICE ")), None)
    if head is None or not screen[0].startswith("iommuctl top - ") or \
            "devices" not in screen[0]:
        return None, []
    return screen[0], [line.split() for line in screen[head + 1:] if line.strip()]


def frame(want):
    def pred(screen):
        status, rows = top_rows(screen)
        return status is not None and want(status) and len(rows) > 1
    return pred


def test_top_screen_in_tmux(ctx):
    """The interactive screen in tmux: sorted by device, r reverses it, >
    moves the sort to the MODE column, q quits with status 0."""
    if not shutil.which("tmux"):
        raise AssertionError("no tmux: make deps (tools/deps.sh) installs it")
    rc = "/tmp/iommuctl-top.rc"
    if os.path.exists(rc):
        os.unlink(rc)
    tm = Tmux(f"{IOMMUCTL} top -s device 1; echo $? > {rc}")
    try:
        screen = tm.wait(frame(lambda s: "sort DEVICE" in s and "reversed" not in s),
                         "a first frame sorted by device")
        print("# top in tmux:\n" + "\n".join("#   " + line for line in screen if line))
        status, rows = top_rows(screen)
        names = [r[0] for r in rows]
        check(names == sorted(names), f"not sorted by device: {names}")
        check("keys: < > sort column, r reverse, q quit" in "\n".join(screen),
              "no key help line")
        tm.keys("r")
        screen = tm.wait(frame(lambda s: "sort DEVICE (reversed)" in s), "r: reversed")
        rnames = [r[0] for r in top_rows(screen)[1]]
        check(rnames == sorted(names, reverse=True) and rnames != names,
              f"r should reverse the order: {names} -> {rnames}")
        tm.keys(">")
        screen = tm.wait(frame(lambda s: "sort MODE (reversed)" in s), "> : sort by MODE")
        modes = [r[1] for r in top_rows(screen)[1] if r[1] != "-"]
        check(modes == sorted(modes, reverse=True), f"not sorted by mode, reversed: {modes}")
        tm.keys("q")
        deadline = time.monotonic() + 30
        while not os.path.exists(rc) and time.monotonic() < deadline:
            time.sleep(0.2)
        check(os.path.exists(rc), "q did not end top within 30 s")
        time.sleep(0.2)
        with open(rc) as f:
            status = f.read().strip()
        check(status == "0", f"top exited {status} after q")
    finally:
        tm.close()


PROM = "iommu.prom"


def wait_replaced(path, times=2):
    """Wait until metrics has replaced its file twice after the window:
    the last one was collected after it, so it has all of it."""
    for _ in range(times):
        ino = os.stat(path).st_ino
        deadline = time.monotonic() + 30
        while os.stat(path).st_ino == ino and time.monotonic() < deadline:
            time.sleep(0.05)
        check(os.stat(path).st_ino != ino, "the file was not replaced within 30 s")


class Poller(threading.Thread):
    """Reads DIR/iommu.prom as fast as it can while iommuctl replaces it:
    every read must be a whole file (it ends with the last family)."""

    LAST = re.compile(r'iommu_trace_lost_samples_total\{reason="recursion"\} \d+\n\Z')

    def __init__(self, d):
        super().__init__(daemon=True)
        self.dir, self.reads, self.bad, self.stop = d, 0, [], False
        self.others = set()

    def run(self):
        while not self.stop:
            try:
                with open(os.path.join(self.dir, PROM)) as f:
                    text = f.read()
            except FileNotFoundError:
                self.bad.append("iommu.prom missing")
                continue
            self.reads += 1
            if not self.LAST.search(text):
                self.bad.append(text[-300:])
            for name in os.listdir(self.dir):
                if name != PROM and not re.fullmatch(r"iommu\.prom\.\d+", name):
                    self.others.add(name)


def samples(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        check(m, f"not a sample line: {line!r}")
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m[2] or ""))
        out[m[1], labels] = float(m[3])
    return out


def test_metrics_textfile_matches_ftrace_hist(ctx):
    """metrics -t DIR 1 in lazy mode: the file is replaced every second and
    never read partial; promtool accepts it; the edu device's map and unmap
    counts (_count of the histograms) and its flush-queue flushes and the
    IOVAs they released are exactly ftrace's over the window."""
    promtool = shutil.which("promtool")
    if not promtool:
        raise AssertionError("no promtool: make deps installs Debian's prometheus package")
    switch_mode(ctx, "DMA-FQ")
    d = tempfile.mkdtemp(prefix="iommuctl-metrics-")
    path = os.path.join(d, PROM)
    tool = Background([IOMMUCTL, "metrics", "-t", d, "1"])
    poll = None
    try:
        check(os.path.exists(path), "no file right after the programs attached")
        poll = Poller(d)
        poll.start()
        maps = HistTrigger("iommu_dma_map", "hist:keys=device:vals=hitcount")
        unmaps = HistTrigger("iommu_dma_unmap", "hist:keys=device:vals=hitcount if queued == 1")
        fq = HistTrigger("dma_fq_flush", "hist:keys=domain_id:vals=hitcount,released")
        try:
            dmabench.run(seconds=1)
            # the flush-queue timer, 10 ms after the last unmap: wait until
            # it released every IOVA the window queued (ftrace's count)
            fq_settled(ctx, unmaps, fq)
            want_map, want_unmap = dev_hits(maps, ctx.bdf), dev_hits(unmaps, ctx.bdf)
            want_fq = hist_rows(fq.read(), "domain_id").get(str(ctx.domain), {})
        finally:
            for t in (maps, unmaps, fq):
                t.close()
        wait_replaced(path)
        poll.stop = True
        poll.join()
        with open(path) as f:
            text = f.read()
        tool.p.send_signal(signal.SIGINT)
        tool.wait()
    finally:
        if poll:
            poll.stop = True
        if tool.p.poll() is None:
            tool.stop()
    excerpt = [line for line in text.splitlines() if
               (ctx.bdf in line and "unmap_duration_seconds_bucket" not in line) or
               "policy" in line or "lost" in line]
    print("# metrics file, the edu device's and the policy's lines:\n" +
          "\n".join("#   " + line for line in excerpt))
    print(f"# {poll.reads} reads while it was replaced; ftrace maps {want_map} "
          f"queued unmaps {want_unmap} fq {want_fq}")
    check(poll.reads > 10 and not poll.bad,
          f"{len(poll.bad)} of {poll.reads} reads were not a whole file: {poll.bad[:3]}")
    check(not poll.others, f"other files in the directory: {poll.others}")
    check(sorted(os.listdir(d)) == [PROM], f"left behind: {os.listdir(d)}")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0, f"promtool check metrics: {r.returncode} {r.stdout} {r.stderr}")
    s = samples(text)
    dev = ("device", ctx.bdf)

    def val(name, *labels):
        return s.get((name, frozenset([dev, *labels])), 0)

    check(val("iommu_device_info", ("group", str(ctx.gid)), ("dma_mode", "DMA-FQ")) == 1,
          f"no iommu_device_info for {ctx.bdf} in group {ctx.gid}, DMA-FQ")
    got_map = val("iommu_dma_map_duration_seconds_count")
    got_unmap = val("iommu_dma_unmap_duration_seconds_count", ("mode", "queued"))
    check(want_map > 100 and got_map == want_map,
          f"maps: metrics {got_map}, ftrace {want_map}")
    check(got_unmap == want_unmap, f"queued unmaps: metrics {got_unmap}, ftrace {want_unmap}")
    check(val("iommu_dma_unmap_duration_seconds_count", ("mode", "strict")) == 0,
          "strict unmaps in lazy mode")
    got_fq = sum(val("iommu_iotlb_flushes_total", ("kind", k)) for k in ("fq_timer", "fq_full"))
    got_rel = val("iommu_dma_fq_released_iovas_total")
    check(want_fq and got_fq == want_fq["hitcount"] and got_rel == want_fq["released"],
          f"flush-queue flushes: metrics {got_fq} releasing {got_rel}, ftrace {want_fq}")
    # The histogram is cumulative and ends at its count
    buckets = sorted((float(dict(k[1])["le"]), v) for k, v in s.items()
                     if k[0] == "iommu_dma_map_duration_seconds_bucket" and dev in k[1])
    counts = [v for _, v in buckets]
    check(counts == sorted(counts) and counts[-1] == got_map and buckets[-1][0] == float("inf"),
          f"map buckets not cumulative up to +Inf = count: {buckets}")
    check(0 < val("iommu_dma_map_duration_seconds_sum") < got_map * 0.01,
          "map _sum not in seconds")
    # the patched kernel (every profile this runs in) has the policy's state
    states = {dict(k[1])["state"]: v for k, v in s.items() if k[0] == "iommu_policy_state"}
    with open("/sys/kernel/iommu_policy/state") as f:
        cur = f.read().strip()
    check(states.get(cur) == 1 and sum(states.values()) == 1,
          f"iommu_policy_state {states}, sysfs {cur}")
    shutil.rmtree(d, ignore_errors=True)


def tests(profile):
    if profile != "intel" or not os.access(IOMMUCTL, os.X_OK):
        return []
    ctx = Ctx(profile)
    order = [
        test_top_batch_matches_ftrace_hist,
        test_top_screen_in_tmux,
        test_metrics_textfile_matches_ftrace_hist,
    ]
    return [("iommuctl_" + fn.__name__[len("test_"):], (lambda fn=fn: fn(ctx)))
            for fn in order]

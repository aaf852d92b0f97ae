"""The iommu tracepoints of the series, provoked on a real (emulated) IOMMU
and checked field by field through ftrace.  Independent of iommu-bpf's own
tools: only tracefs, sysfs and the kernel's uAPIs.

Traffic comes from QEMU's edu device bound to dma_map_benchmark (DMA API
map/unmap from a kernel thread) and bound to vfio-pci and driven through
iommufd (domain map/unmap, DMA ownership)."""

import difflib
import errno
import os
import subprocess
import time

from iommuvm import dmabench, kernel, pci, uapi
from iommuvm.edu import BENCH, Ctx, ensure_group, switch_mode
from iommuvm.tracefs import TRACEFS, Kprobes, Trace, by, event_formats, mount, parse
from iommutest import iommufd_mock
from iommutest.tap import Skip, check

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden", "iommu")

# What the series adds; the formats test also covers the pre-existing events.
NEW_EVENTS = [
    "iotlb_flush_all", "iotlb_sync", "iotlb_sync_map", "dma_fq_flush",
    "domain_map", "domain_unmap", "iommu_dma_map", "iommu_dma_unmap",
    "attach_dev", "detach_dev", "attach_pasid", "detach_pasid",
    "default_domain", "dma_owner",
]

def write_formats(outdir):
    os.makedirs(outdir, exist_ok=True)
    for ev, text in event_formats().items():
        with open(os.path.join(outdir, ev + ".format"), "w") as f:
            f.write(text)


# Records the per-CPU sequence checks read: the first of a benchmark's
# trace, enough for 1,000 maps.  Counts over the whole run come from the
# text itself.
WINDOW = 10000


def dma_api_events():
    """The DMA API's own events (include/trace/events/dma.h) for a single
    mapping: dma_map_page/dma_unmap_page, dma_map_phys/dma_unmap_phys
    since the DMA API maps physical addresses (7.2)."""
    mount()
    have = os.path.isdir(os.path.join(TRACEFS, "events", "dma", "dma_map_page"))
    return ("dma_map_page", "dma_unmap_page") if have else ("dma_map_phys", "dma_unmap_phys")


def bench_trace(ctx, events, seconds=1, settle=0.0, buffer_kb=16384):
    """Run dma_map_benchmark on the edu device with events traced: the
    trace's text, and how many events the buffer (buffer_kb per CPU)
    dropped."""
    with Trace(buffer_kb=buffer_kb) as t:
        t.enable(*events)
        t.enable(*dma_api_events(), system="dma")
        t.start()
        dmabench.run(seconds=seconds)
        time.sleep(settle)
        t.stop()
        return t.text(), t.dropped()


def per_cpu(recs):
    out = {}
    for r in recs:
        out.setdefault(r.cpu, []).append(r)
    return out


def dma_api_maps(text, bdf):
    """The DMA API's own map events (dma_api_events()) of bdf in text."""
    return text.count(f" {dma_api_events()[0]}: {bdf} ")


# ---------------------------------------------------------------- tests

def test_formats_match_golden(ctx):
    have = event_formats()
    missing = [e for e in NEW_EVENTS if e not in have]
    check(not missing, f"events missing from tracefs: {missing}")
    golden = {f[:-len(".format")]: open(os.path.join(GOLDEN, f)).read()
              for f in os.listdir(GOLDEN) if f.endswith(".format")}
    check(set(have) == set(golden),
          f"events without a golden copy: {sorted(set(have) - set(golden))}; "
          f"golden copies without an event: {sorted(set(golden) - set(have))} "
          "(if the change is intended: make golden)")
    for ev in sorted(have):
        if have[ev] != golden[ev]:
            diff = "".join(difflib.unified_diff(
                golden[ev].splitlines(True), have[ev].splitlines(True),
                f"golden/{ev}.format", f"tracefs/{ev}/format"))
            raise AssertionError(f"format of iommu:{ev} changed (ABI):\n{diff}")


def test_default_domain_and_attach_on_type_change(ctx):
    switch_mode(ctx, "DMA-FQ")
    old = ctx.domain
    recs = switch_mode(ctx, "DMA")
    dd = by(recs, "default_domain", group=ctx.gid)[0]
    check(dd.f["device"] == ctx.bdf, f"default_domain device {dd.f['device']} != {ctx.bdf}")
    check(dd.f["req_type"] == "DMA", f"req_type {dd.f['req_type']}, wanted DMA")
    check(dd.f["type"] == "DMA", f"type {dd.f['type']}, wanted DMA")
    check(dd.f["driver_type"] == "none",
          f"driver_type {dd.f['driver_type']}: the driver has no preference for edu")
    check(dd.f["ret"] == "0", f"ret {dd.f['ret']}")
    check(ctx.domain not in (0, old), f"new domain id {ctx.domain}, old {old}")
    att = by(recs, "attach_dev", device=ctx.bdf, new_domain=ctx.domain)
    check(len(att) == 1, f"expected one attach_dev to domain {ctx.domain}: {att}")
    a = att[0]
    check(a.f["old_domain"] == str(old) and a.f["old_type"] == "DMA-FQ",
          f"attach_dev old side {a.f['old_domain']}/{a.f['old_type']}, wanted {old}/DMA-FQ")
    check(a.f["new_type"] == "DMA" and a.f["ret"] == "0" and
          a.f["group"] == str(ctx.gid) and a.f["pasid"] == "0", f"attach_dev fields {a.f}")


# Per CPU, for the strict benchmark's whole second, whose cross-layer
# count needs every event: under TCG a 1 s benchmark traces about 10^5
# records (tracefs.parse), some 50 bytes each in the ring buffer, about
# 5 MB, all on the CPU of the benchmark's thread.  64 MiB (128 MiB of the
# guest's 2 GiB for two CPUs) is a tenfold margin; a drop fails the test.
STRICT_BUFFER_KB = 65536


def test_strict_dma_map_unmap(ctx):
    switch_mode(ctx, "DMA")
    text, dropped = bench_trace(ctx, ["iommu_dma_map", "iommu_dma_unmap",
                                      "iotlb_sync", "iotlb_sync_map",
                                      "domain_map", "domain_unmap"],
                                buffer_kb=STRICT_BUFFER_KB)
    # The count of the two layers below compares whole runs: a full buffer
    # drops events of either, so it would compare nothing.
    check(dropped == 0, f"the trace dropped {dropped} events, so the DMA API's and the "
                        f"series' map counts cannot be compared: raise STRICT_BUFFER_KB "
                        f"({STRICT_BUFFER_KB} KiB per CPU)")
    recs = parse(text, limit=WINDOW)
    maps = by(recs, "iommu_dma_map", device=ctx.bdf)
    unmaps = by(recs, "iommu_dma_unmap", device=ctx.bdf)
    check(len(maps) >= 100 and len(unmaps) >= 100,
          f"only {len(maps)} maps / {len(unmaps)} unmaps in the first {WINDOW} records")
    for r in maps:
        check(r.int("domain") == ctx.domain and r.f["ret"] == "0" and
              r.int("size") == 4096 and r.f["dir"] == "bidirectional" and
              r.int("duration_ns") > 0, f"bad iommu_dma_map {r}")
    for r in unmaps:
        check(r.int("domain") == ctx.domain and r.f["queued"] == "0" and
              r.int("size") == 4096 and r.int("duration_ns") > 0,
              f"bad strict iommu_dma_unmap {r}")

    # The strict unmap syncs the IOTLB inside the operation, so on its CPU
    # the last iotlb_sync before each unmap event must cover its range.
    # virtio-iommu is the exception on 6.12: it sends each unmap to the host
    # as it goes and never fills the gather, so its sync (a wait for the
    # request queue) carries an empty range; there we check that the sync
    # happened.  On 7.2 the core fills the gather of a driver that does not,
    # since iommu_iotlb_sync() skips empty ones: the range is covered again.
    # Likewise each DMA map is made of one domain_map and its sync_map.
    gathers = ctx.profile != "virtio" or kernel.mainline()
    for cpu, seq in per_cpu(recs).items():
        sync = dmap = smap = None
        for r in seq:
            if r.event == "iotlb_sync":
                sync = r
            elif r.event == "domain_map":
                dmap = r
            elif r.event == "iotlb_sync_map":
                smap = r
            elif r.event == "iommu_dma_unmap" and r.f["device"] == ctx.bdf:
                iova, size = r.int("iova"), r.int("size")
                check(sync is not None and sync.int("domain") == ctx.domain,
                      f"strict unmap {r} not preceded by a sync (last: {sync})")
                covered = sync.int("start") <= iova and iova + size - 1 <= sync.int("end")
                empty = sync.int("start") > sync.int("end")
                check(covered if gathers else empty,
                      f"strict unmap {r}: sync range {sync.f['start']}..{sync.f['end']}"
                      f" ({'should cover it' if gathers else 'virtio-iommu gathers nothing'})")
                sync = None
            elif r.event == "iommu_dma_map" and r.f["device"] == ctx.bdf:
                check(dmap is not None and dmap.int("domain") == ctx.domain and
                      dmap.int("iova") == r.int("iova") and
                      dmap.int("size") == r.int("size") and dmap.f["ret"] == "0",
                      f"DMA map {r} has no matching domain_map (last: {dmap})")
                check(smap is not None and smap.int("iova") == r.int("iova") and
                      smap.f["ret"] == "0",
                      f"DMA map {r} has no iotlb_sync_map (last: {smap})")
                dmap = smap = None
    # dma-iommu unmaps with iommu_unmap_fast(): domain_unmap, synced=0.
    du = by(recs, "domain_unmap", domain=ctx.domain)
    check(du and all(r.f["synced"] == "0" for r in du),
          f"{len(du)} domain_unmap events, all should be unsynced (fast)")
    n = dma_api_maps(text, ctx.bdf)
    ours = text.count(f" iommu_dma_map: device={ctx.bdf} ")
    check(n == ours, f"dma:{dma_api_events()[0]} counted {n}, iommu_dma_map {ours}")
    return f"{n} maps in the second, each seen by the DMA API and by iommu_dma_map"


def test_lazy_flush_queue(ctx):
    # From a DMA domain, whichever test ran before (strict_dma_map_unmap
    # leaves one): sysfs converts it to DMA-FQ in place, same domain.
    if ctx.mode != "DMA":
        switch_mode(ctx, "DMA")
    was_dma = ctx.domain
    recs = switch_mode(ctx, "DMA-FQ")
    dd = by(recs, "default_domain", group=ctx.gid)[0]
    check(ctx.domain == was_dma and dd.f["req_type"] == "DMA-FQ" and
          dd.f["type"] == "DMA-FQ" and dd.f["ret"] == "0",
          f"live DMA -> DMA-FQ switch: {dd.f}, wanted domain {was_dma} kept")
    # The flush timer runs 10 ms after the last unmap: wait for it.
    text, _ = bench_trace(ctx, ["iommu_dma_unmap", "dma_fq_flush",
                                "iotlb_flush_all", "iotlb_sync"], settle=0.2)
    unmaps = by(parse(text, limit=WINDOW), "iommu_dma_unmap", device=ctx.bdf)
    check(len(unmaps) >= 100, f"only {len(unmaps)} unmaps in the first {WINDOW} records")
    bad = [r for r in unmaps if r.f["queued"] != "1" or r.int("domain") != ctx.domain]
    check(not bad, f"lazy unmaps not queued or in another domain: {bad[:3]}")
    syncs = text.count(f" iotlb_sync: domain={ctx.domain} ")
    check(not syncs, f"lazy mode synced ranges {syncs} times")

    # The flushes of the whole run: the last comes from the timer, after it
    recs = parse(text, ("dma_fq_flush", "iotlb_flush_all"))
    fq = by(recs, "dma_fq_flush", domain=ctx.domain)
    check(fq, "no dma_fq_flush event in lazy mode")
    reasons = {r.f["reason"] for r in fq}
    check(reasons <= {"timer", "full"}, f"unknown flush reasons {reasons}")
    check("timer" in reasons, "no timer flush after the run ended")
    released = sum(r.int("released") for r in fq)
    check(0 < released, f"flushes released {released} IOVAs")
    check(all(r.int("duration_ns") > 0 for r in fq), "a flush-queue flush took 0 ns")
    # Each flush-queue flush is a flush-all of the domain, on the same CPU.
    for cpu, seq in per_cpu(recs).items():
        last = None
        for r in seq:
            if r.event == "iotlb_flush_all":
                last = r
            elif r.event == "dma_fq_flush" and r.int("domain") == ctx.domain:
                check(last is not None and last.int("domain") == ctx.domain,
                      f"{r} not preceded by iotlb_flush_all (last: {last})")
                last = None
    counts = {x: sum(1 for r in fq if r.f["reason"] == x) for x in sorted(reasons)}
    total = text.count(f" iommu_dma_unmap: device={ctx.bdf} ")
    print(f"# lazy: {total} queued unmaps, fq flushes {counts}, released {released}")


def test_identity_has_no_map_events(ctx):
    switch_mode(ctx, "identity")
    text, dropped = bench_trace(ctx, ["iommu_dma_map", "iommu_dma_unmap",
                                      "domain_map", "domain_unmap"])
    # A full buffer keeps the first events (overwrite off), the DMA API's
    # first maps among them: the check below covers what it kept, and says
    # how much that was
    maps = dma_api_maps(text, ctx.bdf)
    check(maps > 0, f"the benchmark made no DMA mappings at all ({dropped} events dropped)")
    ours = parse(text, ("iommu_dma_map", "iommu_dma_unmap", "domain_map", "domain_unmap"))
    check(not ours, f"identity mode produced IOMMU map events: {ours[:3]}")
    return (f"{maps} DMA API maps traced without an IOMMU event, "
            f"{dropped} events dropped after them")


def test_dma_owner_iommufd(ctx):
    ensure_group(ctx)
    # Back to a DMA default domain so the release has something to return to.
    switch_mode(ctx, "DMA")
    default = ctx.domain
    pci.bind(ctx.bdf, "vfio-pci")
    length = 64 * 1024
    with Trace() as t:
        t.enable("dma_owner", "attach_dev", "domain_map", "domain_unmap")
        t.start()
        dev = uapi.IommufdDevice(ctx.bdf)
        try:
            dev.bind()
            ioas = dev.ioas_alloc()
            dev.attach(ioas)
            iova = dev.map(ioas, length)
            unmapped = dev.unmap(ioas, iova, length)
        finally:
            dev.close()
        t.stop()
        recs = t.records()
    check(unmapped == length, f"IOAS_UNMAP unmapped {unmapped} bytes")

    own = by(recs, "dma_owner", group=ctx.gid)
    check([(r.f["op"], r.f["owner_cnt"], r.f["ret"], r.f["device"]) for r in own] ==
          [("claim", "1", "0", ctx.bdf), ("release", "0", "0", ctx.bdf)],
          f"dma_owner events {own}")

    att = by(recs, "attach_dev", device=ctx.bdf)
    # intel-iommu has a blocked domain (the debug profile boots on it too)
    blocking = "blocked" if ctx.profile in ("intel", "debug") else "unmanaged"
    check(len(att) >= 3, f"attach_dev events {att}")
    check(att[0].f["old_domain"] == str(default) and att[0].f["new_type"] == blocking,
          f"claim should move {ctx.bdf} from domain {default} to a {blocking} "
          f"blocking domain: {att[0]}")
    user = att[1]
    check(user.f["new_type"] == "unmanaged" and user.f["ret"] == "0",
          f"IOAS attach should give an unmanaged domain: {user}")
    udom = user.int("new_domain")
    check(att[-1].f["new_domain"] == str(default) and att[-1].f["ret"] == "0",
          f"release should return to default domain {default}: {att[-1]}")

    maps = by(recs, "domain_map", domain=udom)
    check(maps and all(r.f["ret"] == "0" for r in maps), f"domain_map on {udom}: {maps}")
    check(sum(r.int("size") for r in maps) == length and
          all(iova <= r.int("iova") < iova + length for r in maps),
          f"domain_map events do not cover [{iova:#x}, +{length:#x}): {maps}")
    check(all(r.int("duration_ns") > 0 for r in maps), "a domain_map took 0 ns")
    unm = by(recs, "domain_unmap", domain=udom)
    check(sum(r.int("unmapped") for r in unm) == length,
          f"domain_unmap events unmapped {sum(r.int('unmapped') for r in unm)}, "
          f"wanted {length}: {unm}")
    pci.bind(ctx.bdf, BENCH)


def test_detach_on_remove_and_probe_on_rescan(ctx):
    ensure_group(ctx)
    switch_mode(ctx, "DMA")
    gid, dom = ctx.gid, ctx.domain
    with Trace() as t:
        t.enable("detach_dev", "remove_device_from_group", "add_device_to_group",
                 "default_domain", "attach_dev")
        t.start()
        pci.remove(ctx.bdf)
        pci.rescan(ctx.bdf)
        if ctx.profile == "virtio":
            pci.bind(ctx.bdf, BENCH)    # virtio-iommu probes on driver bind
        t.stop()
        recs = t.records()
    det = by(recs, "detach_dev", device=ctx.bdf)
    check(len(det) == 1, f"expected one detach_dev on remove: {det}")
    d = det[0]
    check(d.f["group"] == str(gid) and d.f["old_domain"] == str(dom) and
          d.f["old_type"] == "DMA" and d.f["ret"] == "0", f"detach_dev fields {d.f}")
    check(by(recs, "remove_device_from_group", device=ctx.bdf), "no remove_device_from_group")
    add = by(recs, "add_device_to_group", device=ctx.bdf)
    check(add, "no add_device_to_group after rescan")
    ctx.gid = pci.group(ctx.bdf)
    dd = by(recs, "default_domain", group=ctx.gid)
    check(len(dd) == 1 and dd[0].f["ret"] == "0" and dd[0].f["req_type"] == "auto",
          f"hotplug probe should decide a default domain with no sysfs request: {dd}")
    ctx.domain = dd[0].int("domain")
    first = by(recs, "attach_dev", device=ctx.bdf, new_domain=ctx.domain)
    check(first and first[0].f["old_domain"] == "0" and first[0].f["old_type"] == "none",
          f"first attach after hotplug should come from no domain: {first}")


def test_pasid_attach_detach_mock(ctx):
    """No emulated endpoint has PASID: use iommufd's selftest mock, whose
    devices can advertise it (MOCK_FLAGS_DEVICE_PASID)."""
    if not os.path.exists("/dev/iommu"):
        raise Skip("no /dev/iommu (CONFIG_IOMMUFD)")
    if iommufd_mock.UPSTREAM_PASID_OPS:
        return pasid_flows_upstream_ops()
    fd = iommufd_mock.Iommufd()
    pasid = 5
    try:
        ioas = fd.ioas_alloc()
        with Trace() as t:
            t.enable("attach_pasid", "detach_pasid", "attach_dev", "dma_owner")
            t.start()
            stdev, hwpt, _ = fd.mock_domain(ioas, iommufd_mock.MOCK_FLAGS_DEVICE_PASID)
            fd.pasid_attach(stdev, pasid, hwpt)
            try:
                fd.pasid_attach(stdev, pasid, hwpt)
                second = 0
            except OSError as e:
                second = e.errno
            fd.pasid_detach(stdev, pasid)
            fd.destroy(stdev)
            t.stop()
            recs = t.records()
    finally:
        fd.close()
    check(second == errno.EBUSY, f"a second attach of PASID {pasid} gave errno {second}, wanted EBUSY")

    # The RID goes to the blocking domain at probe, then to the HWPT.
    rid = [r for r in by(recs, "attach_dev", new_type="unmanaged")
           if r.f["device"].startswith("iommufd_mock")]
    check(len(rid) == 1, f"expected one RID attach of the mock device to its HWPT: {rid}")
    dev, dom = rid[0].f["device"], rid[0].f["new_domain"]
    att = by(recs, "attach_pasid", device=dev)
    check(len(att) == 2, f"expected two attach_pasid events: {att}")
    ok, busy = att
    check(ok.f["pasid"] == str(pasid) and ok.f["ret"] == "0" and
          ok.f["new_domain"] == dom and ok.f["new_type"] == "unmanaged" and
          ok.f["old_domain"] == "0" and ok.f["group"] == rid[0].f["group"],
          f"attach_pasid fields {ok.f}, wanted PASID {pasid} into domain {dom}")
    check(busy.f["ret"] == str(-errno.EBUSY) and busy.f["new_domain"] == dom,
          f"the refused attach should report -EBUSY: {busy.f}")
    det = by(recs, "detach_pasid", device=dev)
    check(len(det) == 1 and det[0].f["pasid"] == str(pasid) and
          det[0].f["old_domain"] == dom and det[0].f["new_domain"] == "0" and
          det[0].f["ret"] == "0", f"detach_pasid events {det}")
    own = [(r.f["op"], r.f["ret"]) for r in by(recs, "dma_owner", device=dev)]
    check(own == [("claim", "0"), ("release", "0")], f"mock dma_owner events {own}")


def test_dma_iova_api_traced(ctx):
    """7.2's two-step DMA API (dma_iova_try_alloc/link/sync/destroy), which
    the block layer uses for NVMe (direct reads with dd here), maps without __iommu_dma_map(): the
    series traces it in __dma_iova_link() and __iommu_dma_iova_unlink(),
    and dma_iova_sync() is iommu_sync_map()'s iotlb_sync_map event.  With
    kprobes on the exported entry points in the same trace, each
    dma_iova_link() call is followed on its CPU by an iommu_dma_map of the
    NVMe disk's device, each dma_iova_sync() by an iotlb_sync_map, and each
    dma_iova_destroy() by an iommu_dma_unmap of the device."""
    from iommuvm.realdev import RealDevices
    api = ("dma_iova_link", "dma_iova_sync", "dma_iova_destroy")
    devs = RealDevices()
    try:
        probes = Kprobes(*api)
    except OSError:
        devs.unload()
        raise
    try:
        with Trace(buffer_kb=32768) as t:
            t.enable("iommu_dma_map", "iommu_dma_unmap", "iotlb_sync_map")
            t.enable(*api, system=Kprobes.GROUP)
            t.start()
            # 64 direct reads of 128 KiB: each spans several pages (the
            # NVMe driver maps a single-segment request with dma_map_bvec()
            # instead), and about 2,000 links keep the parse short under TCG
            r = subprocess.run(["dd", f"if=/dev/{devs.disk}", "of=/dev/null", "bs=128k",
                                "count=64", "iflag=direct"], capture_output=True, text=True)
            check(r.returncode == 0, f"dd from /dev/{devs.disk}: {r.stderr}")
            t.stop()
            recs = t.records()
            dropped = t.dropped()
    finally:
        probes.close()
        devs.unload()
    check(not dropped, f"the trace dropped {dropped} events: make the window smaller")
    want = {"dma_iova_link": ("iommu_dma_map", devs.nvme_bdf),
            "dma_iova_sync": ("iotlb_sync_map", None),
            "dma_iova_destroy": ("iommu_dma_unmap", devs.nvme_bdf)}
    calls = {fn: 0 for fn in api}
    for cpu in sorted({r.cpu for r in recs}):
        mine = [r for r in recs if r.cpu == cpu]
        for i, r in enumerate(mine):
            if r.event not in want:
                continue
            calls[r.event] += 1
            ev, dev = want[r.event]
            nxt = next((n for n in mine[i + 1:] if n.event == ev or n.event in want), None)
            check(nxt is not None and nxt.event == ev and
                  (dev is None or nxt.f.get("device") == dev) and nxt.f.get("ret", "0") == "0",
                  f"{r.event}() on CPU {cpu} at {r.ts} is not followed by a successful {ev}"
                  f"{' of ' + dev if dev else ''}: next {nxt}")
    check(all(calls.values()), f"reads of {devs.disk} did not use the IOVA API: calls {calls} "
          "(blk_rq_dma_map_iter_start() maps through dma_iova_try_alloc() behind an IOMMU)")
    return ", ".join(f"{fn}() {n} calls, each followed by its event" for fn, n in calls.items())


class PasidMock:
    """A PASID-capable mock device the way upstream's iommufd wants it
    (7.2): its RID on a PASID-compatible paging HWPT (IOMMU_HWPT_ALLOC_PASID),
    and two more such HWPTs, a and b, for its PASIDs."""

    def __init__(self, fd):
        ioas = fd.ioas_alloc()
        self.stdev, _, idev = fd.mock_domain(ioas, iommufd_mock.MOCK_FLAGS_DEVICE_PASID)
        flags = iommufd_mock.IOMMU_HWPT_ALLOC_PASID
        self.rid = fd.hwpt_alloc(idev, ioas, flags)
        fd.mock_domain_replace(self.stdev, self.rid)
        self.a = fd.hwpt_alloc(idev, ioas, flags)
        self.b = fd.hwpt_alloc(idev, ioas, flags)


def pasid_flows_upstream_ops():
    """Attach, a second attach, replace and detach of one PASID through
    upstream's selftest ops (iommufd_device_attach/replace/detach with a
    PASID).  iommufd refuses the second attach itself (the PASID is in its
    own table): EBUSY, and the core, which the tracepoint is in, never sees
    it.  Replace goes through iommu_replace_device_pasid(), which the
    series traces as attach_pasid from the old domain."""
    fd = iommufd_mock.Iommufd()
    pasid = 5
    try:
        with Trace() as t:
            t.enable("attach_pasid", "detach_pasid", "attach_dev", "dma_owner")
            t.start()
            m = PasidMock(fd)
            fd.pasid_attach(m.stdev, pasid, m.a)
            try:
                fd.pasid_attach(m.stdev, pasid, m.a)
                second = 0
            except OSError as e:
                second = e.errno
            fd.pasid_replace(m.stdev, pasid, m.b)
            on_b = fd.pasid_has_hwpt(m.stdev, pasid, m.b)
            fd.pasid_detach(m.stdev, pasid)
            gone = fd.pasid_has_hwpt(m.stdev, pasid, 0)
            fd.destroy(m.stdev)
            t.stop()
            recs = t.records()
    finally:
        fd.close()
    check(second == errno.EBUSY, f"a second attach of PASID {pasid} gave errno {second}, wanted EBUSY")
    check(on_b and gone, f"the mock's view: PASID on b after replace {on_b}, none after detach {gone}")

    # The RID: blocking at probe, the auto HWPT, then the PASID-compatible one
    rid = [r for r in by(recs, "attach_dev", new_type="unmanaged")
           if r.f["device"].startswith("iommufd_mock")]
    check(len(rid) == 2, f"expected two RID attaches of the mock device (auto HWPT, then "
          f"the PASID-compatible one): {rid}")
    dev = rid[-1].f["device"]
    att = by(recs, "attach_pasid", device=dev)
    check(len(att) == 2, f"expected attach_pasid for the attach and the replace only (the "
          f"second attach stops in iommufd): {att}")
    first, repl = att
    dom_a, dom_b = first.f["new_domain"], repl.f["new_domain"]
    check(first.f["pasid"] == str(pasid) and first.f["ret"] == "0" and
          first.f["old_domain"] == "0" and first.f["new_type"] == "unmanaged" and
          first.f["group"] == rid[-1].f["group"] and dom_a not in ("0", rid[-1].f["new_domain"]),
          f"attach_pasid fields {first.f}")
    check(repl.f["pasid"] == str(pasid) and repl.f["ret"] == "0" and
          repl.f["old_domain"] == dom_a and dom_b not in ("0", dom_a),
          f"the replace should be an attach_pasid from domain {dom_a} to a new one: {repl.f}")
    det = by(recs, "detach_pasid", device=dev)
    check(len(det) == 1 and det[0].f["pasid"] == str(pasid) and
          det[0].f["old_domain"] == dom_b and det[0].f["ret"] == "0", f"detach_pasid events {det}")
    own = [(r.f["op"], r.f["ret"]) for r in by(recs, "dma_owner", device=dev)]
    check(own == [("claim", "0"), ("release", "0")], f"mock dma_owner events {own}")


def test_pasid_replace_asks_policy(ctx):
    """iommu_replace_device_pasid() (7.2; iommufd's PASID replace) installs
    a domain without iommu_attach_device_pasid(): the series asks the
    policy's pasid_attach hook there too.  A policy loaded after the attach
    that denies the device's PASIDs refuses the replace with EPERM, traced,
    and the PASID stays on its domain; without it the same replace works."""
    from test_iommuctl_policy import iommuctl, rules_file
    fd = iommufd_mock.Iommufd()
    pasid = 7
    rules = rules_file("dev=iommufd_mock*  pasid  deny\n")
    try:
        m = PasidMock(fd)
        fd.pasid_attach(m.stdev, pasid, m.a)
        r = iommuctl("policy", "load", "-r", rules)
        check(r.returncode == 0, f"iommuctl policy load -r: {r.stdout}{r.stderr}")
        try:
            with Trace() as t:
                t.enable("attach_pasid", "policy_decision")
                t.start()
                try:
                    fd.pasid_replace(m.stdev, pasid, m.b)
                    err = 0
                except OSError as e:
                    err = e.errno
                t.stop()
                recs = t.records()
            on_a = fd.pasid_has_hwpt(m.stdev, pasid, m.a)
        finally:
            r = iommuctl("policy", "unload")
            check(r.returncode == 0, f"iommuctl policy unload: {r.stdout}{r.stderr}")
        fd.pasid_replace(m.stdev, pasid, m.b)
        on_b = fd.pasid_has_hwpt(m.stdev, pasid, m.b)
        fd.pasid_detach(m.stdev, pasid)
        fd.destroy(m.stdev)
    finally:
        fd.close()
        os.unlink(rules)
    check(err == errno.EPERM, f"a replace the policy denies gave errno {err}, wanted EPERM")
    check(on_a, "after the refused replace the PASID should still be on its first domain")
    check(on_b, "with the policy unloaded the same replace should work")
    att = [r for r in by(recs, "attach_pasid", pasid=str(pasid))
           if r.f["device"].startswith("iommufd_mock")]
    check(len(att) == 1 and att[0].f["ret"] == str(-errno.EPERM) and att[0].f["old_domain"] != "0",
          f"the refused replace should be traced with -EPERM from the PASID's domain: {att}")
    dec = [r for r in by(recs, "policy_decision", hook="pasid_attach")
           if r.f["device"].startswith("iommufd_mock")]
    check(dec, f"no pasid_attach policy decision traced for the replace: {recs}")


def tests(profile):
    ctx = Ctx(profile)
    if profile.startswith("stock"):
        return []           # Debian's kernels have no series: see test_iommuctl
    if profile == "mock":
        # iommufd's mock probes its devices only when no other IOMMU driver
        # is registered: 6.12 gives a device without a firmware node the
        # ops of the first registered IOMMU (intel-iommu's, say).
        order = [test_formats_match_golden, test_pasid_attach_detach_mock]
        if iommufd_mock.UPSTREAM_PASID_OPS:
            order.append(test_pasid_replace_asks_policy)
    elif profile == "debug":
        # Not the flows through vfio-pci, iommufd and PCI hotplug: about
        # 60 times as slow as on 6.12 (4 minutes each), and what they
        # reach of the series there the debug profile's own tests drive
        # too (the stress test's hotplug worker, the runner's claims)
        order = []
    else:
        order = [
            test_formats_match_golden,
            test_default_domain_and_attach_on_type_change,
            test_strict_dma_map_unmap,
            test_lazy_flush_queue,
            test_identity_has_no_map_events,
            test_dma_owner_iommufd,
            test_detach_on_remove_and_probe_on_rescan,
        ]
        if profile == "intel" and kernel.mainline():
            order.append(test_dma_iova_api_traced)     # 7.2's two-step DMA API
    return [(fn.__name__[len("test_"):], (lambda fn=fn: fn(ctx))) for fn in order]

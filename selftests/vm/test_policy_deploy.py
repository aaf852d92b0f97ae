"""Deploying the attach policy: 'iommuctl policy sync' (attach, replace or
keep), the boot script that the initramfs and iommu-policy.service run, and
'iommuctl policy apply', which lets the policy decide groups probed before it.

Ground truth is the kernel's: sysfs /sys/kernel/iommu_policy, the groups'
sysfs type, debugfs iommu_policy/verdicts, an ftrace instance on
iommu:policy_decision and the PCI drivers' sysfs links.  Runs in the policy
profiles (intel-iommu, two edu devices: 00:10.0 has a firmware 1:1 map,
00:11.0 none)."""

import json
import os
import re
import subprocess
import tempfile

from iommuvm import kernel, pci
from iommuvm.background import IOMMUCTL, TOP
from iommuvm.tracefs import Trace
from iommutest.tap import check

SYSFS = "/sys/kernel/iommu_policy"
PIN = "/sys/fs/bpf/iommu_policy"
SOURCE_PIN = PIN + "_source"
BOOT = os.path.join(TOP, "tools", "deploy", "iommu-policy-boot")
UNIT = os.path.join(TOP, "tools", "deploy", "systemd", "iommu-policy.service")
EDU = "0000:00:11.0"            # the edu without a firmware 1:1 map
EXAMPLE = os.path.join(TOP, "build", "iommuctl", "policy", "untrusted_strict.bpf.o")
DMA_F_REEVAL = 1 << 3           # enum iommu_policy_dma_flags


def iommuctl(*args, timeout=120):
    return subprocess.run([IOMMUCTL, *args], capture_output=True, text=True,
                          timeout=timeout)


def sysfs(attr):
    with open(f"{SYSFS}/{attr}") as f:
        return f.read().strip()


def verdict(dev, hook):
    """debugfs iommu_policy/verdicts: {field: value} of dev's hook, or None"""
    with open("/sys/kernel/debug/iommu_policy/verdicts") as f:
        for line in f:
            w = line.split()
            if len(w) > 3 and w[0] == dev and w[1] == hook:
                return dict(kv.split("=", 1) for kv in w[3:])
    return None


class Deploy:
    """Rules files, and a policy and group types put back whatever happens."""

    def __init__(self):
        if not os.path.exists("/sys/kernel/debug/iommu_policy"):
            subprocess.run(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"],
                           check=False)
        check(sysfs("state") == "disabled",
              f"a policy is already attached: {sysfs('name')} ({sysfs('state')})")
        self.dir = tempfile.mkdtemp(prefix="deploy-")
        self.types = {}
        for g in os.listdir("/sys/kernel/iommu_groups"):
            with open(f"/sys/kernel/iommu_groups/{g}/type") as f:
                self.types[g] = f.read().strip()

    def file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        errors = []
        if os.path.exists(PIN):
            r = iommuctl("policy", "unload")
            if r.returncode:
                errors.append(f"unload: {r.stderr}")
        # Groups apply changed go back to the kernel's own choice
        for g, typ in self.types.items():
            path = f"/sys/kernel/iommu_groups/{g}/type"
            if not os.path.exists(path):
                continue
            with open(path) as f:
                now = f.read().strip()
            if now != typ:
                try:
                    with open(path, "w") as f:
                        f.write("auto")
                except OSError as e:
                    errors.append(f"group {g} back to auto: {e}")
        subprocess.run(["rm", "-rf", self.dir], check=False)
        if errors and exc[0] is None:
            raise AssertionError("cleanup failed: " + "; ".join(errors))


def sync(*args):
    r = iommuctl("policy", "sync", "-j", *args)
    out = json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None
    return r, out


def test_sync_attaches_keeps_replaces():
    """sync: attach when none, nothing when unchanged, replace when changed."""
    with Deploy() as d:
        a = d.file("a.rules", f"dev={EDU} dma_mode strict\n")
        r, out = sync("-r", a)
        check(out and out["action"] == "attached" and out["enable_seq"] ==
              int(sysfs("enable_seq")) and sysfs("state") == "enabled",
              f"first sync: {r.returncode} {r.stdout} {r.stderr}")
        seq = out["enable_seq"]
        check(os.path.exists(SOURCE_PIN), f"{SOURCE_PIN} was not pinned")
        r, out = sync("-r", a)
        check(out and out["action"] == "unchanged" and int(sysfs("enable_seq")) == seq,
              f"same rules again: {r.stdout} {r.stderr}, enable_seq {sysfs('enable_seq')} "
              f"(was {seq})")
        # A different name is a different policy
        r, out = sync("-r", a, "-N", "boot")
        check(out and out["action"] == "replaced" and sysfs("name") == "boot" and
              int(sysfs("enable_seq")) == seq + 1,
              f"-n boot: {r.stdout} {r.stderr} name {sysfs('name')}")
        with open(a, "a") as f:
            f.write(f"dev={EDU} dma_owner deny\n")
        r, out = sync("-r", a, "-N", "boot")
        check(out and out["action"] == "replaced" and int(sysfs("enable_seq")) == seq + 2,
              f"changed rules: {r.stdout} {r.stderr}")
        # Malformed: exit 2, FILE:LINE, the attached policy untouched
        bad = d.file("bad.rules", "* dma_mode strict\n* dma_mode bogus\n")
        r, _ = sync("-r", bad)
        check(r.returncode == 2 and re.search(rf"^{re.escape(bad)}:2: ", r.stderr, re.M) and
              int(sysfs("enable_seq")) == seq + 2 and sysfs("name") == "boot",
              f"malformed: exit {r.returncode}, {r.stderr!r}, enable_seq "
              f"{sysfs('enable_seq')}, name {sysfs('name')}")
        # Swapped behind sync's back (replace records it; without the
        # record sync cannot know, so it replaces)
        r = iommuctl("policy", "replace", EXAMPLE)
        check(r.returncode == 0, f"replace: {r.stderr}")
        r, out = sync("-r", a, "-N", "boot")
        check(out and out["action"] == "replaced" and sysfs("name") == "boot",
              f"after a replace: {r.stdout} {r.stderr}")
        os.unlink(SOURCE_PIN)
        r, out = sync("-r", a, "-N", "boot")
        check(out and out["action"] == "replaced",
              f"without {SOURCE_PIN}: {r.stdout} {r.stderr}")
        r, out = sync("-r", a, "-N", "boot")
        check(out and out["action"] == "unchanged", f"then again: {r.stdout} {r.stderr}")


def unit_commands(key):
    with open(UNIT) as f:
        return [line.split("=", 1)[1].strip() for line in f
                if line.startswith(key + "=")]


def test_unit_runs_the_boot_script():
    """iommu-policy.service starts and reloads with the boot script; the
    script attaches, keeps, replaces and refuses a malformed file."""
    check(unit_commands("ExecStart") == ["/usr/lib/iommu-bpf/iommu-policy-boot"] and
          unit_commands("ExecReload") == ["/usr/lib/iommu-bpf/iommu-policy-boot"],
          f"{UNIT}: ExecStart {unit_commands('ExecStart')}, "
          f"ExecReload {unit_commands('ExecReload')}")
    with Deploy() as d:
        rules = d.file("iommu-policy.rules", f"dev={EDU} dma_mode strict\n")
        conf = d.file("iommu-policy.conf", f"IOMMU_POLICY_RULES={rules}\n")
        env = dict(os.environ, IOMMUCTL=IOMMUCTL, IOMMU_POLICY_CONF=conf)

        def boot():
            return subprocess.run([BOOT], capture_output=True, text=True, env=env,
                                  timeout=300)

        # A fresh install: the configuration names a file nobody wrote yet
        env["IOMMU_POLICY_CONF"] = d.file("none.conf", f"IOMMU_POLICY_RULES={rules}.none\n")
        r = boot()
        check(r.returncode == 0 and sysfs("state") == "disabled" and
              "no IOMMU policy configured" in r.stderr,
              f"no policy file: exit {r.returncode}, state {sysfs('state')}: {r.stderr}")
        env["IOMMU_POLICY_CONF"] = conf
        r = boot()
        check(r.returncode == 0 and sysfs("state") == "enabled",
              f"start: exit {r.returncode}: {r.stdout} {r.stderr}")
        seq = int(sysfs("enable_seq"))
        check(pci.group_type(pci.group(EDU)) == "DMA",
              f"start did not apply the rules to {EDU}: {r.stdout}")
        r = boot()
        check(r.returncode == 0 and int(sysfs("enable_seq")) == seq and
              "unchanged" in r.stdout,
              f"restart: exit {r.returncode}, enable_seq {sysfs('enable_seq')} (was {seq}): "
              f"{r.stdout}")
        with open(rules, "w") as f:
            f.write(f"dev={EDU} dma_mode lazy\n")
        r = boot()
        check(r.returncode == 0 and int(sysfs("enable_seq")) == seq + 1 and
              pci.group_type(pci.group(EDU)) == "DMA-FQ",
              f"reload after an edit: exit {r.returncode}, enable_seq {sysfs('enable_seq')}, "
              f"{EDU} {pci.group_type(pci.group(EDU))}: {r.stdout} {r.stderr}")
        with open(rules, "w") as f:
            f.write(f"dev={EDU} dma_mode strict\ndev={EDU} dma_mode fastest\n")
        r = boot()
        check(r.returncode == 2 and f"{rules}:2: " in r.stderr and
              int(sysfs("enable_seq")) == seq + 1 and sysfs("state") == "enabled",
              f"reload of a malformed file: exit {r.returncode}, {r.stderr!r}, enable_seq "
              f"{sysfs('enable_seq')}")
        conf_obj = d.file("obj.conf", f"IOMMU_POLICY_RULES={rules}\n"
                          f"IOMMU_POLICY_OBJECT={EXAMPLE}\n")
        env["IOMMU_POLICY_CONF"] = conf_obj
        r = boot()
        check(r.returncode == 0 and sysfs("name") == "untrusted_strict",
              f"an object wins over rules: exit {r.returncode}, name {sysfs('name')}: "
              f"{r.stderr}")


def test_apply_reevaluates_driverless_groups():
    """apply: a group with no driver is decided again by the policy, with
    IOMMU_POLICY_DMA_F_REEVAL; --dry-run changes nothing."""
    check(pci.driver(EDU) is None, f"{EDU} is bound to {pci.driver(EDU)}")
    gid = pci.group(EDU)
    with Deploy() as d:
        before = pci.group_type(gid)
        want = "DMA" if before != "DMA" else "DMA-FQ"
        verdict_name = "strict" if want == "DMA" else "lazy"
        r, out = sync("-r", d.file("a.rules", f"dev={EDU} dma_mode {verdict_name}\n"))
        check(out, f"sync: {r.stderr}")
        check(pci.group_type(gid) == before, "loading the policy changed the group")

        r = iommuctl("policy", "apply", "--dry-run", "-j")
        check(r.returncode == 0, f"apply --dry-run: {r.returncode} {r.stderr}")
        g = [x for x in json.loads(r.stdout)["groups"] if x["group"] == gid]
        check(len(g) == 1 and g[0]["action"] == "would_reevaluate" and
              pci.group_type(gid) == before,
              f"dry run: {g}, group now {pci.group_type(gid)}")

        with Trace("deploy_apply") as t:
            t.enable("policy_decision")
            t.start()
            r = iommuctl("policy", "apply", "-j")
            t.stop()
            recs = [x.f for x in t.records("policy_decision")
                    if x.f.get("device") == EDU and x.f.get("hook") == "dma_mode"]
        check(r.returncode == 0, f"apply: exit {r.returncode}: {r.stderr}")
        g = [x for x in json.loads(r.stdout)["groups"] if x["group"] == gid]
        check(len(g) == 1 and g[0]["action"] == "reevaluated" and g[0]["before"] == before
              and g[0]["after"] == want == pci.group_type(gid),
              f"apply: {g}; sysfs type {pci.group_type(gid)}, want {want}")
        dm = [x for x in g[0]["decisions"] if x["hook"] == "dma_mode"]
        check(len(dm) == 1 and dm[0]["by"] == "policy" and dm[0]["reason"] == "applied"
              and dm[0]["applied"] == verdict_name and dm[0]["current"],
              f"apply's decisions: {g[0]['decisions']}")
        v = verdict(EDU, "dma_mode")
        check(v and int(v["flags"], 16) & DMA_F_REEVAL and v["reason"] == "applied",
              f"debugfs record of {EDU}: {v}")
        check(len(recs) == 1 and int(recs[0]["flags"], 16) & DMA_F_REEVAL and
              recs[0]["reason"] == "applied",
              f"ftrace policy_decision of {EDU}: {recs}")


def test_apply_decides_mock_devices():
    """apply decides devices of the mock IOMMU added before the policy, and
    only re-evaluates: a second apply changes nothing and decides again."""
    ctl = "/sys/kernel/debug/iommu_policy_mock/ctl"
    with Deploy() as d:
        check(os.path.exists(ctl), f"no {ctl}: the kernel needs CONFIG_IOMMU_POLICY_MOCK")
        added = []
        try:
            for name in ("dpa", "dpb"):
                with open(ctl, "w") as f:
                    f.write(f"add {name}")
                added.append(name)
            groups = {}
            for name in added:
                link = os.readlink(f"/sys/bus/platform/devices/{name}/iommu_group")
                groups[name] = int(os.path.basename(link))
            before = {n: pci.group_type(g) for n, g in groups.items()}
            check(verdict("dpa", "dma_mode") is None,
                  f"dpa has a decision before any policy: {verdict('dpa', 'dma_mode')}")
            r, out = sync("-r", d.file("m.rules", "dev=dpa dma_mode strict\n"
                                       "dev=dpb dma_mode lazy\n"))
            check(out, f"sync: {r.stderr}")
            r = iommuctl("policy", "apply", "-j")
            check(r.returncode == 0, f"apply: {r.returncode} {r.stderr}")
            by_group = {g["group"]: g for g in json.loads(r.stdout)["groups"]}
            for name, want in (("dpa", "DMA"), ("dpb", "DMA-FQ")):
                g = by_group.get(groups[name])
                check(g and g["action"] == "reevaluated" and g["before"] == before[name] and
                      g["after"] == want == pci.group_type(groups[name]),
                      f"{name}: {g}, sysfs {pci.group_type(groups[name])}")
                v = verdict(name, "dma_mode")
                check(v and v["reason"] == "applied" and int(v["flags"], 16) & DMA_F_REEVAL,
                      f"{name}'s record: {v}")
            seq = verdict("dpa", "dma_mode")["seq"]
            r = iommuctl("policy", "apply", "-j")
            g = {x["group"]: x for x in json.loads(r.stdout)["groups"]}.get(groups["dpa"])
            check(r.returncode == 0 and g and g["before"] == g["after"] == "DMA" and
                  verdict("dpa", "dma_mode")["seq"] == seq,
                  f"second apply: {g} {r.stderr}")
        finally:
            for name in reversed(added):
                with open(ctl, "w") as f:
                    f.write(f"del {name}")


def test_apply_leaves_bound_groups_rebind_rebinds():
    """A group with a bound driver is kept, with a hint; --rebind unbinds it,
    re-evaluates it and binds the same driver again."""
    gid = pci.group(EDU)
    with Deploy() as d:
        before = pci.group_type(gid)
        want = "DMA" if before != "DMA" else "DMA-FQ"
        verdict_name = "strict" if want == "DMA" else "lazy"
        pci.bind(EDU, "vfio-pci")
        try:
            r, out = sync("-r", d.file("a.rules", f"dev={EDU} dma_mode {verdict_name}\n"))
            check(out, f"sync: {r.stderr}")
            r = iommuctl("policy", "apply", "-j")
            g = [x for x in json.loads(r.stdout)["groups"] if x["group"] == gid]
            check(r.returncode == 0 and len(g) == 1 and g[0]["action"] == "bound" and
                  pci.group_type(gid) == before and pci.driver(EDU) == "vfio-pci",
                  f"apply with vfio-pci bound: {r.returncode} {g} {r.stderr}")
            r = iommuctl("policy", "apply")
            check(f"--rebind {EDU}" in r.stdout, f"no --rebind hint: {r.stdout}")

            r = iommuctl("policy", "apply", "--rebind", EDU, "-j")
            check(r.returncode == 0, f"--rebind: exit {r.returncode}: {r.stderr}")
            g = json.loads(r.stdout)["groups"]
            check(len(g) == 1 and g[0]["group"] == gid and g[0]["action"] == "rebound" and
                  g[0]["after"] == want == pci.group_type(gid),
                  f"--rebind: {g}, sysfs {pci.group_type(gid)}")
            check(pci.driver(EDU) == "vfio-pci",
                  f"{EDU} is bound to {pci.driver(EDU)} after --rebind, not vfio-pci")
        finally:
            pci.unbind(EDU)
            with open(f"/sys/bus/pci/devices/{EDU}/driver_override", "w") as f:
                f.write("\n")


def test_apply_refuses_bad_use():
    """No policy, an unknown device, --force alone: clear errors, nothing done."""
    r = iommuctl("policy", "apply")
    check(r.returncode == 1 and "no policy is attached" in r.stderr,
          f"apply with no policy: {r.returncode} {r.stderr}")
    with Deploy() as d:
        r, out = sync("-r", d.file("a.rules", "* dma_owner allow\n"))
        check(out, f"sync: {r.stderr}")
        r = iommuctl("policy", "apply", "--rebind", "0000:0f:1f.7")
        check(r.returncode == 2 and "no device '0000:0f:1f.7'" in r.stderr,
              f"unknown device: {r.returncode} {r.stderr}")
        r = iommuctl("policy", "apply", "--force")
        check(r.returncode == 2 and "--rebind" in r.stderr,
              f"--force alone: {r.returncode} {r.stderr}")


def tests(profile):
    if profile not in ("policy", "policy-noopt"):
        return []
    # On the 6.12 backport only, the kernel the machines that deploy
    # policies at boot run: what these drive of the kernel (attach, link
    # update, the decisions on apply) the policy suites check on both
    # series, and the rest is user space, the same on both
    if kernel.mainline():
        return []
    order = [
        test_sync_attaches_keeps_replaces,
        test_unit_runs_the_boot_script,
        test_apply_reevaluates_driverless_groups,
        test_apply_decides_mock_devices,
        test_apply_leaves_bound_groups_rebind_rebinds,
        test_apply_refuses_bad_use,
    ]
    return [("deploy_" + fn.__name__[len("test_"):], fn) for fn in order]

"""iommuctl policy against the kernel's own account of the BPF attach policy:
sysfs (/sys/kernel/iommu_policy), debugfs (iommu_policy/verdicts), the
groups' domain types and an ftrace instance on iommu:policy_decision.

Devices come from the mock IOMMU test driver (debugfs iommu_policy_mock/ctl):
platform devices with their own IOMMU group, probed when added, so every add
asks the attached policy.  Each test unloads the policy and deletes its mock
devices whatever happens."""

import json
import os
import signal
import subprocess
import tempfile
import time

from iommuvm.background import IOMMUCTL, TOP
from iommuvm.background import iommuctl as start_iommuctl
from iommuvm.tracefs import Trace
from iommutest.policyobj import patched_policy
from iommutest.tap import check

SYSFS = "/sys/kernel/iommu_policy"
DEBUGFS = "/sys/kernel/debug"
MOCK_CTL = f"{DEBUGFS}/iommu_policy_mock/ctl"
VERDICTS = f"{DEBUGFS}/iommu_policy/verdicts"
DEVFACTS = f"{DEBUGFS}/iommu_policy/devices"
PIN = "/sys/fs/bpf/iommu_policy"
EXAMPLE = os.path.join(TOP, "build", "iommuctl", "policy", "untrusted_strict.bpf.o")
# A policy with init() and no decision callback (selftests/vm/policy/progs)
NOCB = os.path.join(TOP, "build", "policy-tests", "test_nocb.bpf.o")
COUNTERS = ["decisions", "dev_trust", "dma_mode", "resv_direct", "pasid_attach",
            "dma_owner", "clamped", "invalid", "errors"]
# What each proposed dma_mode makes of a group (enum iommu_policy_dma_mode)
DMA_TYPE = {"identity": "identity", "lazy": "DMA-FQ", "strict": "DMA"}
# enum iommu_policy_fw_flags of <linux/iommu_policy.h>, bit 0 first
FW_FLAG_NAMES = ["untrusted", "removable", "external_facing", "pci"]
# ftrace prints verdicts as numbers: the names of <linux/iommu_policy.h>
VERDICT_NAMES = {
    "dev_trust": ["default", "trusted", "untrusted"],
    "dma_mode": ["default", "identity", "lazy", "strict"],
    "resv_direct": ["default", "keep", "relax"],
    "pasid_attach": ["default", "allow", "deny", "phys", "iova"],
    "dma_owner": ["default", "allow", "deny"],
}


def iommuctl(*args, timeout=120):
    return subprocess.run([IOMMUCTL, *args], capture_output=True, text=True,
                          timeout=timeout)


def sysfs(attr):
    with open(f"{SYSFS}/{attr}") as f:
        return f.read().strip()


def optin_asked():
    """Whether the profile's command line asked for the opt-in: what a
    test expects comes from what the profile set up, not from the kernel
    under test (policy_test's optin_is_what_the_boot_asked checks that
    the kernel took it)."""
    with open("/proc/cmdline") as f:
        on = False
        for tok in f.read().split():
            if tok.startswith("iommu_policy.allow_loosen="):
                on = tok.split("=", 1)[1][:1] in ("1", "y", "Y")
    return on


def mount_debugfs():
    if not os.path.exists(MOCK_CTL):
        subprocess.run(["mount", "-t", "debugfs", "none", DEBUGFS], check=False)
    check(os.path.exists(MOCK_CTL), f"no {MOCK_CTL}: the kernel needs CONFIG_IOMMU_POLICY_MOCK")


def group_type(dev):
    group = os.path.basename(os.readlink(f"/sys/bus/platform/devices/{dev}/iommu_group"))
    with open(f"/sys/kernel/iommu_groups/{group}/type") as f:
        return int(group), f.read().strip()


def rules_file(text):
    f = tempfile.NamedTemporaryFile("w", prefix="policy-", suffix=".rules", delete=False)
    f.write(text)
    f.close()
    return f.name


def debugfs_verdicts(dev):
    """{hook: {field: value}} for dev, straight from debugfs."""
    out = {}
    with open(VERDICTS) as f:
        for line in f:
            w = line.split()
            if w and w[0] == dev:
                rec = dict(kv.split("=", 1) for kv in w[3:])
                rec["by"] = w[2]
                out[w[1]] = rec
    return out


def debugfs_devfacts(dev):
    """{fact: value string} of dev, straight from debugfs; None if not there."""
    with open(DEVFACTS) as f:
        for line in f:
            w = line.split()
            if w and w[0] == dev:
                return dict(kv.split("=", 1) for kv in w[1:])
    return None


class Session:
    """Mock devices and a pinned policy that go away whatever happens."""

    def __init__(self):
        mount_debugfs()
        self.devs = []
        self.files = []
        check(sysfs("state") == "disabled",
              f"a policy is already attached: {sysfs('name')} (state {sysfs('state')})")

    def add(self, name, *opts):
        with open(MOCK_CTL, "w") as f:
            f.write(" ".join(("add", name) + opts))
        self.devs.append(name)
        return group_type(name)

    def rules(self, text):
        self.files.append(rules_file(text))
        return self.files[-1]

    def patched(self, src, old_name, **change):
        """A copy of src with its struct iommu_policy_ops changed (name=,
        flags=): iommuctl cannot make such a policy, it checks -n itself."""
        try:
            self.files.append(patched_policy(src, old_name, **change))
        except ValueError as e:
            check(False, f"cannot patch {src}: {e}")
        return self.files[-1]

    def load(self, *args):
        r = iommuctl("policy", "load", "-j", *args)
        check(r.returncode == 0, f"policy load {' '.join(args)} exited {r.returncode}: "
              f"{r.stderr}")
        return json.loads(r.stdout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        errors = []
        if os.path.exists(PIN):
            r = iommuctl("policy", "unload")
            if r.returncode:
                errors.append(f"unload: {r.stderr}")
        for name in reversed(self.devs):
            try:
                with open(MOCK_CTL, "w") as f:
                    f.write(f"del {name}")
            except OSError as e:
                errors.append(f"del {name}: {e}")
        for path in self.files:
            os.unlink(path)
        if errors and exc[0] is None:
            raise AssertionError("cleanup failed: " + "; ".join(errors))


def explain(dev):
    r = iommuctl("policy", "explain", "-j", dev)
    check(r.returncode == 0, f"policy explain -j {dev} exited {r.returncode}: {r.stderr}")
    devs = json.loads(r.stdout)["devices"]
    check(len(devs) == 1 and devs[0]["device"] == dev, f"explain {dev}: {devs}")
    return devs[0]


def test_load_rules_apply():
    """A dev= rule decides its device's DMA mode; explain says so, as debugfs does."""
    with Session() as s:
        out = s.load("-r", s.rules("# strict for m1 only\ndev=pm1 dma_mode strict\n"))
        check(out["name"] == "table" and out["rules"] == 1 and out["pin"] == PIN,
              f"load -j: {out}")
        check(sysfs("state") == "enabled" and sysfs("name") == "table" and
              out["enable_seq"] == int(sysfs("enable_seq")),
              f"sysfs: {sysfs('state')} {sysfs('name')} seq {sysfs('enable_seq')}, "
              f"iommuctl said {out}")
        check(os.path.exists(PIN), f"{PIN} not pinned")
        group, typ = s.add("pm1")
        check(typ == "DMA", f"pm1 (rule: strict) got a {typ} domain")
        _, other = s.add("pm0")

        e = explain("pm1")
        dm = e["decisions"].get("dma_mode")
        check(e["group"] == group and e["domain_type"] == "DMA",
              f"explain pm1: group {e['group']} {e['domain_type']}, sysfs {group} DMA")
        check(dm and dm["by"] == "policy" and dm["verdict"] == "strict" and
              dm["applied"] == "strict" and dm["reason"] == "applied" and dm["current"] and
              dm["seq"] == out["enable_seq"],
              f"explain pm1 dma_mode: {dm}")
        truth = debugfs_verdicts("pm1")["dma_mode"]
        check(VERDICT_NAMES["dma_mode"][int(truth["proposed"])] == dm["proposed"] and
              truth["reason"] == dm["reason"] and int(truth["seq"]) == dm["seq"],
              f"explain {dm} vs debugfs {truth}")

        e0 = explain("pm0")
        d0 = e0["decisions"].get("dma_mode")
        check(d0 and d0["by"] == "kernel" and d0["verdict"] == "default" and
              d0["reason"] == "default" and d0["applied"] == d0["proposed"],
              f"explain pm0 (no rule) dma_mode: {d0}")
        check(DMA_TYPE.get(d0["applied"]) == other == e0["domain_type"],
              f"pm0: the kernel proposed {d0['applied']}, the group is {other}")
        t = e0["decisions"].get("dev_trust")
        check(t and t["verdict"] == "default" and e0["trusted"] and e0["trust_by"] == "kernel",
              f"explain pm0 trust: {e0}")

        r = iommuctl("policy", "explain")
        check(r.returncode == 0 and "pm1: group" in r.stdout and
              "policy said strict, applied strict (applied" in r.stdout,
              f"explain (text): {r.stdout} {r.stderr}")

        # top's VERDICT column: the same record, per device
        r = iommuctl("top", "-b", "-j", "1", "1")
        frame = json.loads(r.stdout.splitlines()[-1]) if r.returncode == 0 else {}
        rows = {d["device"]: d for d in frame.get("devices", [])}
        v1 = rows.get("pm1", {}).get("verdict") or {}
        check(v1.get("hook") == "dma_mode" and v1.get("verdict") == "strict" and
              v1.get("applied") == "strict" and rows["pm1"].get("dma_mode") == "DMA",
              f"top -b -j, pm1: {rows.get('pm1')} {r.stderr}")
        # No rule: the policy left pm0 to the kernel, which top does not show
        check("pm0" in rows and rows["pm0"]["verdict"] is None,
              f"top -b -j, pm0: {rows.get('pm0')}")


def test_show_matches_sysfs():
    with Session() as s:
        s.load("-r", s.rules("* dma_mode strict\n"))
        s.add("pm1")
        s.add("pm2", "removable")
        r = iommuctl("policy", "show", "-j")
        check(r.returncode == 0, f"policy show -j: {r.stderr}")
        show = json.loads(r.stdout)
        want = {c: int(sysfs(f"nr_{c}")) for c in COUNTERS}
        check(show["counters"] == want, f"show {show['counters']}, sysfs {want}")
        check(want["dma_mode"] >= 2 and want["dev_trust"] >= 2, f"too few decisions: {want}")
        check(show["state"] == "enabled" and show["name"] == "table" and
              show["enable_seq"] == int(sysfs("enable_seq")) and show["pinned"] == PIN and
              show["allow_loosen"] == sysfs("allow_loosen") and
              show["last_exit"]["kind"] == sysfs("last_exit_kind"),
              f"show -j {show}")
        r = iommuctl("policy", "show")
        check(r.returncode == 0 and "enabled" in r.stdout and
              f"{want['decisions']}: dev_trust" in r.stdout, f"show: {r.stdout}")


def test_replace_swaps_rules():
    with Session() as s:
        first = s.load("-r", s.rules("dev=pm1 dma_mode strict\n"))
        r = iommuctl("policy", "replace", "-j", "-N", "table2",
                     "-r", s.rules("dev=pm2 dma_mode identity\n"))
        check(r.returncode == 0, f"policy replace exited {r.returncode}: {r.stderr}")
        out = json.loads(r.stdout)
        seq = int(sysfs("enable_seq"))
        check(out["name"] == "table2" and out["replaced"] == "table" and
              out["enable_seq"] == seq == first["enable_seq"] + 1,
              f"replace -j {out}; sysfs enable_seq {seq}, before {first['enable_seq']}")
        check(sysfs("state") == "enabled" and sysfs("name") == "table2" and
              sysfs("last_exit_kind") == "replaced" and os.path.exists(PIN),
              f"after replace: {sysfs('state')} {sysfs('name')} {sysfs('last_exit_kind')}")
        # identity where the kernel chose lazy is loosening: the boot decides
        loosen = optin_asked()
        _, t2 = s.add("pm2")
        check(t2 == ("identity" if loosen else "DMA-FQ"),
              f"pm2 (new rule: identity, allow_loosen {loosen}) got {t2}")
        # The old rules are gone: pm1 gets what the kernel proposes.
        _, t1 = s.add("pm1")
        d1 = explain("pm1")["decisions"]["dma_mode"]
        check(d1["verdict"] == "default" and d1["seq"] == seq and
              DMA_TYPE[d1["applied"]] == t1, f"pm1 after replace: {d1}, group {t1}")
        d2 = explain("pm2")["decisions"]["dma_mode"]
        check(d2["verdict"] == "identity" and
              d2["reason"] == ("applied" if loosen else "no_optin") and d2["seq"] == seq
              and d2["current"], f"pm2 after replace: {d2}")


def test_unload():
    with Session() as s:
        loaded = s.load("-r", s.rules("dev=pm1 dma_mode strict\n"))
        s.add("pm1")
        r = iommuctl("policy", "unload")
        check(r.returncode == 0 and "policy 'table' detached" in r.stdout,
              f"unload exited {r.returncode}: {r.stdout} {r.stderr}")
        check(sysfs("state") == "disabled" and sysfs("last_exit_kind") == "unreg" and
              sysfs("name") == "" and not os.path.exists(PIN),
              f"after unload: {sysfs('state')} {sysfs('last_exit_kind')} pin "
              f"{os.path.exists(PIN)}")
        # Decisions stay, marked as an earlier policy's.
        e = explain("pm1")
        dm = e["decisions"]["dma_mode"]
        check(dm["applied"] == "strict" and not dm["current"] and
              dm["seq"] == loaded["enable_seq"], f"pm1 after unload: {dm}")
        r = iommuctl("policy", "unload")
        check(r.returncode == 1 and f"no policy is pinned at {PIN}" in r.stderr,
              f"second unload: {r.returncode} {r.stderr}")


def test_malformed_rules_load_nothing():
    with Session() as s:
        seq = sysfs("enable_seq")
        bad = s.rules("dev=pm1 dma_mode strict\ndev=pm2 dma_mode trusted\n")
        r = iommuctl("policy", "load", "-r", bad)
        want = (f"{bad}:2: 'trusted' is not a dma_mode verdict (expected default, identity, "
                "lazy or strict)\n")
        check(r.returncode == 2 and r.stderr == want,
              f"exit {r.returncode}, stderr {r.stderr!r}, want {want!r}")
        check(sysfs("state") == "disabled" and sysfs("enable_seq") == seq and
              not os.path.exists(PIN), "a malformed rules file attached something")

        # Nor does it touch an attached policy.
        s.load("-r", s.rules("dev=pm1 dma_mode strict\n"))
        seq = sysfs("enable_seq")
        r = iommuctl("policy", "replace", "-r", bad)
        check(r.returncode == 2 and r.stderr == want, f"replace: {r.returncode} {r.stderr}")
        check(sysfs("state") == "enabled" and sysfs("enable_seq") == seq and
              sysfs("name") == "table", "a malformed replace changed the policy")


def test_second_load_is_busy():
    with Session() as s:
        s.load("-r", s.rules("dev=pm1 dma_mode strict\n"))
        seq = sysfs("enable_seq")
        r = iommuctl("policy", "load", EXAMPLE)
        check(r.returncode == 1 and "policy 'table' is already attached" in r.stderr and
              "policy replace" in r.stderr and "policy unload" in r.stderr,
              f"second load: {r.returncode} {r.stderr}")
        check(sysfs("name") == "table" and sysfs("enable_seq") == seq,
              "the second load changed the policy")


def refused(args, want, what):
    """iommuctl policy ARGS exits 1 with the line want on stderr."""
    r = iommuctl("policy", *args)
    check(r.returncode == 1 and want in r.stderr.splitlines(),
          f"{what}: exit {r.returncode}\ngot:  {r.stderr!r}\nwant: {want!r}")


def test_bad_name_attaches_nothing():
    """A policy whose name the kernel refuses (EINVAL from the struct_ops
    map update): iommuctl names the name, and nothing is attached or
    replaced."""
    with Session() as s:
        seq = sysfs("enable_seq")
        r = iommuctl("policy", "load", "-N", "bad name", EXAMPLE)
        check(r.returncode == 2 and "invalid policy name 'bad name'" in r.stderr,
              f"load -n 'bad name': exit {r.returncode}: {r.stderr}")
        obj = s.patched(EXAMPLE, "untrusted_strict", name=b"bad name")
        want = (f"iommuctl: the kernel refused the policy in {obj} (Invalid argument): "
                "policy name 'bad name' may only contain letters, digits, '_' and '.' "
                "(not ' ')")
        refused(["load", obj], want, "load of a policy named 'bad name'")
        check(sysfs("state") == "disabled" and sysfs("enable_seq") == seq and
              not os.path.exists(PIN),
              f"after it: state {sysfs('state')}, enable_seq {sysfs('enable_seq')} (was "
              f"{seq}), pinned {os.path.exists(PIN)}")

        s.load("-r", s.rules("dev=pm1 dma_mode strict\n"))
        seq = sysfs("enable_seq")
        refused(["replace", obj], want, "replace by a policy named 'bad name'")
        check(sysfs("state") == "enabled" and sysfs("name") == "table" and
              sysfs("enable_seq") == seq and os.path.exists(PIN),
              f"replace changed the policy: {sysfs('state')} {sysfs('name')} seq "
              f"{sysfs('enable_seq')} (was {seq})")


def test_flags_attach_nothing():
    """A policy with flags != 0: iommuctl gives their value, nothing is attached."""
    with Session() as s:
        seq = sysfs("enable_seq")
        obj = s.patched(EXAMPLE, "untrusted_strict", flags=0x4)
        refused(["load", obj], "iommuctl: the kernel refused policy 'untrusted_strict' "
                "(Invalid argument): flags is 0x4 (expected 0)", "load with flags 0x4")
        check(sysfs("state") == "disabled" and sysfs("enable_seq") == seq and
              not os.path.exists(PIN), f"after it: state {sysfs('state')}, enable_seq "
              f"{sysfs('enable_seq')} (was {seq}), pinned {os.path.exists(PIN)}")


def test_no_callback_attaches_nothing():
    """A policy with init() and no decision callback (the policy suite's
    test_nocb): iommuctl says a callback is missing."""
    check(os.path.exists(NOCB), f"{NOCB} is not built (make vm-tools)")
    with Session():
        seq = sysfs("enable_seq")
        refused(["load", NOCB], "iommuctl: the kernel refused policy 'nocb' (Invalid "
                "argument): it implements no decision callback (expected at least one of "
                "dev_trust, dma_mode, resv_direct, pasid_attach or dma_owner)",
                "load of a policy without callbacks")
        check(sysfs("state") == "disabled" and sysfs("enable_seq") == seq and
              not os.path.exists(PIN), f"after it: state {sysfs('state')}, enable_seq "
              f"{sysfs('enable_seq')} (was {seq}), pinned {os.path.exists(PIN)}")


NOBODY = 65534


def as_nobody(caps, *args):
    """iommuctl as uid/gid nobody with only these ambient capabilities, as a
    systemd unit with User= and AmbientCapabilities= runs it."""
    spec = ",".join("+" + c for c in caps) if caps else "-all"
    cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
           f"--inh-caps={spec}"]
    if caps:
        cmd.append(f"--ambient-caps={spec}")
    return subprocess.run(cmd + [IOMMUCTL, *args], capture_output=True, text=True,
                          timeout=120)


def test_runs_by_capability_not_uid():
    """Privilege is checked by capability: not root, but CAP_BPF and
    CAP_PERFMON trace; with CAP_SYS_ADMIN too, load and unload a policy.
    Without them, iommuctl names what is missing and attaches nothing (the
    kernel's own CAP_SYS_ADMIN check is policy_test's)."""
    with Session() as s:
        if not os.path.ismount("/sys/fs/bpf"):
            subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True)
        pindir = tempfile.mkdtemp(dir="/sys/fs/bpf")
        os.chown(pindir, NOBODY, NOBODY)
        # As an admin gives a service its pin directory: searchable on the way
        bpffs_mode = os.stat("/sys/fs/bpf").st_mode & 0o7777
        pin = os.path.join(pindir, "policy")
        rules = s.rules("dev=pm1 dma_mode strict\n")
        os.chmod(rules, 0o644)
        try:
            r = as_nobody(["bpf", "perfmon"], "trace", "latency", "-j", "1", "1")
            check(r.returncode == 0 and json.loads(r.stdout.splitlines()[-1])["interval_s"] > 0,
                  f"trace latency with CAP_BPF, CAP_PERFMON: exit {r.returncode}: {r.stderr}")
            r = as_nobody([], "trace", "flush", "1", "1")
            check(r.returncode == 1 and "CAP_BPF CAP_PERFMON" in r.stderr and
                  "AmbientCapabilities=" in r.stderr,
                  f"trace flush without capabilities: exit {r.returncode}: {r.stderr}")
            r = as_nobody(["bpf", "perfmon"], "policy", "load", "-j", "-P", pin, "-r", rules)
            err = json.loads(r.stdout) if r.stdout.strip() else {}
            check(r.returncode == 1 and "needs CAP_SYS_ADMIN" in r.stderr and
                  err.get("exit_status") == 1 and "CAP_SYS_ADMIN" in err.get("error", ""),
                  f"policy load without CAP_SYS_ADMIN: exit {r.returncode}: {r.stdout} "
                  f"{r.stderr}")
            check(sysfs("state") == "disabled" and not os.path.exists(pin),
                  "a policy was attached without CAP_SYS_ADMIN")
            caps = ["bpf", "perfmon", "sys_admin"]
            os.chmod("/sys/fs/bpf", 0o700)      # as iommuctl mounts it
            r = as_nobody(caps, "policy", "load", "-P", pin, "-r", rules)
            check(r.returncode == 1 and "cannot reach /sys/fs/bpf/" in r.stderr,
                  f"a pin directory this user cannot search: exit {r.returncode}: {r.stderr}")
            os.chmod("/sys/fs/bpf", 0o701)
            r = as_nobody(caps, "policy", "load", "-j", "-P", pin, "-r", rules)
            check(r.returncode == 0 and json.loads(r.stdout)["pin"] == pin,
                  f"policy load as nobody with {caps}: exit {r.returncode}: {r.stderr}")
            check(sysfs("state") == "enabled" and os.path.exists(pin),
                  f"after the load: state {sysfs('state')}")
            r = as_nobody(caps, "policy", "unload", "-j", "-P", pin)
            check(r.returncode == 0 and json.loads(r.stdout)["action"] == "detached",
                  f"policy unload as nobody: exit {r.returncode}: {r.stdout} {r.stderr}")
            check(sysfs("state") == "disabled", f"after the unload: state {sysfs('state')}")
        finally:
            os.chmod("/sys/fs/bpf", bpffs_mode)
            if os.path.exists(pin):
                iommuctl("policy", "unload", "-P", pin)
            for f in os.listdir(pindir):
                os.unlink(os.path.join(pindir, f))
            os.rmdir(pindir)


def test_example_object():
    """untrusted_strict.bpf.o: removable devices untrusted and strict."""
    with Session() as s:
        out = s.load(EXAMPLE)
        check(out["name"] == "untrusted_strict" and out["rules"] is None, f"load: {out}")
        _, tu = s.add("pu1", "removable")
        _, tt = s.add("pt1")
        check(tu == "DMA", f"removable pu1 got {tu}, want strict (DMA)")
        eu, et = explain("pu1"), explain("pt1")
        check(not eu["trusted"] and eu["trust_by"] == "policy" and
              eu["decisions"]["dev_trust"]["applied"] == "untrusted",
              f"pu1: {eu}")
        check(et["trusted"] and et["decisions"]["dma_mode"]["verdict"] == "default" and
              DMA_TYPE[et["decisions"]["dma_mode"]["applied"]] == tt, f"pt1: {et}, {tt}")


def test_coherent_facts():
    """devices and policy explain say whether a device's IOMMU enforces DMA
    cache coherency (the mock's `coherent` option), as debugfs
    iommu_policy/devices does, with no policy attached."""
    with Session() as s:
        s.add("pc1", "coherent")
        s.add("pc0")
        r = iommuctl("devices", "-j")
        check(r.returncode == 0, f"devices -j exited {r.returncode}: {r.stderr}")
        devs = {d["device"]: d for d in json.loads(r.stdout)["devices"]}
        table = iommuctl("devices")
        check(table.returncode == 0, f"devices exited {table.returncode}: {table.stderr}")
        rows = {line.split()[0]: line for line in table.stdout.splitlines()[1:] if line}
        for dev, want in (("pc1", True), ("pc0", False)):
            truth = debugfs_devfacts(dev)
            check(truth is not None, f"{dev} is not in {DEVFACTS}")
            check(truth.get("coherent") == str(int(want)),
                  f"debugfs: {dev}, added {'with' if want else 'without'} coherent, has "
                  f"{truth}")
            d = devs.get(dev)
            check(d is not None and d["coherent"] is want,
                  f"devices -j {dev}: {d}; debugfs {truth}")
            word = "coherent" if want else "noncoherent"
            check(f" {word} " in rows.get(dev, ""), f"devices table row of {dev} should say "
                  f"{word}: {rows.get(dev, table.stdout)}")
            flags = int(truth["fw_flags"], 16)
            facts = {"untrusted": truth["untrusted"] == "1",
                     "fw_flags": [FW_FLAG_NAMES[b] if b < len(FW_FLAG_NAMES) else hex(1 << b)
                                  for b in range(32) if flags >> b & 1],
                     "coherent": truth["coherent"] == "1",
                     "resv_direct": int(truth["resv_direct"]),
                     "max_pasids": int(truth["max_pasids"])}
            e = explain(dev)
            check(e.get("facts") == facts, f"policy explain -j {dev} facts: "
                  f"{e.get('facts')}, debugfs {truth}")
            check(e["facts"]["coherent"] is want, f"{dev}: explain says {e['facts']}")
            r = iommuctl("policy", "explain", dev)
            check(r.returncode == 0 and f" coherent={'yes' if want else 'no'} " in r.stdout,
                  f"policy explain {dev} (text): {r.stdout} {r.stderr}")


def test_events_show_decisions():
    """trace events -j streams each policy_decision, as ftrace sees it."""
    with Session() as s:
        s.load("-r", s.rules("dev=pm3 dma_mode strict\n"))
        truth_trace = Trace("policy_truth")
        truth_trace.enable("policy_decision")
        truth_trace.start()
        tool = start_iommuctl("trace", "events", "-j")
        try:
            s.add("pm3")
            time.sleep(0.5)             # let the ring buffer drain
        finally:
            truth_trace.stop()
            tool.p.send_signal(signal.SIGINT)
        out, _ = tool.wait()
        truth = [r.f for r in truth_trace.records("policy_decision")]
        truth_trace.close()
        mine = [e for e in map(json.loads, out.splitlines())
                if e["event"] == "policy_decision" and e["device"] == "pm3"]
        dm = [e for e in mine if e["hook"] == "dma_mode"]
        check(dm and dm[0]["verdict"] == "strict" and dm[0]["applied"] == "strict" and
              dm[0]["reason"] == "applied", f"no dma_mode decision for pm3: {mine}")

        def name(hook, v):
            names = VERDICT_NAMES[hook]
            return names[int(v)] if 0 <= int(v) < len(names) else v

        want = sorted((f["hook"], name(f["hook"], f["proposed"]), name(f["hook"], f["verdict"]),
                       name(f["hook"], f["applied"]), f["reason"])
                      for f in truth if f["device"] == "pm3")
        got = sorted((e["hook"], e["proposed"], e["verdict"], e["applied"], e["reason"])
                     for e in mine)
        check(got == want, f"iommuctl {got}, ftrace {want}")


def verdict_of(dev, hook):
    """The verdict (a name) the policy gave dev in hook, from debugfs."""
    rec = debugfs_verdicts(dev).get(hook)
    check(rec is not None, f"no {hook} decision for {dev} in debugfs")
    return VERDICT_NAMES[hook][int(rec["verdict"])], rec


def test_rules_conditions():
    """Each kind of condition, decided by the BPF program from the kernel's
    facts: globs, fw=, resv=, iommu=, owner=, an explicit default."""
    with Session() as s:
        s.load("-r", s.rules(
            "*                                  dma_mode  lazy\n"
            "dev=pq?                            dma_mode  strict\n"
            "fw=removable,!untrusted            dma_mode  strict\n"
            "resv=direct iommu=iommu-policy-mock dma_mode default\n"
            "fw=untrusted                       trust     trusted\n"
            "owner=device resv=direct           dma_owner deny\n"
            "owner=group                        dma_owner deny\n"
            "iommu=dmar0                        dma_owner deny\n"))
        s.add("pq1")
        s.add("pqrs")
        s.add("pzr", "removable")
        s.add("pzru", "removable", "untrusted")
        s.add("pzd", "resv_direct")
        s.add("pzc")
        want = {"pq1": ("strict", "dev=pq? glob"), "pqrs": ("lazy", "* (the glob is 3 long)"),
                "pzr": ("strict", "fw=removable,!untrusted"),
                "pzru": ("lazy", "* (fw=!untrusted fails)"),
                "pzd": ("default", "an explicit default (resv=direct iommu=)")}
        for dev, (v, why) in want.items():
            got, rec = verdict_of(dev, "dma_mode")
            # The verdict is the policy's, clamped or not (no opt-in: lazy on
            # an untrusted device), recorded by the kernel
            check(got == v, f"{dev} dma_mode: {rec}, want {v} ({why})")
        got, rec = verdict_of("pzru", "dev_trust")
        check(got == "trusted", f"pzru (untrusted) trust: {rec}, want trusted (fw=untrusted)")
        got, rec = verdict_of("pzr", "dev_trust")
        check(got == "default", f"pzr trust: {rec}, want default (no rule)")
        # The mock claims as iommufd does: a device claim
        with open(MOCK_CTL, "w") as f:
            try:
                f.write("claim pzc")
                f.flush()
            except OSError as e:
                check(False, f"claim pzc (no rule) failed: {e}")
        got, rec = verdict_of("pzc", "dma_owner")
        check(got == "default", f"pzc dma_owner: {rec}, want default (owner=group and "
              f"iommu=dmar0 do not hold)")
        with open(MOCK_CTL, "w") as f:
            f.write("release pzc")
        try:
            with open(MOCK_CTL, "w") as f:
                f.write("claim pzd")
            claimed = True
        except OSError:
            claimed = False
        got, rec = verdict_of("pzd", "dma_owner")
        check(got == "deny" and not claimed, f"pzd dma_owner: {rec}, claimed {claimed}; want "
              f"deny (owner=device resv=direct)")


def rules_256():
    """256 rules: 254 devices, one glob, *; rNNN: strict if NNN is odd."""
    lines = []
    for i in range(254):
        cond = f"dev=r{i:03d}" if i % 3 else f"dev=r{i:03d} fw=!untrusted"
        lines.append(f"{cond} dma_mode {'strict' if i % 2 else 'lazy'}")
    lines += ["dev=g*z? dma_mode strict", "* dma_mode lazy"]
    return "".join(line + "\n" for line in lines)


def test_rules_256():
    """The verifier takes a table of 256 rules (the scan is a bpf_loop), and
    they apply: the first, the middle, the last, a glob after all of them."""
    with Session() as s:
        out = s.load("-r", s.rules(rules_256()))
        check(out["rules"] == 256, f"load -j: {out}")
        for dev, v in [("r000", "lazy"), ("r127", "strict"), ("r201", "strict"),
                       ("r252", "lazy"), ("r253", "strict"), ("gabzy", "strict"),
                       ("gabz", "lazy"), ("r254", "lazy")]:
            s.add(dev)
            got, rec = verdict_of(dev, "dma_mode")
            check(got == v and rec["by"] == "policy", f"{dev}: {rec}, want {v}")


def pci_groups():
    """{device: group} of the PCI devices behind an IOMMU."""
    out = {}
    for dev in os.listdir("/sys/bus/pci/devices"):
        link = f"/sys/bus/pci/devices/{dev}/iommu_group"
        if os.path.exists(link):
            out[dev] = int(os.path.basename(os.readlink(link)))
    return out


def reevaluate(group):
    """Ask the attached policy again for a group with no driver bound."""
    try:
        with open(f"/sys/kernel/iommu_groups/{group}/type", "w") as f:
            f.write("auto")
        return True
    except OSError:
        return False


def test_rules_test_matches_kernel():
    """policy test -j says, device by device, what the kernel then decides
    with the same rules loaded: PCI facts (pci=, class=, bdf=, iommu=) on the
    edu devices, re-evaluated; firmware flags, globs and claims on mock ones."""
    text = ("*                                  dma_mode  lazy\n"
            "pci=1234:11e8 class=00ff bdf=00:10.0 dma_mode strict\n"
            "iommu=dmar0 resv=none pci=1234:*   dma_mode  default\n"
            "dev=pt?                            dma_mode  strict\n"
            "fw=removable                       trust     untrusted\n"
            "fw=untrusted,!removable            trust     trusted\n"
            "resv=direct                        dma_owner deny\n"
            "owner=device                       dma_owner allow\n")
    with Session() as s:
        rules = s.rules(text)
        out = s.load("-r", rules)
        seq = out["enable_seq"]
        s.add("pt1")
        s.add("pt22", "removable")
        s.add("ptu", "untrusted")
        s.add("ptd", "resv_direct")
        for dev in ("pt1", "ptd"):
            try:
                with open(MOCK_CTL, "w") as f:
                    f.write(f"claim {dev}")
                with open(MOCK_CTL, "w") as f:
                    f.write(f"release {dev}")
            except OSError:
                pass        # refused: the decision is recorded all the same
        edus = [d for d in pci_groups() if open(f"/sys/bus/pci/devices/{d}/vendor").read()
                .strip() == "0x1234"]
        redone = [d for d in edus if not os.path.exists(f"/sys/bus/pci/devices/{d}/driver")
                  and reevaluate(pci_groups()[d])]

        r = iommuctl("policy", "test", "-j", "-r", rules)
        check(r.returncode == 0, f"policy test exited {r.returncode}: {r.stderr}")
        mine = {d["device"]: d["decisions"] for d in json.loads(r.stdout)["devices"]}
        compared, diffs = [], []
        for dev, dec in mine.items():
            truth = debugfs_verdicts(dev)
            for hook in ("dev_trust", "dma_mode", "dma_owner"):
                rec = truth.get(hook)
                if not rec or int(rec["seq"]) != seq:
                    continue        # decided before these rules
                want = VERDICT_NAMES[hook][int(rec["verdict"])]
                got = dec[hook]["device_claim"] if hook == "dma_owner" else dec[hook]
                compared.append(f"{dev} {hook}")
                if got["verdict"] != want:
                    diffs.append(f"{dev} {hook}: policy test {got}, kernel {rec}")
        check(not diffs, "; ".join(diffs))
        need = ["pt1 dev_trust", "pt1 dma_mode", "pt22 dev_trust", "pt22 dma_mode",
                "ptu dev_trust", "ptd dma_mode", "pt1 dma_owner", "ptd dma_owner"]
        need += [f"{d} dma_mode" for d in redone]
        check(all(n in compared for n in need) and redone,
              f"compared {compared}, wanted at least {need} (edus {edus}, re-evaluated "
              f"{redone})")
        # What the rules say of the edus, so the comparison is not vacuous
        for d in redone:
            rmrr = debugfs_devfacts(d)["resv_direct"] != "0"
            want = ("strict", 2) if d.endswith(":10.0") else \
                ("lazy", 1) if rmrr else ("default", 3)
            got = (mine[d]["dma_mode"]["verdict"], mine[d]["dma_mode"]["line"])
            check(got == want, f"{d} (resv_direct {rmrr}) dma_mode: {got}, want {want}")


def test_rules_check_warns_clamped():
    """policy load -c warns of each loosening verdict this boot would clamp."""
    rules = rules_file("dev=pm1 dma_mode identity\n* resv_direct relax\n"
                       "pci=8086:* dma_mode strict\n")
    try:
        r = iommuctl("policy", "load", "-c", "-r", rules)
    finally:
        os.unlink(rules)
    clamped = not optin_asked()
    warns = [line for line in r.stderr.splitlines() if "warning:" in line]
    check(r.returncode == 0 and r.stdout.startswith("dev=pm1 dma_mode identity\n"),
          f"load -c: {r.returncode} {r.stdout} {r.stderr}")
    if clamped:
        check(len(warns) == 2 and f"{rules}:1: 'dev=pm1 dma_mode identity'" in warns[0] and
              "clamped on this boot" in warns[0] and f"{rules}:2: '* resv_direct relax'"
              in warns[1], f"allow_loosen {sysfs('allow_loosen')}: {r.stderr}")
    else:
        check(not warns, f"allow_loosen applied, yet: {r.stderr}")


def tests(profile):
    if profile == "stock":
        return []
    if not os.access(IOMMUCTL, os.X_OK):
        def missing():
            check(False, f"{IOMMUCTL} is not built (make tools)")
        return [("iommuctl_policy_built", missing)]
    order = [
        test_load_rules_apply,
        test_show_matches_sysfs,
        test_replace_swaps_rules,
        test_unload,
        test_malformed_rules_load_nothing,
        test_second_load_is_busy,
        test_bad_name_attaches_nothing,
        test_flags_attach_nothing,
        test_no_callback_attaches_nothing,
        test_runs_by_capability_not_uid,
        test_example_object,
        test_coherent_facts,
        test_events_show_decisions,
        test_rules_conditions,
        test_rules_256,
        test_rules_test_matches_kernel,
        test_rules_check_warns_clamped,
    ]
    return [("iommuctl_policy_" + fn.__name__[len("test_"):], fn) for fn in order]

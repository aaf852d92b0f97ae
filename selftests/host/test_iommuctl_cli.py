#!/usr/bin/python3
"""iommuctl's command line on the host: usage errors exit 2 with a message,
help has examples, `devices -j` reads a fixture sysfs tree correctly, rules
files are checked (exit 2, FILE:LINE: messages) before anything is loaded,
`policy show` / `policy explain` read a fixture sysfs and debugfs, and what
an EINVAL of the kernel is blamed on, for policy objects it must refuse.
Also: one -d check for the three trace commands, the programs trace latency
-o loads, JSON of a name that is not UTF-8, and policy apply on a fixture
group larger than it handles."""

import json
import os
import re
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "selftests", "vm"))
from iommutest.policyobj import patched_policy  # noqa: E402
sys.path.insert(0, os.path.dirname(__file__))
from iommuctl_help import all_commands, help_text  # noqa: E402

IOMMUCTL = os.path.join(TOP, "build", "iommuctl", "iommuctl")
EXAMPLE = os.path.join(TOP, "build", "iommuctl", "policy", "untrusted_strict.bpf.o")
fails = 0
# Checks made: selftests/host/run.sh fails the suite if fewer are printed
PLAN = 140


def t(name, cond, detail=""):
    global fails
    print(f"{'ok' if cond else 'not ok'} - host: iommuctl cli: {name}", flush=True)
    if not cond:
        fails += 1
        for line in str(detail).splitlines():
            print(f"# {line}")


def run(*args):
    return subprocess.run([IOMMUCTL, *args], capture_output=True, text=True, timeout=30)


def usage_error(name, args, needle):
    r = run(*args)
    t(f"{name} exits 2 and says why", r.returncode == 2 and needle in r.stderr,
      f"exit {r.returncode}, stderr: {r.stderr}")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def fixture(root):
    """One PCI device with a PASID capability in group 7, and one group-less
    device, laid out as sysfs lays them out."""
    dev = f"{root}/sys/devices/pci0000:00/0000:00:03.0"
    write(f"{dev}/vendor", "0x1234\n")
    write(f"{dev}/device", "0x11e8\n")
    write(f"{dev}/removable", "removable\n")
    cfg = bytearray(4096)
    cfg[0x100:0x104] = (0x1b | 1 << 16).to_bytes(4, "little")  # PASID, last cap
    cfg[0x105] = 20                                              # 20-bit PASIDs
    with open(f"{dev}/config", "wb") as f:
        f.write(cfg)
    os.makedirs(f"{root}/sys/bus/pci/drivers/vfio-pci", exist_ok=True)
    os.makedirs(f"{root}/sys/devices/virtual/iommu/dmar0", exist_ok=True)
    os.makedirs(f"{root}/sys/bus/pci/devices", exist_ok=True)
    os.symlink("../../../bus/pci/drivers/vfio-pci", f"{dev}/driver")
    os.symlink("../../../bus/pci", f"{dev}/subsystem")
    os.symlink("../../virtual/iommu/dmar0", f"{dev}/iommu")
    os.symlink("../../../devices/pci0000:00/0000:00:03.0",
               f"{root}/sys/bus/pci/devices/0000:00:03.0")
    grp = f"{root}/sys/kernel/iommu_groups/7"
    write(f"{grp}/type", "DMA-FQ\n")
    write(f"{grp}/reserved_regions",
          "0x0000000000000000 0x0000000000ffffff direct-relaxable\n"
          "0x00000000fee00000 0x00000000feefffff msi\n"
          "0x000000007f000000 0x000000007fffffff direct\n")
    os.makedirs(f"{grp}/devices")
    os.symlink("../../../../devices/pci0000:00/0000:00:03.0",
               f"{grp}/devices/0000:00:03.0")


# debugfs iommu_policy/devices: the fixture's device among lines to skip
DEVFACTS = "/sys/kernel/debug/iommu_policy/devices"
DEVFACTS_LINES = (
    "0000:00:03.0 untrusted=1 fw_flags=0xb coherent=2 resv_direct=1 max_pasids=0\n"
    "0000:00:03.0 untrusted=1 fw_flags=0xb coherent=1\n"
    "0000:00:03.0\n"
    "garbage \x01\xff=\n"
    "\n"
    "0000:00:04.0 untrusted=0 fw_flags=0x8 coherent=1 resv_direct=0 max_pasids=0\n"
    "0000:00:03.0 untrusted=1 fw_flags=0xb coherent={} resv_direct=1 max_pasids=1048576\n")


def devfacts_fixture(root, coherent):
    """debugfs iommu_policy/devices with the fixture's device coherent or
    not; None: no such file (a kernel without it, debugfs not mounted)."""
    path = root + DEVFACTS
    if coherent is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    write(path, DEVFACTS_LINES.format(int(coherent)))


def policy_fixture(root):
    """The BPF policy's sysfs and debugfs files, a policy attached (seq 3)
    that decided for the fixture's device."""
    pol = f"{root}/sys/kernel/iommu_policy"
    attrs = {"state": "enabled", "name": "table", "enable_seq": "3",
             "allow_loosen": "no_optin", "nr_decisions": "5", "nr_dev_trust": "2",
             "nr_dma_mode": "2", "nr_resv_direct": "0", "nr_pasid_attach": "0",
             "nr_dma_owner": "1", "nr_clamped": "1", "nr_invalid": "0", "nr_errors": "0",
             "last_exit_kind": "replaced", "last_exit_reason": "replaced by another policy",
             "last_exit_msg": 'policy "old" replaced by "table"', "last_exit_hook": "",
             "last_exit_device": ""}
    for k, v in attrs.items():
        write(f"{pol}/{k}", v + "\n")
    write(f"{root}/sys/kernel/debug/iommu_policy/verdicts",
          "0000:00:03.0 dev_trust kernel proposed=2 verdict=1 applied=2 reason=no_optin seq=3\n"
          "0000:00:03.0 dma_mode policy proposed=2 verdict=3 applied=3 reason=applied seq=3\n"
          "0000:00:03.0 dma_owner kernel proposed=1 verdict=0 applied=1 reason=default seq=2\n"
          "0000:00:04.0 dma_mode policy proposed=2 verdict=3 applied=3 reason=applied seq=3\n")


# Each kind of malformed rules line and what iommuctl must say about it
BAD_RULES = [
    ("unknown match", "vendor=8086 dma_mode strict\n",
     "1: unknown match 'vendor=8086' (expected dev=, pci=, class=, bdf=, fw=, resv=, iommu=, "
     "owner= or *)"),
    ("bad PCI id", "# ok so far\npci=8086 dma_mode strict\n",
     "2: bad PCI id '8086' (expected pci=VVVV:DDDD, 4 hex digits each or *, "
     "e.g. pci=8086:1533 or pci=10de:*)"),
    ("long device name", "dev=" + "x" * 40 + " trust untrusted\n",
     "1: device name '" + "x" * 40 + "' is too long (expected at most 31 characters)"),
    ("missing hook", "*\n",
     "1: missing hook after '*' (expected trust, dma_mode, resv_direct, pasid or dma_owner)"),
    ("unknown hook", "* mode strict\n",
     "1: unknown hook 'mode' (expected trust, dma_mode, resv_direct, pasid or dma_owner)"),
    ("missing verdict", "* pasid\n",
     "1: missing verdict after 'pasid' (expected default, allow, deny, phys or iova)"),
    ("wrong verdict", "* dma_owner strict\n",
     "1: 'strict' is not a dma_owner verdict (expected default, allow or deny)"),
    ("trailing words", "* dma_mode strict please\n",
     "1: unexpected 'please' after the verdict (expected one rule per line: "
     "MATCH HOOK VERDICT)"),
    ("duplicate", "dev=a dma_mode strict\n\ndev=a dma_mode lazy\n",
     "3: dev=a dma_mode is already set on line 1 (expected one verdict per match and hook)"),
]


def policy_cli(tmp):
    good = f"{tmp}/good.rules"
    write(good, "# the table\n* dma_owner deny\ndev=m1 dma_mode strict  # m1\n"
          "pci=8086:10D3 trust untrusted\n")
    r = run("policy", "load", "-c", "-r", good)
    t("policy load -c prints the table in lookup order",
      r.returncode == 0 and r.stdout == "dev=m1 dma_mode strict\npci=8086:10d3 trust untrusted\n"
      "* dma_owner deny\n", f"exit {r.returncode}: {r.stdout!r} {r.stderr}")
    for name, text, msg in BAD_RULES:
        path = f"{tmp}/bad.rules"
        write(path, text)
        for cmd in ("load", "replace"):
            r = run("policy", cmd, "-r", path)
            want = f"{path}:{msg}\n"
            t(f"policy {cmd} -r: {name} exits 2 with FILE:LINE: and what was expected",
              r.returncode == 2 and r.stderr == want,
              f"exit {r.returncode}\ngot:  {r.stderr!r}\nwant: {want!r}")
    r = run("policy", "load", "-r", f"{tmp}/missing.rules")
    t("policy load -r of a missing file exits 2",
      r.returncode == 2 and "missing.rules: cannot read the rules file" in r.stderr, r.stderr)
    usage_error("policy without a command", ["policy"], "Usage: iommuctl policy")
    usage_error("policy load without rules or object", ["policy", "load"],
                "want either -r RULES")
    usage_error("policy load with rules and object", ["policy", "load", "-r", good, "x.bpf.o"],
                "want either -r RULES")
    usage_error("policy load -c without rules", ["policy", "load", "-c", "x.bpf.o"],
                "needs -r RULES")
    usage_error("policy name", ["policy", "load", "-r", good, "-N", "my-policy"],
                "invalid policy name 'my-policy'")
    usage_error("policy name too long", ["policy", "replace", "-r", good, "-N", "n" * 32],
                "invalid policy name '" + "n" * 32 + "' (expected 1 to 31 letters")
    usage_error("empty policy name", ["policy", "load", "-r", good, "-N", ""],
                "invalid policy name ''")
    usage_error("policy unload argument", ["policy", "unload", "x"], "unexpected argument")


NO_CALLBACK = ("it implements no decision callback (expected at least one of dev_trust, "
               "dma_mode, resv_direct, pasid_attach or dma_owner)")


def policy_einval_cli(tmp):
    """What an EINVAL of the kernel's struct_ops map update is blamed on: the
    policy as libbpf would write it, read by the hidden --why-einval (no
    kernel, no root)."""
    if not os.path.exists(EXAMPLE):
        t("example policy object built", False, f"{EXAMPLE} missing: make tools")
        return

    def why(*args):
        return run("policy", "load", "--why-einval", *args)

    r = why(EXAMPLE)
    t("EINVAL of a valid policy: the kernel refused it, with the last exit",
      r.returncode == 1 and r.stderr.startswith(
          "iommuctl: the kernel refused policy 'untrusted_strict' with EINVAL (Invalid "
          "argument), though its name, flags and decision callbacks are valid (last "
          "exit: "), r.stderr)
    cases = [
        ("a name with a blank", {"name": b"bad name"},
         "the policy in {obj} (Invalid argument): policy name 'bad name' may only contain "
         "letters, digits, '_' and '.' (not ' ')"),
        ("an empty name", {"name": b""},
         "the policy in {obj} (Invalid argument): policy name is empty (expected 1 to 31 "
         "letters, digits, '_' or '.')"),
        ("a name of 32 characters", {"name": b"n" * 32},
         "the policy in {obj} (Invalid argument): policy name '" + "n" * 32 + "' is longer "
         "than 31 characters"),
        ("non-zero flags", {"flags": 0x4},
         "policy 'untrusted_strict' (Invalid argument): flags is 0x4 (expected 0)"),
        ("no decision callback", {"no_callbacks": True},
         "policy 'untrusted_strict' (Invalid argument): " + NO_CALLBACK),
        ("a bad name, flags and no callback", {"name": b"a/b", "flags": 1 << 63,
                                               "no_callbacks": True},
         "the policy in {obj} (Invalid argument): policy name 'a/b' may only contain "
         "letters, digits, '_' and '.' (not '/'); flags is 0x8000000000000000 (expected "
         "0); " + NO_CALLBACK),
    ]
    for i, (name, change, msg) in enumerate(cases):
        try:
            obj = patched_policy(EXAMPLE, "untrusted_strict", dst=f"{tmp}/einval{i}.bpf.o",
                                 **change)
        except ValueError as e:
            t(f"EINVAL of a policy with {name} names it", False, f"cannot patch: {e}")
            continue
        r = why(obj)
        want = "iommuctl: the kernel refused " + msg.format(obj=obj)
        t(f"EINVAL of a policy with {name} names it",
          r.returncode == 1 and want in r.stderr.splitlines(),
          f"exit {r.returncode}\ngot:  {r.stderr!r}\nwant: {want!r}")
    nocb = os.path.join(TOP, "build", "policy-tests", "test_nocb.bpf.o")
    name = "EINVAL of a policy with init() only: no decision callback"
    if os.path.exists(nocb):
        r = why(nocb)
        want = "iommuctl: the kernel refused policy 'nocb' (Invalid argument): " + NO_CALLBACK
        t(name, r.returncode == 1 and want in r.stderr.splitlines(),
          f"exit {r.returncode}\ngot:  {r.stderr!r}\nwant: {want!r}")
    else:
        print(f"ok - host: iommuctl cli: {name} # SKIP {nocb} not built", flush=True)
    r = why("-r", f"{tmp}/good.rules")
    t("EINVAL of the table policy: nothing wrong with it",
      r.returncode == 1 and "refused policy 'table' with EINVAL" in r.stderr, r.stderr)
    r = why("-r", f"{tmp}/good.rules", "-N", "bad name")
    want = ("iommuctl: the kernel refused the table policy (Invalid argument): policy name "
            "'bad name' may only contain letters, digits, '_' and '.' (not ' ')")
    t("EINVAL: a name set after the open (-n) is the one checked",
      r.returncode == 1 and want in r.stderr.splitlines(), f"{r.stderr!r}, want {want!r}")


def policy_fixture_cli(root):
    r = run("policy", "show", "-j", "--sysfs-root", root)
    try:
        show = json.loads(r.stdout)
    except ValueError as e:
        t("policy show -j is JSON", False, f"{e}: {r.stdout} {r.stderr}")
        return
    want = {"state": "enabled", "name": "table", "enable_seq": 3, "allow_loosen": "no_optin",
            "counters": {"decisions": 5, "dev_trust": 2, "dma_mode": 2, "resv_direct": 0,
                         "pasid_attach": 0, "dma_owner": 1, "clamped": 1, "invalid": 0,
                         "errors": 0},
            "last_exit": {"kind": "replaced", "reason": "replaced by another policy",
                          "msg": 'policy "old" replaced by "table"', "hook": None,
                          "device": None}}
    for k, v in want.items():
        t(f"policy show -j {k}", show.get(k) == v, f"got {show.get(k)!r}, want {v!r}")
    r = run("policy", "explain", "-j", "--sysfs-root", root)
    try:
        ex = json.loads(r.stdout)
    except ValueError as e:
        t("policy explain -j is JSON", False, f"{e}: {r.stdout} {r.stderr}")
        return
    t("policy explain -j: the policy", ex.get("policy") == {
        "state": "enabled", "name": "table", "enable_seq": 3}, ex.get("policy"))
    devs = ex.get("devices", [])
    t("policy explain -j: devices behind an IOMMU only",
      [d["device"] for d in devs] == ["0000:00:03.0"], devs)
    d = devs[0] if devs else {}
    dec = d.get("decisions", {})
    t("policy explain -j: group, type, trust",
      d.get("group") == 7 and d.get("domain_type") == "DMA-FQ" and d.get("trusted") is False
      and d.get("trust_by") == "kernel", d)
    t("policy explain -j: an applied verdict", dec.get("dma_mode") == {
        "by": "policy", "proposed": "lazy", "verdict": "strict", "applied": "strict",
        "reason": "applied", "seq": 3, "current": True,
        "text": "policy said strict, applied strict (applied; the kernel proposed lazy)"},
      dec.get("dma_mode"))
    t("policy explain -j: a clamped verdict",
      dec.get("dev_trust", {}).get("text") == "policy said trusted, clamped to untrusted "
      "(no_optin: loosening needs iommu_policy.allow_loosen=1 on the kernel command line)",
      dec.get("dev_trust"))
    t("policy explain -j: an earlier policy's decision",
      dec.get("dma_owner", {}).get("current") is False and
      dec.get("dma_owner", {}).get("by") == "kernel", dec.get("dma_owner"))
    t("policy explain -j: facts null without debugfs iommu_policy/devices",
      "facts" in d and d["facts"] is None, d.get("facts", "no facts member"))
    r = run("policy", "explain", "--sysfs-root", root, "0000:00:03.0")
    t("policy explain (text)", r.returncode == 0 and
      "0000:00:03.0: group 7, DMA-FQ, untrusted" in r.stdout and
      "dma_mode      policy said strict, applied strict" in r.stdout and
      "[enable_seq 2, an earlier policy]" in r.stdout and
      "  facts         unknown (cannot read debugfs iommu_policy/devices: No such file or "
      "directory)\n" in r.stdout, r.stdout + r.stderr)
    for coherent in (False, True):
        devfacts_fixture(root, coherent)
        r = run("policy", "explain", "-j", "--sysfs-root", root)
        try:
            d = json.loads(r.stdout)["devices"][0]
        except (ValueError, KeyError, IndexError) as e:
            t("policy explain -j with facts is JSON", False, f"{e}: {r.stdout} {r.stderr}")
            continue
        want = {"untrusted": True, "fw_flags": ["untrusted", "removable", "pci"],
                "coherent": coherent, "resv_direct": 1, "max_pasids": 1048576}
        t(f"policy explain -j: facts of the device's well-formed line (coherent={coherent})",
          r.returncode == 0 and d.get("facts") == want, f"got {d.get('facts')!r}, want {want!r}")
        r = run("policy", "explain", "--sysfs-root", root)
        want = ("  facts         untrusted=yes fw_flags=untrusted|removable|pci coherent="
                f"{'yes' if coherent else 'no'} resv_direct=1 max_pasids=1048576\n")
        t(f"policy explain (text): facts (coherent={coherent})",
          r.returncode == 0 and want in r.stdout, f"{r.stdout!r}, want {want!r}")
    write(root + DEVFACTS, "0000:00:03.0 untrusted=1 fw_flags=0xb coherent=1\n")
    r = run("policy", "explain", "-j", "--sysfs-root", root)
    t("policy explain -j: facts null when the device's line is malformed",
      r.returncode == 0 and json.loads(r.stdout)["devices"][0]["facts"] is None,
      r.stdout + r.stderr)
    r = run("policy", "explain", "--sysfs-root", root)
    t("policy explain (text): facts unknown when the device's line is malformed",
      r.returncode == 0 and "  facts         unknown (not in debugfs iommu_policy/devices)\n"
      in r.stdout, r.stdout + r.stderr)
    devfacts_fixture(root, None)
    usage_error("policy explain of an unknown device",
                ["policy", "explain", "--sysfs-root", root, "0000:99:00.0"],
                "no device '0000:99:00.0' behind an IOMMU")
    r = run("policy", "show", "--sysfs-root", root + "/nonexistent")
    t("policy show without the kernel's policy says what is missing",
      r.returncode == 1 and "CONFIG_IOMMU_BPF_POLICY" in r.stderr, r.stderr)


def non_utf8_cli(root):
    """A policy name with a byte that is not UTF-8 (the kernel takes any
    byte): JSON is still UTF-8 that jq reads, the byte its Latin-1 char."""
    with open(f"{root}/sys/kernel/iommu_policy/name", "wb") as f:
        f.write(b"t\xe9st\n")
    r = subprocess.run([IOMMUCTL, "policy", "show", "-j", "--sysfs-root", root],
                       capture_output=True, timeout=30)
    try:
        name = json.loads(r.stdout.decode("utf-8")).get("name")
    except ValueError as e:
        name = f"not UTF-8 JSON: {e}"
    t("policy show -j of a name t\\xe9st: UTF-8 JSON, the byte as U+00E9",
      r.returncode == 0 and name == "t\u00e9st", f"{name!r} {r.stdout!r}")
    jq = subprocess.run(["jq", "-r", ".name"], input=r.stdout, capture_output=True)
    t("and jq reads it", jq.returncode == 0 and jq.stdout == "t\u00e9st\n".encode(),
      f"exit {jq.returncode}: {jq.stdout!r} {jq.stderr!r}")
    write(f"{root}/sys/kernel/iommu_policy/name", "table\n")


def latency_ops_cli():
    """trace latency -o loads only the programs the operations need, from
    the series' object and from the fallback's (hidden --list-programs:
    what would be loaded, by the code that loads it; nothing is)."""
    series = {"dma_map": {"dma_map"}, "dma_unmap": {"dma_unmap"},
              "dma_unmap_queued": {"dma_unmap"}, "domain_map": {"domain_map"},
              "domain_unmap": {"domain_unmap"}, "dma_map_sg": set(), "dma_unmap_sg": set()}
    slots = {"dma_map": {"dma_map"}, "dma_unmap": {"dma_unmap"},
             "dma_unmap_queued": {"dma_unmap"}, "dma_map_sg": {"dma_map_sg"},
             "dma_unmap_sg": {"dma_unmap_sg"},
             "domain_map": {"map", "map_sg", "map_atomic", "map_sg_atomic"},
             "domain_unmap": {"unmap", "unmap_fast"}}
    cases = [([], list(series)), (["-o", "dma_map"], ["dma_map"]),
             (["-o", "dma_unmap_queued"], ["dma_unmap_queued"]),
             (["-o", "domain_map,domain_unmap", "--force-raw-tp"], ["domain_map", "domain_unmap"]),
             (["-o", "dma_map_sg"], ["dma_map_sg"]),
             (["-o", "dma_unmap", "--force-kprobes"], ["dma_unmap"])]
    for args, ops in cases:
        r = run("trace", "latency", "--list-programs", *args)
        got = {"latency": set(), "fallback": set()}
        for line in r.stdout.splitlines():
            what, _, prog = line.partition(" ")
            got.setdefault(what, set()).add(prog)
        kind = "raw_tp" if "--force-raw-tp" in args else "tp_btf"
        want = {f"{kind}_{p}" for op in ops for p in series[op]}
        begin, end = ("kp", "krp") if "--force-kprobes" in args else ("fe", "fx")
        allowed = {f"{k}_{s}" for op in ops for s in slots[op] for k in (begin, end)}
        fb = got["fallback"]
        paired = all((f"{end}_" + p.split("_", 1)[1]) in fb for p in fb if p.startswith(begin + "_"))
        t(f"trace latency {' '.join(args) or '(all operations)'} loads only what they need",
          r.returncode == 0 and got["latency"] == want and fb <= allowed and paired,
          f"exit {r.returncode}: got {got}, want latency {want}, fallback within {allowed}"
          f" {r.stderr}")


def big_group_fixture(root, n):
    """A policy attached, and group 9 of n PCI devices, each bound to
    e1000e: more than policy apply handles when n > 32."""
    write(f"{root}/sys/kernel/iommu_policy/state", "enabled\n")
    write(f"{root}/sys/kernel/iommu_policy/name", "table\n")
    write(f"{root}/sys/kernel/iommu_policy/enable_seq", "1\n")
    drv = f"{root}/sys/bus/pci/drivers/e1000e"
    for attr in ("unbind", "bind"):
        write(f"{drv}/{attr}", "")
    grp = f"{root}/sys/kernel/iommu_groups/9"
    write(f"{grp}/type", "DMA\n")
    os.makedirs(f"{grp}/devices")
    os.makedirs(f"{root}/sys/bus/pci/devices")
    for i in range(n):
        name = f"0000:01:{i // 8:02x}.{i % 8}"
        dev = f"{root}/sys/devices/pci0000:00/{name}"
        os.makedirs(dev)
        os.symlink("../../../bus/pci/drivers/e1000e", f"{dev}/driver")
        os.symlink("../../../bus/pci", f"{dev}/subsystem")
        os.symlink("../../../kernel/iommu_groups/9", f"{dev}/iommu_group")
        os.symlink(f"../../../devices/pci0000:00/{name}", f"{root}/sys/bus/pci/devices/{name}")
        os.symlink(f"../../../../devices/pci0000:00/{name}", f"{grp}/devices/{name}")
    return drv


def big_group_cli():
    """policy apply refuses a group larger than it handles, whole, rather
    than unbinding the part it read (then EBUSY, drivers left unbound)."""
    with tempfile.TemporaryDirectory() as root:
        drv = big_group_fixture(root, 33)
        r = run("policy", "apply", "--sysfs-root", root, "--rebind", "0000:01:00.0")
        unbound = open(f"{drv}/unbind").read()
        t("policy apply --rebind of a group of 33 devices exits 1 before unbinding any",
          r.returncode == 1 and "group 9 has 33 devices, more than the 32 policy apply "
          "handles: nothing of it was unbound" in r.stderr and not unbound
          and open(f"{root}/sys/kernel/iommu_groups/9/type").read() == "DMA\n",
          f"exit {r.returncode}, unbind got {unbound!r}: {r.stderr}")
        r = run("policy", "apply", "--sysfs-root", root, "--dry-run", "-j")
        try:
            g = json.loads(r.stdout.splitlines()[0])["groups"][0]
        except (ValueError, KeyError, IndexError) as e:
            g = {"error": f"{e}: {r.stdout}"}
        # Without --rebind nothing is unbound: a bound group is kept, however
        # large (iommu-policy-boot's plain 'policy apply' must not fail on it)
        t("policy apply --dry-run keeps a bound group of 33 (exit 0)",
          r.returncode == 0 and g.get("action") == "bound", f"exit {r.returncode}: {g}")
        # Only the device read 33rd has a driver: the group is still bound
        # (the old code took it for unbound and re-evaluated it: EBUSY)
        names = os.listdir(f"{root}/sys/kernel/iommu_groups/9/devices")
        for name in names[:-1]:
            os.unlink(f"{root}/sys/devices/pci0000:00/{name}/driver")
        r = run("policy", "apply", "--sysfs-root", root, "--dry-run", "-j")
        try:
            g = json.loads(r.stdout.splitlines()[0])["groups"][0]
        except (ValueError, KeyError, IndexError) as e:
            g = {"error": f"{e}: {r.stdout}"}
        t("policy apply --dry-run: a group bound by its 33rd device is kept",
          r.returncode == 0 and g.get("action") == "bound", f"exit {r.returncode}: {g}")
    with tempfile.TemporaryDirectory() as root:
        drv = big_group_fixture(root, 32)
        r = run("policy", "apply", "--sysfs-root", root, "--rebind", "0000:01:00.0")
        t("a group of 32 is unbound, re-evaluated and bound again",
          r.returncode == 0 and open(f"{drv}/unbind").read() and
          open(f"{root}/sys/kernel/iommu_groups/9/type").read().startswith("auto"),
          f"exit {r.returncode}: {r.stdout} {r.stderr}")


def top_metrics_cli():
    """top and metrics: their own letters (-b -s -R, -t), the positional
    [interval [count]] of every command, nothing loaded on a usage error."""
    usage_error("top unknown option", ["top", "-x"], "invalid option")
    usage_error("top -d is not an interval here", ["top", "-d", "1"], "invalid option")
    usage_error("top unknown sort column", ["top", "-s", "speed"], "unknown column 'speed'")
    usage_error("top bad interval", ["top", "0"], "invalid interval")
    usage_error("top bad count", ["top", "1", "-1"], "invalid option")
    usage_error("top too many positionals", ["top", "-b", "1", "2", "3"], "unexpected argument")
    usage_error("metrics -j", ["metrics", "-j"], "Prometheus text format")
    usage_error("metrics -t and --stdout", ["metrics", "-t", "/tmp", "--stdout"], "choose one")
    usage_error("metrics bad interval", ["metrics", "--stdout", "x"], "invalid interval")
    r = run("metrics", "-t", "/nonexistent/dir")
    t("metrics -t into a missing directory fails (1) before loading anything",
      r.returncode == 1 and "cannot write in /nonexistent/dir" in r.stderr, r.stderr)
    usage_error("'t' is ambiguous (top, trace)", ["t"], "ambiguous command 't'")
    r = run("--help")
    t("usage lists top and metrics", "\n  top " in r.stdout and "\n  metrics " in r.stdout,
      r.stdout)


def device_filter_cli():
    """-d means one thing in trace latency, flush and events: one check, one
    message; only trace events takes a device that is not plugged in yet."""
    long = "soc@0:bus@30800000:mmc@30b40000x"
    want = (f"iommuctl: device name '{long}' is 32 characters long: -d takes at most 31, all "
            "the tracer keeps of a name; leave out -d and look for its first 31 characters "
            "('trace latency -D' and 'top' show every device)\n")
    for cmd in ("latency", "flush", "events"):
        r = run("trace", cmd, "-d", long)
        t(f"trace {cmd} -d of a name of 32 characters exits 2, saying what to do",
          r.returncode == 2 and r.stderr == want,
          f"exit {r.returncode}\ngot:  {r.stderr!r}\nwant: {want!r}")
    for cmd in ("latency", "flush"):
        usage_error(f"trace {cmd} -d ''", ["trace", cmd, "-d", ""], "-d needs a device name")
    # Not in sysfs: refused above (unknown device), but trace events waits
    # for it; here it fails later (no tracepoints, or no root) or runs.
    try:
        r = subprocess.run([IOMMUCTL, "trace", "events", "-d", "0000:99:99.9", "1"],
                           capture_output=True, text=True, timeout=5)
        status, err = r.returncode, r.stderr
    except subprocess.TimeoutExpired as e:
        status = "running"
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
    t("trace events -d of a device not plugged in yet is taken, with a note",
      status != 2 and "iommuctl: no device '0000:99:99.9' in sysfs yet: its events show when "
      "it appears" in err, f"exit {status}, stderr: {err}")


def short_options(cmd):
    """{letter: long name} of a command's --help (hidden options are not shown)"""
    out = help_text(*cmd)
    return dict(re.findall(r"^\s+-(\w), --([\w-]+)", out, re.M))


def global_cli():
    """What every command shares: version, help, prefixes, JSON errors, and
    option letters that mean one thing across all commands."""
    version = open(os.path.join(TOP, "VERSION")).read().strip()
    r = run("-V")
    t("-V prints the version of VERSION", r.returncode == 0 and
      r.stdout.startswith(f"iommuctl {version}\n") and "libbpf v" in r.stdout, r.stdout)
    r = run("-j", "-V")
    v = json.loads(r.stdout) if r.returncode == 0 else {}
    t("-j -V is JSON with the schema version", v.get("version") == version and
      v.get("schema_version") == 1, r.stdout)
    cmds = [c.split() for c in all_commands()]
    t("--help lists the commands", ["trace", "latency"] in cmds and
      ["policy", "apply"] in cmds and ["devices"] in cmds, cmds)
    for word in ("trace", "policy"):
        r = run(word, "--help")
        subs = [c[1] for c in cmds if c[0] == word]
        t(f"{word} --help exits 0 and lists {', '.join(subs)}", r.returncode == 0 and
          all(f"  {s} " in r.stdout for s in subs), r.stdout + r.stderr)
    r1, r2 = run("tr", "l", "--help"), run("trace", "latency", "--help")
    t("an unambiguous prefix is the command ('tr l' is trace latency)",
      r1.returncode == 0 and r1.stdout == r2.stdout, r1.stdout[:200] + r1.stderr)
    usage_error("an ambiguous prefix ('policy s': show or sync)", ["policy", "s"],
                "ambiguous command 's'")
    for where, args in (("its own", ["trace", "latency", "-o", "warp", "-j"]),
                        ("argp's", ["-j", "trace", "flush", "--bogus"])):
        r = run(*args)
        try:
            err = json.loads(r.stdout)
        except ValueError:
            err = {}
        t(f"with -j, {where} usage error is a JSON object on stdout too",
          r.returncode == 2 and err.get("exit_status") == 2 and err.get("schema_version") == 1
          and err.get("error") and r.stderr.strip(), f"{r.stdout} {r.stderr}")
    r = run("policy", "unload", "-j", "-P", "/nonexistent/pin")
    err = json.loads(r.stdout) if r.stdout.startswith("{") else {}
    t("policy unload -j: its failure is a JSON object (exit 1)",
      r.returncode == 1 and err.get("exit_status") == 1 and "error" in err,
      f"{r.returncode} {r.stdout} {r.stderr}")
    letters = {}
    for cmd in cmds:
        for letter, name in short_options(cmd).items():
            letters.setdefault(letter, {}).setdefault(name, []).append(" ".join(cmd))
    clash = {k: v for k, v in letters.items() if len(v) > 1}
    t(f"no option letter means two things across {len(cmds)} commands "
      f"({len(letters)} letters)", len(cmds) >= 12 and not clash, clash)


def main():
    print(f"1..{PLAN}", flush=True)
    if not os.access(IOMMUCTL, os.X_OK):
        t("binary built", False, f"{IOMMUCTL} missing: make tools")
        return 1
    r = run()
    t("no command exits 2 with usage", r.returncode == 2 and "Usage" in r.stderr, r.stderr)
    usage_error("unknown command", ["frobnicate"], "unknown command")
    usage_error("unknown option", ["trace", "latency", "--bogus"], "unrecognized option")
    usage_error("unknown operation", ["trace", "latency", "-o", "dma_map,warp"],
                "unknown operation 'warp'")
    usage_error("unknown device", ["trace", "latency", "-d", "0000:99:99.9"],
                "no device '0000:99:99.9'")
    usage_error("bad interval", ["trace", "flush", "0"], "invalid interval")
    usage_error("bad count", ["trace", "latency", "1", "x"], "invalid count")
    usage_error("too many positionals", ["trace", "flush", "1", "2", "3"], "unexpected argument")
    usage_error("bad events count", ["trace", "events", "0"], "invalid count")
    top_metrics_cli()
    device_filter_cli()
    latency_ops_cli()
    big_group_cli()
    global_cli()
    for cmd in (["devices"], ["top"], ["metrics"], ["trace", "latency"], ["trace", "flush"],
                ["trace", "events"], ["policy", "load"], ["policy", "replace"],
                ["policy", "unload"], ["policy", "show"], ["policy", "explain"]):
        r = run(*cmd, "--help")
        t(f"{' '.join(cmd)} --help has examples",
          r.returncode == 0 and "EXAMPLES" in r.stdout, r.stdout + r.stderr)

    with tempfile.TemporaryDirectory() as root:
        fixture(root)
        r = run("devices", "-j", "--sysfs-root", root)
        try:
            devs = json.loads(r.stdout)["devices"]
        except (ValueError, KeyError) as e:
            t("devices -j is JSON", False, f"{e}: {r.stdout} {r.stderr}")
            return 1
        t("devices -j is JSON", r.returncode == 0 and len(devs) == 1, r.stdout)
        d = devs[0]
        want = {"device": "0000:00:03.0", "bus": "pci", "vendor_device": "1234:11e8",
                "driver": "vfio-pci", "group": 7, "domain_type": "DMA-FQ",
                "trusted": False, "iommu": "dmar0",
                "reserved_regions": {"direct": 1, "direct_relaxable": 1, "msi": 1,
                                     "reserved": 0}}
        for k, v in want.items():
            t(f"devices -j {k}", d.get(k) == v, f"got {d.get(k)!r}, want {v!r}")
        t("devices -j pasid_bits from the PCIe PASID capability",
          d.get("pasid_bits") == 20 or (os.geteuid() != 0 and d.get("pasid_bits") is None),
          d.get("pasid_bits"))
        t("devices -j coherent null without debugfs iommu_policy/devices",
          "coherent" in d and d["coherent"] is None, d)
        r = run("devices", "--sysfs-root", root)
        t("devices table", r.returncode == 0 and "0000:00:03.0" in r.stdout and
          "untrusted" in r.stdout and "1/1/1/0" in r.stdout, r.stdout)
        t("devices table: COHERENCY '-' when unknown", r.returncode == 0 and
          "COHERENCY" in r.stdout and "    20 -           dmar0\n" in r.stdout, r.stdout)
        for coherent, word in ((False, "noncoherent"), (True, "coherent   ")):
            devfacts_fixture(root, coherent)
            r = run("devices", "-j", "--sysfs-root", root)
            got = json.loads(r.stdout)["devices"][0].get("coherent") if r.returncode == 0 \
                else r.stderr
            t(f"devices -j coherent {coherent} from the device's well-formed line",
              got is coherent, f"got {got!r}")
            r = run("devices", "--sysfs-root", root)
            t(f"devices table: COHERENCY {word.strip()}", r.returncode == 0 and
              f"    20 {word} dmar0\n" in r.stdout, r.stdout)
        devfacts_fixture(root, None)
        r = run("devices", "--sysfs-root", root + "/nonexistent")
        t("devices without IOMMU groups fails with a hint",
          r.returncode == 1 and "is an IOMMU enabled" in r.stderr, r.stderr)
        policy_fixture(root)
        policy_fixture_cli(root)
        non_utf8_cli(root)
    with tempfile.TemporaryDirectory() as tmp:
        policy_cli(tmp)
        policy_einval_cli(tmp)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

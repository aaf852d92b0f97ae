#!/usr/bin/python3
"""iommuctl policy test on a fixture sysfs and debugfs: each condition of
the rules decides from the facts the kernel would give the table policy, the
line that decided is named, text and JSON agree, and what it refuses."""

import json
import os
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IOMMUCTL = os.path.join(TOP, "build", "iommuctl", "iommuctl")
fails = 0
# Checks made: selftests/host/run.sh fails the suite if fewer are printed
PLAN = 25


def t(name, cond, detail=""):
    global fails
    print(f"{'ok' if cond else 'not ok'} - host: iommuctl policy test: {name}", flush=True)
    if not cond:
        fails += 1
        for line in str(detail).splitlines():
            print(f"# {line}")


def run(*args):
    return subprocess.run([IOMMUCTL, *args], capture_output=True, text=True, timeout=30)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def pci_dev(root, name, vendor, device, cls, iommu, group):
    dev = f"{root}/sys/devices/pci0000:00/{name}"
    write(f"{dev}/vendor", f"0x{vendor:04x}\n")
    write(f"{dev}/device", f"0x{device:04x}\n")
    write(f"{dev}/class", f"0x{cls:06x}\n")
    os.makedirs(f"{root}/sys/devices/virtual/iommu/{iommu}", exist_ok=True)
    os.makedirs(f"{root}/sys/bus/pci", exist_ok=True)
    os.symlink("../../../bus/pci", f"{dev}/subsystem")
    os.symlink(f"../../virtual/iommu/{iommu}", f"{dev}/iommu")
    add_to_group(root, group, f"../../../../devices/pci0000:00/{name}", name)


def platform_dev(root, name, group):
    dev = f"{root}/sys/devices/platform/{name}"
    os.makedirs(dev)
    os.makedirs(f"{root}/sys/bus/platform", exist_ok=True)
    os.symlink("../../../bus/platform", f"{dev}/subsystem")
    add_to_group(root, group, f"../../../../devices/platform/{name}", name)


def add_to_group(root, group, target, name):
    grp = f"{root}/sys/kernel/iommu_groups/{group}"
    os.makedirs(f"{grp}/devices", exist_ok=True)
    write(f"{grp}/type", "DMA-FQ\n")
    os.symlink(target, f"{grp}/devices/{name}")


RULES = """\
*                           dma_owner deny          # 1
owner=device resv=direct    dma_owner allow         # 2
class=0108                  dma_mode  identity      # 3
pci=8086:* fw=!untrusted    dma_mode  lazy          # 4
bdf=00:1f.*                 dma_mode  strict        # 5
dev=pm?                     dma_mode  strict        # 6
fw=untrusted                trust     untrusted     # 7
iommu=dmar1                 pasid     deny          # 8
pci=*:*                     pasid     iova          # 9
"""

# device: {hook: (verdict, line)}; dma_owner: group claim, device claim
WANT = {
    "0000:00:03.0": {"dev_trust": ("default", None), "dma_mode": ("identity", 3),
                     "resv_direct": ("default", None), "pasid_attach": ("deny", 8),
                     "dma_owner": (("deny", 1), ("allow", 2))},
    "0000:00:1f.2": {"dev_trust": ("untrusted", 7), "dma_mode": ("strict", 5),
                     "pasid_attach": ("iova", 9), "dma_owner": (("deny", 1), ("deny", 1))},
    "0000:00:1f.3": {"dev_trust": ("default", None), "dma_mode": ("lazy", 4),
                     "pasid_attach": ("iova", 9), "dma_owner": (("deny", 1), ("deny", 1))},
    "pm1": {"dma_mode": ("strict", 6), "pasid_attach": ("default", None)},
    "pm22": {"dma_mode": ("default", None)},
}


def main():
    print(f"1..{PLAN}", flush=True)
    if not os.access(IOMMUCTL, os.X_OK):
        t("binary built", False, f"{IOMMUCTL} missing: make tools")
        return 1
    with tempfile.TemporaryDirectory() as root:
        pci_dev(root, "0000:00:03.0", 0x144d, 0xa808, 0x010802, "dmar1", 3)
        pci_dev(root, "0000:00:1f.2", 0x8086, 0x2922, 0x010601, "dmar0", 4)
        pci_dev(root, "0000:00:1f.3", 0x8086, 0x2930, 0x0c0500, "dmar0", 4)
        platform_dev(root, "pm1", 9)
        platform_dev(root, "pm22", 10)
        write(f"{root}/sys/kernel/debug/iommu_policy/devices",
              "0000:00:03.0 untrusted=0 fw_flags=0x8 coherent=1 resv_direct=1 max_pasids=0\n"
              "0000:00:1f.2 untrusted=1 fw_flags=0x9 coherent=1 resv_direct=0 max_pasids=0\n"
              "0000:00:1f.3 untrusted=0 fw_flags=0x8 coherent=1 resv_direct=0 max_pasids=0\n"
              "pm1 untrusted=0 fw_flags=0x0 coherent=1 resv_direct=0 max_pasids=0\n"
              "pm22 untrusted=0 fw_flags=0x0 coherent=1 resv_direct=0 max_pasids=0\n")
        rules = f"{root}/rules"
        write(rules, RULES)

        r = run("policy", "test", "--sysfs-root", root, "-j", "-r", rules)
        t("-j exits 0 with one JSON document", r.returncode == 0, f"{r.returncode} {r.stderr}")
        out = json.loads(r.stdout) if r.returncode == 0 else {"devices": []}
        devs = {d["device"]: d for d in out["devices"]}
        t("every device behind an IOMMU, in group order",
          [d["device"] for d in out["devices"]] ==
          ["0000:00:03.0", "0000:00:1f.2", "0000:00:1f.3", "pm1", "pm22"], r.stdout)
        f = devs.get("0000:00:03.0", {}).get("facts", {})
        t("facts as the kfuncs give them",
          f == {"pci": "144d:a808", "class": "010802", "bdf": "0000:00:03.0",
                "iommu": "dmar1", "fw_flags": ["pci"], "resv_direct": 1}, f)
        for dev, hooks in WANT.items():
            dec = devs.get(dev, {}).get("decisions", {})
            for hook, want in hooks.items():
                if hook == "dma_owner":
                    got = dec.get(hook, {})
                    got = tuple((got.get(c, {}).get("verdict"), got.get(c, {}).get("line"))
                                for c in ("group_claim", "device_claim"))
                else:
                    got = (dec.get(hook, {}).get("verdict"), dec.get(hook, {}).get("line"))
                t(f"{dev} {hook}: {want}", got == want, f"got {got}: {dec.get(hook)}")

        r = run("policy", "test", "--sysfs-root", root, "-r", rules, "0000:00:1f.2")
        t("text: one device, the deciding line with its rule",
          r.returncode == 0 and "0000:00:1f.3" not in r.stdout and
          "dma_mode      strict     line 5: bdf=0000:00:1f.* dma_mode strict" in r.stdout and
          "dev_trust     untrusted  line 7: fw=untrusted trust untrusted" in r.stdout,
          r.stdout + r.stderr)
        r = run("policy", "test", "--sysfs-root", root, "-r", rules, "0000:00:03.0")
        t("text: dma_owner by claim when they differ",
          "deny       line 1: * dma_owner deny (VFIO group claim)" in r.stdout and
          "allow      line 2: resv=direct owner=device dma_owner allow (iommufd device "
          "claim)" in r.stdout, r.stdout)
        r = run("policy", "test", "--sysfs-root", root, "-r", rules, "0000:00:09.0")
        t("an unknown device exits 2", r.returncode == 2 and "no device '0000:00:09.0'"
          in r.stderr, f"{r.returncode} {r.stderr}")
        write(rules, RULES + "class=1 dma_mode strict\n")
        r = run("policy", "test", "--sysfs-root", root, "-r", rules)
        t("a malformed file exits 2 with FILE:LINE:",
          r.returncode == 2 and r.stderr.startswith(f"{rules}:10: bad class '1'"), r.stderr)
        r = run("policy", "test", "--sysfs-root", root)
        t("without -r exits 2", r.returncode == 2 and "needs -r RULES" in r.stderr, r.stderr)

        os.unlink(f"{root}/sys/kernel/debug/iommu_policy/devices")
        write(rules, RULES)
        r = run("policy", "test", "--sysfs-root", root, "-j", "-r", rules, "0000:00:03.0")
        dec = json.loads(r.stdout)["devices"][0]["decisions"] if r.returncode == 0 else {}
        t("without debugfs: fw= and resv= hold for no device, and it says so",
          "fw= and resv= conditions hold for no device" in r.stderr and
          dec.get("dma_owner", {}).get("device_claim", {}).get("line") == 1,
          f"{r.stderr} {dec}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

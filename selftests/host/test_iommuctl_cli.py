#!/usr/bin/python3
"""iommuctl's command line on the host: usage errors exit 2 with a message,
help has examples, and `devices -j` reads a fixture sysfs tree correctly."""

import json
import os
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IOMMUCTL = os.path.join(TOP, "build", "iommuctl", "iommuctl")
fails = 0


def t(name, cond, detail=""):
    global fails
    print(f"{'ok' if cond else 'not ok'} - host: iommuctl cli: {name}")
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


def main():
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
    usage_error("bad events count", ["trace", "events", "-c", "0"], "invalid count")
    for cmd in (["devices"], ["trace", "latency"], ["trace", "flush"], ["trace", "events"]):
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
        r = run("devices", "--sysfs-root", root)
        t("devices table", r.returncode == 0 and "0000:00:03.0" in r.stdout and
          "untrusted" in r.stdout and "1/1/1/0" in r.stdout, r.stdout)
        r = run("devices", "--sysfs-root", root + "/nonexistent")
        t("devices without IOMMU groups fails with a hint",
          r.returncode == 1 and "is an IOMMU enabled" in r.stderr, r.stderr)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

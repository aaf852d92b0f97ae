"""Real drivers with real traffic (vmlib/launch.sh --device real boots them):
QEMU's NVMe under fio, random 4 KiB direct reads, and an e1000e NIC on
user-mode networking under iperf3 against a server on the host."""

import glob
import json
import os
import subprocess
import time

from . import Unavailable, expect, pci

HOST = "10.0.2.2"       # the host, as QEMU's user-mode networking shows it
GUEST = "10.0.2.15/24"


def guest_modules():
    """A kernel that is not the host's (ours, or one selftests/stock-kernel.sh
    fetched) has its modules elsewhere than the host's /lib/modules, which
    the guest shares: bind-mount them there (GUEST_MODULES says where)."""
    mods = os.environ.get("GUEST_MODULES")
    if mods and not os.path.isdir(f"/lib/modules/{os.uname().release}"):
        subprocess.run(["mount", "--bind", mods, "/lib/modules"], check=True)


class RealDevices:
    def __init__(self):
        self.port = os.environ.get("IPERF_PORT")
        if not self.port:
            raise Unavailable("this boot has no NVMe disk or NIC (vmlib/launch.sh --device real)")
        guest_modules()
        for mod in ("nvme", "e1000e"):
            r = subprocess.run(["modprobe", mod], capture_output=True, text=True)
            if r.returncode:
                raise Unavailable(f"modprobe {mod}: {r.stderr.strip()} (the kernel build's "
                           f"modules: GUEST_MODULES={os.environ.get('GUEST_MODULES')})")
        self.disk = self._wait(lambda: sorted(glob.glob("/sys/block/nvme*n1")), "an NVMe disk")[0]
        self.disk = os.path.basename(self.disk)
        self.nvme_bdf = os.path.basename(os.path.realpath(
            f"/sys/block/{self.disk}/device/device"))
        # By the driver's devices, not the netdev: udev renames that.
        self.nic_bdf = self._wait(self._e1000e, "an e1000e NIC")
        subprocess.run(["udevadm", "settle", "-t", "30"], capture_output=True)
        expect(pci.group(self.nvme_bdf) is not None and pci.group(self.nic_bdf) is not None,
              f"NVMe {self.nvme_bdf} and NIC {self.nic_bdf} should be behind the IOMMU")

    @staticmethod
    def _wait(find, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = find()
            if found:
                return found
            time.sleep(0.2)
        raise RuntimeError(f"no {what} {timeout} s after loading its driver")

    @property
    def nic(self):
        """The NIC's name now: udev renames it (eth0 -> enp0s12) after it
        appears, whenever its driver binds."""
        names = self._wait(lambda: os.listdir(f"/sys/bus/pci/devices/{self.nic_bdf}/net")
                           if os.path.isdir(f"/sys/bus/pci/devices/{self.nic_bdf}/net")
                           else None, f"a netdev of {self.nic_bdf}")
        return names[0]

    @staticmethod
    def _e1000e():
        """The PCI address of a device e1000e drives that has a netdev."""
        drv = "/sys/bus/pci/drivers/e1000e"
        for bdf in sorted(os.listdir(drv)) if os.path.isdir(drv) else []:
            if bdf.count(":") == 2 and os.path.isdir(f"{drv}/{bdf}/net"):
                return bdf
        return None

    def link_up(self):
        subprocess.run(["ip", "addr", "replace", GUEST, "dev", self.nic], check=True)
        subprocess.run(["ip", "link", "set", self.nic, "up"], check=True)
        self._wait(lambda: open(f"/sys/class/net/{self.nic}/carrier").read().strip() == "1"
                   if os.path.exists(f"/sys/class/net/{self.nic}/carrier") else False,
                   f"carrier on {self.nic}")

    def link_down(self):
        subprocess.run(["ip", "link", "set", self.nic, "down"], check=True)

    def fio(self, seconds=2, bs="4k"):
        """Random direct reads of bs (4 KiB): (IOPS, mean latency in us)."""
        r = subprocess.run(
            ["fio", "--name=randread", f"--filename=/dev/{self.disk}", "--rw=randread",
             f"--bs={bs}", "--direct=1", "--ioengine=psync", f"--runtime={seconds}",
             "--time_based", "--output-format=json"],
            capture_output=True, text=True, timeout=seconds + 120)
        expect(r.returncode == 0, f"fio failed: {r.stderr[-500:]}")
        job = json.loads(r.stdout[r.stdout.index("{"):])["jobs"][0]["read"]
        return job["iops"], job["lat_ns"]["mean"] / 1000

    def iperf(self, seconds=2):
        """TCP from the guest to the host's server: Mbit/s received."""
        r = subprocess.run(["iperf3", "-c", HOST, "-p", self.port, "-t", str(seconds), "-J"],
                           capture_output=True, text=True, timeout=seconds + 120)
        expect(r.returncode == 0, f"iperf3 to {HOST}:{self.port} failed: {r.stdout[-500:]}")
        return json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6

    def set_mode(self, mode):
        """Both devices' groups to mode (identity, DMA, DMA-FQ), through
        sysfs: their drivers let go of them meanwhile."""
        for bdf, drv in ((self.nvme_bdf, "nvme"), (self.nic_bdf, "e1000e")):
            gid = pci.group(bdf)
            pci.unbind(bdf)
            pci.set_group_type(gid, mode)
            pci.bind(bdf, drv)
            expect(pci.group_type(gid) == mode, f"{bdf}: group {gid} is not {mode}")
        subprocess.run(["udevadm", "settle", "-t", "30"], capture_output=True)
        self._wait(lambda: glob.glob(f"/sys/block/{self.disk}"), "the NVMe disk again")

    def unload(self):
        """Leave the boot as quiet as it was: no driver, no DMA."""
        for mod in ("e1000e", "nvme"):
            subprocess.run(["rmmod", mod], capture_output=True)

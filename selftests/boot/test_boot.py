#!/usr/bin/python3
"""The boot profile: the attach policy decides the devices a machine boots
with, deployed as an admin would.

iommuctl, the boot script, the initramfs-tools hook and the systemd unit are
installed with 'make install' into overlays of /usr and /etc in a private
mount namespace (the host's own files are never touched), and Debian's
mkinitramfs builds a real initramfs from them with the kernel's modules.
QEMU (TCG) boots it with intel-iommu, an NVMe disk holding the root
filesystem and an e1000e NIC, both drivers modules.  The root's /sbin/init
(rootfs-init) reports what the boot left on the console; this checks it.

Boots: the rules with the opt-in (identity for the NVMe, strict for the
NIC); the same without the opt-in; a malformed rules file.

Prints 'ok - boot: ...' / 'not ok - boot: ...' lines for selftests/run.sh.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KERNEL = os.path.join(TOP, "build", "kernel")
OUT = os.path.join(TOP, "build", "boot")
BOOT_TIMEOUT = int(os.environ.get("BOOT_TIMEOUT", "900"))
# QEMU's NVMe and e1000e: PCI ids, and the slots given to them below
NVME_ID, NIC_ID = "1b36:0010", "8086:10d3"
NVME_BDF, NIC_BDF = "0000:00:04.0", "0000:00:05.0"
RULES = f"""# the boot profile: passthrough for the disk, strict for the NIC
pci={NVME_ID} dma_mode identity
pci={NIC_ID}  dma_mode strict
"""
BAD_RULES = f"""pci={NVME_ID} dma_mode identity
pci={NIC_ID}  dma_mode stricter
"""
DMA_F_REEVAL = 1 << 3           # enum iommu_policy_dma_flags
results = []


def tap(ok, name, diag=""):
    results.append(ok)
    print(f"{'ok' if ok else 'not ok'} - boot: {name}")
    if not ok and diag:
        for line in str(diag).splitlines()[:40]:
            print(f"# {line}")
    sys.stdout.flush()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def release():
    with open(os.path.join(KERNEL, "release")) as f:
        return f.read().strip()


def build_initramfs(rules, name):
    """mkinitramfs with the hook 'make install' put in place, in a private
    mount namespace whose /usr and /etc are overlays (what the host has,
    plus what we install) and whose /boot holds only the kernel's config."""
    krel = release()
    work = os.path.join(OUT, f"ns-{name}")
    shutil.rmtree(work, ignore_errors=True)
    for d in ("usr-up", "usr-work", "etc-up", "etc-work"):
        os.makedirs(os.path.join(work, d))
    conf = os.path.join(work, "initramfs-tools")
    shutil.copytree("/etc/initramfs-tools", conf)
    with open(os.path.join(conf, "initramfs.conf"), "a") as f:
        # Every block and filesystem module: the disk's driver among them.
        # Compressed quickly: this initramfs lives for one boot.
        f.write("\nMODULES=most\nCOMPRESS=gzip\nCOMPRESSLEVEL=1\n")
    with open(os.path.join(conf, "modules"), "a") as f:
        f.write("\ne1000e\n")   # the NIC's driver, bound in the initramfs too
    rules_src = os.path.join(work, "iommu-policy.rules")
    with open(rules_src, "w") as f:
        f.write(rules)
    image = os.path.join(OUT, f"initrd-{name}.img")
    script = f"""set -e
mount -t overlay overlay -o lowerdir=/usr,upperdir={work}/usr-up,workdir={work}/usr-work /usr
mount -t overlay overlay -o lowerdir=/etc,upperdir={work}/etc-up,workdir={work}/etc-work /etc
make -s -C {TOP}/tools/iommuctl install DESTDIR= PREFIX=/usr
make -s -C {TOP}/tools/deploy install DESTDIR= PREFIX=/usr
cp {rules_src} /etc/iommu-policy.rules
mkdir -p /usr/lib/modules
cp -a {KERNEL}/modules/lib/modules/{krel} /usr/lib/modules/
# mkinitramfs reads the kernel's config there (which compressions it takes)
mount -t tmpfs none /boot
cp {KERNEL}/.config /boot/config-{krel}
mkinitramfs -d {conf} -o {image} {krel}
# What the initramfs holds, for the checks below
lsinitramfs {image}
"""
    r = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            timeout=600)
    return r, image


def build_rootfs(name):
    """An ext4 image for the NVMe: busybox, iommuctl with its libraries and
    rootfs-init as /sbin/init; made by mke2fs -d, no loop mount."""
    root = os.path.join(OUT, f"root-{name}")
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "sbin", "usr/sbin", "etc", "proc", "sys", "dev", "run", "tmp",
              "root"):
        os.makedirs(os.path.join(root, d))
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    applets = run(["/bin/busybox", "--list"]).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(root, "bin", a))
    iommuctl = os.path.join(TOP, "build", "iommuctl", "iommuctl")
    shutil.copy(iommuctl, os.path.join(root, "usr", "sbin", "iommuctl"))
    # Its shared libraries and the loader, where ldd finds them
    for line in run(["ldd", iommuctl]).stdout.splitlines():
        m = re.search(r"(/\S+)", line)
        if m and os.path.exists(m.group(1)):
            src = os.path.realpath(m.group(1))
            dst = os.path.join(root, m.group(1).lstrip("/"))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(src, dst)
    shutil.copy(os.path.join(TOP, "selftests", "boot", "rootfs-init"),
                os.path.join(root, "sbin", "init"))
    image = os.path.join(OUT, f"nvme-{name}.img")
    r = run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "root", "-d", root, image, "128M"])
    return r, image


def boot(name, initrd, disk, optin):
    append = ("console=ttyS0 root=/dev/nvme0n1 rootfstype=ext4 rw rootwait "
              "intel_iommu=on trace_event=iommu:policy_decision trace_buf_size=1M "
              "no_timer_check panic=-1 oops=panic")
    if optin:
        append += " iommu_policy.allow_loosen=1"
    console = os.path.join(OUT, f"console-{name}.log")
    cmd = ["qemu-system-x86_64", "-machine", "q35,kernel-irqchip=split",
           "-accel", "tcg,thread=single", "-m", "1G", "-smp", "2",
           "-display", "none", "-no-reboot", "-serial", f"file:{console}",
           "-monitor", "none", "-kernel", os.path.join(KERNEL, "bzImage"),
           "-initrd", initrd, "-append", append,
           "-device", "intel-iommu,intremap=on,caching-mode=off",
           "-drive", f"file={disk},if=none,id=disk0,format=raw",
           "-device", f"nvme,drive=disk0,serial=iommubpf,addr={NVME_BDF[-4:]}",
           "-netdev", "user,id=net0",
           "-device", f"e1000e,netdev=net0,addr={NIC_BDF[-4:]}"]
    start = time.monotonic()
    try:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=BOOT_TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    seconds = time.monotonic() - start
    with open(console, errors="replace") as f:
        text = f.read()
    return text, seconds, timed_out


def report(text):
    """The '@@ KEY VALUE' lines of rootfs-init: {key: [values]}"""
    out = {}
    for line in text.splitlines():
        line = line.rstrip("\r")
        i = line.find("@@ ")
        if i < 0:
            continue
        key, _, val = line[i + 3:].partition(" ")
        out.setdefault(key, []).append(val)
    return out


def one(rep, key):
    vals = rep.get(key)
    return vals[0] if vals else None


def jload(s):
    try:
        return json.loads(s)
    except (TypeError, ValueError):
        return None


def trace_records(rep):
    """policy_decision records from the boot's trace buffer."""
    recs = []
    for line in rep.get("trace", []):
        m = dict(re.findall(r"(\w+)=(\S+)", line.split("policy_decision:", 1)[-1]))
        if m:
            recs.append(m)
    return recs


def group_of(devices, bdf):
    for d in (devices or {}).get("devices", []):
        if d.get("device") == bdf:
            return d
    return None


def explain_of(explain, bdf):
    for d in (explain or {}).get("devices", []):
        if d.get("device") == bdf:
            return d
    return None


def check_common(name, text, seconds, timed_out, rep):
    ok = not timed_out and one(rep, "end") is not None
    tap(ok, f"{name}: the boot reached the real root and powered off "
        f"({seconds:.0f} s)", text[-3000:])
    splat = re.search(r"Kernel panic|BUG:|Oops:|WARNING: CPU:|general protection|"
                      r"possible circular locking|suspicious RCU usage|UBSAN:|"
                      r"blocked for more than|detected stalls|soft lockup", text)
    tap(not splat, f"{name}: no kernel panic, oops, BUG or WARNING",
        text[splat.start():splat.start() + 2000] if splat else "")
    root = one(rep, "root") or ""
    tap(root.startswith("/dev/nvme0n1 ext4"), f"{name}: / is the ext4 on the NVMe",
        root)
    io = (one(rep, "io") or "").split()
    tap(len(io) == 2 and io[0] == io[1] and len(io[0]) == 64,
        f"{name}: a file on the NVMe reads back what was written, page cache dropped",
        io)
    tap(one(rep, "nvme_binds") == "1" and one(rep, "nic_binds") == "1",
        f"{name}: each driver bound once (nvme {one(rep, 'nvme_binds')}, "
        f"e1000e {one(rep, 'nic_binds')})")


def check_applied(name, rep, optin):
    show = jload(one(rep, "show"))
    explain = jload(one(rep, "explain"))
    devices = jload(one(rep, "devices"))
    pins = (one(rep, "pins") or "").split()
    tap(show is not None and show.get("state") == "enabled" and
        show.get("name") == "table" and show.get("enable_seq") == 1,
        f"{name}: the real root sees the initramfs's policy attached (enable_seq 1)",
        one(rep, "show"))
    tap("iommu_policy" in pins and "iommu_policy_source" in pins and
        one(rep, "bpffs") == "bpf",
        f"{name}: its pin survived switch_root in /sys/fs/bpf", f"{pins} {one(rep, 'bpffs')}")

    nvme, nic = group_of(devices, NVME_BDF), group_of(devices, NIC_BDF)
    want_nvme = "identity" if optin else "DMA-FQ"
    tap(nvme is not None and nvme.get("domain_type") == want_nvme and
        nvme.get("driver") == "nvme",
        f"{name}: the NVMe group is {want_nvme}, nvme bound", nvme)
    tap(nic is not None and nic.get("domain_type") == "DMA" and nic.get("driver") == "e1000e",
        f"{name}: the NIC group is DMA (strict), e1000e bound", nic)

    recs = trace_records(rep)
    for bdf, verdict, reason in ((NVME_BDF, "1", "applied" if optin else "no_optin"),
                                 (NIC_BDF, "3", "applied")):
        mine = [r for r in recs if r.get("device") == bdf and r.get("hook") == "dma_mode"]
        reeval = [r for r in mine if int(r.get("flags", "0"), 16) & DMA_F_REEVAL]
        tap(len(reeval) == 1 and reeval[0].get("verdict") == verdict and
            reeval[0].get("reason") == reason,
            f"{name}: {bdf} decided once by a re-evaluation (F_REEVAL), reason {reason}",
            mine)
        e = explain_of(explain, bdf)
        dm = (e or {}).get("decisions", {}).get("dma_mode")
        tap(dm is not None and dm.get("reason") == reason and dm.get("current"),
            f"{name}: explain shows {bdf}'s dma_mode decision, reason {reason}", e)

    rb = one(rep, "rebind") or ""
    tap(rb.startswith("1 ") and "the filesystem mounted on / is on it" in rb,
        f"{name}: apply --rebind refuses the NVMe that holds /", rb)


def main():
    if os.geteuid() != 0:
        tap(False, "runs as root (mkinitramfs in a mount namespace, mke2fs)")
        return 1
    missing = [t for t in ("mkinitramfs", "lsinitramfs", "mke2fs", "unshare",
                           "qemu-system-x86_64") if not shutil.which(t)]
    if missing or not os.path.exists("/bin/busybox"):
        tap(False, f"tools are installed (make deps): missing {missing or '/bin/busybox'}")
        return 1
    if not os.path.isdir(os.path.join(KERNEL, "modules")):
        tap(False, "build/kernel has modules (make kernel)")
        return 1
    os.makedirs(OUT, exist_ok=True)

    r, good = build_initramfs(RULES, "good")
    files = r.stdout.split()
    tap(r.returncode == 0, "mkinitramfs builds an initramfs with the installed hook",
        r.stderr[-3000:])
    want = ["usr/sbin/iommuctl", "usr/lib/iommu-bpf/iommu-policy-boot",
            "etc/iommu-policy.rules", "etc/iommu-policy.conf",
            "scripts/init-top/iommu-policy"]
    tap(all(w in files for w in want) and
        any(f.endswith("/nvme.ko") for f in files) and
        any(f.endswith("/e1000e.ko") for f in files),
        "the initramfs holds iommuctl, the boot script, the rules, the init-top "
        "script and the drivers", [w for w in want if w not in files])
    order = ""
    if r.returncode == 0:
        order = run(["sh", "-c", f"zcat {good} | cpio -i --to-stdout "
                     "scripts/init-top/ORDER 2>/dev/null"]).stdout
    pos = {s: order.find(f"/scripts/init-top/{s} ") for s in ("iommu-policy", "udev")}
    tap(0 <= pos["iommu-policy"] < pos["udev"],
        "init-top runs iommu-policy before udev", order)
    r2, bad = build_initramfs(BAD_RULES, "bad")
    tap(r2.returncode == 0, "mkinitramfs builds one with a malformed rules file too",
        r2.stderr[-2000:])
    if r.returncode or r2.returncode:
        return 1

    for name, initrd, optin in (("optin", good, True), ("noopt", good, False),
                                ("malformed", bad, True)):
        rr, disk = build_rootfs(name)
        if rr.returncode:
            tap(False, f"{name}: mke2fs makes the root filesystem", rr.stderr)
            continue
        text, seconds, timed_out = boot(name, initrd, disk, optin)
        print(f"# boot {name}: {seconds:.0f} s under TCG, console in "
              f"build/boot/console-{name}.log")
        rep = report(text)
        check_common(name, text, seconds, timed_out, rep)
        if name != "malformed":
            check_applied(name, rep, optin)
            continue
        show = jload(one(rep, "show"))
        tap(show is not None and show.get("state") == "disabled",
            f"{name}: no policy is attached", one(rep, "show"))
        m = re.search(r"/etc/iommu-policy\.rules:2: .*stricter", text)
        tap(m is not None and "no new IOMMU policy attached" in text,
            f"{name}: the console says which line is wrong and that no policy was "
            "attached", text[-3000:])
        nvme = group_of(jload(one(rep, "devices")), NVME_BDF)
        tap(nvme is not None and nvme.get("domain_type") == "DMA-FQ",
            f"{name}: the NVMe group keeps the kernel's choice (DMA-FQ)", nvme)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

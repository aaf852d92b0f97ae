#!/bin/bash
# The one place that boots a kernel under virtme-ng: QEMU under TCG (no KVM
# needed), the host's root over 9p, one command run in the guest from the
# top of the checkout.  selftests/run-vm.sh, make run (tools/demo/run.sh),
# make bench (bench/run.sh) and make golden (selftests/update-golden.sh)
# all boot through here; what differs between them is named below.
#
#   vmlib/launch.sh [options] -- COMMAND [ARGS...]
#   vmlib/launch.sh --check [--kernel BZIMAGE]    are virtme-ng and the kernel there?
#
#   --kernel BZIMAGE   the kernel (default build/kernel/bzImage)
#   --iommu NAME       none (default), intel, intel-cm (VT-d caching mode on),
#                      virtio
#   --device NAME      edu, edu@SLOT (a fixed PCI slot, e.g. edu@0x10),
#                      e1000e (a NIC without a network), real (an NVMe disk
#                      and an e1000e NIC with an iperf3 server on the host:
#                      vmlib/real-devices.sh); repeatable, in PCI order
#   --append ARGS      kernel command line, after the IOMMU's own; repeatable
#   --qemu OPTS        more QEMU options, after the devices (e.g. -initrd)
#   --mem SIZE         guest memory (2G)
#   --cpus N           vCPUs (2)
#   --timeout SECONDS  kill the VM after this long (1800)
#   --dir DIR          writable in the guest (--rwdir); 'real' keeps its disk
#                      image and the iperf3 server's log there
#   --panic-on-oops    panic=-1 oops=panic: an oops ends the boot at once
#   --hide-udev        no systemd-udevd or systemd-tmpfiles in the guest
#   --verbose          the kernel's console too, not only the command's output
#
# COMMAND's words are joined by spaces and run by the guest's shell (prefix
# VAR=value to set its environment; 'real' adds GUEST_MODULES and
# IPERF_PORT).  Console on stdout and stderr.  Exit status: virtme-ng's
# (the command's), 124 or 137 on a timeout, 1 if nothing could boot.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
VNG=${VNG:-$CACHE/venv/bin/vng}
export PATH=$CACHE/venv/bin:$PATH	# vng runs virtme-run from its venv

usage() { sed -n '8,32p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

kernel=$TOP/build/kernel/bzImage iommu=none devices=() append=() extra=""
mem=2G cpus=2 timeout=1800 dir="" panic=0 hide_udev=0 verbose=0 check=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=${2:?}; shift ;;
	--iommu) iommu=${2:?}; shift ;;
	--device) devices+=("${2:?}"); shift ;;
	--append) [ -z "${2?}" ] || append+=("$2"); shift ;;
	--qemu) extra="$extra ${2?}"; shift ;;
	--mem) mem=${2:?}; shift ;;
	--cpus) cpus=${2:?}; shift ;;
	--timeout) timeout=${2:?}; shift ;;
	--dir) dir=${2:?}; shift ;;
	--panic-on-oops) panic=1 ;;
	--hide-udev) hide_udev=1 ;;
	--verbose) verbose=1 ;;
	--check) check=1 ;;
	--) shift; break ;;
	*) usage ;;
	esac
	shift
done

[ -x "$VNG" ] || { echo "virtme-ng not found at $VNG: run 'make deps'" >&2; exit 1; }
[ -f "$kernel" ] || { echo "no kernel at $kernel: run 'make kernel'" >&2; exit 1; }
[ $check = 0 ] || exit 0
[ $# -gt 0 ] || usage

# One TCG thread for all vCPUs.  Multi-threaded TCG can run a stale
# translation of code the kernel is patching (jump labels go through int3
# when tracing is switched on), which the guest sees as a stray int3 Oops.
qemu="-accel tcg,thread=single"
case "$iommu" in
none) cmdline=() ;;
intel|intel-cm)
	# caching-mode stays off unless asked for: with it on, Linux forces
	# strict mode.
	cm=off
	[ "$iommu" = intel ] || cm=on
	cmdline=(intel_iommu=on)
	qemu="$qemu -machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=$cm"
	;;
virtio)
	cmdline=()
	qemu="$qemu -device virtio-iommu-pci"
	;;
*) echo "launch.sh: unknown IOMMU '$iommu' (want none, intel, intel-cm or virtio)" >&2; exit 2 ;;
esac

env=""
real=0
for d in "${devices[@]}"; do
	case "$d" in
	edu) qemu="$qemu -device edu" ;;
	edu@*) qemu="$qemu -device edu,addr=${d#edu@}" ;;
	e1000e) qemu="$qemu -device e1000e" ;;
	real)
		[ -n "$dir" ] || { echo "launch.sh: --device real needs --dir" >&2; exit 2; }
		. "$TOP/vmlib/real-devices.sh"
		real_devices_start "$dir" "$kernel"
		trap 'real_devices_stop "$dir"' EXIT
		qemu="$qemu $real_qemu"
		env=$real_env
		real=1
		;;
	*) echo "launch.sh: unknown device '$d' (want edu, edu@SLOT, e1000e or real)" >&2; exit 2 ;;
	esac
done
qemu="$qemu$extra"

# The guest cannot write byte code into the read-only tree: compile the
# project's Python here (__pycache__ is ignored by git), or every boot
# compiles it again under TCG
/usr/bin/python3 -m compileall -q "$TOP/selftests" "$TOP/vmlib" "$TOP/bench" "$TOP/tools/demo" \
	>/dev/null || { echo "launch.sh: python3 -m compileall failed" >&2; exit 1; }

# The host's root, read-only in the guest, cached in its page cache
# (vng mounts it uncached).  Uncached, every exec and every Python import
# reads its pages again over 9p and TCG translates its code again: an
# import of the suite's modules took 105 s on the debug kernel, 45 s with
# this and 16 s the second time.  Nothing the guest reads there changes
# while it runs; --dir is a mount of its own, uncached.  The last
# rootflags= on the command line is the one the kernel takes.
[ "${VM_ROOT_CACHE:-loose}" = none ] ||
	append+=("rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=${VM_ROOT_CACHE:-loose}")

# no_timer_check: under TCG on a loaded host the early IO-APIC timer check
# can miss its ticks, which behind interrupt remapping is a panic.
cmdline+=("${append[@]}" no_timer_check)
[ $panic = 0 ] || cmdline+=(panic=-1 oops=panic)

ns=()
if [ $hide_udev = 1 ]; then
	# udev's coldplug never settles within virtme-ng-init's 300 s on the
	# debug kernel under TCG, and nothing here needs udev: devtmpfs makes
	# every node the suite opens.  Hide systemd-udevd from the guest's 9p
	# root, in a mount namespace of QEMU's own; the host is untouched.
	# systemd-tmpfiles too: virtme-ng-init runs it at boot, and on this
	# kernel it takes about 2 minutes (4 s on the others) to make
	# directories nothing here uses.
	ns=(unshare -m --propagation private -- sh -c \
		'mount -t tmpfs -o size=1m,mode=755 none /usr/lib/systemd &&
		 { [ ! -e /usr/bin/systemd-tmpfiles ] ||
		   mount --bind /bin/true /usr/bin/systemd-tmpfiles; } && exec "$@"' sh)
fi
vng_opts=(--disable-kvm --force-9p)
[ $verbose = 0 ] || vng_opts+=(--verbose)
[ -z "$dir" ] || vng_opts+=(--rwdir="$dir")

timeout --kill-after=30 "$timeout" "${ns[@]}" "$VNG" "${vng_opts[@]}" \
	-r "$kernel" --cpus "$cpus" -m "$mem" --append "${cmdline[*]}" --qemu-opts="$qemu" \
	--cwd "$TOP" -e "${env:+$env }$*" </dev/null
rc=$?
[ $real = 0 ] || { real_devices_stop "$dir"; trap - EXIT; }
exit $rc

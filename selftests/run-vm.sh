#!/bin/bash
# Boot build/kernel under virtme-ng (TCG, 9p root) with one IOMMU profile and
# run the VM test suite in it.  The guest writes TAP to results.tap in a
# --rwdir directory; the full console goes to console.log beside it.
#
#   selftests/run-vm.sh intel|virtio|mock|stock|stock-6.12|stock-newest|
#                       policy|policy-noopt|debug|
#                       policy-cm-lockdown|policy-strict|policy-strict-noopt|
#                       policy-strict-conf [suite args...]
#
# Exit status: 0 when the suite ran to its end with no failure; 1 on a test
# failure, a kernel panic/oops, a timeout, or a VM that did not finish.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
VNG=${VNG:-$CACHE/venv/bin/vng}
export PATH=$CACHE/venv/bin:$PATH	# vng runs virtme-run from its venv
# KERNEL_IMAGE: another build of the series (selftests/mutations/run.sh)
KERNEL=${KERNEL_IMAGE:-$TOP/build/kernel/bzImage}
VM_TIMEOUT=${VM_TIMEOUT:-1800}
stock_modules=""
real_devices=0

profile=${1:?usage: $0 PROFILE [suite args] (see the case below)}
shift

case "$profile" in
intel)
	# caching-mode stays off: with it on, Linux forces strict mode.
	# Real drivers with real traffic too (test_iommuctl's real_devices):
	# an NVMe disk for fio and a NIC on user-mode networking for iperf3
	# against a server on the host; their modules come from the kernel's
	# build, loaded only by that test.
	append="intel_iommu=on"
	qemu="-machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=off -device edu"
	real_devices=1
	;;
virtio)
	# No interrupt remapping behind virtio-iommu on x86: let iommufd
	# accept the device anyway, as VFIO users must.
	append="iommufd.allow_unsafe_interrupts=1"
	qemu="-device virtio-iommu-pci -device edu"
	;;
mock)
	# No emulated IOMMU: iommufd's selftest mock is the only IOMMU.
	append=""
	qemu=""
	;;
stock|stock-6.12|stock-newest)
	# Debian's own kernels, without the series: iommuctl's fallback.  stock
	# is the host's 6.1 (make deps); the others are fetched into the cache
	# (selftests/stock-kernel.sh), their modules bind-mounted in the guest.
	# A NIC makes DMA mappings when its link goes up.
	if [ "$profile" = stock ]; then
		KERNEL=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -n 1)
		[ -n "$KERNEL" ] || { echo "no Debian kernel in /boot: run 'make deps'" >&2; exit 1; }
	else
		KERNEL=$("$TOP/selftests/stock-kernel.sh" "${profile#stock-}") || exit 1
		case "$KERNEL" in
		*/boot/vmlinuz-*) stock_modules=${KERNEL%/boot/*}/lib/modules ;;
		*) stock_modules=${KERNEL%/*/vmlinuz} ;;	# .../lib/modules/KVER/vmlinuz
		esac
	fi
	append="intel_iommu=on"
	qemu="-machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=off -device e1000e"
	;;
policy|policy-noopt|debug)
	# 'intel' plus a firmware 1:1 map (IOMMU_RESV_DIRECT) on one device:
	# two edu devices in fixed slots (vng's own devices take 00:01-00:09),
	# and a DMAR override whose RMRR names the first (00:10.0); see
	# selftests/vm/acpi/.  The cpio is the whole initrd (vng uses none
	# here); its path goes unquoted through vng's shell, so no spaces.
	memmap=$("$TOP/selftests/vm/acpi/build-initrd.sh") || exit 1
	initrd=$TOP/build/acpi/dmar-initrd.cpio
	case "$initrd" in *[!A-Za-z0-9/._-]*)
		echo "run-vm.sh: '$initrd' must not need shell quoting" >&2; exit 1 ;;
	esac
	# memmap= E820-reserves the RMRR range, as firmware would.
	append="intel_iommu=on $memmap"
	[ "$profile" = policy ] && append="$append iommu_policy.allow_loosen=1"
	if [ "$profile" = debug ]; then
		# The debug kernel (make kernel-debug), with the opt-in
		KERNEL=${KERNEL_IMAGE:-$TOP/build/kernel-debug/bzImage}
		# no5lvl: while the boot CPU is identified again, its LA57 bit
		# reads clear for a moment; an interrupt then makes outline
		# KASAN think the 5-level direct map has no shadow (a "wild"
		# access in rcu_is_watching(), before any test runs)
		append="$append iommu_policy.allow_loosen=1 kmemleak=on no5lvl"
		VM_TIMEOUT=${VM_TIMEOUT_DEBUG:-3000}
		# 1 GiB: KASAN's shadow, the struct pages and every kmemleak
		# scan are in proportion; 2 GiB cost 135 s more under TCG.
		VM_MEM=${VM_MEM:-1G}
	fi
	qemu="-machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=off"
	qemu="$qemu -device edu,addr=0x10 -device edu,addr=0x11 -initrd $initrd"
	;;
policy-cm-lockdown|policy-strict|policy-strict-noopt|policy-strict-conf)
	# The attach policy's one loosening rule where the kernel's own choice
	# is strict: VT-d caching mode (the driver forces strict), or
	# iommu.strict=1; with and without the opt-in, and locked down from
	# the command line (either level).  One edu device; the mock is there
	# but its debugfs control is closed under lockdown.
	cm=off
	case "$profile" in
	policy-cm-lockdown)
		cm=on
		append="intel_iommu=on lockdown=integrity iommu_policy.allow_loosen=1" ;;
	policy-strict)
		append="intel_iommu=on iommu.strict=1 iommu_policy.allow_loosen=1" ;;
	policy-strict-noopt)
		append="intel_iommu=on iommu.strict=1" ;;
	policy-strict-conf)
		append="intel_iommu=on iommu.strict=1 lockdown=confidentiality iommu_policy.allow_loosen=1" ;;
	esac
	qemu="-machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=$cm -device edu"
	;;
*)
	echo "unknown profile '$profile' (want intel, virtio, mock, stock, stock-6.12, stock-newest," \
		"policy, policy-noopt, debug," \
		"policy-cm-lockdown, policy-strict, policy-strict-noopt or policy-strict-conf)" >&2
	exit 2
	;;
esac

[ -x "$VNG" ] || { echo "virtme-ng not found at $VNG: run 'make deps'" >&2; exit 1; }
[ -f "$KERNEL" ] || { echo "no kernel at $KERNEL: run 'make kernel'" >&2; exit 1; }

out=${VM_OUT:-$TOP/build/vm-out/$profile}
rm -rf "$out"
mkdir -p "$out"

guest_env=""
[ -z "$stock_modules" ] || guest_env="GUEST_MODULES=$stock_modules"
if [ $real_devices = 1 ]; then
	. "$TOP/selftests/real-devices.sh"
	real_devices_start "$out" "$KERNEL"
	qemu="$qemu $real_qemu"
	guest_env=$real_env
fi

# One TCG thread for both vCPUs.  Multi-threaded TCG can run a stale
# translation of code the kernel is patching (jump labels go through int3
# when tracing is switched on), which the guest sees as a stray int3 Oops.
qemu="-accel tcg,thread=single $qemu"
# no_timer_check: under TCG on a loaded host the early IO-APIC timer check
# can miss its ticks, which behind interrupt remapping is a panic.
opts=(--append "$append no_timer_check panic=-1 oops=panic" --qemu-opts="$qemu")
ns=()
if [ "$profile" = debug ]; then
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
start=$(date +%s)
timeout --kill-after=30 "$VM_TIMEOUT" "${ns[@]}" "$VNG" --disable-kvm --force-9p --verbose \
	-r "$KERNEL" --cpus 2 -m "${VM_MEM:-2G}" "${opts[@]}" \
	--rwdir="$out" \
	--cwd "$TOP" \
	-e "${guest_env:+$guest_env }/usr/bin/python3 $TOP/selftests/vm/main.py --profile $profile --out $out $*" \
	> "$out/console.log" 2>&1 </dev/null
rc=$?
echo "$(($(date +%s) - start))" > "$out/seconds"
[ $real_devices = 0 ] || real_devices_stop "$out"

status=0
if [ $rc = 124 ] || [ $rc = 137 ]; then
	echo "# $profile: VM timed out after ${VM_TIMEOUT}s" >&2
	status=1
fi
# Every kind of report a kernel makes, the debug kernel's checkers included:
# lockdep, RCU, KASAN, UBSAN, might_sleep, hung tasks, stalls, lockups
splat='Kernel panic|BUG:|Oops:|WARNING: CPU:|general protection fault'
splat="$splat|possible circular locking dependency|suspicious RCU usage|inconsistent lock state"
splat="$splat|possible recursive locking|UBSAN:|blocked for more than|rcu_.*detected stalls"
splat="$splat|soft lockup|hard LOCKUP|ODEBUG:|list_add corruption|list_del corruption"
if grep -qE "$splat" "$out/console.log"; then
	echo "# $profile: the kernel reported a panic, oops, BUG, WARNING or a checker's finding:" >&2
	grep -m5 -A3 -E "$splat" "$out/console.log" | sed 's/^/#   /' >&2
	status=1
fi
if grep -q '^not ok' "$out/results.tap" 2>/dev/null; then
	echo "# $profile: $(grep -c '^not ok' "$out/results.tap") test(s) failed" >&2
	status=1
fi
if ! grep -q '^# suite done' "$out/results.tap" 2>/dev/null; then
	echo "# $profile: the test suite did not finish (vng exit $rc); console tail:" >&2
	tail -n 25 "$out/console.log" | sed 's/^/#   /' >&2
	status=1
fi
exit $status

#!/bin/bash
# Boot build/kernel under virtme-ng (TCG, 9p root: vmlib/launch.sh) with one
# IOMMU profile and run the VM test suite in it.  The guest writes TAP to
# results.tap in a --rwdir directory; the full console goes to console.log
# beside it.
#
#   selftests/run-vm.sh intel|virtio|mock|stock|stock-6.12|stock-newest|
#                       policy|policy-noopt|debug|
#                       policy-cm-lockdown|policy-strict|policy-strict-noopt|
#                       policy-strict-conf [suite args...]
#   selftests/run-vm.sh intel-7.2|virtio-7.2|mock-7.2|policy-7.2|
#                       policy-noopt-7.2 [suite args...]
#
# A profile ending in -7.2 boots the mainline series (build/kernel-7.2,
# make kernel KERNEL=7.2) with the same devices and tests as the profile
# without it; build/vm-out/ keeps the full name.
#
# Exit status: 0 when the suite ran to its end with no failure; 1 on a test
# failure, a kernel panic/oops, a timeout, or a VM that did not finish.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
LAUNCH=$TOP/vmlib/launch.sh
# KERNEL_IMAGE: another build of the series (selftests/mutations/run.sh)
KERNEL=${KERNEL_IMAGE:-$TOP/build/kernel/bzImage}
VM_TIMEOUT=${VM_TIMEOUT:-1800}
stock_modules=""
append=()	# the kernel command line, after the IOMMU's own

name=${1:?usage: $0 PROFILE [suite args] (see the case below)}
shift
profile=$name
case "$name" in
intel-7.2|virtio-7.2|mock-7.2|policy-7.2|policy-noopt-7.2)
	profile=${name%-7.2}
	KERNEL=${KERNEL_IMAGE:-$TOP/build/kernel-7.2/bzImage} ;;
*-7.2)	echo "run-vm.sh: $name: on 7.2 the profiles are intel, virtio, mock, policy and policy-noopt" >&2
	exit 2 ;;
esac

case "$profile" in
intel)
	# caching-mode stays off: with it on, Linux forces strict mode.
	# Real drivers with real traffic too (test_iommuctl's real_devices):
	# an NVMe disk for fio and a NIC on user-mode networking for iperf3
	# against a server on the host; their modules come from the kernel's
	# build, loaded only by that test.
	vm=(--iommu intel --device edu --device real)
	;;
virtio)
	# No interrupt remapping behind virtio-iommu on x86: let iommufd
	# accept the device anyway, as VFIO users must.
	append=(iommufd.allow_unsafe_interrupts=1)
	vm=(--iommu virtio --device edu)
	;;
mock)
	# No emulated IOMMU: iommufd's selftest mock is the only IOMMU.
	vm=()
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
	vm=(--iommu intel --device e1000e)
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
	append=("$memmap")
	[ "$profile" = policy ] && append+=(iommu_policy.allow_loosen=1)
	vm=(--iommu intel --device edu@0x10 --device edu@0x11 --qemu "-initrd $initrd")
	if [ "$profile" = debug ]; then
		# The debug kernel (make kernel-debug), with the opt-in
		KERNEL=${KERNEL_IMAGE:-$TOP/build/kernel-debug/bzImage}
		# no5lvl: while the boot CPU is identified again, its LA57 bit
		# reads clear for a moment; an interrupt then makes outline
		# KASAN think the 5-level direct map has no shadow (a "wild"
		# access in rcu_is_watching(), before any test runs)
		append+=(iommu_policy.allow_loosen=1 kmemleak=on no5lvl)
		VM_TIMEOUT=${VM_TIMEOUT_DEBUG:-3000}
		# 1 GiB: KASAN's shadow, the struct pages and every kmemleak
		# scan are in proportion; 2 GiB cost 135 s more under TCG.
		VM_MEM=${VM_MEM:-1G}
		# udev's coldplug never settles within virtme-ng-init's 300 s on
		# the debug kernel under TCG, and nothing here needs udev (nor
		# systemd-tmpfiles, 2 minutes on this kernel): see launch.sh.
		vm+=(--hide-udev)
	fi
	;;
policy-cm-lockdown|policy-strict|policy-strict-noopt|policy-strict-conf)
	# The attach policy's one loosening rule where the kernel's own choice
	# is strict: VT-d caching mode (the driver forces strict), or
	# iommu.strict=1; with and without the opt-in, and locked down from
	# the command line (either level).  One edu device; the mock is there
	# but its debugfs control is closed under lockdown.
	vm=(--iommu intel --device edu)
	case "$profile" in
	policy-cm-lockdown)
		vm=(--iommu intel-cm --device edu)
		append=(lockdown=integrity iommu_policy.allow_loosen=1) ;;
	policy-strict)
		append=(iommu.strict=1 iommu_policy.allow_loosen=1) ;;
	policy-strict-noopt)
		append=(iommu.strict=1) ;;
	policy-strict-conf)
		append=(iommu.strict=1 lockdown=confidentiality iommu_policy.allow_loosen=1) ;;
	esac
	;;
*)
	echo "unknown profile '$profile' (want intel, virtio, mock, stock, stock-6.12, stock-newest," \
		"policy, policy-noopt, debug," \
		"policy-cm-lockdown, policy-strict, policy-strict-noopt or policy-strict-conf)" >&2
	exit 2
	;;
esac

"$LAUNCH" --check --kernel "$KERNEL" || exit 1

out=${VM_OUT:-$TOP/build/vm-out/$name}
rm -rf "$out"
mkdir -p "$out"

guest_env=""
[ -z "$stock_modules" ] || guest_env="GUEST_MODULES=$stock_modules "
start=$(date +%s)
"$LAUNCH" --kernel "$KERNEL" "${vm[@]}" --append "${append[*]}" --panic-on-oops \
	--cpus 2 --mem "${VM_MEM:-2G}" --timeout "$VM_TIMEOUT" --dir "$out" --verbose \
	-- "$guest_env/usr/bin/python3 $TOP/selftests/vm/main.py --profile $profile --name $name --out $out $*" \
	> "$out/console.log" 2>&1
rc=$?
echo "$(($(date +%s) - start))" > "$out/seconds"

# What went wrong with the boot itself, apart from failed tests: one line
# each in vm-failures, which selftests/run.sh counts as one failure
status=0
: > "$out/vm-failures"
vm_failed() { echo "$*" >> "$out/vm-failures"; echo "# $name: $*" >&2; status=1; }
if [ $rc = 124 ] || [ $rc = 137 ]; then
	vm_failed "VM timed out after ${VM_TIMEOUT}s"
fi
# Every kind of report a kernel makes, the debug kernel's checkers included:
# lockdep, RCU, KASAN, UBSAN, might_sleep, hung tasks, stalls, lockups
splat='Kernel panic|BUG:|Oops:|WARNING: CPU:|general protection fault'
splat="$splat|possible circular locking dependency|suspicious RCU usage|inconsistent lock state"
splat="$splat|possible recursive locking|UBSAN:|blocked for more than|rcu_.*detected stalls"
splat="$splat|soft lockup|hard LOCKUP|ODEBUG:|list_add corruption|list_del corruption"
if grep -qE "$splat" "$out/console.log"; then
	vm_failed "the kernel reported a panic, oops, BUG, WARNING or a checker's finding:" \
		"$(grep -m1 -E "$splat" "$out/console.log")"
	grep -m5 -A3 -E "$splat" "$out/console.log" | sed 's/^/#   /' >&2
fi
if grep -q '^not ok' "$out/results.tap" 2>/dev/null; then
	echo "# $name: $(grep -c '^not ok' "$out/results.tap") test(s) failed" >&2
	status=1
fi
if ! grep -q '^# suite done' "$out/results.tap" 2>/dev/null; then
	vm_failed "the test suite did not finish (vng exit $rc); console tail:"
	tail -n 25 "$out/console.log" | sed 's/^/#   /' >&2
fi
exit $status

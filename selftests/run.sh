#!/bin/bash
# Run the whole suite: host checks, then the VM suite once per IOMMU
# profile.  Prints one TAP stream, numbered here, and a closing line
# "N passed, N failed[, N skipped]".  Exits non-zero on any failure, a
# kernel panic or oops, or a VM that timed out or did not finish.
#
#   selftests/run.sh [host] [intel] [virtio] [mock] [policy] [policy-noopt]
#                    [policy-cm-lockdown] [policy-strict] [policy-strict-noopt]
#                    [policy-strict-conf] [stock] [boot]         (default: all)
#   selftests/run.sh debug    the debug kernel's profile (make test-debug)
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(host intel virtio mock policy policy-noopt policy-cm-lockdown
	policy-strict policy-strict-noopt policy-strict-conf stock boot)

n=0 pass=0 fail=0 skip=0 broken=0
echo "TAP version 13"

# Number 'ok - x' / 'not ok - x' lines from a suite; pass '#' lines through.
tally() {
	local line
	while IFS= read -r line; do
		case "$line" in
		"ok - "*"# SKIP"*) n=$((n + 1)) skip=$((skip + 1)); echo "ok $n ${line#ok - }" ;;
		"ok - "*) n=$((n + 1)) pass=$((pass + 1)); echo "ok $n ${line#ok - }" ;;
		"not ok - "*) n=$((n + 1)) fail=$((fail + 1)); echo "not ok $n ${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		esac
	done
}

# host_suite NAME CMD: a suite run on the host; its exit status counts too:
# non-zero with no failed test is a failure of its own.
host_suite() {
	local name=$1 rc
	"$2" > "$TOP/build/$name.tap" 2> "$TOP/build/$name.err"
	rc=$?
	tally < "$TOP/build/$name.tap"
	sed 's/^/# /' "$TOP/build/$name.err" | tail -n 20
	if [ $rc != 0 ] && ! grep -q '^not ok' "$TOP/build/$name.tap"; then
		n=$((n + 1)) fail=$((fail + 1))
		echo "not ok $n $name: the $name suite exits 0 when nothing failed (exit $rc)"
	fi
}

for s in "${suites[@]}"; do
	case "$s" in
	host)
		host_suite host "$TOP/selftests/host/run.sh"
		;;
	boot)
		# A real initramfs and a real root: selftests/boot/test_boot.py
		echo "# booting the boot profile: mkinitramfs, QEMU (TCG), NVMe root"
		host_suite boot "$TOP/selftests/boot/test_boot.py"
		;;
	intel|virtio|mock|policy*|stock|debug)
		echo "# booting the $s profile under virtme-ng (TCG)"
		"$TOP/selftests/run-vm.sh" "$s" 2> "$TOP/build/vm-$s.err"
		rc=$?
		[ -f "$TOP/build/vm-out/$s/results.tap" ] &&
			tally < "$TOP/build/vm-out/$s/results.tap"
		sed 's/^#*/#/' "$TOP/build/vm-$s.err"
		echo "# $s: VM ran $(cat "$TOP/build/vm-out/$s/seconds" 2>/dev/null)s, console in build/vm-out/$s/console.log"
		if [ $rc != 0 ]; then
			# A VM-level failure (panic, timeout, unfinished suite) is a
			# failed test of its own, so it is never lost in the count.
			n=$((n + 1)) fail=$((fail + 1)) broken=1
			echo "not ok $n $s: VM run completed cleanly"
		fi
		;;
	*)
		echo "unknown suite '$s'" >&2
		exit 2
		;;
	esac
done

echo "1..$n"
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail = 0 ] && [ $broken = 0 ]

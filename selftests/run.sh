#!/bin/bash
# Run the whole suite: host checks, then the VM suite once per IOMMU
# profile.  Prints one TAP stream, numbered here, and a closing line
# "N passed, N failed[, N skipped]".  Exits non-zero on any failure, a
# kernel panic or oops, or a VM that timed out or did not finish.
#
#   selftests/run.sh [debug] [host] [intel] [virtio] [mock] [policy]
#                    [policy-noopt] [policy-cm-lockdown] [policy-strict]
#                    [policy-strict-noopt] [policy-strict-conf] [stock]
#                    [stock-6.12] [stock-newest] [boot] [intel-7.2]
#                    [virtio-7.2] [mock-7.2] [policy-7.2] [policy-noopt-7.2]
#                    (default: all)
#
# Suites run in $LANES lanes at once (default: one per CPU; each VM is a
# single TCG thread), started in the order given and reported in that
# order once all are done.  Give the longest first: 'make test' starts the
# debug kernel's profile beside all the others.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(debug host intel virtio mock policy policy-noopt policy-cm-lockdown
	policy-strict policy-strict-noopt policy-strict-conf stock stock-6.12 stock-newest boot
	intel-7.2 virtio-7.2 mock-7.2 policy-7.2 policy-noopt-7.2)

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

LANES=${LANES:-$(nproc)}
mkdir -p "$TOP/build"

# One suite, in the background: its TAP, its stderr and its exit status in
# build/, read by report() when every lane is done.  A host suite's exit
# status counts too: non-zero with no failed test is a failure of its own.
run_suite() {
	local s=$1
	case "$s" in
	host)	"$TOP/selftests/host/run.sh" ;;
	boot)	"$TOP/selftests/boot/test_boot.py" ;;
	*)	"$TOP/selftests/run-vm.sh" "$s" ;;
	esac > "$TOP/build/$s.tap" 2> "$TOP/build/$s.err"
	local rc=$?
	echo $rc > "$TOP/build/$s.rc"
	echo "# $s finished (exit $rc) after $(( $(date +%s) - start )) s"
}

report() {
	local s=$1 rc
	rc=$(cat "$TOP/build/$s.rc" 2>/dev/null || echo 255)
	case "$s" in
	host|boot)
		[ "$s" = boot ] && echo "# the boot profile: mkinitramfs, QEMU (TCG), NVMe root"
		tally < "$TOP/build/$s.tap"
		sed 's/^/# /' "$TOP/build/$s.err" | tail -n 20
		if [ "$rc" != 0 ] && ! grep -q '^not ok' "$TOP/build/$s.tap"; then
			n=$((n + 1)) fail=$((fail + 1))
			echo "not ok $n $s: the $s suite exits 0 when nothing failed (exit $rc)"
		fi
		;;
	debug)
		if [ $debug_kernel = 0 ]; then
			tally < "$TOP/build/debug.tap"
			return
		fi
		;;&
	*)
		echo "# the $s profile under virtme-ng (TCG)"
		[ -f "$TOP/build/vm-out/$s/results.tap" ] &&
			tally < "$TOP/build/vm-out/$s/results.tap"
		sed 's/^#*/#/' "$TOP/build/$s.err"
		echo "# $s: VM ran $(cat "$TOP/build/vm-out/$s/seconds" 2>/dev/null)s, console in build/vm-out/$s/console.log"
		if [ "$rc" != 0 ]; then
			n=$((n + 1)) fail=$((fail + 1)) broken=1
			echo "not ok $n $s: VM run completed cleanly"
		fi
		;;
	esac
}

# The debug kernel, if the cache has it for this series (make kernel-debug)
debug_kernel=1
for s in "${suites[@]}"; do
	[ "$s" = debug ] || continue
	FLAVOR=debug "$TOP/kernel/scripts/build-kernel.sh" --if-cached 2>/dev/null || debug_kernel=0
done

for s in "${suites[@]}"; do
	case "$s" in
	host|boot|intel|virtio|mock|policy*|stock|stock-6.12|stock-newest|debug) ;;
	intel-7.2|virtio-7.2|mock-7.2) ;;
	*) echo "unknown suite '$s'" >&2; exit 2 ;;
	esac
	rm -f "$TOP/build/$s.rc"
done
start=$(date +%s)
for s in "${suites[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$LANES" ]; do
		wait -n
	done
	if [ "$s" = debug ] && [ $debug_kernel = 0 ]; then
		echo "ok - debug: the debug kernel's profile # SKIP the debug kernel of this series is not cached: 'make kernel-debug' (about 18 min cold on two cores), then run again" > "$TOP/build/debug.tap"
		: > "$TOP/build/debug.err"
		echo 0 > "$TOP/build/debug.rc"
		continue
	fi
	run_suite "$s" &
done
wait
for s in "${suites[@]}"; do
	report "$s"
done

echo "# $LANES lane(s), $(( $(date +%s) - start )) s"
echo "1..$n"
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail = 0 ] && [ $broken = 0 ]

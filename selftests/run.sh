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
# single TCG thread), started in the order given; each is reported as soon
# as it finishes, so a run cut short still shows what it finished.  Give
# the longest first: 'make test' starts the debug kernel's profile beside
# all the others.
#
# A skip is a pass only if selftests/expected-skips lists it for that
# profile, or if the profile's kernel cannot be had today (Debian no longer
# ships its source: build/kernel-7.2.unavailable says so).  Any other skip
# fails the run: a missing device or module must not turn a test off.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(debug host intel virtio mock policy policy-noopt policy-cm-lockdown
	policy-strict policy-strict-noopt policy-strict-conf stock stock-6.12 stock-newest boot
	intel-7.2 virtio-7.2 mock-7.2 policy-7.2 policy-noopt-7.2)

for s in "${suites[@]}"; do
	case "$s" in
	host|boot|intel|virtio|mock|policy*|stock|stock-6.12|stock-newest|debug) ;;
	intel-7.2|virtio-7.2|mock-7.2) ;;
	*) echo "unknown suite '$s'" >&2; exit 2 ;;
	esac
done

n=0 pass=0 fail=0 skip=0 broken=0
# Host checks and lint apart from behaviour tests in the summary
hpass=0 hfail=0 hskip=0
failures=()	# "suite: test: first line of its message"
logs=()		# console logs of the profiles that failed
echo "TAP version 13"

# Expected skips: "NAME  # reason", NAME as the test prints it
declare -A expected
while IFS= read -r line; do
	case "$line" in ''|'#'*) continue ;; esac
	name=${line%%  #*}
	[ "$name" != "$line" ] || { echo "selftests/expected-skips: no '  # reason' in: $line" >&2; exit 2; }
	expected[$name]=1
done < "$TOP/selftests/expected-skips"

# Number 'ok - x' / 'not ok - x' lines from a suite; pass '#' lines
# through.  $1: the suite, for the list of failures.
tally() {
	local suite=$1 line name last=""
	while IFS= read -r line; do
		case "$line" in
		"ok - "*"# SKIP"*)
			n=$((n + 1)) name=${line#ok - } name=${name%% # SKIP*}
			if [ -n "${expected[$name]:-}" ] || [ "${env_skip:-0}" = 1 ]; then
				skip=$((skip + 1))
				[ "$suite" = host ] && hskip=$((hskip + 1))
				echo "ok $n ${line#ok - }"
				last=""
			else
				fail=$((fail + 1))
				[ "$suite" = host ] && hfail=$((hfail + 1))
				echo "not ok $n $name # unexpected SKIP: ${line#*# SKIP }"
				echo "# not in selftests/expected-skips: a skip this profile does not expect fails the run"
				failures+=("$name: unexpected SKIP: ${line#*# SKIP }")
				last=""
			fi ;;
		"ok - "*)
			n=$((n + 1)) pass=$((pass + 1)); echo "ok $n ${line#ok - }"
			[ "$suite" = host ] && hpass=$((hpass + 1))
			last="" ;;
		"not ok - "*)
			n=$((n + 1)) fail=$((fail + 1)); echo "not ok $n ${line#not ok - }"
			[ "$suite" = host ] && hfail=$((hfail + 1))
			failures+=("${line#not ok - }")
			last=$((${#failures[@]} - 1)) ;;
		"#"*)
			echo "$line"
			# The first diagnostic after a failure says what failed
			if [ -n "$last" ] && [ "${line#\#}" != "" ]; then
				failures[$last]="${failures[$last]}: ${line#\# }"
				last=""
			fi ;;
		esac
	done
}

LANES=${LANES:-$(nproc)}
mkdir -p "$TOP/build"

# One suite, in the background: its TAP, its stderr and its exit status in
# build/, read by report() as soon as the .rc file appears.
run_suite() {
	local s=$1
	case "$s" in
	host)	"$TOP/selftests/host/run.sh" ;;
	boot)	"$TOP/selftests/boot/test_boot.py" ;;
	*)	"$TOP/selftests/run-vm.sh" "$s" ;;
	esac > "$TOP/build/$s.tap" 2> "$TOP/build/$s.err"
	local rc=$?
	echo "$rc $(( $(date +%s) - start ))" > "$TOP/build/$s.rc.tmp"
	mv "$TOP/build/$s.rc.tmp" "$TOP/build/$s.rc"
}

# The kernel a profile boots, when Debian no longer has its source (and
# this machine never fetched it): the reason, else nothing
unavailable() {
	case "$1" in
	*-7.2) cat "$TOP/build/kernel-7.2.unavailable" 2>/dev/null ;;
	esac
}

report() {
	local s=$1 rc secs out=$TOP/build/vm-out/$1 why
	read -r rc secs < "$TOP/build/$s.rc" 2>/dev/null || { rc=255 secs=?; }
	echo "# $s finished (exit $rc) after $secs s"
	case "$s" in
	host|boot)
		[ "$s" = boot ] && echo "# the boot profile: mkinitramfs, QEMU (TCG), NVMe root"
		tally "$s" < "$TOP/build/$s.tap"
		sed 's/^/# /' "$TOP/build/$s.err" | tail -n 20
		if [ "$rc" != 0 ] && ! grep -q '^not ok' "$TOP/build/$s.tap"; then
			n=$((n + 1)) fail=$((fail + 1))
			echo "not ok $n $s: the $s suite exits 0 when nothing failed (exit $rc)"
			failures+=("$s: the $s suite exits 0 when nothing failed (exit $rc)")
		fi
		return
		;;
	esac
	echo "# the $s profile under virtme-ng (TCG)"
	[ -f "$out/results.tap" ] && tally "$s" < "$out/results.tap"
	sed 's/^#*/#/' "$TOP/build/$s.err"
	echo "# $s: VM ran $(cat "$out/seconds" 2>/dev/null)s, console in build/vm-out/$s/console.log"
	# A profile that ran nothing tested nothing: it fails
	if ! grep -qE '^(not )?ok - ' "$out/results.tap" 2>/dev/null; then
		why="no test ran"
	elif [ -s "$out/vm-failures" ]; then
		why=$(head -n 1 "$out/vm-failures")
	elif [ "$rc" != 0 ] && ! grep -q '^not ok' "$out/results.tap"; then
		why="run-vm.sh exit $rc with no failed test"
	else
		why=""
	fi
	# One VM failure is counted once: failed tests are already counted
	if [ -n "$why" ]; then
		n=$((n + 1)) fail=$((fail + 1)) broken=1
		echo "not ok $n $s: VM run completed cleanly"
		echo "# $why"
		failures+=("$s: VM run completed cleanly: $why")
	fi
	[ "$rc" = 0 ] || logs+=("build/vm-out/$s/console.log")
}

# What cannot boot today is said first, and skipped with its reason
env_skipped() {
	local s=$1 why
	why=$(unavailable "$s")
	echo "# $s finished (not booted)"
	env_skip=1 tally "$s" <<< "ok - $s: the $s profile # SKIP $why"
}
# The host's check of that kernel's BTF cannot run either
[ ! -f "$TOP/build/kernel-7.2.unavailable" ] ||
	expected["host: the vendored vmlinux.h has the 7.2 series' types"]=1
for s in "${suites[@]}"; do
	why=$(unavailable "$s")
	[ -z "$why" ] || [ -f "$TOP/build/kernel-7.2/bzImage" ] || echo "# NOTE: $s will not boot: $why"
done

# Nothing of an earlier run may stand in for this one's
for s in "${suites[@]}"; do
	rm -f "$TOP/build/$s.rc" "$TOP/build/vm-out/$s/results.tap" "$TOP/build/vm-out/$s/vm-failures"
done
declare -A done_
start=$(date +%s)
# Report every suite that has finished, in the order they finished
report_finished() {
	local s
	for s in "${suites[@]}"; do
		[ -z "${done_[$s]:-}" ] && [ -f "$TOP/build/$s.rc" ] || continue
		done_[$s]=1
		report "$s"
	done
}
for s in "${suites[@]}"; do
	if [ -n "$(unavailable "$s")" ] && [ ! -f "$TOP/build/kernel-7.2/bzImage" ]; then
		done_[$s]=1
		env_skipped "$s"
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$LANES" ]; do
		wait -n
		report_finished
	done
	run_suite "$s" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
	wait -n
	report_finished
done
wait
report_finished

echo "# $LANES lane(s), $(( $(date +%s) - start )) s"
echo "# host checks and lint: $hpass passed, $hfail failed, $hskip skipped;" \
	"behaviour tests: $((pass - hpass)) passed, $((fail - hfail)) failed, $((skip - hskip)) skipped"
if [ ${#failures[@]} -gt 0 ]; then
	echo "# FAILED:"
	printf '#   %s\n' "${failures[@]}" | cut -c1-240
	[ ${#logs[@]} = 0 ] || printf '#   console: %s\n' "${logs[@]}"
fi
echo "1..$n"
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail = 0 ] && [ $broken = 0 ]

#!/bin/bash
# Host-side checks, no VM: the series is consistent and checkpatch --strict
# clean, the VM suite and scripts parse, every new event has a golden format.
# Prints 'ok - x' / 'not ok - x' lines for selftests/run.sh to number.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/kernel/scripts/common.sh"

failures=0

t() { # t NAME CMD...: one test line from a command's exit status
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "ok - host: $name"
	else
		echo "not ok - host: $name"
		printf '%s\n' "$out" | head -n 30 | sed 's/^/# /'
		failures=$((failures + 1))
	fi
}

# suite NAME SECONDS CMD...: a test program that declares its plan ("1..N")
# and prints one 'ok - '/'not ok - ' line per check.  Its lines pass
# through; a timeout, a missing plan, fewer lines than the plan (a crash, an
# early exit) or an exit status that disagrees with its lines is one more
# failed test, named after the suite.
suite() {
	local name=$1 secs=$2 out rc plan n bad
	shift 2
	out=$(timeout --kill-after=10 "$secs" "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^(not )?ok - |^# '
	plan=$(printf '%s\n' "$out" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | head -n 1)
	n=$(printf '%s\n' "$out" | grep -cE '^(not )?ok - ')
	bad=$(printf '%s\n' "$out" | grep -cE '^not ok - ')
	failures=$((failures + bad))
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "not ok - host: $name finished within ${secs} s (it printed $n of ${plan:-?})"
	elif [ -z "$plan" ]; then
		echo "not ok - host: $name declared its plan (exit $rc, $n results)"
	elif [ "$n" != "$plan" ]; then
		echo "not ok - host: $name ran all $plan of its tests (printed $n, exit $rc)"
	elif { [ "$rc" != 0 ] && [ "$bad" = 0 ]; } || { [ "$rc" = 0 ] && [ "$bad" != 0 ]; }; then
		echo "not ok - host: $name exit status $rc agrees with its $bad failed tests"
	else
		return 0
	fi
	printf '%s\n' "$out" | grep -vE '^(not )?ok - |^# |^1\.\.' | tail -n 15 | sed 's/^/# /'
	failures=$((failures + 1))
}

# The two series (kernel/scripts/common.sh): mainline 7.2, and its 6.12
# backport.  series_for KERNEL sets SERIES and PATCHES.
series_for() {
	case "$1" in
	7.2)	SERIES=$TOP/kernel/series PATCHES=$TOP/kernel/patches ;;
	6.12)	SERIES=$TOP/kernel/series-6.12 PATCHES=$TOP/kernel/patches-6.12 ;;
	esac
}

series_matches_patches() {
	local listed on_disk
	series_for "$1"
	listed=$(grep -vE '^\s*(#|$)' "$SERIES" | sort)
	on_disk=$(cd "$PATCHES" && ls -- *.patch 2>/dev/null | sort)
	[ "$listed" = "$on_disk" ] || {
		echo "${SERIES#"$TOP"/} and ${PATCHES#"$TOP"/}/ differ:"
		diff <(echo "$listed") <(echo "$on_disk")
		return 1
	}
	[ -n "$listed" ] || { echo "the series is empty"; return 1; }
}

# A patch's subject: Subject: [PATCH] ..., folded by git over several lines
patch_subject() {
	sed -n '/^Subject: /,/^[^ ]/p' "$1" | sed '$d' | tr -d '\n' |
		sed -e 's/^Subject: \[PATCH\] //' -e 's/^ //'
}
series_subjects() {
	local p
	series_for "$1"
	for p in $(grep -vE '^\s*(#|$)' "$SERIES"); do
		patch_subject "$PATCHES/$p"
		echo
	done
}

# The backport carries the mainline series commit for commit, in the same
# order, plus only the patches that kernel/patches-6.12/BACKPORT-ONLY names
# (what 7.2 has upstream already).  A fix made to one series and not the
# other fails here; 'make kernel-range-diff' shows how each pair differs.
series_in_step() {
	local only=$TOP/kernel/patches-6.12/BACKPORT-ONLY
	[ -f "$only" ] || { echo "no $only"; return 1; }
	diff -u --label "kernel/series (7.2), by subject" \
		--label "kernel/series-6.12 without BACKPORT-ONLY, by subject" \
		<(series_subjects 7.2) \
		<(series_subjects 6.12 | grep -vxF -f <(grep -vE '^\s*(#|$)' "$only")) ||
		{ echo "the two series are out of step: port the change to the other one"; return 1; }
}

# checkpatch and its data files from a kernel's linux-source tarball: each
# series is checked by the checkpatch of the kernel it is written for
# (7.2's knows kzalloc_obj(), 6.12's does not)
checkpatch_tool() (
	export KERNEL=$1
	unset LINUX
	. "$TOP/kernel/scripts/common.sh"
	if [ -x "$LINUX/scripts/checkpatch.pl" ]; then
		echo "$LINUX/scripts/checkpatch.pl"
		exit
	fi
	d=$BUILD/checkpatch$KSUFFIX
	if [ ! -x "$d/scripts/checkpatch.pl" ]; then
		"$TOP/kernel/scripts/fetch-source.sh" >&2 || exit 1
		mkdir -p "$d"
		tar -xJf "$(src_tarball)" -C "$d" --strip-components=1 \
			"$SRC_PKG/scripts/checkpatch.pl" "$SRC_PKG/scripts/spelling.txt" \
			"$SRC_PKG/scripts/const_structs.checkpatch" >/dev/null
	fi
	echo "$d/scripts/checkpatch.pl"
)

checkpatch_clean() {
	"$CHECKPATCH" --strict --no-tree --quiet --show-types --no-summary "$1"
}

golden_covers_new_events() {
	local ev bad=0
	for ev in $(/usr/bin/python3 -c "
import sys; sys.path.insert(0, '$TOP/selftests/vm')
from test_tracepoints import NEW_EVENTS; print(' '.join(NEW_EVENTS))"); do
		[ -s "$TOP/selftests/vm/golden/iommu/$ev.format" ] ||
			{ echo "no golden format for iommu:$ev (make golden)"; bad=1; }
	done
	return $bad
}

t "kernel/series lists exactly kernel/patches/*.patch (7.2)" series_matches_patches 7.2
t "kernel/series-6.12 lists exactly kernel/patches-6.12/*.patch" series_matches_patches 6.12
t "kernel/patches-6.12 is kernel/patches commit for commit, plus BACKPORT-ONLY" series_in_step
# The same by content: make kernel-range-diff pairs every mainline commit
# with a backport commit, and leaves only BACKPORT-ONLY's unpaired.
range_diff_pairs_every_commit() {
	local out only
	out=$("$TOP/kernel/scripts/range-diff.sh" -s) || { echo "$out"; return 1; }
	echo "$out" | grep -E '^ *[0-9]+: +[0-9a-f]+ <' &&
		{ echo "mainline commits with no backport counterpart (above)"; return 1; }
	only=$(echo "$out" | sed -n 's/^ *-: *-* > *[0-9]*: *[0-9a-f]* //p')
	diff -u <(grep -vE '^\s*(#|$)' "$TOP/kernel/patches-6.12/BACKPORT-ONLY") <(echo "$only") ||
		{ echo "backport commits with no mainline counterpart, against BACKPORT-ONLY"; return 1; }
}
t "make kernel-range-diff pairs every mainline commit with its backport" range_diff_pairs_every_commit

# The cover letter names every patch by its subject, in series order.
cover_letter_lists_every_patch() {
	local p subj bad=0 cover=$TOP/kernel/cover-letter.txt last=0 at
	[ -s "$cover" ] || { echo "no $cover"; return 1; }
	for p in $(grep -vE '^\s*(#|$)' "$TOP/kernel/series"); do
		subj=$(patch_subject "$TOP/kernel/patches/$p")
		at=$(grep -nF -- "$subj" "$cover" | head -n 1 | cut -d: -f1)
		if [ -z "$at" ]; then
			echo "the cover letter does not name $p: '$subj'"
			bad=1
		elif [ "$at" -lt "$last" ]; then
			echo "the cover letter names $p out of series order"
			bad=1
		else
			last=$at
		fi
	done
	return $bad
}
t "kernel/cover-letter.txt names every patch of the 7.2 series, in order" cover_letter_lists_every_patch
for k in 7.2 6.12; do
	series_for $k
	if ! CHECKPATCH=$(checkpatch_tool $k); then
		echo "not ok - host: checkpatch of $k could be fetched"
		failures=$((failures + 1))
		continue
	fi
	for p in "$PATCHES"/*.patch; do
		t "checkpatch --strict ($k's) ${PATCHES#"$TOP"/}/$(basename "$p")" checkpatch_clean "$p"
	done
done
t "Python test code parses" /usr/bin/python3 -c \
	'import ast, sys; [ast.parse(open(f).read(), f) for f in sys.argv[1:]]' \
	"$TOP"/selftests/vm/*.py "$TOP"/selftests/vm/iommutest/*.py \
	"$TOP"/vmlib/iommuvm/*.py "$TOP"/selftests/host/*.py "$TOP"/bench/*.py
shell_scripts_parse() {
	local s bad=0
	for s in "$TOP"/kernel/scripts/*.sh "$TOP"/selftests/*.sh "$TOP"/selftests/vm/acpi/*.sh \
		"$TOP"/selftests/host/*.sh "$TOP"/tools/*.sh "$TOP"/vmlib/*.sh "$TOP"/bench/*.sh \
		"$TOP"/.ci/run; do
		bash -n "$s" || bad=1
	done
	return $bad
}
t "shell scripts parse (bash -n)" shell_scripts_parse
# The runner's own checks: suite() turns each way a test program can lose
# results into a failed test (run in a subshell: these failures are meant).
suite_counts_what_runs() {
	local out bad=0
	out=$(failures=0; suite crash 10 sh -c 'echo 1..3; echo "ok - a"; kill -SEGV $$')
	case "$out" in *"not ok - host: crash ran all 3 of its tests (printed 1,"*) ;; *)
		echo "a crash after 1 of 3: $out"; bad=1 ;; esac
	out=$(failures=0; suite slow 1 sh -c 'echo 1..1; sleep 5; echo "ok - a"')
	case "$out" in *"not ok - host: slow finished within 1 s"*) ;; *)
		echo "a timeout: $out"; bad=1 ;; esac
	out=$(failures=0; suite noplan 10 sh -c 'echo "ok - a"')
	case "$out" in *"not ok - host: noplan declared its plan"*) ;; *)
		echo "no plan: $out"; bad=1 ;; esac
	out=$(failures=0; suite liar 10 sh -c 'echo 1..1; echo "ok - a"; exit 3')
	case "$out" in *"not ok - host: liar exit status 3 agrees"*) ;; *)
		echo "a failing exit with every line ok: $out"; bad=1 ;; esac
	out=$(failures=0; suite fine 10 sh -c 'echo 1..2; echo "ok - a"; echo "ok - b"')
	[ "$out" = "$(printf 'ok - a\nok - b')" ] || { echo "a good suite: $out"; bad=1; }
	return $bad
}
t "the host runner fails a suite that crashes, hangs, has no plan or lies in its exit status" \
	suite_counts_what_runs
suite "tracefs parser" 60 /usr/bin/python3 "$TOP/selftests/host/test_tracefs_parse.py"
# make bench's instruction counter (bench/insn_count.c, a QEMU plugin),
# built here, on a tiny guest whose counts are known by construction
suite "bench instruction counter" 120 "$TOP/selftests/host/test_insn_count.sh"
t "every new event has a golden format" golden_covers_new_events

# Deployment: what 'make install' puts in place, and that systemd takes the
# unit as installed (no warning: a missing ExecStart binary is one).
# 'make install' of iommuctl and tools/deploy into DIR
install_into() {
	make -s -C "$TOP/tools/iommuctl" install DESTDIR="$1" PREFIX=/usr >/dev/null &&
		make -s -C "$TOP/tools/deploy" install DESTDIR="$1" PREFIX=/usr \
			UNITDIR=/lib/systemd/system >/dev/null
}
deploy_installs() {
	local d f bad=0
	d=$(mktemp -d)
	install_into "$d" || { rm -rf "$d"; return 1; }
	for f in usr/sbin/iommuctl usr/lib/iommu-bpf/iommu-policy-boot \
		usr/share/initramfs-tools/hooks/iommu-policy \
		usr/share/initramfs-tools/scripts/init-top/iommu-policy; do
		[ -x "$d/$f" ] || { echo "not installed (or not executable): /$f"; bad=1; }
	done
	for f in lib/systemd/system/iommu-policy.service lib/systemd/system/iommuctl-metrics.service \
		etc/iommu-policy.conf \
		usr/lib/iommu-bpf/policy/table.bpf.o usr/share/doc/iommu-bpf/README.md \
		usr/share/man/man8/iommuctl.8 usr/share/man/man5/iommu-policy.rules.5 \
		usr/share/bash-completion/completions/iommuctl \
		usr/share/doc/iommu-bpf/examples/iommu-policy.rules; do
		[ -f "$d/$f" ] || { echo "not installed: /$f"; bad=1; }
	done
	# what was installed is what works: the page renders, the rules parse
	grep -q '^ *policy load$' <<<"$(man -l "$d/usr/share/man/man8/iommuctl.8" 2>&1)" ||
		{ echo "the installed iommuctl(8) does not render"; bad=1; }
	"$d/usr/sbin/iommuctl" policy load -c -r \
		"$d/usr/share/doc/iommu-bpf/examples/iommu-policy.rules" >/dev/null ||
		{ echo "the installed example rules do not parse"; bad=1; }
	rm -rf "$d"
	return $bad
}
unit_verifies() {
	local d out
	d=$(mktemp -d)
	install_into "$d" || { rm -rf "$d"; return 1; }
	# The targets the metrics unit's default dependencies name, from the
	# host; its man: page, from the install (man reads MANPATH)
	mkdir -p "$d/lib/systemd/system"
	for u in sysinit.target basic.target multi-user.target shutdown.target; do
		cp "/lib/systemd/system/$u" "$d/lib/systemd/system/"
	done
	out=$(MANPATH="$d/usr/share/man" systemd-analyze verify --root="$d" \
		iommu-policy.service iommuctl-metrics.service 2>&1)
	rm -rf "$d"
	[ -z "$out" ] || { echo "$out"; return 1; }
}
# An unattended service comes back after a failure, but gives up on one
# that repeats (a kernel without the tracepoints) and on a usage error
metrics_unit_restarts() {
	local u=$TOP/tools/deploy/systemd/iommuctl-metrics.service key bad=0
	for key in Restart=on-failure RestartSec=30s RestartPreventExitStatus=2 \
		StartLimitIntervalSec=10min StartLimitBurst=5; do
		grep -qx "$key" "$u" || { echo "no $key in ${u#"$TOP"/}"; bad=1; }
	done
	return $bad
}
deploy_scripts_parse() {
	local s bad=0
	for s in "$TOP/tools/deploy/iommu-policy-boot" "$TOP/tools/deploy/initramfs-tools/hooks/iommu-policy" \
		"$TOP/tools/deploy/initramfs-tools/scripts/init-top/iommu-policy" \
		"$TOP/selftests/boot/rootfs-init"; do
		sh -n "$s" || bad=1
	done
	return $bad
}
t "make install puts iommuctl, its man pages, completion and example rules, the boot script, the initramfs hook and the unit in place" deploy_installs
t "systemd-analyze verify iommu-policy.service and iommuctl-metrics.service, as installed: no warning" \
	unit_verifies
t "iommuctl-metrics.service restarts on failure, and gives up on a repeated one" \
	metrics_unit_restarts
t "deployment shell scripts parse (sh -n)" deploy_scripts_parse
# make deb's package (lintian errors fail it), apt-get installed into a fresh
# bookworm chroot: iommuctl --version, man -w iommuctl, purge
suite "Debian package" 600 "$TOP/selftests/host/test_deb.sh"
t "iommuctl's modules include each other without a cycle" \
	/usr/bin/python3 "$TOP/selftests/host/check_include_cycles.py"
# The headers vendored so that the tools build without a kernel (as bpftool
# vendors its UAPI headers): the series' UAPI header, rebuilt from the
# patches alone, and the built kernel's BTF as C ('make vendor-headers').
vendored_uapi_matches() {
	local d p h=include/uapi/linux/iommu_policy.h
	series_for "$1"
	d=$(mktemp -d)
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		grep -q "^+++ b/$h" "$PATCHES/$p" || continue
		(cd "$d" && git apply --include="$h" "$PATCHES/$p") ||
			{ echo "$p does not apply to $h"; rm -rf "$d"; return 1; }
	done < "$SERIES"
	[ -f "$d/$h" ] || { echo "no patch of ${SERIES#"$TOP"/} creates $h"; rm -rf "$d"; return 1; }
	diff -u "$d/$h" "$TOP/$h" || { echo "run 'make vendor-headers'"; rm -rf "$d"; return 1; }
	rm -rf "$d"
}
# One UAPI for both kernels: iommuctl and the policies build once
t "the vendored $(echo include/uapi/linux/iommu_policy.h) is the 7.2 series' (kernel/patches)" \
	vendored_uapi_matches 7.2
t "the vendored $(echo include/uapi/linux/iommu_policy.h) is the 6.12 series' (kernel/patches-6.12)" \
	vendored_uapi_matches 6.12
# vmlinux.h: only what CO-RE cannot relocate must match, the types the
# series defines (check_vmlinux_h.py says why), in each built kernel, so a
# Debian upload of 6.12.y or 7.2.y does not fail the check by itself.
vmlinux_check_fails() {
	local d rc
	d=$(mktemp -d)
	sed 's/^\ts32 (\*dma_owner)(struct device \*, u32);$/\ts32 (*dma_owner)(struct device *, u64);/' \
		"$TOP/bpf/vmlinux/x86_64/vmlinux.h" > "$d/vmlinux.h"
	if cmp -s "$d/vmlinux.h" "$TOP/bpf/vmlinux/x86_64/vmlinux.h"; then
		echo "no dma_owner hook to change in the vendored header"; rm -rf "$d"; return 1
	fi
	/usr/bin/python3 "$TOP/selftests/host/check_vmlinux_h.py" "$TOP/build/bpftools/bpftool" \
		"$1" "$d/vmlinux.h" "$2" > "$d/out"
	rc=$?
	rm -rf "$d"
	[ $rc = 1 ] || { echo "exit $rc, not 1, for a changed struct iommu_policy_ops"; return 1; }
}
for k in 6.12 7.2; do
	series_for "$k"
	kdir=$TOP/build/kernel
	[ "$k" = 6.12 ] || kdir=$TOP/build/kernel-$k
	if [ -f "$kdir/vmlinux.btf" ] && [ -x "$TOP/build/bpftools/bpftool" ]; then
		t "the vendored bpf/vmlinux/x86_64/vmlinux.h has the $k series' types as its built kernel's BTF has them" \
			/usr/bin/python3 "$TOP/selftests/host/check_vmlinux_h.py" "$TOP/build/bpftools/bpftool" \
			"$kdir/vmlinux.btf" "$TOP/bpf/vmlinux/x86_64/vmlinux.h" "$PATCHES"
		# and the check can fail: one hook's argument changed in a copy
		t "check_vmlinux_h.py notices a series type that differs ($k)" vmlinux_check_fails \
			"$kdir/vmlinux.btf" "$PATCHES"
	elif [ -f "$TOP/build/kernel-$k.unavailable" ]; then
		echo "ok - host: the vendored vmlinux.h has the $k series' types # SKIP" \
			"$(cat "$TOP/build/kernel-$k.unavailable")"
	else
		echo "ok - host: the vendored vmlinux.h has the $k series' types # SKIP no built" \
			"$k kernel (make kernels): 'make test' builds one and checks it"
	fi
done
for unit in test_histo test_rules test_devfacts test_verdicts test_map_snap test_domain_dev test_devname test_utf8; do
	if [ -x "$TOP/build/iommuctl/$unit" ]; then
		suite "iommuctl unit tests $unit" 120 "$TOP/build/iommuctl/$unit"
	else
		echo "not ok - host: iommuctl unit tests are built: $unit (make tools)"
		failures=$((failures + 1))
	fi
done
suite "iommuctl cli" 600 /usr/bin/python3 "$TOP/selftests/host/test_iommuctl_cli.py"
suite "iommuctl policy test" 300 /usr/bin/python3 "$TOP/selftests/host/test_rules_eval.py"
suite "iommuctl man pages" 120 /usr/bin/python3 "$TOP/selftests/host/test_manpages.py"
suite "iommuctl bash completion" 120 /usr/bin/python3 "$TOP/selftests/host/test_completion.py"
# Every command the READMEs show: a real make target, an iommuctl command
# and options its --help lists (run where they need no root and no VM)
suite "READMEs' commands" 120 /usr/bin/python3 "$TOP/selftests/host/test_readme.py"
# The rules parser under libFuzzer, 30 s on the checked-in seeds (make fuzz
# runs it longer): any crash, sanitizer report or broken round trip fails.
rules_fuzzed() {
	local out
	make -s -C "$TOP/tools/iommuctl" fuzz-bin || return 1
	mkdir -p "$TOP/build/iommuctl/fuzz-corpus"
	out=$(cd "$TOP/tools/iommuctl" && timeout 90 "$TOP/build/iommuctl/fuzz_rules" \
		-max_total_time=30 -max_len=4096 -timeout=10 -dict=fuzz/rules.dict \
		-print_final_stats=1 "$TOP/build/iommuctl/fuzz-corpus" fuzz/corpus 2>&1) || {
		printf '%s\n' "$out" | grep -v '^#[0-9]' | tail -n 25
		return 1
	}
	# a here-string, not a pipe: grep -q quits at the match, and under
	# pipefail the writer's SIGPIPE would fail the check
	grep -q '^Done [0-9]* runs' <<<"$out" || { echo "$out" | tail; return 1; }
}
t "rules parser fuzzed 30 s (libFuzzer, ASan+UBSan, round trip through policy load -c)" \
	rules_fuzzed
# The exit status says whether anything failed: selftests/run.sh checks it
[ "$failures" = 0 ]

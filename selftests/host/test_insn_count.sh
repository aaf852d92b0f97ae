#!/bin/bash
# make bench's instruction counter, the QEMU plugin bench/insn_count.c,
# against a guest whose counts are known by construction: the multiboot
# kernel selftests/host/test_insn_count.S, booted under
# qemu-system-x86_64 -accel tcg,thread=single -icount shift=0,sleep=off
# with the plugin, twice with different loop counts, once more the same
# to compare whole runs.  Each boot takes well under a second (SeaBIOS,
# then some 50,000 guest instructions).  Also: the plugin refuses bad
# options, and the guest-side markers (bench/insn_mark.c, insn_mark.py)
# are NOPs on the host's CPU.  TAP with a plan, for selftests/host/run.sh's
# suite().
set -euo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PYTHONDONTWRITEBYTECODE=1

echo "1..11"
failed=0
ok() { echo "ok - host: insn_count: $*"; }
not_ok() { echo "not ok - host: insn_count: $*"; failed=1; }
# check NAME CMD...: one test from a command's status, its output as comments
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$out" | head -n 25 | sed 's/^/# /'
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plugin=$tmp/insn_count.so

build_guest() { # K: $tmp/guest-K.elf with window 1 looping K times
	gcc -m32 -c -I"$TOP/bench" -DK1="$1" -o "$tmp/guest-$1.o" \
		"$TOP/selftests/host/test_insn_count.S" &&
		ld -m elf_i386 -N --no-warn-rwx-segments -Ttext=0x100000 -e _start \
			-o "$tmp/guest-$1.elf" "$tmp/guest-$1.o"
}
build_guests() { build_guest 1000 && build_guest 2500; }

sym() { # ELF NAME: a symbol's value, in decimal
	local v
	v=$(nm "$1" | awk -v n="$2" '$3 == n { print $1 }')
	[ -n "$v" ] || { echo "no symbol $2 in $1" >&2; return 1; }
	echo $((16#$v))
}

qemu() { # ELF LOG PLUGIN-ARGS: boot ELF with the plugin, its output in LOG
	timeout --kill-after=5 30 qemu-system-x86_64 -accel tcg,thread=single \
		-icount shift=0,sleep=off -m 16 -display none -nodefaults -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$1" \
		-plugin "$plugin$3" -d plugin -D "$2"
}

boot() { # K LOG: the guest exits through isa-debug-exit: status 0x10 << 1 | 1
	local elf=$tmp/guest-$1.elf rc=0 loop lock
	loop=$(sym "$elf" w1_loop) && lock=$(sym "$elf" w2_lock) || return 1
	qemu "$elf" "$2" ",count=loop:$(printf '%#x' "$loop"),count=lock:$(printf '%#x' "$lock")" ||
		rc=$?
	[ "$rc" = 33 ] || { echo "QEMU exited $rc, not 33"; cat "$2" 2>/dev/null; return 1; }
}

# What the plugin must print for the guest built with K, window by window
# and in total, in execution order (exp_* symbols: the guest's accounting)
expected_windows() { # K
	local elf=$tmp/guest-$1.elf k=$1 w a
	declare -A ins at
	for w in 1 2 3 4 5 7; do
		ins[$w]=$(sym "$elf" "exp_w${w}_insns") && at[$w]=$(sym "$elf" "exp_w${w}_atomics") ||
			return 1
	done
	line() { echo "$1 insns ${ins[$2]} atomics ${at[$2]} loop $3 lock $4"; }
	line "window 4" 4 0 0
	line "window 1" 1 "$k" 0
	line "window 2" 2 0 1
	line "window 2" 2 0 1
	line "window 3" 3 0 2
	line "window 5" 5 0 0
	line "window 7" 7 0 0
	line "total 1 windows 1" 1 "$k" 0
	echo "total 2 windows 2 insns $((2 * ins[2])) atomics $((2 * at[2])) loop 0 lock 2"
	for w in 3 4 5 7; do
		a=0
		[ $w != 3 ] || a=2
		line "total $w windows 1" $w 0 $a
	done
}

windows_exact() { # K LOG
	diff -u --label expected --label "the plugin's" <(expected_windows "$1") \
		<(grep -E '^(window|total) ' "$2")
}

# Unmatched markers and a bad one are reported, in order, and the log
# holds nothing the plugin was not meant to print (a warning, say)
reports_exact() { # LOG
	diff -u --label expected --label "the plugin's" <(printf '%s\n' \
		"unmatched stop 6" "unmatched start 7" "bad marker 0x49432000" "unmatched start 8") \
		<(grep -E '^(unmatched|bad) ' "$1") &&
		! grep -vE '^(window|total|all|unmatched|bad) ' "$1" &&
		grep -qE '^all insns [0-9]+ atomics [0-9]+ loop [0-9]+ lock [0-9]+$' "$1"
}

check "the plugin and insn_mark build with -Wall -Werror (bench/build.sh)" \
	"$TOP/bench/build.sh" "$tmp"
check "the guest assembles and links (gcc -m32, ld -m elf_i386)" build_guests
for k in 1000 2500; do
	log=$tmp/plugin-$k.log
	check "the guest with a loop of $k runs to its end through isa-debug-exit" boot $k "$log"
	check "loop of $k: each window's instructions, atomics and count= hits exact, per occurrence and total" \
		windows_exact $k "$log"
	check "loop of $k: unmatched start and stop markers and a bad marker reported" \
		reports_exact "$log"
done
# -icount makes the whole run repeatable, SeaBIOS included
same_run_twice() {
	boot 1000 "$tmp/again.log" && diff -u "$tmp/plugin-1000.log" "$tmp/again.log"
}
check "the same guest booted again: the same log, whole-run count included" same_run_twice

refuses() { # PLUGIN-ARGS MESSAGE: QEMU does not start the guest, and says why
	local out rc=0
	out=$(qemu "$tmp/guest-1000.elf" "$tmp/refused.log" "$1" 2>&1) || rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 33 ] || { echo "QEMU exited $rc with $1"; return 1; }
	grep -qF "$2" <<<"$out" || { echo "no '$2' in: $out"; return 1; }
}
bad_options() {
	refuses ",bogus=1" "unknown option 'bogus=1'" &&
		refuses ",count=insns:0x100000" "count NAME 'insns' is taken" &&
		refuses ",count=loop:nowhere" "ADDR is not a number" &&
		refuses ",count=Loop:1" "count NAME of [a-z0-9_] only"
}
check "the plugin refuses unknown options and malformed count=NAME:ADDR" bad_options

# Off the plugin the markers are NOPs: both marker programs run on this
# CPU, and insn_mark run passes its command's status on
markers_on_host() {
	local m=$tmp/insn_mark rc=0
	"$m" start 1 && "$m" stop 4095 || return 1
	"$m" run 2 -- sh -c 'exit 7' || rc=$?
	[ $rc = 7 ] || { echo "insn_mark run: exit $rc, not 7"; return 1; }
	! "$m" start 4096 2>/dev/null || { echo "insn_mark took id 4096"; return 1; }
	/usr/bin/python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
import insn_mark
m = insn_mark.Markers([3, 4095])
assert m.window(3, lambda x: x + 1, 41) == 42
code = insn_mark.code(4095, 1)
assert code == bytes.fromhex("660f1f8400ff1f4349c3"), code.hex()
' "$TOP/bench"
}
check "insn_mark and bench/insn_mark.py run their markers as NOPs off the plugin" markers_on_host

exit $failed

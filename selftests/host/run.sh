#!/bin/bash
# Host-side checks, no VM: the series is consistent and checkpatch --strict
# clean, the VM suite and scripts parse, every new event has a golden format.
# Prints 'ok - x' / 'not ok - x' lines for selftests/run.sh to number.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/kernel/scripts/common.sh"

t() { # t NAME CMD...: one test line from a command's exit status
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "ok - host: $name"
	else
		echo "not ok - host: $name"
		printf '%s\n' "$out" | head -n 30 | sed 's/^/# /'
	fi
}

series_matches_patches() {
	local listed on_disk
	listed=$(grep -vE '^\s*(#|$)' "$TOP/kernel/series" | sort)
	on_disk=$(cd "$TOP/kernel/patches" && ls -- *.patch 2>/dev/null | sort)
	[ "$listed" = "$on_disk" ] || {
		echo "kernel/series and kernel/patches/ differ:"
		diff <(echo "$listed") <(echo "$on_disk")
		return 1
	}
	[ -n "$listed" ] || { echo "the series is empty"; return 1; }
}

checkpatch_tool() {
	if [ -x "$LINUX/scripts/checkpatch.pl" ]; then
		echo "$LINUX/scripts/checkpatch.pl"
		return
	fi
	# No tree (the kernel came from the cache): take checkpatch and its
	# data files from the same linux-source tarball.
	local d=$BUILD/checkpatch
	if [ ! -x "$d/scripts/checkpatch.pl" ]; then
		mkdir -p "$d"
		tar -xJf "$SRC_TARBALL" -C "$d" --strip-components=1 \
			"$SRC_PKG/scripts/checkpatch.pl" "$SRC_PKG/scripts/spelling.txt" \
			"$SRC_PKG/scripts/const_structs.checkpatch" >/dev/null
	fi
	echo "$d/scripts/checkpatch.pl"
}

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

t "kernel/series lists exactly kernel/patches/*.patch" series_matches_patches

# The cover letter names every patch by its subject, in series order.
cover_letter_lists_every_patch() {
	local p subj bad=0 cover=$TOP/kernel/cover-letter.txt last=0 at
	[ -s "$cover" ] || { echo "no $cover"; return 1; }
	for p in $(grep -vE '^\s*(#|$)' "$TOP/kernel/series"); do
		# Subject: [PATCH] ..., folded by git over several lines
		subj=$(sed -n '/^Subject: /,/^[^ ]/p' "$TOP/kernel/patches/$p" |
			sed '$d' | tr -d '\n' | sed -e 's/^Subject: \[PATCH\] //' -e 's/^ //')
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
t "kernel/cover-letter.txt names every patch, in order" cover_letter_lists_every_patch
CHECKPATCH=$(checkpatch_tool)
for p in "$TOP"/kernel/patches/*.patch; do
	t "checkpatch --strict $(basename "$p")" checkpatch_clean "$p"
done
t "Python test code parses" /usr/bin/python3 -c \
	'import ast, sys; [ast.parse(open(f).read(), f) for f in sys.argv[1:]]' \
	"$TOP"/selftests/vm/*.py "$TOP"/selftests/vm/iommutest/*.py \
	"$TOP"/selftests/host/*.py
shell_scripts_parse() {
	local s bad=0
	for s in "$TOP"/kernel/scripts/*.sh "$TOP"/selftests/*.sh "$TOP"/selftests/vm/acpi/*.sh \
		"$TOP"/selftests/host/*.sh "$TOP"/tools/*.sh "$TOP"/.ci/run; do
		bash -n "$s" || bad=1
	done
	return $bad
}
t "shell scripts parse (bash -n)" shell_scripts_parse
/usr/bin/python3 "$TOP/selftests/host/test_tracefs_parse.py" || true
t "every new event has a golden format" golden_covers_new_events
for unit in test_histo test_rules test_devfacts; do
	if [ -x "$TOP/build/iommuctl/$unit" ]; then
		"$TOP/build/iommuctl/$unit" || true	# failures are 'not ok' lines
	else
		echo "not ok - host: iommuctl unit tests are built: $unit (make tools)"
	fi
done
/usr/bin/python3 "$TOP/selftests/host/test_iommuctl_cli.py" || true

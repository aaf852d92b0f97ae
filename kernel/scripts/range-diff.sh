#!/bin/bash
# How the 6.12 backport differs from the mainline series, commit by commit:
# git range-diff of kernel/patches (7.2) against kernel/patches-6.12.
#
#   range-diff.sh [git range-diff options...]    (e.g. --stat, -s)
#
# The two series are applied in a scratch repository that holds only the
# files either touches, taken from each kernel's source tarball: seconds,
# not the minutes of fetching one whole tree into the other.  Pairs equal
# but for context print one line ("="); the rest print the diff of their
# diffs.
set -euo pipefail
. "$(dirname "$0")/common.sh"

KERNEL=7.2 "$TOP/kernel/scripts/fetch-source.sh"
scratch=$BUILD/range-diff
rm -rf "$scratch"
mkdir -p "$scratch"
git -C "$scratch" init -q -b unused
git -C "$scratch" config user.name iommu-bpf
git -C "$scratch" config user.email iommu-bpf@localhost

# Every file either series reads or writes
files=$(cat "$TOP"/kernel/patches/*.patch "$TOP"/kernel/patches-6.12/*.patch |
	sed -n 's#^\(---\|+++\) [ab]/##p' | sort -u)

# series KERNEL: a branch named after it, base = the touched files of that
# kernel's source, then its series by git am
series() (
	export KERNEL=$1
	. "$TOP/kernel/scripts/common.sh"
	local wt=$scratch/$KERNEL
	mkdir -p "$wt"
	# shellcheck disable=SC2086 # one word per path
	tar -xJf "$(src_tarball)" -C "$wt" --strip-components=1 --wildcards \
		$(for f in $files; do echo "$SRC_PKG/$f"; done) 2>/dev/null || true
	git -C "$scratch" --work-tree="$wt" checkout -q --orphan "v$KERNEL"
	git -C "$scratch" --work-tree="$wt" add -A
	git -C "$scratch" --work-tree="$wt" commit -q --allow-empty -m "$SRC_PKG $(src_version), touched files"
	git -C "$scratch" tag "base-$KERNEL"
	mapfile -t patches < <(series_patches)
	(cd "$wt" && git --git-dir="$scratch/.git" --work-tree="$wt" am -q --keep-cr "${patches[@]}") ||
		die "${PATCHES#"$TOP"/} does not apply to the touched files of $SRC_PKG"
)
series 7.2
series 6.12
git -C "$scratch" range-diff --creation-factor=80 "$@" base-7.2..v7.2 base-6.12..v6.12

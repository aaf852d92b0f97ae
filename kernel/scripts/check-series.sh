#!/bin/bash
# Bisectability and style: build bzImage at every step of one series
# (KERNEL=6.12: kernel/patches-6.12 in a worktree of build/linux; KERNEL=7.2:
# kernel/patches in one of build/linux-7.2), with the project's config for
# that kernel and ccache, and run that kernel's checkpatch --strict on every
# patch.  Slow (a minute or more per patch); not part of CI.  make
# kernel-check runs it for both series.
set -euo pipefail
. "$(dirname "$0")/common.sh"

"$TOP/kernel/scripts/prepare-tree.sh"
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
export CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR=$BUILD/linux-check$KSUFFIX CCACHE_NOHASHDIR=true
export KBUILD_BUILD_TIMESTAMP="@0" KBUILD_BUILD_USER=iommu-bpf KBUILD_BUILD_HOST=vm

wt=$BUILD/linux-check$KSUFFIX
note "kernel $KERNEL: ${PATCHES#"$TOP"/} on $SRC_PKG $(src_version)"
git -C "$LINUX" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
git -C "$LINUX" worktree prune
# The config is made at the top of the series, where every option a
# fragment names exists; each step starts from it, and olddefconfig drops
# what that step does not have yet.
git -C "$LINUX" worktree add -q --detach "$wt" HEAD
LINUX=$wt "$TOP/kernel/scripts/make-config.sh"
cp "$wt/.config" "$BUILD/check$KSUFFIX.config"

fail=0
for c in $(git -C "$LINUX" rev-list --reverse base..HEAD); do
	subj=$(git -C "$LINUX" log -1 --format=%s "$c")
	git -C "$wt" checkout -q "$c"
	cp "$BUILD/check$KSUFFIX.config" "$wt/.config"
	make -C "$wt" -s olddefconfig
	if make -C "$wt" -s -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" bzImage \
		> "$BUILD/check-build$KSUFFIX.log" 2>&1; then
		echo "ok - $KERNEL builds: $subj"
	else
		echo "not ok - $KERNEL builds: $subj (see build/check-build$KSUFFIX.log)"
		fail=1
	fi
done
for p in $(series_patches); do
	if "$LINUX/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types "$p"; then
		echo "ok - $KERNEL checkpatch --strict: $(basename "$p")"
	else
		echo "not ok - $KERNEL checkpatch --strict: $(basename "$p")"
		fail=1
	fi
done
git -C "$LINUX" worktree remove --force "$wt"
exit $fail

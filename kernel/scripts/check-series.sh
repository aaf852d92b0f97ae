#!/bin/bash
# Bisectability and style: build bzImage at every step of the series (in a
# worktree of build/linux, with the project's config and ccache) and run
# checkpatch --strict on every patch.  Slow (a minute or more per patch);
# not part of CI.
set -euo pipefail
. "$(dirname "$0")/common.sh"

"$TOP/kernel/scripts/prepare-tree.sh"
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
export CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR=$BUILD/linux-check CCACHE_NOHASHDIR=true
export KBUILD_BUILD_TIMESTAMP="@0" KBUILD_BUILD_USER=iommu-bpf KBUILD_BUILD_HOST=vm

wt=$BUILD/linux-check
git -C "$LINUX" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
git -C "$LINUX" worktree prune
# The config is made at the top of the series, where every option a
# fragment names exists; each step starts from it, and olddefconfig drops
# what that step does not have yet.
git -C "$LINUX" worktree add -q --detach "$wt" HEAD
LINUX=$wt "$TOP/kernel/scripts/make-config.sh"
cp "$wt/.config" "$BUILD/check.config"

fail=0
for c in $(git -C "$LINUX" rev-list --reverse base..HEAD); do
	subj=$(git -C "$LINUX" log -1 --format=%s "$c")
	git -C "$wt" checkout -q "$c"
	cp "$BUILD/check.config" "$wt/.config"
	make -C "$wt" -s olddefconfig
	if make -C "$wt" -s -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" bzImage \
		> "$BUILD/check-build.log" 2>&1; then
		echo "ok - builds: $subj"
	else
		echo "not ok - builds: $subj (see build/check-build.log)"
		fail=1
	fi
done
for p in "$TOP"/kernel/patches/*.patch; do
	if "$LINUX/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types "$p"; then
		echo "ok - checkpatch --strict: $(basename "$p")"
	else
		echo "not ok - checkpatch --strict: $(basename "$p")"
		fail=1
	fi
done
git -C "$LINUX" worktree remove --force "$wt"
exit $fail

#!/bin/bash
# Write the commits of build/linux (base..HEAD) back to kernel/patches and
# kernel/series, so kernel work can be done in a normal git tree.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -d "$LINUX/.git" ] || die "no build/linux tree: run 'make kernel-tree'"
[ -z "$(git -C "$LINUX" status --porcelain --untracked-files=no)" ] ||
	die "build/linux has uncommitted changes; commit them first"
n=$(git -C "$LINUX" rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "build/linux has no commits on top of base"

rm -f "$TOP"/kernel/patches/*.patch
# --zero-commit and no signature: the same commits always give the same
# files, so re-exporting an unchanged series does not change the kernel key.
git -C "$LINUX" format-patch -q --zero-commit --no-signature --no-numbered \
	-o "$TOP/kernel/patches" base..HEAD
(cd "$TOP/kernel/patches" && ls -- *.patch) > "$TOP/kernel/series"
echo "$(tree_key) $(git -C "$LINUX" rev-parse HEAD)" > "$LINUX/.git/iommu-bpf-tree"
note "exported $n patches to kernel/patches"

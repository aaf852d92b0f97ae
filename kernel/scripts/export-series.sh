#!/bin/bash
# Write the commits of build/linux (KERNEL=7.2: build/linux-7.2), base..HEAD,
# back to the kernel's series (kernel/patches-6.12 + kernel/series-6.12, or
# kernel/patches + kernel/series), so kernel work can be done in a normal
# git tree.
set -euo pipefail
. "$(dirname "$0")/common.sh"

tree=${LINUX#"$TOP"/} rel=${PATCHES#"$TOP"/}
[ -d "$LINUX/.git" ] || die "no $tree tree: run 'make kernel-tree${KSUFFIX:+ KERNEL=$KERNEL}'"
[ -z "$(git -C "$LINUX" status --porcelain --untracked-files=no)" ] ||
	die "$tree has uncommitted changes; commit them first"
n=$(git -C "$LINUX" rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "$tree has no commits on top of base"

rm -f "$PATCHES"/*.patch
# --zero-commit and no signature: the same commits always give the same
# files, so re-exporting an unchanged series does not change the kernel key.
git -C "$LINUX" format-patch -q --zero-commit --no-signature --no-numbered \
	-o "$PATCHES" base..HEAD
(cd "$PATCHES" && ls -- *.patch) > "$SERIES"
echo "$(tree_key) $(git -C "$LINUX" rev-parse HEAD)" > "$LINUX/.git/iommu-bpf-tree"
note "exported $n patches to $rel"

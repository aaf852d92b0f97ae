#!/bin/bash
# Build build/linux (KERNEL=7.2: build/linux-7.2): the current
# linux-source-$KERNEL as a git tree tagged "base", with the kernel's series
# (common.sh: kernel/patches-6.12 or kernel/patches) applied in order by
# git am.
#
# An existing tree is reused when it was made from the same inputs.  A tree
# holding commits that are not in the series is never thrown away.
set -euo pipefail
. "$(dirname "$0")/common.sh"

"$TOP/kernel/scripts/fetch-source.sh"
tarball=$(src_tarball)
[ -f "$tarball" ] || die "$tarball missing: run 'make deps'"
rel=${PATCHES#"$TOP"/}
tree=${LINUX#"$TOP"/}
key=$(tree_key)
stamp=$LINUX/.git/iommu-bpf-tree

if [ -f "$stamp" ]; then
	read -r old_key old_head < "$stamp"
	head=$(git -C "$LINUX" rev-parse HEAD)
	[ "$old_key" = "$key" ] && [ "$old_head" = "$head" ] && exit 0
	if [ "$old_head" != "$head" ]; then
		die "$tree has commits that are not in $rel.
       Run 'make kernel-export${KSUFFIX:+ KERNEL=$KERNEL}' to keep them, or remove $tree."
	fi
	[ -z "$(git -C "$LINUX" status --porcelain --untracked-files=no)" ] ||
		die "$tree has uncommitted changes; commit and 'make kernel-export${KSUFFIX:+ KERNEL=$KERNEL}', or remove $tree"
	note "$rel changed: re-applying the series on base"
	git -C "$LINUX" am --abort >/dev/null 2>&1 || true
	git -C "$LINUX" reset -q --hard base
else
	[ ! -e "$LINUX" ] || die "$LINUX exists but was not made by this script; remove it"
	note "extracting $SRC_PKG $(src_version) into $tree"
	mkdir -p "$LINUX.tmp"
	tar -xJf "$tarball" -C "$LINUX.tmp" --strip-components=1
	(
		cd "$LINUX.tmp"
		git init -q -b master
		git config user.name "iommu-bpf"
		git config user.email "iommu-bpf@localhost"
		git config gc.auto 0
		# Debian's .gitignore ignores the whole top level (its packaging
		# repo holds no source); drop that so new files show up.
		sed -i -e '\|^/\*$|d' -e '\|^!/debian/$|d' .gitignore
		# The .gitignore matches its own '.*' rule: track it anyway, so
		# worktrees of this tree ignore build output too.
		git add -A
		git add -f .gitignore
		git commit -q --no-verify -m "Linux $(make -s kernelversion) ($SRC_PKG $(src_version))"
		git tag base
	)
	mv "$LINUX.tmp" "$LINUX"
fi

mapfile -t patches < <(series_patches)
if [ ${#patches[@]} -gt 0 ]; then
	note "applying ${#patches[@]} patches"
	git -C "$LINUX" am -q --keep-cr "${patches[@]}" ||
		die "$rel does not apply to $SRC_PKG $(src_version); see 'git -C $tree am --show-current-patch'"
fi
echo "$key $(git -C "$LINUX" rev-parse HEAD)" > "$stamp"

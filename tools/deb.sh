#!/bin/bash
# make deb: the tools package (debian/) built by Debian's own tools,
# dpkg-buildpackage -b in a copy of the tree (build/deb/iommu-bpf-VERSION:
# the tree as it is, uncommitted changes too, without build/ and .git), so
# the .deb, its -dbgsym, .buildinfo and .changes land in build/deb/.  Then
# lintian on the .changes: any error fails (build/deb/lintian.log).
#
# The package's version is the top-level VERSION: when debian/changelog's
# last entry is older, the copy gets an entry for VERSION on top.
set -euo pipefail
. "$(dirname "$0")/../kernel/scripts/common.sh"

version=$(cat "$TOP/VERSION")
out=$BUILD/deb
src=$out/iommu-bpf-$version
mkdir -p "$out"
rm -rf "$src" "$out"/iommu-bpf_* "$out"/iommu-bpf-dbgsym_*
mkdir -p "$src/build"

if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$TOP" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$TOP/$f" ] && printf '%s\0' "$f"
		done | tar -C "$TOP" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$TOP" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
# libbpf and bpftool as 'make bpftools' cached them (else debian/rules
# builds them from linux-source-6.12)
[ ! -d "$BUILD/bpftools" ] || ln -s "$(readlink -f "$BUILD/bpftools")" "$src/build/bpftools"

if [ "$(cd "$src" && dpkg-parsechangelog -S Version)" != "$version" ]; then
	note "debian/changelog: no entry for $version (VERSION): adding one to the copy"
	{
		echo "iommu-bpf ($version) bookworm; urgency=medium"
		echo
		echo "  * New version $version (VERSION)."
		echo
		echo " -- $(cd "$src" && dpkg-parsechangelog -S Maintainer)  $(date -R)"
		echo
		cat "$src/debian/changelog"
	} > "$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
fi

note "dpkg-buildpackage -b in build/deb/iommu-bpf-$version (log: build/deb/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -jauto) > "$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	die "dpkg-buildpackage failed (build/deb/build.log)"
fi
changes=$out/iommu-bpf_${version}_amd64.changes
deb=$out/iommu-bpf_${version}_amd64.deb
[ -f "$deb" ] || die "dpkg-buildpackage made no $deb"

# Errors fail; warnings and the rest are shown.  The overrides
# (debian/iommu-bpf.lintian-overrides) say why each one is there.
rc=0
lintian --fail-on error --display-info "$changes" > "$out/lintian.log" 2>&1 || rc=$?
grep -v "running with root privileges" "$out/lintian.log" | sed "s/^/lintian: /" >&2 || true
[ "$rc" = 0 ] || die "lintian found errors in $(basename "$changes") (build/deb/lintian.log)"
note "built $deb"

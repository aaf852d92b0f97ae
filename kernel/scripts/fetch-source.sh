#!/bin/bash
# Fetch the kernel source a series is written against when the host does
# not ship it: linux-source-$KERNEL from Debian unstable, downloaded with
# apt through a state of its own (tools/debian-apt.sh) and unpacked into
# the cache, keyed by its Debian version.  Records the version in
# $CACHE/src/linux-source-$KERNEL.version and points
# $CACHE/src/linux-source-$KERNEL.current at the unpacked package.
#
#   KERNEL=7.2 fetch-source.sh
#
# The version moves with unstable's uploads, as 6.12's does with security
# updates: a new one is a new tree and a new kernel key.  If unstable no
# longer has the package (a newer kernel replaced it), the last version
# fetched is used, and said.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$TOP/tools/debian-apt.sh"

[ "$KERNEL" != 6.12 ] || exit 0	# the host's package (make deps)
src=$CACHE/src
mkdir -p "$src"
have=$(cat "$src/$SRC_PKG.version" 2>/dev/null || true)

version=
if debian_apt_init "$CACHE/apt/src-sid" sid; then
	version=$(debian_apt_version "$SRC_PKG" || true)
fi
# Debian moved on (a newer kernel replaced $SRC_PKG in unstable) and this
# machine never fetched it: not a failure of any change here.  Exit 4 and
# say why in $UNAVAILABLE, which make kernels and selftests/run.sh read
# (the profiles that boot this kernel are counted as skipped, with the
# reason).
UNAVAILABLE=$BUILD/kernel$KSUFFIX.unavailable
if [ -z "$version" ]; then
	if [ -n "$have" ] && [ -f "$(src_tarball)" ]; then
		note "$SRC_PKG: unstable has none now; using $have, fetched before"
		rm -f "$UNAVAILABLE"
		exit 0
	fi
	mkdir -p "$BUILD"
	echo "Debian unstable has no $SRC_PKG today (a newer kernel replaced it, or apt cannot reach unstable) and this machine never fetched one: port the series to what unstable has (kernel/README.md)" \
		> "$UNAVAILABLE"
	note "$(cat "$UNAVAILABLE")"
	exit 4
fi
rm -f "$UNAVAILABLE"

dest=$src/${SRC_PKG}_${version}_all
if [ ! -f "$dest/.complete" ]; then
	note "fetching $SRC_PKG $version from Debian unstable"
	state=$CACHE/apt/src-sid
	(cd "$state/archives" && apt-get "${apt_opts[@]}" -qq download "$SRC_PKG=$version" >&2) ||
		die "downloading $SRC_PKG $version failed"
	rm -rf "$dest.tmp"
	dpkg-deb -x "$state/archives/${SRC_PKG}_${version}_all.deb" "$dest.tmp"
	touch "$dest.tmp/.complete"
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	rm -f "$state/archives/${SRC_PKG}_"*.deb
fi
ln -sfn "$(basename "$dest")" "$src/$SRC_PKG.current"
echo "$version" > "$src/$SRC_PKG.version"
# Only the current version is kept (its tarball is about 160 MB)
find "$src" -mindepth 1 -maxdepth 1 -name "${SRC_PKG}_*" ! -name "$(basename "$dest")" \
	-exec rm -rf {} +
[ "$version" = "$have" ] || note "$SRC_PKG $version (was ${have:-none})"

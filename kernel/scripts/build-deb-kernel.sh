#!/bin/bash
# make deb-kernel: the patched kernel as Debian packages, by the kernel's
# own 'make bindeb-pkg' on build/linux with the project's config.
#
# The tree, the .config and the make command line are build-kernel.sh's
# (prepare-tree.sh, make-config.sh, kmake after kbuild_env), so the objects
# a 'make kernel' build left in build/linux are reused: kbuild redoes
# init/version.o (the package revision is the build version in 'uname -v')
# and the links, and ccache serves whatever else is missing (a tree that
# 'make kernel' only linked from its cache is compiled here, mostly from
# ccache).  Not part of 'make test'.
#
# Packages, in build/deb/kernel/ (bindeb-pkg writes them beside build/linux;
# they are moved): linux-image-<release> (bzImage, modules), linux-headers-
# <release> (out-of-tree modules), linux-libc-dev (the UAPI headers, the
# series' <linux/iommu_policy.h> among them; it replaces Debian's
# linux-libc-dev when installed: install the image alone to boot it).
# KDEB_DBG=1 adds linux-image-<release>-dbg (the unstripped vmlinux and
# modules: CONFIG_DEBUG_INFO is on), left out by default for its size.
#
# Version: <kernelversion>-1+iommubpf<VERSION>, e.g. 6.12.117-1+iommubpf0.9.0.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ -z "$FLAVOR" ] || die "make deb-kernel packages the patched kernel (FLAVOR=$FLAVOR is not packaged)"
out=$BUILD/deb/kernel
mkdir -p "$BUILD" "$out"

# One build of build/linux at a time: build-kernel.sh takes this lock to
# prepare the tree; held here for the whole build, so that no other
# prepare-tree.sh resets the tree under it
exec 9> "$BUILD/.linux.lock"
flock 9
"$TOP/kernel/scripts/prepare-tree.sh"
kbuild_env
"$TOP/kernel/scripts/make-config.sh"

version=$(cat "$TOP/VERSION")
kver=$(kmake -s kernelversion)
release=$(kmake -s kernelrelease)
pkgver=$kver-1+iommubpf$version
profiles=pkg.linux-upstream.nokerneldbg
[ "${KDEB_DBG:-0}" != 1 ] || profiles=
# The changelog's maintainer (scripts/package/mkdebian): debian/control's
maint=$(sed -n 's/^Maintainer: //p' "$TOP/debian/control" | head -n 1)
export DEBFULLNAME=${maint% <*}
DEBEMAIL=${maint##*<}
export DEBEMAIL=${DEBEMAIL%>}

# What bindeb-pkg writes: in build/linux's parent directory
parent=$(dirname "$LINUX")
rm -f "$parent"/linux-upstream_"$pkgver"_* "$parent"/linux-*_"$pkgver"_*.deb
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes

note "bindeb-pkg: linux-image-$release $pkgver ($JOBS jobs, ccache $CCACHE_DIR; log: build/deb/kernel/build.log)"
start=$(date +%s)
# CC and HOSTCC reach debian/rules' own make through MAKEFLAGS, as
# bindeb-pkg's dpkg-buildpackage runs it under this make's jobserver
if ! kmake -j"$JOBS" KBUILD_VERBOSE=0 bindeb-pkg \
		KDEB_PKGVERSION="$pkgver" KDEB_CHANGELOG_DIST=bookworm \
		DPKG_FLAGS="${profiles:+-P$profiles}" > "$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	die "bindeb-pkg failed (build/deb/kernel/build.log)"
fi
note "built in $(($(date +%s) - start)) s"

shopt -s nullglob
debs=("$parent"/linux-*_"$pkgver"_*.deb)
[ ${#debs[@]} -gt 0 ] || die "bindeb-pkg made no package in $parent"
mv "${debs[@]}" "$parent"/linux-upstream_"$pkgver"_*.buildinfo \
	"$parent"/linux-upstream_"$pkgver"_*.changes "$out/"
ls -1 "$out"/*.deb | sed "s|^$TOP/||" >&2

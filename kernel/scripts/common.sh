# Paths and keys shared by the kernel scripts.  Sourced, not executed.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
JOBS=${JOBS:-$(($(nproc) + 1))}

# KERNEL: which kernel and which series (make kernel KERNEL=7.2).
#   7.2   mainline: kernel/patches in kernel/series, on Debian unstable's
#         linux-source-7.2 (kernel/scripts/fetch-source.sh), in build/linux-7.2,
#         booted from build/kernel-7.2
#   6.12  the LTS backport (the default: what most profiles boot):
#         kernel/patches-6.12 in kernel/series-6.12, on Debian 12's
#         linux-source-6.12 (make deps), in build/linux, booted from build/kernel
KERNEL=${KERNEL:-6.12}
case "$KERNEL" in
6.12)	KSUFFIX= SERIES=$TOP/kernel/series-6.12 PATCHES=$TOP/kernel/patches-6.12 ;;
7.2)	KSUFFIX=-7.2 SERIES=$TOP/kernel/series PATCHES=$TOP/kernel/patches ;;
*)	echo "error: KERNEL=$KERNEL: the series exists for 7.2 (mainline) and 6.12 (backport)" >&2
	exit 2 ;;
esac
SRC_PKG=linux-source-$KERNEL
# FLAVOR=debug: the debug kernel, built in its own tree with the fragments
# of kernel/config/debug/ on top (make kernel-debug)
# FLAVOR=unpatched: the same config on the bare source, without the
# series (make kernel-unpatched; what make bench compares against)
FLAVOR=${FLAVOR:-}
case "$FLAVOR" in
debug|unpatched)	LINUX=${LINUX:-$BUILD/linux$KSUFFIX-$FLAVOR} ;;
*)			LINUX=${LINUX:-$BUILD/linux$KSUFFIX} ;;
esac
# The kernel a profile boots: build/kernel[-7.2][-debug|-unpatched]
KLINK=$BUILD/kernel$KSUFFIX${FLAVOR:+-$FLAVOR}

die() { echo "error: $*" >&2; exit 1; }

# How every build of $LINUX runs make: ccache, and a fixed build identity
# (the same sources give the same objects, which keeps ccache hits high
# across trees extracted at different times).  kbuild compares command
# lines: 'make deb-kernel' reuses what 'make kernel' built only because
# both call kmake after kbuild_env.
kbuild_env() {
	export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
	export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
	export CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime
	# Hash paths relative to the tree, so clones in other directories hit too.
	export CCACHE_BASEDIR=$LINUX CCACHE_NOHASHDIR=true
	export KBUILD_BUILD_TIMESTAMP="@0" KBUILD_BUILD_USER=iommu-bpf KBUILD_BUILD_HOST=vm
}
kmake() { make -C "$LINUX" -s CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }
note() { echo "==> $*" >&2; }

# The source tarball and its Debian version.  6.12 is the host's package
# (make deps); the other kernels are fetched from Debian unstable into the
# cache by fetch-source.sh, which records the version it unpacked.
src_tarball() {
	if [ "$KERNEL" = 6.12 ]; then
		echo "/usr/src/$SRC_PKG.tar.xz"
	else
		echo "$CACHE/src/$SRC_PKG.current/usr/src/$SRC_PKG.tar.xz"
	fi
}
src_version() {
	if [ "$KERNEL" = 6.12 ]; then
		dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null ||
			die "$SRC_PKG is not installed: run 'make deps'"
	else
		cat "$CACHE/src/$SRC_PKG.version" 2>/dev/null ||
			die "$SRC_PKG was not fetched: run kernel/scripts/fetch-source.sh (make kernel KERNEL=$KERNEL does)"
	fi
}

# Patches in series order, one path per line.
series_patches() {
	local p rel=${PATCHES#"$TOP"/}
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		[ -f "$PATCHES/$p" ] ||
			die "${SERIES#"$TOP"/} names $p, which is not in $rel/"
		echo "$PATCHES/$p"
	done < "$SERIES"
}

# What a tree is made of: the source version and the patches.
tree_key() {
	{
		echo "src $(src_version)"
		[ "$FLAVOR" = unpatched ] ||
			series_patches | while read -r p; do sha256sum < "$p"; done
	} | sha256sum | cut -c1-16
}

# What a built kernel is made of: the tree, the config fragments and the
# compiler.  (Bump KERNEL_KEY_EPOCH when the way a .config or bzImage is made
# from them changes.)
KERNEL_KEY_EPOCH=3
kernel_key() {
	{
		echo "epoch $KERNEL_KEY_EPOCH"
		tree_key
		echo "base $(config_base)"
		config_fragments | xargs cat
		gcc --version | head -n 1
	} | sha256sum | cut -c1-16
}

# The config the fragments start from: only what a profile boots
# (kernel/config/05-base.config says why)
config_base() {
	echo allnoconfig
}

# The fragments of this kernel and flavor, in merge order: the shared ones,
# then kernel/config/$KERNEL/ (where a newer kernel differs), then debug/
config_fragments() {
	ls "$TOP"/kernel/config/*.config
	[ "$KERNEL" = 6.12 ] || ls "$TOP/kernel/config/$KERNEL"/*.config
	[ "$FLAVOR" != debug ] || ls "$TOP"/kernel/config/debug/*.config
}

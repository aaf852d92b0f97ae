# Paths and keys shared by the kernel scripts.  Sourced, not executed.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
# FLAVOR=debug: the debug kernel, built in its own tree with the fragments
# of kernel/config/debug/ on top (make kernel-debug)
# FLAVOR=unpatched: the same config on the bare source, without the
# series (make kernel-unpatched; what make bench compares against)
FLAVOR=${FLAVOR:-}
case "$FLAVOR" in
debug)		LINUX=${LINUX:-$BUILD/linux-debug} ;;
unpatched)	LINUX=${LINUX:-$BUILD/linux-unpatched} ;;
*)		LINUX=${LINUX:-$BUILD/linux} ;;
esac
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
SRC_PKG=linux-source-6.12
SRC_TARBALL=/usr/src/$SRC_PKG.tar.xz
JOBS=${JOBS:-$(($(nproc) + 1))}

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

src_version() {
	dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null ||
		die "$SRC_PKG is not installed: run 'make deps'"
}

# Patches in series order, one path per line.
series_patches() {
	local p
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		[ -f "$TOP/kernel/patches/$p" ] ||
			die "kernel/series names $p, which is not in kernel/patches/"
		echo "$TOP/kernel/patches/$p"
	done < "$TOP/kernel/series"
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

# The fragments of this flavor, in merge order
config_fragments() {
	ls "$TOP"/kernel/config/*.config
	[ "$FLAVOR" != debug ] || ls "$TOP"/kernel/config/debug/*.config
}

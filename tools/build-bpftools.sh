#!/bin/bash
# libbpf (static) and bpftool from the 6.12 tree's tools/, as
# tools/sched_ext does: Debian's libbpf 1.1 and bpftool 7.1 are too old for
# what iommuctl uses.  The tree's BPF UAPI headers go with them: Debian 12's
# <linux/bpf.h> (6.1) lacks fields iommuctl reads (kprobe link misses).
# Cached by source version in $CACHE/bpftools/<version>;
# build/bpftools points at the copy to use.
set -euo pipefail
. "$(dirname "$0")/../kernel/scripts/common.sh"

out=$CACHE/bpftools/$(src_version)
if [ ! -x "$out/bpftool" ] || [ ! -f "$out/libbpf.a" ] ||
   [ ! -f "$out/include/linux/bpf.h" ]; then
	"$TOP/kernel/scripts/prepare-tree.sh"
	note "building libbpf and bpftool from $SRC_PKG $(src_version)"
	obj=$BUILD/bpftools-obj
	rm -rf "$obj"
	mkdir -p "$obj/libbpf" "$obj/bpftool" "$CACHE/bpftools"
	tmp=$(mktemp -d "$CACHE/bpftools/.tmp.XXXXXX")
	make -s -C "$LINUX/tools/lib/bpf" OUTPUT="$obj/libbpf/" CC=gcc \
		BUILD_STATIC_ONLY=1 DESTDIR="$tmp" prefix= \
		-j"$JOBS" "$obj/libbpf/libbpf.a" install_headers >/dev/null
	cp "$obj/libbpf/libbpf.a" "$tmp/"
	mkdir -p "$tmp/include/linux"
	cp "$LINUX"/tools/include/uapi/linux/{bpf.h,bpf_common.h,btf.h} "$tmp/include/linux/"
	make -s -C "$LINUX/tools/bpf/bpftool" OUTPUT="$obj/bpftool/" CC=gcc \
		CLANG=clang-19 LLVM_STRIP=llvm-strip-19 \
		LIBBPF_OUTPUT="$obj/bpftool/libbpf/" \
		LIBBPF_DESTDIR="$obj/bpftool/libbpf-dest/" \
		-j"$JOBS" >/dev/null 2>"$obj/bpftool.log" ||
		{ cat "$obj/bpftool.log" >&2; die "bpftool build failed"; }
	cp "$obj/bpftool/bpftool" "$tmp/"
	chmod 755 "$tmp"
	rm -rf "$out"
	mv "$tmp" "$out"
fi
mkdir -p "$BUILD"
ln -sfn "$out" "$BUILD/bpftools"

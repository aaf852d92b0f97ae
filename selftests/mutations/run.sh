#!/bin/bash
# Show that tests can fail.  Each NAME.patch here breaks the kernel on
# purpose, in a way the attach policy test NAME must catch.  For each: apply
# it to build/linux (the series' tree), rebuild, boot the policy profile
# running only NAME on that kernel, and expect NAME to fail; then restore
# the tree and rebuild it.  Not part of 'make test': one kernel rebuild and
# one boot per mutation (about 3 minutes each on two cores).
#
#   selftests/mutations/run.sh [NAME...]        (default: every patch here)
#
# Exit status: 0 when every mutation was caught by its test.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
LINUX=$TOP/build/linux
OUT=$TOP/build/mutations
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache} CCACHE_BASEDIR=$LINUX CCACHE_NOHASHDIR=true
export KBUILD_BUILD_TIMESTAMP="@0" KBUILD_BUILD_USER=iommu-bpf KBUILD_BUILD_HOST=vm
kmake() { make -C "$LINUX" -s -j"$(($(nproc) + 1))" CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }

names=("$@")
[ ${#names[@]} -gt 0 ] || mapfile -t names < <(cd "$HERE" && ls *.patch | sed 's/\.patch$//')
[ -z "$(git -C "$LINUX" status --porcelain --untracked-files=no)" ] ||
	{ echo "build/linux has uncommitted changes: commit or export them first" >&2; exit 1; }
[ -f "$LINUX/.config" ] || { echo "build/linux is not built: run 'make kernel'" >&2; exit 1; }

caught=0 missed=0
for name in "${names[@]}"; do
	patch=$HERE/$name.patch
	[ -f "$patch" ] || { echo "no mutation $patch" >&2; exit 2; }
	mkdir -p "$OUT/$name"
	git -C "$LINUX" apply "$patch" || { echo "$name: does not apply" >&2; exit 1; }
	kmake bzImage > "$OUT/$name/build.log" 2>&1
	rc=$?
	cp "$LINUX/arch/x86/boot/bzImage" "$OUT/$name/bzImage" 2>/dev/null
	git -C "$LINUX" checkout -q -- .
	[ $rc = 0 ] || { echo "$name: the broken kernel does not build:" >&2; tail "$OUT/$name/build.log" >&2; exit 1; }

	KERNEL_IMAGE=$OUT/$name/bzImage VM_OUT=$OUT/$name/vm \
		"$TOP/selftests/run-vm.sh" policy -k "$name" > /dev/null 2> "$OUT/$name/vm.err"
	rc=$?
	tap=$OUT/$name/vm/results.tap
	if [ $rc != 0 ] && grep -q "^not ok - policy: $name\$" "$tap"; then
		caught=$((caught + 1))
		echo "caught: $name fails on a kernel with $(basename "$patch"):"
		grep -A4 "^not ok - policy: $name\$" "$tap" | sed 's/^/    /'
	else
		missed=$((missed + 1))
		echo "MISSED: $name did not fail on a kernel with $(basename "$patch") (run-vm.sh exit $rc)"
		grep "$name" "$tap" 2>/dev/null | sed 's/^/    /'
	fi
done
# Back to the series as it is
kmake bzImage > "$OUT/restore.log" 2>&1 || { echo "rebuilding build/linux failed" >&2; exit 1; }
echo "$caught caught, $missed missed"
[ $missed = 0 ]

#!/bin/bash
# Build the patched kernel, or reuse a cached one built from the same inputs.
#
#   [KERNEL=6.12|7.2] [FLAVOR=debug|unpatched] build-kernel.sh [--if-cached|--unavailable-ok]
#
# The cache lives outside the repo ($CACHE/kernels/<key>/), keyed by the
# source version, the patches, the config fragments and this script, so a
# fresh clone whose kernel inputs did not change boots in minutes.
# build/kernel (build/kernel-7.2, build/kernel-debug, ...: $KLINK) points at
# the kernel to boot.
set -euo pipefail
. "$(dirname "$0")/common.sh"

# --unavailable-ok: Debian no longer has the source and it was never
# fetched here (fetch-source.sh exits 4 and says why): build nothing, exit 0
rc=0
"$TOP/kernel/scripts/fetch-source.sh" || rc=$?
if [ $rc = 4 ] && [ "${1:-}" = --unavailable-ok ]; then
	rm -f "$KLINK"
	note "kernel $KERNEL is not built today; its profiles will be skipped with that reason"
	exit 0
fi
[ $rc = 0 ] || exit $rc
key=$(kernel_key)
out=$CACHE/kernels/$key
link=$KLINK
name="kernel $KERNEL${FLAVOR:+ ($FLAVOR)}"
mkdir -p "$BUILD" "$CACHE/kernels"
if [ -f "$out/bzImage" ] && [ "${FORCE:-0}" != 1 ]; then
	ln -sfn "$out" "$link"
	note "$name $key from cache ($out)"
	exit 0
fi
# --if-cached: link a cached kernel, never build one (exit 3 if none)
if [ "${1:-}" = --if-cached ]; then
	rm -f "$link"
	note "$name $key is not in the cache"
	exit 3
fi

# Both flavors may build at once (make test): one prepares build/linux
# while the other waits for it
exec 9> "$BUILD/.linux$KSUFFIX.lock"
flock 9
if [ -n "$FLAVOR" ]; then
	# A worktree of build/linux, its own objects: at the same commit
	# (debug), or at the bare source (unpatched)
	FLAVOR= "$TOP/kernel/scripts/prepare-tree.sh"
	main=$BUILD/linux$KSUFFIX
	[ -d "$LINUX" ] || git -C "$main" worktree add -q --detach "$LINUX" HEAD
	rev=HEAD
	[ "$FLAVOR" != unpatched ] || rev=base
	git -C "$LINUX" checkout -q --detach "$(git -C "$main" rev-parse "$rev")"
else
	"$TOP/kernel/scripts/prepare-tree.sh"
fi
flock -u 9

# ccache and the fixed build identity (common.sh)
kbuild_env

"$TOP/kernel/scripts/make-config.sh"

# The debug flavor has no modules: 'make modules' would refuse to run
modules=
grep -q '^CONFIG_MODULES=y' "$LINUX/.config" && modules=modules
note "building bzImage${modules:+ and modules} ($JOBS jobs, ccache $CCACHE_DIR)"
start=$(date +%s)
# A cold build is quiet for half an hour: say every five minutes how far it is
(
	while sleep 300; do
		note "$name: $(find "$LINUX" -name '*.o' -newer "$LINUX/.config" | wc -l) objects" \
			"built in $((($(date +%s) - start) / 60)) min"
	done
) & ticker=$!
trap 'kill $ticker 2>/dev/null || :' EXIT
kmake -j"$JOBS" bzImage $modules
kill $ticker 2>/dev/null || :
note "built in $(($(date +%s) - start)) s"

tmp=$(mktemp -d "$CACHE/kernels/.$key.XXXXXX")
cp "$LINUX/arch/x86/boot/bzImage" "$LINUX/.config" "$LINUX/System.map" "$tmp/"
# The boot profile's drivers: modules/lib/modules/$(cat release)/
kmake -s kernelrelease > "$tmp/release"
[ -z "$modules" ] ||
	kmake INSTALL_MOD_PATH="$tmp/modules" INSTALL_MOD_STRIP=1 DEPMOD=/sbin/depmod \
		modules_install >/dev/null
# The policy UAPI header, for user space built against this kernel
mkdir -p "$tmp/include/linux"
[ "$FLAVOR" = unpatched ] ||
	cp "$LINUX/include/uapi/linux/iommu_policy.h" "$tmp/include/linux/"
objcopy --dump-section .BTF="$tmp/vmlinux.btf" "$LINUX/vmlinux" /dev/null 2>/dev/null ||
	objcopy -O binary --only-section=.BTF "$LINUX/vmlinux" "$tmp/vmlinux.btf"
echo "$(src_version) $(git -C "$LINUX" describe --always --tags)" > "$tmp/version"
rm -rf "$out"
chmod 755 "$tmp"
mv "$tmp" "$out"
ln -sfn "$out" "$link"
note "$name $key cached in $out"

#!/bin/bash
# The tools package in a fresh Debian 12: 'make deb' builds it (lintian
# errors fail that), then apt-get installs it, with what it depends on and
# recommends from Debian's archive, into a minbase bookworm chroot, where
# 'iommuctl --version' and 'man -w iommuctl' must work; then it purges.
# TAP with a plan, for selftests/host/run.sh's suite().
#
# The chroot: 'mmdebstrap --variant=minbase --include=man-db bookworm' from
# deb.debian.org (man-db for 'man -w': not a dependency of the package), kept
# as a tarball in $CACHE/deb-chroot/<key>.tar.zst, keyed by the suite, the
# variant, the mirrors and the extra packages, and made anew when older than
# $DEB_CHROOT_MAX_DAYS days (7: its apt lists go stale).  It keeps its apt
# lists, so a warm run needs no 'apt-get update' (done only when an install
# fails on stale lists).  Every run extracts it into build/deb/chroot: a
# fresh root each time.  The .debs apt downloads into it are kept beside the
# tarball and put back in the next run's root, which then downloads nothing.
# Commands run in the root inside a private mount namespace (unshare -m):
# its /proc mount goes away with them.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/kernel/scripts/common.sh"

SUITE=bookworm
VARIANT=minbase
EXTRA=man-db
MIRRORS=(
	"deb http://deb.debian.org/debian $SUITE main"
	"deb http://deb.debian.org/debian $SUITE-updates main"
	"deb http://deb.debian.org/debian-security $SUITE-security main"
)
MAX_DAYS=${DEB_CHROOT_MAX_DAYS:-7}
version=$(cat "$TOP/VERSION")
deb=$BUILD/deb/iommu-bpf_${version}_amd64.deb
root=$BUILD/deb/chroot
# (bump the epoch when the way the tarball is made changes)
key=$(printf '%s\n' "epoch 1" "$SUITE" "$VARIANT" "$EXTRA" "${MIRRORS[@]}" | sha256sum | cut -c1-16)
store=$CACHE/deb-chroot
tarball=$store/$SUITE-$VARIANT-$key.tar.zst
archives=$store/archives-$key

echo "1..6"
failed=0
ok() { echo "ok - deb: $*"; }
not_ok() { echo "not ok - deb: $*"; failed=1; }
# show FILE: the last lines of a log, as TAP comments
show() { tail -n "${2:-20}" "$1" | sed 's/^/# /'; }
now() { date +%s; }
t0=$(now)

# inroot CMD...: CMD in the root, with /proc, a clean environment, no
# service started by a maintainer script (policy-rc.d)
inroot() {
	unshare --mount --propagation private -- sh -c \
		'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# 1. the package
log=$BUILD/deb/test-build.log
mkdir -p "$BUILD/deb"
if "$TOP/tools/deb.sh" > "$log" 2>&1 && [ -f "$deb" ]; then
	ok "make deb builds $(basename "$deb"), lintian finds no error ($(($(now) - t0)) s)"
	grep '^lintian: ' "$log" | sed 's/^/# /'
else
	not_ok "make deb builds $(basename "$deb"), lintian finds no error"
	show "$log" 30
	for n in 2 3 4 5 6; do echo "not ok - deb: skipped, no package (check $n)"; done
	exit 1
fi

# 2. the chroot, from the cache or made now
t1=$(now)
mkdir -p "$store"
exec 8> "$store/.lock"
flock 8
if [ -f "$tarball" ] && [ -n "$(find "$tarball" -mtime -"$MAX_DAYS")" ]; then
	how="cached $(basename "$tarball")"
else
	# this key's old tarball and any other key's that is as old
	find "$store" -maxdepth 1 \( -name '*.tar.zst' -o -name '*.tmp' \) -mtime +"$MAX_DAYS" -delete
	rm -f "$tarball.tmp"
	rm -rf "$archives"
	if mmdebstrap --quiet --variant="$VARIANT" --include="$EXTRA" \
		--skip=cleanup/apt/lists --aptopt='Acquire::Languages "none"' \
		--format=tar "$SUITE" - "${MIRRORS[@]}" 2> "$store/mmdebstrap.log" |
		zstd -q -T0 -o "$tarball.tmp"; then
		mv "$tarball.tmp" "$tarball"
		how="made by mmdebstrap into $tarball"
	else
		rm -f "$tarball.tmp"
		how=
	fi
fi
flock -u 8
rm -rf "$root"
mkdir -p "$root" "$archives"
if [ -n "$how" ] && zstd -dc "$tarball" | tar -C "$root" -xf - &&
	[ -x "$root/usr/bin/apt-get" ]; then
	cp "$archives"/*.deb "$root/var/cache/apt/archives/" 2>/dev/null
	printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	ok "a fresh $SUITE $VARIANT chroot with $EXTRA, $how ($(($(now) - t1)) s)"
else
	not_ok "a fresh $SUITE $VARIANT chroot with $EXTRA (mmdebstrap from deb.debian.org)"
	[ ! -f "$store/mmdebstrap.log" ] || show "$store/mmdebstrap.log"
	for n in 3 4 5 6; do echo "not ok - deb: skipped, no chroot (check $n)"; done
	exit 1
fi

# 3. apt-get install ./the.deb: Depends and Recommends from the archive
t1=$(now)
cp "$deb" "$root/tmp/"
log=$BUILD/deb/test-install.log
apt_install() {
	inroot apt-get install -y -q -o Dpkg::Use-Pty=0 "/tmp/$(basename "$deb")" > "$log" 2>&1
}
if ! apt_install; then
	# stale lists (a package superseded in the archive): refresh, retry
	echo "# the cached apt lists are stale: apt-get update"
	inroot apt-get update -q >> "$log" 2>&1
	apt_install
fi
if inroot dpkg-query -W -f='${Status}\n' iommu-bpf 2>/dev/null | grep -qx 'install ok installed'; then
	ok "apt-get install ./$(basename "$deb") in the chroot ($(($(now) - t1)) s)"
	grep -E '^(Get|Setting up|update-initramfs|W: |E: )' "$log" |
		grep -E 'iommu-bpf|libelf|initramfs|^W|^E' | sed 's/^/# /'
	cp -n "$root"/var/cache/apt/archives/*.deb "$archives/" 2>/dev/null
else
	not_ok "apt-get install ./$(basename "$deb") in the chroot"
	show "$log" 30
fi

# 4. iommuctl runs: its libraries are there
out=$(inroot iommuctl --version 2>&1)
printf '%s\n' "$out" | sed 's/^/# chroot: iommuctl --version: /'
case "$(printf '%s\n' "$out" | head -n 1)" in
"iommuctl $version") ok "iommuctl --version in the chroot says $version" ;;
*) not_ok "iommuctl --version in the chroot says $version" ;;
esac

# 5. its manual page (make install puts build/iommuctl/man/iommuctl.8 in
# PREFIX/share/man)
out=$(inroot man -w iommuctl 2>&1)
echo "# chroot: man -w iommuctl: $out"
case "$out" in
/usr/share/man/man8/iommuctl.8*) ok "man -w iommuctl in the chroot finds the page" ;;
*)	not_ok "man -w iommuctl in the chroot finds the page"
	dpkg-deb -c "$deb" | grep -q '/usr/share/man/man8/iommuctl\.8' ||
		echo "# the package has no /usr/share/man/man8/iommuctl.8: 'make install' (tools/iommuctl) does not install it" ;;
esac

# 6. the conffile, the enabled unit, then a purge that leaves nothing
purge_check() {
	local bad=0 f
	inroot dpkg-query -W -f='${Conffiles}\n' iommu-bpf | grep -q '^ /etc/iommu-policy.conf ' ||
		{ echo "# /etc/iommu-policy.conf is not a conffile"; bad=1; }
	[ -L "$root/etc/systemd/system/sysinit.target.wants/iommu-policy.service" ] ||
		{ echo "# iommu-policy.service is not enabled"; bad=1; }
	# Exporting metrics is opt-in: shipped, not enabled
	[ -f "$root/lib/systemd/system/iommuctl-metrics.service" ] &&
		[ ! -e "$root/etc/systemd/system/multi-user.target.wants/iommuctl-metrics.service" ] ||
		{ echo "# iommuctl-metrics.service is missing, or enabled"; bad=1; }
	inroot apt-get purge -y -q -o Dpkg::Use-Pty=0 iommu-bpf > "$BUILD/deb/test-purge.log" 2>&1 ||
		{ show "$BUILD/deb/test-purge.log"; return 1; }
	for f in etc/iommu-policy.conf usr/sbin/iommuctl usr/lib/iommu-bpf \
		etc/systemd/system/sysinit.target.wants/iommu-policy.service; do
		[ ! -e "$root/$f" ] && [ ! -L "$root/$f" ] || { echo "# /$f is left after purge"; bad=1; }
	done
	return $bad
}
if purge_check; then
	ok "/etc/iommu-policy.conf is a conffile, the policy's unit enabled, the metrics unit not, and apt-get purge removes it all"
else
	not_ok "/etc/iommu-policy.conf is a conffile, the policy's unit enabled, the metrics unit not, and apt-get purge removes it all"
fi

rm -rf "$root"
echo "# test_deb: $(($(now) - t0)) s"
exit $failed

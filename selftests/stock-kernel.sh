#!/bin/bash
# A distribution kernel without the series, for iommuctl's fallback:
# download it with apt, through a sources list and state directory of our
# own (the host's suites are never touched), and unpack it into the cache,
# keyed by its Debian version.  Prints the kernel image's path; its modules
# are in lib/modules/ beside it (the VM bind-mounts them).
#
#   selftests/stock-kernel.sh 6.12     # Debian 12's 6.12 LTS kernel
#   selftests/stock-kernel.sh newest   # the newest kernel of Debian unstable
#
# The 6.1 kernel of the 'stock' profile is the host's own (make deps).
set -euo pipefail

CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
which=${1:?usage: $0 6.12|newest}

case "$which" in
6.12)	suites="bookworm bookworm-updates"; security=bookworm-security
	meta=linux-image-6.12-amd64 ;;
newest)	suites="sid"; security=""; meta=linux-image-amd64 ;;
*)	echo "stock-kernel.sh: unknown kernel '$which' (want 6.12 or newest)" >&2; exit 2 ;;
esac

die() { echo "stock-kernel.sh: $*" >&2; exit 1; }

. "$(dirname "$0")/../tools/debian-apt.sh"
debian_apt_init "$CACHE/apt/$which" "$suites" "$security" || die "apt-get update ($suites) failed"
state=$CACHE/apt/$which

# The meta package names the versioned image; newer Debian splits the image
# into linux-binary-* (the kernel) and linux-modules-* (its modules).
deps() { apt-cache "${apt_opts[@]}" depends "$1" 2>/dev/null | sed -n 's/^ *Depends: //p'; }
image=$(deps "$meta" | grep -m1 '^linux-image-') || die "$meta names no linux-image package"
pkgs=("$image")
for d in $(deps "$image"); do
	case "$d" in linux-binary-*|linux-modules-*) pkgs+=("$d") ;; esac
done
version=$(debian_apt_version "$image")
[ -n "$version" ] || die "no version for $image"

kinds=$CACHE/stock-kernels/$which
dest=$kinds/$(echo "${image}_$version" | tr -c "A-Za-z0-9._\n-" _)
if [ ! -f "$dest/.complete" ]; then
	echo "==> fetching $image $version (${pkgs[*]})" >&2
	mkdir -p "$kinds"
	tmp=$(mktemp -d "$kinds/.tmp.XXXXXX")
	(cd "$state/archives" && apt-get "${apt_opts[@]}" -qq download "${pkgs[@]}" >&2) ||
		die "downloading ${pkgs[*]} failed"
	for p in "${pkgs[@]}"; do
		dpkg-deb -x "$state/archives/${p}_"*.deb "$tmp"
	done
	touch "$tmp/.complete"
	# Only the current version of each kind is kept.
	find "$kinds" -mindepth 1 -maxdepth 1 ! -name "$(basename "$tmp")" -exec rm -rf {} +
	mv "$tmp" "$dest"
	rm -f "$state/archives/"*.deb
fi

# The image: /boot/vmlinuz-KVER (6.12) or /usr/lib/modules/KVER/vmlinuz.
for kimg in "$dest"/boot/vmlinuz-* "$dest"/usr/lib/modules/*/vmlinuz; do
	[ -f "$kimg" ] && { echo "$kimg"; exit 0; }
done
die "no kernel image in $dest"

#!/bin/bash
# Install what iommu-bpf needs to build and test: Debian packages, and
# virtme-ng from PyPI in a venv under the user's cache (not in the repo).
# Idempotent and quiet when everything is already there.
set -euo pipefail

CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
VENV=$CACHE/venv
VIRTME_NG_VERSION=1.42

# Kernel build, kernel source, VM (QEMU + what vng needs in the guest).
PKGS=(
	linux-source-6.12
	bc bison flex libssl-dev libelf-dev dwarves cpio ccache zstd xz-utils
	gcc make git perl python3 python3-venv
	qemu-system-x86 busybox-static udev file kmod procps
	# BPF programs and libbpf/bpftool from the tree (iommuctl)
	clang-19 llvm-19 libelf-dev zlib1g-dev pkg-config
	# rst2man: iommuctl(8) and iommu-policy.rules(5) from tools/iommuctl/doc;
	# groff, man-db: the host test that renders them
	python3-docutils groff-base man-db
	# libFuzzer and the sanitizers' runtime (make fuzz, the rules parser)
	libclang-rt-19-dev
	# a stock kernel, to test iommuctl's fallback on a kernel without the series
	linux-image-amd64
	# real traffic for real drivers behind the IOMMU: an NVMe disk under
	# fio, a NIC under iperf3 (the 'intel' profile, make run)
	fio iperf3
	# iommuctl top's screen driven in tmux, and its metrics checked with
	# promtool (bookworm's prometheus package has /usr/bin/promtool; its
	# service is not started by the tests)
	tmux prometheus
	# iasl: the DMAR override (an RMRR) of the 'policy' VM profiles
	acpica-tools
	# the 'boot' profile: a real initramfs from the installed hook, an ext4
	# root filesystem image for its NVMe disk
	initramfs-tools e2fsprogs util-linux
	# make deb: the tools package by Debian's tools (dpkg-buildpackage,
	# debhelper), checked by lintian, installed by its host test into a
	# bookworm chroot that mmdebstrap makes (zstd keeps it in the cache);
	# make deb-kernel: bindeb-pkg's linux-libc-dev needs rsync
	dpkg-dev debhelper lintian mmdebstrap rsync
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "==> installing Debian packages: ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

if ! "$VENV/bin/vng" --version 2>/dev/null | grep -qx "virtme-ng $VIRTME_NG_VERSION"; then
	echo "==> installing virtme-ng $VIRTME_NG_VERSION into $VENV" >&2
	mkdir -p "$CACHE"
	/usr/bin/python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check "virtme-ng==$VIRTME_NG_VERSION"
fi

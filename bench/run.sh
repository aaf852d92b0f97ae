#!/bin/bash
# make bench: the tracing-overhead benchmark in one VM boot (intel-iommu, edu).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
export PATH=$CACHE/venv/bin:$PATH	# vng runs virtme-run from its venv
command -v bpftrace >/dev/null || {
	echo "==> installing bpftrace for the comparison" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null
}
exec timeout 1800 vng --disable-kvm --force-9p -r "$TOP/build/kernel/bzImage" \
	--cpus 2 -m 2G --append "intel_iommu=on" \
	--qemu-opts="-accel tcg,thread=single -machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=off -device edu" \
	--cwd "$TOP" -e "/usr/bin/python3 $TOP/bench/tracing-overhead-in-vm.py" </dev/null

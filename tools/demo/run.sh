#!/bin/bash
# make run: boot the patched kernel with an emulated Intel IOMMU and an edu
# device, and show what each DMA mode costs through iommuctl.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
export PATH=$CACHE/venv/bin:$PATH	# vng runs virtme-run from its venv
exec timeout 900 vng --disable-kvm --force-9p -r "$TOP/build/kernel/bzImage" \
	--cpus 2 -m 2G --append "intel_iommu=on" \
	--qemu-opts="-accel tcg,thread=single -machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=off -device edu" \
	--cwd "$TOP" -e "/usr/bin/python3 $TOP/tools/demo/run-in-vm.py" </dev/null

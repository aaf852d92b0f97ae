#!/bin/bash
# make run: boot the patched kernel with an emulated Intel IOMMU, an edu
# device, an NVMe disk and a NIC, and show what each DMA mode costs through
# iommuctl: dma_map_benchmark on edu, fio on the disk, iperf3 on the NIC.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${IOMMU_BPF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-bpf}
export PATH=$CACHE/venv/bin:$PATH	# vng runs virtme-run from its venv
. "$TOP/selftests/real-devices.sh"
out=$TOP/build/demo
mkdir -p "$out"
real_devices_start "$out" "$TOP/build/kernel/bzImage"
trap 'real_devices_stop "$out"' EXIT
timeout 1500 vng --disable-kvm --force-9p -r "$TOP/build/kernel/bzImage" \
	--cpus 2 -m 2G --append "intel_iommu=on" \
	--qemu-opts="-accel tcg,thread=single -machine kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=off -device edu $real_qemu" \
	--cwd "$TOP" -e "$real_env /usr/bin/python3 $TOP/tools/demo/run-in-vm.py" </dev/null

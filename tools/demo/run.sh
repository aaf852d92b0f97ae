#!/bin/bash
# make run: boot the patched kernel with an emulated Intel IOMMU, an edu
# device, an NVMe disk and a NIC, and show what each DMA mode costs through
# iommuctl: dma_map_benchmark on edu, fio on the disk, iperf3 on the NIC.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
out=$TOP/build/demo	# the NVMe disk's image, the iperf3 server's log
mkdir -p "$out"
exec "$TOP/vmlib/launch.sh" --iommu intel --device edu --device real \
	--cpus 2 --mem 2G --timeout 1500 --dir "$out" -- \
	"/usr/bin/python3 $TOP/tools/demo/run-in-vm.py"

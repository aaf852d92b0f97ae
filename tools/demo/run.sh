#!/bin/bash
# make run: boot the patched kernel twice with an emulated Intel IOMMU, an
# edu device, an NVMe disk and a NIC (tools/demo/run-in-vm.py runs in each).
#  1. With iommu_policy.allow_loosen=1: load tools/demo/policy.rules as a BPF
#     policy (NVMe identity, NIC strict, no user ownership of the edu),
#     apply it to the devices probed at boot, show the edu's VFIO/iommufd
#     claim refused and 'iommuctl policy explain' for each device.
#  2. Without the opt-in: the same rules, the NVMe's identity clamped to lazy
#     (no_optin); then what each DMA mode costs per device through iommuctl:
#     dma_map_benchmark on edu, fio on the disk, iperf3 on the NIC.
# The second boot runs even if the first fails; the exit status is the
# first failure's.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
out=$TOP/build/demo	# the NVMe disk's image, the iperf3 server's log
mkdir -p "$out"
boot() {
	"$TOP/vmlib/launch.sh" --iommu intel --device edu --device real \
		--cpus 2 --mem 2G --dir "$out" "$@"
}
boot --timeout 600 --append iommu_policy.allow_loosen=1 -- \
	"/usr/bin/python3 $TOP/tools/demo/run-in-vm.py policy"
status=$?
boot --timeout 1500 -- "/usr/bin/python3 $TOP/tools/demo/run-in-vm.py noopt cost"
rc=$?
[ $status != 0 ] || status=$rc
exit $status

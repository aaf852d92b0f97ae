#!/bin/bash
# make bench: two boots, one per kernel, then the tables (bench/report.py).
#   1. the series' kernel: every setup of bench/in_vm.py (tracers, the
#      floor, a policy) and the memory table;
#   2. the same config without the series (make kernel-unpatched): the
#      untraced baseline.
# Each boot has QEMU's edu (dma_map_benchmark) and an NVMe disk (fio)
# behind an emulated Intel IOMMU, one vCPU (BENCH_CPUS): with two sharing
# one TCG thread, rounds spread more.  BENCH_ROUNDS (5) rounds of
# BENCH_SECONDS (5) per setup and workload; results in build/bench/.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)

command -v bpftrace >/dev/null || {
	echo "==> installing bpftrace for the comparison" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null
}
out=$TOP/build/bench
mkdir -p "$out"
rm -f "$out"/*.json
clang-19 -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
	-I"$TOP/build/iommuctl" -I"$TOP/build/bpftools/include" \
	-c "$TOP/bench/floor.bpf.c" -o "$out/floor.bpf.o"

boot() {
	local kind=$1 kernel=$2
	echo "==> bench: the $kind kernel" >&2
	"$TOP/vmlib/launch.sh" --kernel "$kernel" --iommu intel --device edu --device real \
		--cpus "${BENCH_CPUS:-1}" --mem 2G --timeout 2400 --dir "$out" -- \
		"BENCH_OUT=$out BENCH_ROUNDS=${BENCH_ROUNDS:-5} BENCH_SECONDS=${BENCH_SECONDS:-5}" \
		"/usr/bin/python3 $TOP/bench/in_vm.py $kind" > "$out/$kind.log" 2>&1 || true
	grep '^# round' "$out/$kind.log" >&2 || true
	[ -f "$out/$kind.json" ] || {
		echo "bench: the $kind boot wrote no results; see $out/$kind.log" >&2
		tail -n 30 "$out/$kind.log" >&2
		exit 1
	}
}

boot patched "$TOP/build/kernel/bzImage"
boot unpatched "$TOP/build/kernel-unpatched/bzImage"
python3 "$TOP/bench/report.py" "$out" | tee "$out/report.txt"

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
#
# Then, unless BENCH_COUNT=0, the same two kernels again, counted rather
# than timed: under -icount shift=0,sleep=off with the insn_count plugin
# (bench/insn_count.c), which counts every guest instruction and atomic
# between the marker instructions bench/in_vm.py puts around each run:
# instructions and atomics per dma_map+dma_unmap pair in strict, lazy and
# identity mode, and per fio I/O.  BENCH_COUNT_ROUNDS (BENCH_ROUNDS) rounds
# of BENCH_COUNT_SECONDS (1: about 1e9 guest instructions) per DMA mode and
# BENCH_FIO_IOS (2000) reads per fio run.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)

command -v bpftrace >/dev/null || {
	echo "==> installing bpftrace for the comparison" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >/dev/null
}
out=$TOP/build/bench
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.plugin.log
# The plugin and the guest's marker program
"$TOP/bench/build.sh" "$out"
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

# dma_entry SYSTEM.MAP map|unmap: SYMBOL@0xADDR of the DMA API's entry
# point whose executions count the operations in a window, on either
# kernel: dma_map_phys (7.2: dma_map_page_attrs calls it), else
# dma_map_page_attrs (6.12: what dma_map_single() calls).  No KASLR: the
# kernels are not relocatable, and nokaslr is appended should that change;
# in_vm.py checks the address against /proc/kallsyms.
dma_entry() {
	awk -v p="dma_$2_phys" -v a="dma_$2_page_attrs" '
		$3 == p { phys = $1 } $3 == a { attrs = $1 }
		END { if (phys) print p "@0x" phys; else if (attrs) print a "@0x" attrs }' "$1"
}

count_boot() {
	local kind=$1 kdir=$2 map unmap plugin log
	log=$out/$kind-count.plugin.log
	map=$(dma_entry "$kdir/System.map" map)
	unmap=$(dma_entry "$kdir/System.map" unmap)
	[ -n "$map" ] && [ -n "$unmap" ] ||
		{ echo "bench: no DMA API entry point in $kdir/System.map" >&2; exit 1; }
	plugin=$out/insn_count.so,count=map:${map#*@},count=unmap:${unmap#*@}
	echo "==> bench: the $kind kernel, counted (-icount, bench/insn_count.c)" >&2
	# thread=single (launch.sh) is what -icount requires anyway, and what
	# makes the plugin's counters exact
	"$TOP/vmlib/launch.sh" --kernel "$kdir/bzImage" --iommu intel --device edu --device real \
		--cpus "${BENCH_CPUS:-1}" --mem 2G --timeout "${BENCH_COUNT_TIMEOUT:-5400}" --dir "$out" \
		--append nokaslr \
		--qemu "-icount shift=0,sleep=off -plugin $plugin -d plugin -D $log" \
		-- "BENCH_OUT=$out BENCH_COUNT=1 BENCH_MAP=$map BENCH_UNMAP=$unmap" \
		"BENCH_ROUNDS=${BENCH_COUNT_ROUNDS:-${BENCH_ROUNDS:-5}}" \
		"BENCH_COUNT_SECONDS=${BENCH_COUNT_SECONDS:-1} BENCH_FIO_IOS=${BENCH_FIO_IOS:-2000}" \
		"/usr/bin/python3 $TOP/bench/in_vm.py $kind" > "$out/$kind-count.log" 2>&1 || true
	grep '^# count' "$out/$kind-count.log" >&2 || true
	[ -f "$out/$kind-count.json" ] && grep -q '^window ' "$log" 2>/dev/null || {
		echo "bench: the counted $kind boot wrote no results; see $out/$kind-count.log" >&2
		tail -n 30 "$out/$kind-count.log" >&2
		exit 1
	}
}

boot patched "$TOP/build/kernel/bzImage"
boot unpatched "$TOP/build/kernel-unpatched/bzImage"
if [ "${BENCH_COUNT:-1}" != 0 ]; then
	count_boot patched "$TOP/build/kernel"
	count_boot unpatched "$TOP/build/kernel-unpatched"
fi
python3 "$TOP/bench/report.py" "$out" | tee "$out/report.txt"

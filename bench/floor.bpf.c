// SPDX-License-Identifier: GPL-2.0
/*
 * make bench's floor: an empty program on each tracepoint trace latency
 * attaches to, with the same attach type (tp_btf).  What it adds to a DMA
 * map/unmap is what any BPF tracer of these events must pay; iommuctl's own
 * cost is measured against it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/iommu_dma_map")
int BPF_PROG(floor_dma_map)
{
	return 0;
}

SEC("tp_btf/iommu_dma_unmap")
int BPF_PROG(floor_dma_unmap)
{
	return 0;
}

SEC("tp_btf/domain_map")
int BPF_PROG(floor_domain_map)
{
	return 0;
}

SEC("tp_btf/domain_unmap")
int BPF_PROG(floor_domain_unmap)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

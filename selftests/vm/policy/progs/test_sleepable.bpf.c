// SPDX-License-Identifier: GPL-2.0
/* A sleepable decision callback: check_member() must reject it */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops.s/dma_mode")
s32 BPF_PROG(sleepy_dma_mode, struct device *dev, u32 proposed, u32 flags)
{
	return 0;
}

SEC(".struct_ops.link")
struct iommu_policy_ops sleepable_ops = {
	.dma_mode	= (void *)sleepy_dma_mode,
	.name		= "sleepable",
};

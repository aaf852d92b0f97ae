// SPDX-License-Identifier: GPL-2.0
/* A policy in a legacy (non-link) struct_ops map: the kernel must refuse it */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/dma_mode")
s32 BPF_PROG(nolink_dma_mode, struct device *dev, u32 proposed, u32 flags)
{
	return 0;
}

SEC(".struct_ops")
struct iommu_policy_ops nolink_ops = {
	.dma_mode	= (void *)nolink_dma_mode,
	.name		= "nolink",
};

// SPDX-License-Identifier: GPL-2.0
/* A policy without any decision callback: the kernel refuses to attach it */
#include "iommu_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops.s/init")
s32 BPF_PROG(nocb_init)
{
	return 0;
}

SEC(".struct_ops.link")
struct iommu_policy_ops nocb_ops = {
	.init	= (void *)nocb_init,
	.name	= "nocb",
};

// SPDX-License-Identifier: GPL-2.0
/* Writes to the device it decides about: the verifier must reject it */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/dev_trust")
s32 BPF_PROG(bad_dev_trust, struct device *dev, u32 fw_flags)
{
	dev->id = 42;
	return 0;
}

SEC(".struct_ops.link")
struct iommu_policy_ops bad_write_ops = {
	.dev_trust	= (void *)bad_dev_trust,
	.name		= "bad_write",
};

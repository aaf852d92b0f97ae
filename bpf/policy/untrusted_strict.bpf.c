// SPDX-License-Identifier: GPL-2.0
/*
 * An example policy: distrust what can be plugged in.
 *
 * Linux marks a device untrusted only when firmware says so (a PCI device
 * behind an external-facing port, e.g. Thunderbolt).  This policy also
 * distrusts every removable device and every device firmware calls
 * external-facing, and gives all untrusted devices strict DMA mode: each
 * unmap is flushed from the IOTLB before it returns, so a device cannot
 * reach a buffer after the driver gave it back.  Everything else is left
 * to the kernel (DEFAULT).
 *
 *   iommuctl policy load build/iommuctl/policy/untrusted_strict.bpf.o
 *
 * Both verdicts tighten isolation, so the kernel applies them without the
 * iommu_policy.allow_loosen opt-in.
 */
#include "iommu_policy.bpf.h"

#define PLUGGABLE (IOMMU_POLICY_FW_UNTRUSTED | IOMMU_POLICY_FW_REMOVABLE | \
		   IOMMU_POLICY_FW_EXTERNAL_FACING)

/* Called when the device is probed, before its group's DMA mode is chosen */
SEC("struct_ops/dev_trust")
s32 BPF_PROG(us_dev_trust, struct device *dev, u32 fw_flags)
{
	if (fw_flags & PLUGGABLE)
		return IOMMU_POLICY_TRUST_UNTRUSTED;
	return IOMMU_POLICY_TRUST_DEFAULT;
}

/* IOMMU_POLICY_DMA_F_UNTRUSTED reflects dev_trust()'s verdict */
SEC("struct_ops/dma_mode")
s32 BPF_PROG(us_dma_mode, struct device *dev, u32 proposed, u32 flags)
{
	if (flags & IOMMU_POLICY_DMA_F_UNTRUSTED)
		return IOMMU_POLICY_DMA_STRICT;
	return IOMMU_POLICY_DMA_DEFAULT;
}

SEC(".struct_ops.link")
struct iommu_policy_ops untrusted_strict = {
	.dev_trust	= (void *)us_dev_trust,
	.dma_mode	= (void *)us_dma_mode,
	.name		= "untrusted_strict",
};

char LICENSE[] SEC("license") = "GPL";

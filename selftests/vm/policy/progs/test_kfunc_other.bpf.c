// SPDX-License-Identifier: GPL-2.0
/*
 * Another struct_ops (the BPF test-run dummy) calling a policy kfunc: the
 * kfunc filter must keep the policy kfuncs to iommu_policy_ops.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern bool bpf_iommu_dev_is_pci(struct device *dev) __ksym;

SEC("struct_ops/test_1")
int BPF_PROG(other_test_1, struct bpf_dummy_ops_state *state)
{
	return bpf_iommu_dev_is_pci((struct device *)state);
}

SEC(".struct_ops.link")
struct bpf_dummy_ops other_ops = {
	.test_1 = (void *)other_test_1,
};

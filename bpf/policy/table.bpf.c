// SPDX-License-Identifier: GPL-2.0
/*
 * The table policy: every verdict comes from rules that user space puts in
 * three maps before attaching it (iommuctl policy load -r RULES; the rules
 * format is in tools/iommuctl/README.md).
 *
 * For each hook, a device's verdict is that of the first rule that sets the
 * hook, looked up by device name, PCI vendor:device, PCI vendor, then the
 * wildcard; with no rule, DEFAULT (0): the kernel decides.  iommuctl checks
 * that every verdict is in its hook's enum, so the kernel never sees an
 * invalid one from here.
 */
#include "iommu_policy.bpf.h"
#include "iommuctl/policy_table.h"

/* dev=NAME rules */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLICY_TABLE_MAX_RULES);
	__type(key, struct policy_table_name);
	__type(value, struct policy_table_entry);
} name_rules SEC(".maps");

/* pci=VVVV:DDDD and pci=VVVV:* rules */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLICY_TABLE_MAX_RULES);
	__type(key, __u32);
	__type(value, struct policy_table_entry);
} pci_rules SEC(".maps");

/* The * rule */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct policy_table_entry);
} any_rule SEC(".maps");

/* Does e set hook?  Then its verdict is the answer. */
static __always_inline bool pick(struct policy_table_entry *e, u32 hook,
				 s32 *verdict)
{
	if (!e || !(e->set & (1U << hook)))
		return false;
	*verdict = e->verdict[hook];
	return true;
}

/* Always inlined: hook is a constant, so e->verdict[hook] is a fixed offset. */
static __always_inline s32 lookup(struct device *dev, u32 hook)
{
	struct policy_table_name key = {};
	s32 verdict = IOMMU_POLICY_TRUST_DEFAULT;	/* 0 in every enum */
	u32 zero = 0, id;
	s64 ids;

	/* A truncated name (-E2BIG) cannot match: rules hold shorter ones. */
	if (bpf_iommu_dev_name(dev, key.name, sizeof(key.name)) > 0 &&
	    pick(bpf_map_lookup_elem(&name_rules, &key), hook, &verdict))
		return verdict;

	ids = bpf_iommu_pci_ids(dev);
	if (ids >= 0) {
		id = ids;
		if (pick(bpf_map_lookup_elem(&pci_rules, &id), hook, &verdict))
			return verdict;
		id = (id & 0xffff0000) | POLICY_TABLE_ANY_DEVICE;
		if (pick(bpf_map_lookup_elem(&pci_rules, &id), hook, &verdict))
			return verdict;
	}

	pick(bpf_map_lookup_elem(&any_rule, &zero), hook, &verdict);
	return verdict;
}

SEC("struct_ops/dev_trust")
s32 BPF_PROG(table_dev_trust, struct device *dev, u32 fw_flags)
{
	return lookup(dev, IOMMU_POLICY_HOOK_DEV_TRUST);
}

SEC("struct_ops/dma_mode")
s32 BPF_PROG(table_dma_mode, struct device *dev, u32 proposed, u32 flags)
{
	return lookup(dev, IOMMU_POLICY_HOOK_DMA_MODE);
}

SEC("struct_ops/resv_direct")
s32 BPF_PROG(table_resv_direct, struct device *dev, u32 reason)
{
	return lookup(dev, IOMMU_POLICY_HOOK_RESV_DIRECT);
}

SEC("struct_ops/pasid_attach")
s32 BPF_PROG(table_pasid_attach, struct device *dev, u32 pasid, u32 domain_type,
	     u32 flags)
{
	return lookup(dev, IOMMU_POLICY_HOOK_PASID_ATTACH);
}

SEC("struct_ops/dma_owner")
s32 BPF_PROG(table_dma_owner, struct device *dev, u32 flags)
{
	return lookup(dev, IOMMU_POLICY_HOOK_DMA_OWNER);
}

/* Attached only through a link (.struct_ops.link): the kernel refuses others */
SEC(".struct_ops.link")
struct iommu_policy_ops table = {
	.dev_trust	= (void *)table_dev_trust,
	.dma_mode	= (void *)table_dma_mode,
	.resv_direct	= (void *)table_resv_direct,
	.pasid_attach	= (void *)table_pasid_attach,
	.dma_owner	= (void *)table_dma_owner,
	.name		= "table",
};

char LICENSE[] SEC("license") = "GPL";

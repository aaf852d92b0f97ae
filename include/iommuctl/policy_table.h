/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps of the table policy (bpf/policy/table.bpf.c), shared with
 * iommuctl, which fills them from a rules file.  Stable only within one
 * build of iommuctl.
 *
 * A device's verdict for a hook comes from the first rule that sets that
 * hook, looking up in this order: its name, its PCI vendor:device, its PCI
 * vendor alone, the wildcard.  Each hook is looked up on its own: a device
 * rule for dma_mode and a wildcard rule for dma_owner both apply.
 */
#ifndef IOMMUCTL_POLICY_TABLE_H
#define IOMMUCTL_POLICY_TABLE_H

/* = IOMMU_POLICY_NR_HOOKS; iommuctl checks that at build time */
#define POLICY_TABLE_NR_HOOKS	5
/* Longest device name a rule can match, with its NUL */
#define POLICY_TABLE_NAME_LEN	32
/* Entries of each hash map */
#define POLICY_TABLE_MAX_RULES	1024
/* pci_rules key of a vendor-wide rule: no PCI device has id 0xffff */
#define POLICY_TABLE_ANY_DEVICE	0xffff

/* What one rule says: verdict[h] counts only if bit h of set is */
struct policy_table_entry {
	__u32 set;				/* 1 << enum iommu_policy_hook */
	__s32 verdict[POLICY_TABLE_NR_HOOKS];	/* in the hook's verdict enum */
};

/* name_rules key: the device name, NUL padded */
struct policy_table_name {
	char name[POLICY_TABLE_NAME_LEN];
};

/* pci_rules key: vendor << 16 | device, device POLICY_TABLE_ANY_DEVICE for
 * a vendor-wide rule; any_rule is an array of one entry. */

#endif /* IOMMUCTL_POLICY_TABLE_H */

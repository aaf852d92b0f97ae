/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every IOMMU attach policy includes: the kernel's types (struct
 * iommu_policy_ops and the verdict enums come from vmlinux.h, generated from
 * the kernel's BTF; never include <linux/iommu_policy.h> here, its enums
 * would be defined twice) and the kfuncs the kernel offers policies.
 *
 * Every decision callback returns a verdict of its hook's enum; 0 (the
 * *_DEFAULT verdict) leaves the decision to the kernel.  The kernel checks
 * each verdict: one out of range detaches the policy, and one that loosens
 * isolation is applied only when the kernel was booted with
 * iommu_policy.allow_loosen=1 and is not locked down.  Decision callbacks
 * run under RCU and may not sleep.
 */
#ifndef IOMMU_POLICY_BPF_H
#define IOMMU_POLICY_BPF_H

/* Our own kfunc declarations below; none from a newer bpftool's vmlinux.h */
#define BPF_NO_KFUNC_PROTOTYPES
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Read-only facts about the device being decided (kernel-side: kfuncs in
 * drivers/iommu/iommu-policy.c, callable only from an iommu_policy_ops). */
extern bool bpf_iommu_dev_is_pci(struct device *dev) __ksym;
/* vendor << 16 | device, or -ENODEV if not PCI */
extern s64 bpf_iommu_pci_ids(struct device *dev) __ksym;
/* class << 16 | subclass << 8 | prog-if, or -ENODEV */
extern s64 bpf_iommu_pci_class(struct device *dev) __ksym;
/* segment << 16 | bus << 8 | devfn, or -ENODEV */
extern s64 bpf_iommu_pci_bdf(struct device *dev) __ksym;
/* enum iommu_policy_fw_flags */
extern u32 bpf_iommu_dev_fw_flags(struct device *dev) __ksym;
/* regions of one enum iommu_resv_type (0: RESV_DIRECT); -ENODEV in dev_trust() */
extern s32 bpf_iommu_dev_resv_regions(struct device *dev, u32 type) __ksym;
/* PASIDs the device may use; -ENODEV in dev_trust() */
extern s32 bpf_iommu_dev_max_pasids(struct device *dev) __ksym;
/* length copied, -ENODEV in dev_trust(), -E2BIG if truncated */
extern s32 bpf_iommu_dev_iommu_name(struct device *dev, char *buf, u32 buf__sz) __ksym;
/* length copied, -E2BIG if truncated */
extern s32 bpf_iommu_dev_name(struct device *dev, char *buf, u32 buf__sz) __ksym;

#endif /* IOMMU_POLICY_BPF_H */

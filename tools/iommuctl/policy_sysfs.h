/* SPDX-License-Identifier: GPL-2.0 */
/* /sys/kernel/iommu_policy: the attached policy's state, as the kernel
 * reports it, and whether this kernel has the BPF policy at all. */
#ifndef IOMMUCTL_POLICY_SYSFS_H
#define IOMMUCTL_POLICY_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

#define POLICY_SYSFS	"/sys/kernel/iommu_policy"
#define DEFAULT_PIN	"/sys/fs/bpf/iommu_policy"
#define BPFFS_DIR	"/sys/fs/bpf"

/* One line of /sys/kernel/iommu_policy/ATTR; -errno if unreadable */
int policy_attr(const char *attr, char *buf, size_t len);
/* ... as a number; -1 if unreadable */
long long policy_attr_ll(const char *attr);
/* "unreg (detached by user space): policy "table" detached", or "none" */
void policy_last_exit_str(char *buf, size_t len);
bool policy_enabled(void);
/* 0, or p_err() if the kernel has no BPF policy (with need_btf: no
 * struct iommu_policy_ops in its BTF either) */
int policy_check_kernel(bool need_btf);

#endif

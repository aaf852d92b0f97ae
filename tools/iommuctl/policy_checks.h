/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's checks of a policy, redone to explain its EINVAL, and what a
 * failed attach leaves in /sys/kernel/iommu_policy. */
#ifndef IOMMUCTL_POLICY_CHECKS_H
#define IOMMUCTL_POLICY_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/iommu_policy.h>

/*
 * Whether the kernel takes name as a policy's name, by the rule of its
 * bpf_obj_name_cpy(): a NUL within the first size bytes (the size of struct
 * iommu_policy_ops.name, IOMMU_POLICY_NAME_LEN), at least one character
 * before it, each a letter, a digit, '_' or '.'.  If it does not, return
 * false with why in why (if not NULL): "policy name 'a b' may only contain
 * letters, digits, '_' and '.' (not ' ')".
 */
bool policy_name_valid(const char *name, size_t size, char *why, size_t len);

/* What the kernel checks of a struct iommu_policy_ops written to its map */
struct policy_ops_view {
	const char *name;	/* its IOMMU_POLICY_NAME_LEN name bytes; NULL: zeros */
	__u64 flags;
	unsigned int callbacks;	/* 1 << enum iommu_policy_hook of each one set */
};

/*
 * Why the kernel refuses ops with EINVAL when it is written to its
 * struct_ops map: each failed check, in the kernel's order (its name, then
 * its flags, then its decision callbacks), joined by "; ".  false if none
 * fails.
 */
bool policy_ops_invalid(const struct policy_ops_view *ops, char *why, size_t len);

/* /sys/kernel/iommu_policy/ before or after an attach */
struct policy_exit_snap {
	char kind[32], msg[300];	/* last_exit_kind, last_exit_msg */
	long long nr_errors;		/* -1: unknown */
};

/*
 * Whether an attach or replacement that failed with err (< 0) failed in the
 * policy's init(), from sysfs before and after it; if so, what init() did
 * in msg.  A failed attach records an error_init exit with the kernel's
 * message; a failed replacement records no exit (the old policy stays),
 * only one more error in nr_errors: then msg is "init() failed with
 * strerror(-err)".
 */
bool policy_init_failed(const struct policy_exit_snap *before,
			const struct policy_exit_snap *now, int err, char *msg, size_t len);

#endif

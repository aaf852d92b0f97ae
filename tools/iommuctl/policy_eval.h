/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommuctl policy test: what a rules file would decide for this machine's
 * devices, without loading anything; and the loosening warnings of
 * policy load -c.
 */
#ifndef IOMMUCTL_POLICY_EVAL_H
#define IOMMUCTL_POLICY_EVAL_H

#include <stdbool.h>
#include "policy_rules.h"

extern const char policy_test_doc[];

/*
 * Evaluate the rules file path against the devices behind an IOMMU (or
 * only dev) with the table policy's matcher, facts from sysfs and debugfs
 * iommu_policy/devices.  Exit status.
 */
int policy_test(const char *path, const char *dev, bool json);

/*
 * On stderr, one warning per rule whose verdict may loosen isolation, if
 * this boot would clamp it (no iommu_policy.allow_loosen=1, or lockdown).
 * Returns the number of warnings.
 */
int policy_warn_clamped(const struct policy_rules *rs, const char *path);

#endif /* IOMMUCTL_POLICY_EVAL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loosening warnings of policy load -c, shared with policy test (what
 * a rules file would decide for this machine's devices, loading nothing).
 */
#ifndef IOMMUCTL_POLICY_EVAL_H
#define IOMMUCTL_POLICY_EVAL_H

#include <stdbool.h>
#include "policy_rules.h"

/*
 * On stderr, one warning per rule whose verdict may loosen isolation, if
 * this boot would clamp it (no iommu_policy.allow_loosen=1, or lockdown).
 * Returns the number of warnings.
 */
int policy_warn_clamped(const struct policy_rules *rs, const char *path);

#endif /* IOMMUCTL_POLICY_EVAL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* The names of the BPF IOMMU policy's hooks, verdicts and reasons. */
#ifndef IOMMUCTL_POLICY_NAMES_H
#define IOMMUCTL_POLICY_NAMES_H

#include <stddef.h>
#include <linux/iommu_policy.h>

/* The kernel's name of a hook (debugfs, sysfs, tracepoint): "dma_mode" */
const char *policy_hook_name(int hook);
/* A verdict of hook's enum, or NULL if out of range */
const char *policy_verdict_name(int hook, int verdict);
/* enum iommu_policy_reason: "applied", "no_optin", ...; NULL if unknown */
const char *policy_reason_name(int reason);
/* A hook from its name in rules ("trust", "pasid") or the kernel's; -1 */
int policy_hook_by_name(const char *name);
/* A verdict of hook's enum from its name; -1 */
int policy_verdict_by_name(int hook, const char *name);
/*
 * One decision in words, without the hook: "policy said strict, applied
 * strict (applied)", "policy said identity, clamped to lazy (no_optin: ...)".
 */
void policy_describe(char *buf, size_t len, int hook, int proposed, int verdict,
		     int applied, int reason);

/* The name rules give a hook: "trust", "pasid", ... */
const char *policy_rule_hook_name(int hook);
/* "a, b, c or d": every hook (the kernel's names, the rules' names), every
 * verdict of a hook */
void policy_hook_list(char *buf, size_t len);
void policy_rule_hook_list(char *buf, size_t len);
void policy_verdict_list(int hook, char *buf, size_t len);
void policy_join_or(char *buf, size_t len, const char *const *names, int n);

#endif

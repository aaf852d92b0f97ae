// SPDX-License-Identifier: GPL-2.0
/*
 * The names of the BPF IOMMU policy's hooks, verdicts and reasons, from the
 * kernel's UAPI header: what the event stream, explain and the rules share.
 */
#include <stdio.h>
#include <string.h>
#include "policy_names.h"

static const char *const hook_names[IOMMU_POLICY_NR_HOOKS] = {
	[IOMMU_POLICY_HOOK_DEV_TRUST] = "dev_trust",
	[IOMMU_POLICY_HOOK_DMA_MODE] = "dma_mode",
	[IOMMU_POLICY_HOOK_RESV_DIRECT] = "resv_direct",
	[IOMMU_POLICY_HOOK_PASID_ATTACH] = "pasid_attach",
	[IOMMU_POLICY_HOOK_DMA_OWNER] = "dma_owner",
};

/* The same hooks as rules name them: short where the kernel's name is long */
static const char *const rule_hook_names[IOMMU_POLICY_NR_HOOKS] = {
	[IOMMU_POLICY_HOOK_DEV_TRUST] = "trust",
	[IOMMU_POLICY_HOOK_DMA_MODE] = "dma_mode",
	[IOMMU_POLICY_HOOK_RESV_DIRECT] = "resv_direct",
	[IOMMU_POLICY_HOOK_PASID_ATTACH] = "pasid",
	[IOMMU_POLICY_HOOK_DMA_OWNER] = "dma_owner",
};

static const char *const trust_names[IOMMU_POLICY_TRUST_MAX] = {
	[IOMMU_POLICY_TRUST_DEFAULT] = "default",
	[IOMMU_POLICY_TRUST_TRUSTED] = "trusted",
	[IOMMU_POLICY_TRUST_UNTRUSTED] = "untrusted",
};

static const char *const dma_names[IOMMU_POLICY_DMA_MAX] = {
	[IOMMU_POLICY_DMA_DEFAULT] = "default",
	[IOMMU_POLICY_DMA_IDENTITY] = "identity",
	[IOMMU_POLICY_DMA_LAZY] = "lazy",
	[IOMMU_POLICY_DMA_STRICT] = "strict",
};

static const char *const resv_names[IOMMU_POLICY_RESV_MAX] = {
	[IOMMU_POLICY_RESV_DEFAULT] = "default",
	[IOMMU_POLICY_RESV_KEEP] = "keep",
	[IOMMU_POLICY_RESV_RELAX] = "relax",
};

static const char *const pasid_names[IOMMU_POLICY_PASID_MAX] = {
	[IOMMU_POLICY_PASID_DEFAULT] = "default",
	[IOMMU_POLICY_PASID_ALLOW] = "allow",
	[IOMMU_POLICY_PASID_DENY] = "deny",
	[IOMMU_POLICY_PASID_PHYS] = "phys",
	[IOMMU_POLICY_PASID_IOVA] = "iova",
};

static const char *const owner_names[IOMMU_POLICY_OWNER_MAX] = {
	[IOMMU_POLICY_OWNER_DEFAULT] = "default",
	[IOMMU_POLICY_OWNER_ALLOW] = "allow",
	[IOMMU_POLICY_OWNER_DENY] = "deny",
};

static const struct {
	const char *const *names;
	int n;
} verdicts[IOMMU_POLICY_NR_HOOKS] = {
	[IOMMU_POLICY_HOOK_DEV_TRUST] = { trust_names, IOMMU_POLICY_TRUST_MAX },
	[IOMMU_POLICY_HOOK_DMA_MODE] = { dma_names, IOMMU_POLICY_DMA_MAX },
	[IOMMU_POLICY_HOOK_RESV_DIRECT] = { resv_names, IOMMU_POLICY_RESV_MAX },
	[IOMMU_POLICY_HOOK_PASID_ATTACH] = { pasid_names, IOMMU_POLICY_PASID_MAX },
	[IOMMU_POLICY_HOOK_DMA_OWNER] = { owner_names, IOMMU_POLICY_OWNER_MAX },
};

static const char *const reason_names[IOMMU_POLICY_REASON_MAX] = {
	[IOMMU_POLICY_REASON_DEFAULT] = "default",
	[IOMMU_POLICY_REASON_APPLIED] = "applied",
	[IOMMU_POLICY_REASON_INVALID] = "invalid",
	[IOMMU_POLICY_REASON_NO_OPTIN] = "no_optin",
	[IOMMU_POLICY_REASON_LOCKDOWN] = "lockdown",
	[IOMMU_POLICY_REASON_DRIVER] = "driver",
	[IOMMU_POLICY_REASON_GROUP] = "group",
};

const char *policy_hook_name(int hook)
{
	return hook >= 0 && hook < IOMMU_POLICY_NR_HOOKS ? hook_names[hook] : NULL;
}

const char *policy_verdict_name(int hook, int verdict)
{
	if (hook < 0 || hook >= IOMMU_POLICY_NR_HOOKS || verdict < 0 ||
	    verdict >= verdicts[hook].n)
		return NULL;
	return verdicts[hook].names[verdict];
}

const char *policy_reason_name(int reason)
{
	return reason >= 0 && reason < IOMMU_POLICY_REASON_MAX ? reason_names[reason] : NULL;
}

int policy_hook_by_name(const char *name)
{
	for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++)
		if (!strcmp(name, rule_hook_names[h]) || !strcmp(name, hook_names[h]))
			return h;
	return -1;
}

int policy_verdict_by_name(int hook, const char *name)
{
	for (int v = 0; v < verdicts[hook].n; v++)
		if (!strcmp(name, verdicts[hook].names[v]))
			return v;
	return -1;
}

/* "a, b, c or d" */
void policy_join_or(char *buf, size_t len, const char *const *names, int n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s",
				!i ? "" : i == n - 1 ? " or " : ", ", names[i]);
}

static void verdict_str(char *buf, size_t len, int hook, int v)
{
	const char *name = policy_verdict_name(hook, v);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "%d", v);
}

void policy_describe(char *buf, size_t len, int hook, int proposed, int verdict,
		     int applied, int reason)
{
	char p[16], v[16], a[16], also[48] = "";

	verdict_str(p, sizeof(p), hook, proposed);
	verdict_str(v, sizeof(v), hook, verdict);
	verdict_str(a, sizeof(a), hook, applied);
	if (proposed != applied)
		snprintf(also, sizeof(also), "; the kernel proposed %s", p);
	switch (reason) {
	case IOMMU_POLICY_REASON_DEFAULT:
	case IOMMU_POLICY_REASON_APPLIED:
		snprintf(buf, len, "policy said %s, applied %s (%s%s)", v, a,
			 reason_names[reason], also);
		break;
	case IOMMU_POLICY_REASON_INVALID:
		snprintf(buf, len, "policy returned %s, out of range: applied %s "
			 "(invalid: the kernel detached the policy)", v, a);
		break;
	case IOMMU_POLICY_REASON_NO_OPTIN:
		snprintf(buf, len, "policy said %s, clamped to %s (no_optin: loosening "
			 "needs iommu_policy.allow_loosen=1 on the kernel command line)", v, a);
		break;
	case IOMMU_POLICY_REASON_LOCKDOWN:
		snprintf(buf, len, "policy said %s, clamped to %s (lockdown: the kernel "
			 "is locked down)", v, a);
		break;
	case IOMMU_POLICY_REASON_DRIVER:
		snprintf(buf, len, "policy said %s, clamped to %s (driver: the IOMMU "
			 "driver or a platform quirk requires it)", v, a);
		break;
	case IOMMU_POLICY_REASON_GROUP:
		snprintf(buf, len, "policy said %s, not in effect (group: the device "
			 "shares a domain chosen without it with devices in use; unbind "
			 "their drivers and write 'auto' to the group's type)", v);
		break;
	default:
		snprintf(buf, len, "policy said %s, applied %s (reason %d)", v, a, reason);
		break;
	}
}

const char *policy_rule_hook_name(int hook)
{
	return hook >= 0 && hook < IOMMU_POLICY_NR_HOOKS ? rule_hook_names[hook] : NULL;
}

void policy_hook_list(char *buf, size_t len)
{
	policy_join_or(buf, len, hook_names, IOMMU_POLICY_NR_HOOKS);
}

void policy_rule_hook_list(char *buf, size_t len)
{
	policy_join_or(buf, len, rule_hook_names, IOMMU_POLICY_NR_HOOKS);
}

void policy_verdict_list(int hook, char *buf, size_t len)
{
	policy_join_or(buf, len, verdicts[hook].names, verdicts[hook].n);
}

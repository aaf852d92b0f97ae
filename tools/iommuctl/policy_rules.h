/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The names of the BPF IOMMU policy's hooks, verdicts and reasons, the
 * kernel's checks of a policy and of what its attach left in sysfs, and the
 * rules files of the table policy (format: tools/iommuctl/README.md).  No
 * BPF here: all of it is unit-tested on the host (tests/test_rules.c).
 */
#ifndef IOMMUCTL_POLICY_RULES_H
#define IOMMUCTL_POLICY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include <linux/iommu_policy.h>
#include "iommuctl/policy_table.h"

_Static_assert(POLICY_TABLE_NR_HOOKS == IOMMU_POLICY_NR_HOOKS,
	       "include/iommuctl/policy_table.h is out of date");

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

enum policy_match {
	MATCH_DEV,		/* dev=NAME */
	MATCH_PCI,		/* pci=VVVV:DDDD */
	MATCH_PCI_VENDOR,	/* pci=VVVV:* */
	MATCH_ANY,		/* * */
};

/* The rules of one MATCH, merged over the lines that name it */
struct policy_rule {
	enum policy_match match;
	char name[POLICY_TABLE_NAME_LEN];	/* MATCH_DEV */
	__u32 pci;			/* MATCH_PCI*: the key in pci_rules */
	struct policy_table_entry entry;
	int line[POLICY_TABLE_NR_HOOKS];	/* where each hook was set */
};

struct policy_rules {
	struct policy_rule *rules;
	size_t n, cap;
	size_t lines;		/* rule lines read */
};

/*
 * Parse a rules file.  On error return -1 with "FILE:LINE: what is wrong
 * (expected ...)" in err and rs left empty.
 */
int policy_rules_parse(FILE *f, const char *fname, struct policy_rules *rs,
		       char *err, size_t errlen);
/* Same from a path; a file that cannot be read is an error too. */
int policy_rules_read(const char *path, struct policy_rules *rs, char *err,
		      size_t errlen);
void policy_rules_free(struct policy_rules *rs);
/* "dev=m1", "pci=8086:1234", "pci=8086:*", "*" */
void policy_match_str(const struct policy_rule *r, char *buf, size_t len);
/* The table in rules syntax, one "MATCH HOOK VERDICT" line per rule, in
 * lookup order: devices, PCI ids, PCI vendors, the wildcard. */
void policy_rules_print(const struct policy_rules *rs, FILE *f);

#endif /* IOMMUCTL_POLICY_RULES_H */

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

/* One rule line: its conditions, hook and verdict */
struct policy_rule {
	struct policy_table_rule t;	/* as the BPF program sees it */
	int hook;
	unsigned int score;		/* specificity: policy_rule_score() */
};

struct policy_rules {
	struct policy_rule *rules;	/* in lookup order: by score, then line */
	size_t n, cap;
	size_t lines;		/* rule lines read (= n) */
};

/*
 * Parse a rules file:
 *
 *   COND... HOOK VERDICT	# COND: key=value, or * alone
 *
 * A rule's conditions must all hold.  On error return -1 with "FILE:LINE:
 * what is wrong (expected ...)" in err and rs left empty.
 */
int policy_rules_parse(FILE *f, const char *fname, struct policy_rules *rs,
		       char *err, size_t errlen);
/* Same from a path; a file that cannot be read is an error too. */
int policy_rules_read(const char *path, struct policy_rules *rs, char *err,
		      size_t errlen);
void policy_rules_free(struct policy_rules *rs);
/* The rule's specificity: the sum of its conditions' POLICY_WEIGHT_* */
unsigned int policy_rule_score(const struct policy_table_rule *t);
/* Its conditions in rules syntax, canonical: "dev=m1 fw=!untrusted", "*" */
void policy_match_str(const struct policy_table_rule *t, char *buf, size_t len);
/* The name rules give a hook: "trust", "pasid", ... */
const char *policy_rule_hook_name(int hook);
/*
 * The table in rules syntax, one "COND... HOOK VERDICT" line per rule, in
 * lookup order (devices first, * last); it parses back to the same table.
 */
void policy_rules_print(const struct policy_rules *rs, FILE *f);

/*
 * The maps of the table policy: the rules of each hook, consecutive and in
 * lookup order, into t (rs->n entries), and where each hook's are.
 */
void policy_rules_table(const struct policy_rules *rs, struct policy_table_rule *t,
			struct policy_table_hook hooks[POLICY_TABLE_NR_HOOKS]);
/*
 * What the BPF program decides for a device with facts f in hook: the
 * rule that decides (NULL: none, the verdict is DEFAULT), by the same scan
 * over the same table.
 */
const struct policy_table_rule *policy_table_decide(const struct policy_table_rule *t,
						    const struct policy_table_hook *hooks,
						    int hook,
						    const struct policy_table_facts *f);
/* The same rules in the same lookup order, whatever their line numbers */
bool policy_rules_same_table(const struct policy_rules *a, const struct policy_rules *b);
/* A dev= glob against a name, as the BPF program runs it */
bool policy_glob_match(const char *pat, const char *name);

#endif /* IOMMUCTL_POLICY_RULES_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rules files of the table policy (format: iommu-policy.rules(5)): the
 * parser, the table the BPF program reads, and the same matcher in C.  No
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

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decisions the kernel recorded for each device and hook, from debugfs
 * iommu_policy/verdicts: the last one per device and hook, by a policy or
 * by the kernel alone.  Used by `policy explain` and `policy apply`; no BPF
 * here.
 */
#ifndef IOMMUCTL_VERDICTS_H
#define IOMMUCTL_VERDICTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define POLICY_DEBUGFS_VERDICTS	"/sys/kernel/debug/iommu_policy/verdicts"

/* One line: "DEV HOOK policy|kernel proposed=N verdict=N applied=N
 * reason=R seq=N [flags=HEX]" */
struct policy_record {
	char dev[128];
	int hook;		/* enum iommu_policy_hook */
	bool by_policy;		/* a policy was asked (else: the kernel alone) */
	int proposed, verdict, applied;
	int reason;		/* enum iommu_policy_reason */
	unsigned long long seq;	/* enable_seq of the policy that decided */
	unsigned int flags;	/* the hook's flags argument (0 if not shown) */
};

struct policy_records {
	struct policy_record *r;
	size_t n, cap;
};

/* Add the well-formed lines of f to l (which starts zeroed); others are
 * skipped.  The number added, or -ENOMEM. */
int policy_records_parse(FILE *f, struct policy_records *l);
/* POLICY_DEBUGFS_VERDICTS into l; -errno if it cannot be read. */
int policy_records_read(struct policy_records *l);
/* The last record of dev and hook, or NULL */
const struct policy_record *policy_records_find(const struct policy_records *l,
						const char *dev, int hook);
void policy_records_free(struct policy_records *l);
/* Say on stderr why POLICY_DEBUGFS_VERDICTS cannot be read (err > 0) */
/* p_err() for a failed policy_records_read(): returns the exit status */
int policy_records_error(int err, const char *what);

#endif /* IOMMUCTL_VERDICTS_H */

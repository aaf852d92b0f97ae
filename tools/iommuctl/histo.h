/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the BPF histograms of include/iommuctl/hist.h in user space. */
#ifndef IOMMUCTL_HISTO_H
#define IOMMUCTL_HISTO_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdio.h>
#include "iommuctl/hist.h"
#include "json.h"

struct hist_summary {
	__u64 count, sum, max;
	__u64 p50, p90, p99;	/* upper bound of the bucket, capped at max */
	double avg;
};

/* Add src into dst (summing per-CPU copies). */
void hist_merge(struct hist *dst, const struct hist *src);
/* The samples in the buckets */
__u64 hist_slots_total(const struct hist *h);
/*
 * A map_snap finish (map_snap.h) for struct hist: delta is an interval's
 * growth, cum the cumulative histogram it ends at.  count becomes the sum
 * of the buckets (the BPF programs' count is a separate atomic, the copy
 * not atomic); max the upper bound of the highest non-empty bucket, capped
 * at the cumulative max (a max cannot be subtracted).
 */
void hist_snap_finish(void *delta, const void *cum);
/* Value below which a fraction q (0..1] of the samples fall. */
__u64 hist_quantile(const struct hist *h, double q);
void hist_summarize(const struct hist *h, struct hist_summary *s);

struct unit {
	const char *name;	/* "nsecs", "usecs", "msecs", "bytes" */
	__u64 div;
};

/* Text histogram, libbpf-tools style: "low -> high : count |***|"; with
 * log2, one row per power of two (the four sub-buckets of each summed). */
void hist_print(FILE *f, const struct hist *h, const struct unit *u, bool log2);
/* "count", "avg", "p50", "p90", "p99", "max", "hist": [{low, high, count}],
 * in the histogram's own unit (ns or bytes): JSON stays lossless. */
void hist_json(struct json *j, const struct hist *h);
/* One line: count, avg, p50, p90, p99, max in unit u. */
void hist_print_summary(FILE *f, const struct hist *h, const struct unit *u);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-device collector of top and metrics.  For each device behind an
 * IOMMU: its group's DMA mode, its DMA API maps and unmaps (latency
 * histograms), the IOTLB flushes of its DMA domain by kind, and the policy's
 * last verdict; for the last interval and since the collector started
 * (Prometheus counters never go down: the totals are the intervals' sums,
 * kept here, so keys pruned from an overfull map stay counted; map_snap.h).
 * Histogram counts are their buckets' sums.  Loads trace latency's program
 * in per-device mode and trace flush's (trace_progs.h).
 *
 * Flushes are per domain in the kernel; a domain is shown under the device
 * flush.bpf.c last saw unmapping in it (one device per DMA domain, except
 * in groups of several devices: whichever unmapped last).  A domain no DMA API unmap was seen
 * on (VFIO, iommufd) is a pseudo-device "domain:N".
 */
#ifndef IOMMUCTL_DEVSTATS_H
#define IOMMUCTL_DEVSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "iommuctl/trace.h"
#include "stats.h"
#include "trace_progs.h"
#include "verdicts.h"

/* DMA API operations, per device */
enum ds_op {
	DS_MAP,			/* iommu:iommu_dma_map */
	DS_UNMAP_STRICT,	/* iommu:iommu_dma_unmap, flushed before returning */
	DS_UNMAP_QUEUED,	/* ... flush left to the flush queue (lazy) */
	DS_NR_OPS,
};

struct ds_flush {
	__u64 count;
	__u64 ns;		/* time the driver spent flushing */
};

struct ds_counts {
	struct hist op[DS_NR_OPS];		/* latency in ns */
	struct ds_flush flush[FLUSH_NR_KINDS];	/* enum flush_kind */
	__u64 fq_released;	/* IOVAs released by flush-queue flushes */
};

struct ds_dev {
	char name[128];
	int group;		/* -1: not behind an IOMMU in sysfs (now) */
	char type[32];		/* the group's default domain type (DMA mode) */
	struct ds_counts cur;	/* the last interval */
	struct ds_counts total;	/* since devstats_open() */
	/* The policy's last decision for it: the dma_mode hook's if any, else
	 * the last other hook's; only decisions a policy made. */
	bool has_verdict;
	struct policy_record verdict;
};

struct devstats {
	struct ds_dev *d;	/* sorted by name */
	size_t n, cap;
	double interval_s;	/* length of the last interval */
	double elapsed_s;	/* since devstats_open() */
	struct trace_losses lost;	/* the last interval's */
	struct trace_losses lost_total;	/* since devstats_open() */
	int verdicts_err;	/* debugfs verdicts unreadable: errno; 0 */
	/* private */
	struct lat_prog lat;
	struct flush_prog fl;
	struct flush_row *rows;
	double start, last;
};

/* Check tracing can work, load and attach: 0, or the exit status after
 * saying why (see output.h). */
int devstats_open(struct devstats *ds);
/* Read the programs' growth into each device's cur (the interval since the
 * last call) and total; refresh the devices, DMA modes and verdicts.  0 or
 * -ENOMEM. */
int devstats_collect(struct devstats *ds);
void devstats_close(struct devstats *ds);

/* Both kinds of unmap summed (into *out). */
void ds_unmaps(const struct ds_counts *c, struct hist *out);
__u64 ds_flushes(const struct ds_counts *c);
/* "dma_mode=strict", "dev_trust=untrusted>trusted" (said > applied when
 * they differ), or "-" */
void ds_verdict_str(const struct ds_dev *d, char *buf, size_t len);
#endif

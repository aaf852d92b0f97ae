/* SPDX-License-Identifier: GPL-2.0 */
/*
 * trace latency's and trace flush's BPF programs as objects any command can
 * load, read and close: the trace commands themselves, and the per-device
 * collector of top and metrics (devstats.h).  Each skeleton stays in its
 * command's file (trace_latency.c, trace_flush.c), so its ELF is embedded
 * in iommuctl once.
 */
#ifndef IOMMUCTL_TRACE_PROGS_H
#define IOMMUCTL_TRACE_PROGS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "iommuctl/trace.h"
#include "histo.h"
#include "map_snap.h"
#include "stats.h"

extern const char *const lat_op_names[LAT_NR_OPS];
extern const char *const flush_kind_names[FLUSH_NR_KINDS];

/* What latency.bpf.c records: fixed before load. */
struct lat_params {
	bool per_device;	/* one histogram per (operation, device) */
	__u32 ops;		/* 1 << enum lat_op */
	__u32 max_keys;		/* per_device: histograms at most */
	const char *dev;	/* only this device, or NULL */
};

struct lat_entry {
	struct lat_key key;
	struct hist h;
};

/* A loaded latency object (the series' tracepoints, or the fallback's). */
struct lat_prog {
	struct lat_params p;
	int fd, fd_ops;		/* hists (per_device), op_hists (otherwise) */
	struct bpf_object *obj;
	const struct bpf_object_skeleton *skel;
	const volatile __u64 *map_full, *too_deep;	/* too_deep: fallback */
	struct map_snap snap;	/* the last read (LAT_PROG_SNAP) */
	void *owner;		/* lat_prog_open()'s skeleton, for lat_prog_close() */
};

#define LAT_PROG_SNAP MAP_SNAP_INIT(struct lat_entry, key, h, hist_snap_finish)

/* Open, load and attach latency.bpf.c on the series' tracepoints (raw_tp:
 * their raw_tp copies).  0, or an exit status after saying why. */
int lat_prog_open(struct lat_prog *lp, const struct lat_params *p, bool raw_tp);
/* The histograms' growth since the last call (since load, the first time):
 * *out (free it) has *n entries, sorted by operation, domain, device; count
 * is the buckets' sum and max the interval's bound (hist_snap_finish).  0
 * or -ENOMEM. */
int lat_prog_read(struct lat_prog *lp, struct lat_entry **out, size_t *n);
/* Cumulative losses since load. */
void lat_prog_losses(const struct lat_prog *lp, struct trace_losses *l);
void lat_prog_close(struct lat_prog *lp);

struct flush_row {
	struct flush_key key;
	struct flush_val v;
};

struct flush_hrow {
	struct flush_hist_key key;
	struct hist h;
};

/* A loaded flush.bpf.c. */
struct flush_prog {
	bool exposure;		/* -E: lazy mode's exposure window */
	int fd_flushes, fd_hists, fd_devs;
	struct map_snap snap_flushes, snap_hists;	/* the last reads */
	struct bpf_object *obj;
	const struct bpf_object_skeleton *skel;
	void *owner;		/* struct flush_bpf */
};

/* Open, load and attach flush.bpf.c.  0, or an exit status. */
int flush_prog_open(struct flush_prog *fp, bool exposure, bool raw_tp);
/* The growth since the last call of the counters (rows[max]), sorted by
 * domain then kind, and of the histograms (hrows[max_h]; hrows may be NULL:
 * read, so that idle keys are pruned, and dropped).  -ENOMEM, or the
 * number of rows. */
ssize_t flush_prog_read(struct flush_prog *fp, struct flush_row *rows, size_t max,
			struct flush_hrow *hrows, size_t max_h, size_t *nh);
/* The device last seen unmapping in a domain; "-" if unknown
 * (returns false then). */
bool flush_prog_domain_dev(const struct flush_prog *fp, __u32 domain, char *buf,
			   size_t len);
void flush_prog_losses(const struct flush_prog *fp, struct trace_losses *l);
void flush_prog_close(struct flush_prog *fp);

/* The iommu events each program needs (for trace_env_check()) */
extern const char *const lat_prog_events[];
extern const char *const flush_prog_events[];

#endif

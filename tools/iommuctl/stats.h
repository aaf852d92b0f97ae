/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What iommuctl's own tracing costs and what it could not record: --stats
 * (events, BPF run time, map memory) and the per-interval loss counts every
 * trace command shows.
 */
#ifndef IOMMUCTL_STATS_H
#define IOMMUCTL_STATS_H

#include <linux/types.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "json.h"

/*
 * Samples not recorded, cumulative since load.  The BPF programs count the
 * first four (their .bss, copied in by the caller); the kernel counts the
 * rest (trace_losses_read).  `has` says which apply to a command.
 */
struct trace_losses {
	__u64 map_full;		/* a map had no room for a new key */
	__u64 ringbuf;		/* events: the ring buffer was full */
	__u64 too_deep;		/* fallback: calls nested too deep to time */
	__u64 pending;		/* flush -E: queued unmaps not tracked */
	__u64 recursion;	/* runs the kernel skipped: a program already
				 * running on that CPU (recursion_misses) */
	__u64 kprobe;		/* kprobe and kretprobe misses */
	unsigned int has;	/* LOSS_* */
};

enum {
	LOSS_MAP_FULL	= 1 << 0,
	LOSS_RINGBUF	= 1 << 1,
	LOSS_TOO_DEEP	= 1 << 2,
	LOSS_PENDING	= 1 << 3,
	LOSS_KPROBE	= 1 << 4,	/* kprobes attached */
	LOSS_KPROBE_UNKNOWN = 1 << 5,	/* ... on a kernel that does not count
					 * their misses for BPF (before 6.7) */
};

/* Add the kernel's counts for the skeleton's programs and links. */
void trace_losses_read(const struct bpf_object_skeleton *s, struct trace_losses *l);
/* d = cur - prev, field by field (the interval's own losses). */
void trace_losses_delta(struct trace_losses *d, const struct trace_losses *cur,
			const struct trace_losses *prev);
__u64 trace_losses_total(const struct trace_losses *l);
/* "lost": {"map_full": N, ...}: the fields in l->has, kprobe null if unknown. */
void trace_losses_json(struct json *j, const struct trace_losses *l);
/* A footnote, "(not recorded: ...)", if anything was lost. */
void trace_losses_print(FILE *f, const struct trace_losses *l);

/* Kernel memory of the object's maps, from the kernel's own accounting
 * (memlock in /proc/self/fdinfo), in bytes. */
__u64 trace_maps_memory(const struct bpf_object *obj);

struct trace_stats {
	__u64 events;		/* operations counted, summed by the caller */
	int stats_fd;		/* keeps BPF run-time statistics on */
	__u64 run_ns, run_cnt;	/* at begin */
};

void trace_stats_begin(struct trace_stats *s, struct bpf_object *obj);
/* The --stats lines on stderr; lost: totals since load (NULL: none). */
void trace_stats_end(struct trace_stats *s, struct bpf_object *obj, double seconds,
		     const struct trace_losses *lost);

/*
 * The interval loop of trace latency and trace flush, once their programs
 * are attached: sleep, then print the interval (with its measured length,
 * shorter if Ctrl-C ended it, and its own losses), until count or Ctrl-C;
 * --stats at the end.
 */
struct trace_loop {
	const char *banner;		/* "Tracing ..." */
	struct bpf_object *obj;
	void *ctx;
	/* Cumulative losses: the BPF counters, then trace_losses_read(). */
	void (*read_losses)(void *ctx, struct trace_losses *l);
	void (*print)(void *ctx, double secs, const struct trace_losses *lost,
		      struct trace_stats *ts);
};

void trace_loop_run(const struct trace_loop *loop);

#endif

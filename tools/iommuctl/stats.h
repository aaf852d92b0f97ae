/* SPDX-License-Identifier: GPL-2.0 */
/* --stats: what iommuctl's own tracing costs. */
#ifndef IOMMUCTL_STATS_H
#define IOMMUCTL_STATS_H

#include <linux/types.h>
#include <bpf/libbpf.h>

struct trace_stats {
	__u64 events;		/* operations counted, summed by the caller */
	int stats_fd;		/* keeps BPF run-time statistics on */
	__u64 run_ns, run_cnt;	/* at begin */
};

void trace_stats_begin(struct trace_stats *s, struct bpf_object *obj);
void trace_stats_end(struct trace_stats *s, struct bpf_object *obj, long seconds);

#endif

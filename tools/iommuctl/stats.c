// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "stats.h"

static void run_totals(struct bpf_object *obj, __u64 *ns, __u64 *cnt)
{
	struct bpf_program *prog;

	*ns = *cnt = 0;
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_prog_get_info_by_fd(fd, &info, &len))
			continue;
		*ns += info.run_time_ns;
		*cnt += info.run_cnt;
	}
}

void trace_stats_begin(struct trace_stats *s, struct bpf_object *obj)
{
	s->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (s->stats_fd < 0)
		fprintf(stderr, "iommuctl: cannot enable BPF run-time statistics (%s); "
			"--stats will count events only\n", strerror(-s->stats_fd));
	run_totals(obj, &s->run_ns, &s->run_cnt);
}

void trace_stats_end(struct trace_stats *s, struct bpf_object *obj, long seconds)
{
	__u64 ns, cnt;

	run_totals(obj, &ns, &cnt);
	ns -= s->run_ns;
	cnt -= s->run_cnt;
	if (seconds < 1)
		seconds = 1;
	fprintf(stderr, "iommuctl: stats: %llu events in %ld s (%.0f/s)",
		s->events, seconds, (double)s->events / seconds);
	if (s->stats_fd >= 0 && cnt)
		fprintf(stderr, "; BPF programs ran %llu times, %.0f ns per run, "
			"%.3f%% of one CPU", cnt, (double)ns / cnt,
			100.0 * ns / (seconds * 1e9));
	fputc('\n', stderr);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
}

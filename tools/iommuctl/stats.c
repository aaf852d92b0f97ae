// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "output.h"
#include "trace_common.h"
#include "stats.h"

/* Read once: trace_losses_read() runs every interval, for every program. */
static bool kernel_at_least(int major, int minor)
{
	static int ma = -1, mi;

	if (ma < 0) {
		struct utsname u;

		if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
			ma = mi = 0;
	}
	return ma > major || (ma == major && mi >= minor);
}

void trace_losses_read(const struct bpf_object_skeleton *s, struct trace_losses *l)
{
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_program *prog = *s->progs[i].prog;
		struct bpf_link *link = s->progs[i].link ? *s->progs[i].link : NULL;
		struct bpf_prog_info pinfo;
		struct bpf_link_info linfo;
		__u32 len;
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue;
		memset(&pinfo, 0, sizeof(pinfo));
		len = sizeof(pinfo);
		if (!bpf_prog_get_info_by_fd(fd, &pinfo, &len))
			l->recursion += pinfo.recursion_misses;
		if (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE || !link)
			continue;
		l->has |= LOSS_KPROBE;
		if (!kernel_at_least(6, 7)) {
			l->has |= LOSS_KPROBE_UNKNOWN;
			continue;
		}
		memset(&linfo, 0, sizeof(linfo));
		len = sizeof(linfo);
		if (!bpf_link_get_info_by_fd(bpf_link__fd(link), &linfo, &len) &&
		    linfo.type == BPF_LINK_TYPE_PERF_EVENT)
			l->kprobe += linfo.perf_event.kprobe.missed;
	}
}

void trace_losses_delta(struct trace_losses *d, const struct trace_losses *cur,
			const struct trace_losses *prev)
{
	d->map_full = cur->map_full - prev->map_full;
	d->ringbuf = cur->ringbuf - prev->ringbuf;
	d->too_deep = cur->too_deep - prev->too_deep;
	d->pending = cur->pending - prev->pending;
	d->recursion = cur->recursion - prev->recursion;
	d->kprobe = cur->kprobe - prev->kprobe;
	d->has = cur->has;
}

__u64 trace_losses_total(const struct trace_losses *l)
{
	return l->map_full + l->ringbuf + l->too_deep + l->pending + l->recursion +
	       l->kprobe;
}

void trace_losses_json(struct json *j, const struct trace_losses *l)
{
	json_begin_object(j, "lost");
	if (l->has & LOSS_MAP_FULL)
		json_u64(j, "map_full", l->map_full);
	if (l->has & LOSS_RINGBUF)
		json_u64(j, "ringbuf", l->ringbuf);
	if (l->has & LOSS_TOO_DEEP)
		json_u64(j, "too_deep", l->too_deep);
	if (l->has & LOSS_PENDING)
		json_u64(j, "exposure_untracked", l->pending);
	json_u64(j, "recursion", l->recursion);
	if (l->has & LOSS_KPROBE_UNKNOWN)
		json_null(j, "kprobe");
	else if (l->has & LOSS_KPROBE)
		json_u64(j, "kprobe", l->kprobe);
	json_end_object(j);
}

void trace_losses_print(FILE *f, const struct trace_losses *l)
{
	const char *sep = "";

	if (!trace_losses_total(l))
		return;
	fprintf(f, "(not recorded:");
#define ITEM(n, what)							\
	do {								\
		if (n) {						\
			fprintf(f, "%s %llu %s", sep, (unsigned long long)(n), what); \
			sep = ",";					\
		}							\
	} while (0)
	ITEM(l->map_full, "samples with a new key (map full)");
	ITEM(l->ringbuf, "events (ring buffer full)");
	ITEM(l->too_deep, "calls nested too deep to time");
	ITEM(l->pending, "queued unmaps (exposure undercounted)");
	ITEM(l->recursion, "program runs skipped by the kernel (recursion)");
	ITEM(l->kprobe, "kprobe misses");
#undef ITEM
	fprintf(f, ")\n");
}

__u64 trace_maps_memory(const struct bpf_object *obj)
{
	struct bpf_map *map;
	__u64 total = 0;

	bpf_object__for_each_map(map, obj) {
		char path[64], line[128];
		int fd = bpf_map__fd(map);
		FILE *f;

		if (fd < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long v;

			if (sscanf(line, "memlock: %llu", &v) == 1)
				total += v;
		}
		fclose(f);
	}
	return total;
}

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

void trace_stats_end(struct trace_stats *s, struct bpf_object *obj, double seconds,
		     const struct trace_losses *lost)
{
	__u64 ns, cnt, mem = trace_maps_memory(obj);

	run_totals(obj, &ns, &cnt);
	ns -= s->run_ns;
	cnt -= s->run_cnt;
	if (seconds < 0.001)
		seconds = 0.001;
	fprintf(stderr, "iommuctl: stats: %llu events in %.1f s (%.0f/s)",
		s->events, seconds, s->events / seconds);
	if (s->stats_fd >= 0 && cnt)
		fprintf(stderr, "; BPF programs ran %llu times, %.0f ns per run, "
			"%.3f%% of one CPU", cnt, (double)ns / cnt,
			100.0 * ns / (seconds * 1e9));
	fputc('\n', stderr);
	fprintf(stderr, "iommuctl: stats: BPF maps use %llu bytes (%.1f MiB) of kernel "
		"memory with %d possible CPUs\n", (unsigned long long)mem,
		mem / 1048576.0, libbpf_num_possible_cpus());
	if (lost) {
		fprintf(stderr, "iommuctl: stats: ");
		if (trace_losses_total(lost))
			trace_losses_print(stderr, lost);
		else
			fprintf(stderr, "every sample recorded%s\n",
				lost->has & LOSS_KPROBE_UNKNOWN ?
				" (kprobe misses not reported by this kernel)" : "");
	}
	if (s->stats_fd >= 0)
		close(s->stats_fd);
}

void trace_loop_run(const struct trace_loop *loop)
{
	const struct trace_opts *o = &trace_opts;
	struct trace_losses prev, cur, delta;
	struct trace_stats ts = {};
	double start, last;
	int printed = 0;

	if (o->stats)
		trace_stats_begin(&ts, loop->obj);
	loop->read_losses(loop->ctx, &prev);
	trace_handle_signals();
	fprintf(stderr, "%s %s\n", loop->banner, o->nargs ? "" : "Hit Ctrl-C to end.");
	start = last = monotonic_s();
	/*
	 * Ctrl-C ends the interval under way, which is still printed.  A read
	 * that began after the signal is the last; one the signal interrupted
	 * (it landed while an interval was read or printed, not in the sleep)
	 * is followed by one more, at once, so nothing after it is lost.
	 */
	while (printed < o->count) {
		bool final;
		double now;

		if (!exiting)
			sleep(o->interval);	/* a signal ends the sleep early */
		final = exiting;
		now = monotonic_s();
		loop->read_losses(loop->ctx, &cur);
		trace_losses_delta(&delta, &cur, &prev);
		prev = cur;
		loop->print(loop->ctx, now - last, &delta, &ts);
		last = now;
		printed++;
		if (final)
			break;
	}
	if (o->stats) {
		loop->read_losses(loop->ctx, &cur);
		trace_stats_end(&ts, loop->obj, monotonic_s() - start, &cur);
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace flush: IOTLB flushes per domain (and the device it serves),
 * by kind, with rates, time spent, pages per range flush, a histogram of
 * range sizes, and lazy mode's exposure window.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "iommuctl.h"
#include "histo.h"
#include "iommuctl/trace.h"
#include "stats.h"
#include "flush.skel.h"

static const char *const kind_names[FLUSH_NR_KINDS] = {
	[FLUSH_ALL] = "flush_all",
	[FLUSH_RANGE] = "range",
	[FLUSH_SYNC_MAP] = "sync_map",
	[FLUSH_FQ_TIMER] = "fq_timer",
	[FLUSH_FQ_FULL] = "fq_full",
};

static bool exposure;
static struct trace_opts *const o = &trace_opts;

static const char doc[] =
"IOTLB flushes per IOMMU domain, and what they cost.\n"
"\n"
"USAGE: iommuctl trace flush [-E] [-T] [-j] [--stats] [-v] [interval [count]]\n"
"\n"
"Kinds: flush_all (domain-wide), range (iotlb_sync after unmap), sync_map\n"
"(after map, drivers that need it), fq_timer and fq_full (dma-iommu flush\n"
"queue flushed by its timer or because a queue filled up).  For each domain:\n"
"count, rate, average time in the driver, pages per range flush, IOVAs\n"
"released by flush-queue flushes; a histogram of range sizes; and with -E,\n"
"in lazy mode, the exposure window: from each queued unmap to the flush that\n"
"ends it (the time the device could still reach the unmapped memory).  -E\n"
"tracks every queued unmap, so it costs more than the counts (--stats).\n"
"\n"
"EXAMPLES:\n"
"    iommuctl trace flush            # until Ctrl-C\n"
"    iommuctl trace flush -T 1 10    # every second, 10 times\n"
"    iommuctl trace flush -E 5 1     # with lazy mode's exposure window\n"
"    iommuctl trace flush -j 5 1     # one JSON object after 5 s\n";

static const struct argp_option opts[] = {
	{ "exposure", 'E', NULL, 0, "measure lazy mode's exposure window", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'E':
		exposure = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

#define MAX_ROWS 4096

struct row {
	struct flush_key key;
	struct flush_val v;
};

struct hrow {
	struct flush_hist_key key;
	struct hist h;
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->key.domain != y->key.domain)
		return x->key.domain < y->key.domain ? -1 : 1;
	return (int)x->key.kind - (int)y->key.kind;
}

static size_t drain_counts(int fd, struct row *rows)
{
	int ncpu = libbpf_num_possible_cpus();
	struct flush_key keys[MAX_ROWS];
	struct flush_val vals[ncpu];
	size_t n = map_keys(fd, sizeof(keys[0]), keys, MAX_ROWS);

	for (size_t i = 0; i < n; i++) {
		memset(&rows[i], 0, sizeof(rows[i]));
		rows[i].key = keys[i];
		if (!bpf_map_lookup_elem(fd, &keys[i], vals))
			for (int c = 0; c < ncpu; c++) {
				rows[i].v.count += vals[c].count;
				rows[i].v.ns += vals[c].ns;
				rows[i].v.pages += vals[c].pages;
				rows[i].v.released += vals[c].released;
			}
		bpf_map_delete_elem(fd, &keys[i]);
	}
	qsort(rows, n, sizeof(*rows), cmp_row);
	return n;
}

static size_t drain_hists(int fd, struct hrow *rows, size_t max)
{
	int ncpu = libbpf_num_possible_cpus();
	struct flush_hist_key *keys = calloc(max, sizeof(*keys));
	struct hist *vals = calloc(ncpu, sizeof(*vals));
	size_t n = 0;

	if (!keys || !vals)
		goto out;
	n = map_keys(fd, sizeof(*keys), keys, max);
	for (size_t i = 0; i < n; i++) {
		memset(&rows[i], 0, sizeof(rows[i]));
		rows[i].key = keys[i];
		if (!bpf_map_lookup_elem(fd, &keys[i], vals))
			for (int c = 0; c < ncpu; c++)
				hist_merge(&rows[i].h, &vals[c]);
		bpf_map_delete_elem(fd, &keys[i]);
	}
out:
	free(keys);
	free(vals);
	return n;
}

static void domain_dev(int fd, __u32 domain, char *buf, size_t len)
{
	struct domain_dev d;

	if (bpf_map_lookup_elem(fd, &domain, &d))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s", d.dev);
}

static struct hist *find_hist(struct hrow *h, size_t n, __u32 which, __u32 domain)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].key.hist == which && h[i].key.domain == domain)
			return &h[i].h;
	return NULL;
}

static void print_interval(struct flush_bpf *skel, long secs, struct trace_stats *ts)
{
	static struct row rows[MAX_ROWS];
	static struct hrow hrows[256];
	int devs_fd = bpf_map__fd(skel->maps.domain_devs);
	const struct unit bytes = { "bytes", 1 }, usecs = { "usecs", 1000 };
	size_t n = drain_counts(bpf_map__fd(skel->maps.flushes), rows);
	size_t nh = drain_hists(bpf_map__fd(skel->maps.flush_hists), hrows, 256);
	__u64 dropped = skel->bss->pending_dropped;
	char dev[DEV_NAME_LEN], when[32];
	time_t now = time(NULL);

	if (secs < 1)
		secs = 1;
	for (size_t i = 0; i < n; i++)
		ts->events += rows[i].v.count;
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));

	if (o->json) {
		struct json j;
		__u32 cur = 0;
		bool open = false;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_i64(&j, "time", now);
		json_i64(&j, "interval_s", secs);
		json_u64(&j, "exposure_untracked", dropped);
		json_begin_array(&j, "domains");
		for (size_t i = 0; i <= n; i++) {
			if (open && (i == n || rows[i].key.domain != cur)) {
				struct hist *h;

				json_end_object(&j);	/* flushes */
				h = find_hist(hrows, nh, FH_RANGE_BYTES, cur);
				if (h) {
					json_begin_object(&j, "range_bytes");
					hist_json(&j, h);
					json_end_object(&j);
				}
				h = find_hist(hrows, nh, FH_EXPOSURE_NS, cur);
				if (h) {
					json_begin_object(&j, "exposure_ns");
					hist_json(&j, h);
					json_end_object(&j);
				}
				json_end_object(&j);	/* domain */
				open = false;
			}
			if (i == n)
				break;
			if (!open) {
				cur = rows[i].key.domain;
				domain_dev(devs_fd, cur, dev, sizeof(dev));
				json_begin_object(&j, NULL);
				json_u64(&j, "domain", cur);
				if (strcmp(dev, "-"))
					json_str(&j, "device", dev);
				else
					json_null(&j, "device");
				json_begin_object(&j, "flushes");
				open = true;
			}
			json_begin_object(&j, kind_names[rows[i].key.kind]);
			json_u64(&j, "count", rows[i].v.count);
			json_f64(&j, "per_s", (double)rows[i].v.count / secs);
			json_f64(&j, "avg_ns", rows[i].v.count ?
				 (double)rows[i].v.ns / rows[i].v.count : 0);
			if (rows[i].key.kind == FLUSH_RANGE || rows[i].key.kind == FLUSH_SYNC_MAP)
				json_u64(&j, "pages", rows[i].v.pages);
			if (rows[i].key.kind >= FLUSH_FQ_TIMER)
				json_u64(&j, "released", rows[i].v.released);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_end_object(&j);
		json_line(&j);
		return;
	}

	if (o->timestamp)
		printf("%-8s\n", when);
	if (!n) {
		printf("(no IOTLB flushes traced)\n\n");
		return;
	}
	printf("%-7s %-16s %-9s %10s %10s %10s %12s %9s\n", "DOMAIN", "DEVICE", "KIND",
	       "COUNT", "PER_S", "AVG_NS", "PAGES/FLUSH", "RELEASED");
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char pages[16] = "-", released[16] = "-";

		domain_dev(devs_fd, r->key.domain, dev, sizeof(dev));
		if ((r->key.kind == FLUSH_RANGE || r->key.kind == FLUSH_SYNC_MAP) && r->v.count)
			snprintf(pages, sizeof(pages), "%.1f", (double)r->v.pages / r->v.count);
		if (r->key.kind >= FLUSH_FQ_TIMER)
			snprintf(released, sizeof(released), "%llu", (unsigned long long)r->v.released);
		printf("%-7u %-16s %-9s %10llu %10.1f %10.0f %12s %9s\n", r->key.domain,
		       dev, kind_names[r->key.kind], (unsigned long long)r->v.count,
		       (double)r->v.count / secs,
		       r->v.count ? (double)r->v.ns / r->v.count : 0.0, pages, released);
	}
	for (size_t i = 0; i < nh; i++) {
		bool expo = hrows[i].key.hist == FH_EXPOSURE_NS;

		domain_dev(devs_fd, hrows[i].key.domain, dev, sizeof(dev));
		printf("\ndomain %u (%s): %s\n", hrows[i].key.domain, dev,
		       expo ? "exposure window, queued unmap -> flush" : "range flush size");
		hist_print(stdout, &hrows[i].h, expo ? &usecs : &bytes);
		hist_print_summary(stdout, &hrows[i].h, expo ? &usecs : &bytes);
	}
	if (dropped)
		printf("(%llu queued unmaps were not tracked: exposure undercounted)\n",
		       dropped);
	printf("\n");
	fflush(stdout);
}

int cmd_trace_flush(int argc, char **argv)
{
	static const struct argp_child children[] = { { &trace_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children };
	static const char *const events[] = {
		"iotlb_flush_all", "iotlb_sync", "iotlb_sync_map", "dma_fq_flush",
		"iommu_dma_unmap", NULL
	};
	struct trace_env tenv = {};
	struct trace_stats ts = {};
	struct flush_bpf *skel;
	int err, printed = 0;
	time_t start, last;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	trace_libbpf_setup(o->verbose);
	err = trace_env_check(&tenv, events, false);
	if (err)
		return err;

	skel = flush_bpf__open();
	if (!skel) {
		fprintf(stderr, "iommuctl: opening the BPF skeleton failed: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	skel->rodata->track_exposure = exposure;
	trace_select_programs(skel->obj, tenv.use_raw_tp);
	err = flush_bpf__load(skel);
	if (err) {
		trace_report_load_error("flush", err);
		goto out;
	}
	if (o->stats)
		trace_stats_begin(&ts, skel->obj);
	err = flush_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "iommuctl: attaching to the iommu tracepoints failed: %s\n",
			strerror(-err));
		goto out;
	}
	trace_handle_signals();
	fprintf(stderr, "Tracing IOTLB flushes... %s\n",
		o->nargs ? "" : "Hit Ctrl-C to end.");
	start = last = time(NULL);
	while (!exiting && printed < o->count) {
		time_t now;

		sleep(o->interval);
		now = time(NULL);
		print_interval(skel, o->nargs ? o->interval : now - last, &ts);
		last = now;
		printed++;
	}
	if (o->stats)
		trace_stats_end(&ts, skel->obj, time(NULL) - start);
out:
	flush_bpf__destroy(skel);
	return err ? EXIT_FAILURE : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace flush: IOTLB flushes per domain (and the device it serves),
 * by kind, with rates, time spent, pages per range flush, a histogram of
 * range sizes, and lazy mode's exposure window.
 */
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "bpf_log.h"
#include "bpf_maps.h"
#include "commands.h"
#include "devname.h"
#include "output.h"
#include "sysfs.h"
#include "trace_common.h"
#include "histo.h"
#include "iommuctl/trace.h"
#include "stats.h"
#include "trace_progs.h"
#include "flush.skel.h"

const char *const flush_kind_names[FLUSH_NR_KINDS] = {
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
"USAGE: iommuctl trace flush [-E] [-d DEV] [-m|-u|-n] [-l] [-T] [-j|-p] [-S] [-v]\n"
"                            [interval [count]]\n"
"\n"
"Kinds: flush_all (domain-wide), range (iotlb_sync after unmap), sync_map\n"
"(after map, drivers that need it), fq_timer and fq_full (dma-iommu flush\n"
"queue flushed by its timer or because a queue filled up).  For each domain:\n"
"count, rate, average time in the driver, pages per range flush, IOVAs\n"
"released by flush-queue flushes; a histogram of range sizes; and with -E,\n"
"in lazy mode, the exposure window: from each queued unmap to the flush that\n"
"ends it (the time the device could still reach the unmapped memory).  -E\n"
"tracks every queued unmap, so it costs more than the counts (--stats).\n"
"-d keeps the domains whose last unmap was DEV's (each domain is shown with\n"
"the device last seen unmapping in it).\n"
"Times print in -m/-u/-n (JSON: always ns).\n"
"\n"
"EXAMPLES:\n"
"    iommuctl trace flush            # until Ctrl-C\n"
"    iommuctl trace flush -T 1 10    # every second, 10 times\n"
"    iommuctl trace flush -E 5 1     # with lazy mode's exposure window\n"
"    iommuctl trace flush -d 0000:00:03.0 -n 1 5\n"
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

static int cmp_row(const void *a, const void *b)
{
	const struct flush_row *x = a, *y = b;

	if (x->key.domain != y->key.domain)
		return x->key.domain < y->key.domain ? -1 : 1;
	return (int)x->key.kind - (int)y->key.kind;
}

bool flush_prog_domain_dev(const struct flush_prog *fp, __u32 domain, char *buf,
			   size_t len)
{
	struct domain_dev d;

	if (bpf_map_lookup_elem(fp->fd_devs, &domain, &d)) {
		snprintf(buf, len, "-");
		return false;
	}
	snprintf(buf, len, "%s", d.dev);
	return true;
}

/*
 * Each domain's device, looked up once per interval: the -d filter and every
 * line of an interval name the same device, though the program may learn
 * another one meanwhile.
 */
struct dom_dev {
	__u32 domain;
	char dev[DEV_NAME_LEN];
};

static struct dom_dev dom_devs[FLUSH_MAX_KEYS + FLUSH_MAX_HISTS];
static size_t n_dom_devs;

static int cmp_dom_dev(const void *a, const void *b)
{
	__u32 x = ((const struct dom_dev *)a)->domain, y = ((const struct dom_dev *)b)->domain;

	return x < y ? -1 : x > y;
}

static void dom_devs_read(const struct flush_prog *fp, const struct flush_row *rows,
			  size_t n, const struct flush_hrow *hrows, size_t nh)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		dom_devs[k++].domain = rows[i].key.domain;
	for (size_t i = 0; i < nh; i++)
		dom_devs[k++].domain = hrows[i].key.domain;
	qsort(dom_devs, k, sizeof(*dom_devs), cmp_dom_dev);
	n_dom_devs = 0;
	for (size_t i = 0; i < k; i++) {
		struct dom_dev *d = &dom_devs[n_dom_devs];

		if (n_dom_devs && d[-1].domain == dom_devs[i].domain)
			continue;
		d->domain = dom_devs[i].domain;
		flush_prog_domain_dev(fp, d->domain, d->dev, sizeof(d->dev));
		n_dom_devs++;
	}
}

/* The device of a domain of this interval's rows, "-" if unknown */
static const char *dom_dev(__u32 domain)
{
	struct dom_dev key = { .domain = domain };
	const struct dom_dev *d = bsearch(&key, dom_devs, n_dom_devs, sizeof(*dom_devs),
					  cmp_dom_dev);

	return d ? d->dev : "-";
}

ssize_t flush_prog_read(struct flush_prog *fp, struct flush_row *rows, size_t max,
			struct flush_hrow *hrows, size_t max_h, size_t *nh)
{
	double now = monotonic_s();
	ssize_t n = map_read_delta(fp->fd_flushes, &fp->snap_flushes, rows, max, now), k;
	struct flush_hrow *h;

	if (n < 0)
		return n;
	h = hrows ? hrows : calloc(max_h, sizeof(*h));
	k = h ? map_read_delta(fp->fd_hists, &fp->snap_hists, h, max_h, now) : -ENOMEM;
	if (!hrows)
		free(h);
	if (k < 0)
		return k;
	if (nh)
		*nh = k;
	qsort(rows, n, sizeof(*rows), cmp_row);
	return n;
}

static struct hist *find_hist(struct flush_hrow *h, size_t n, __u32 which, __u32 domain)
{
	for (size_t i = 0; i < n; i++)
		if (h[i].key.hist == which && h[i].key.domain == domain)
			return &h[i].h;
	return NULL;
}

static void print_interval(void *ctx, double secs,
			   const struct trace_losses *lost, struct trace_stats *ts)
{
	struct flush_prog *fp = ctx;
	static struct flush_row rows[FLUSH_MAX_KEYS];
	static struct flush_hrow hrows[FLUSH_MAX_HISTS];
	const struct unit bytes = { "bytes", 1 };
	const char *dev;
	char when[32], avg[8];
	time_t now = time(NULL);
	size_t nh, n;
	ssize_t got = flush_prog_read(fp, rows, FLUSH_MAX_KEYS, hrows, FLUSH_MAX_HISTS, &nh);

	if (got < 0) {
		p_err("out of memory");
		return;
	}
	n = got;
	if (secs < 0.001)
		secs = 0.001;
	for (size_t i = 0; i < n; i++)
		ts->events += rows[i].v.count;
	dom_devs_read(fp, rows, n, hrows, nh);
	if (o->dev) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (!strcmp(dom_dev(rows[i].key.domain), o->dev))
				rows[k++] = rows[i];
		n = k;
		k = 0;
		for (size_t i = 0; i < nh; i++)
			if (!strcmp(dom_dev(hrows[i].key.domain), o->dev))
				hrows[k++] = hrows[i];
		nh = k;
	}
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));

	if (json_output) {
		struct json j;
		__u32 cur = 0;
		bool open = false;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_i64(&j, "time", now);
		json_f64(&j, "interval_s", secs);
		trace_losses_json(&j, lost);
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
				dev = dom_dev(cur);
				json_begin_object(&j, NULL);
				json_u64(&j, "domain", cur);
				if (strcmp(dev, "-"))
					json_str(&j, "device", dev);
				else
					json_null(&j, "device");
				json_begin_object(&j, "flushes");
				open = true;
			}
			json_begin_object(&j, flush_kind_names[rows[i].key.kind]);
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
		printf("(no IOTLB flushes traced)\n");
		trace_losses_print(stdout, lost);
		printf("\n");
		fflush(stdout);
		return;
	}
	snprintf(avg, sizeof(avg), "AVG_%.2s", o->unit.name);
	for (char *c = avg; *c; c++)
		*c = toupper((unsigned char)*c);
	printf("%-7s %-16s %-9s %10s %10s %10s %12s %9s\n", "DOMAIN", "DEVICE", "KIND",
	       "COUNT", "PER_S", avg, "PAGES/FLUSH", "RELEASED");
	for (size_t i = 0; i < n; i++) {
		const struct flush_row *r = &rows[i];
		char pages[16] = "-", released[16] = "-";

		dev = dom_dev(r->key.domain);
		if ((r->key.kind == FLUSH_RANGE || r->key.kind == FLUSH_SYNC_MAP) && r->v.count)
			snprintf(pages, sizeof(pages), "%.1f", (double)r->v.pages / r->v.count);
		if (r->key.kind >= FLUSH_FQ_TIMER)
			snprintf(released, sizeof(released), "%llu", (unsigned long long)r->v.released);
		printf("%-7u %-16s %-9s %10llu %10.1f %10.*f %12s %9s\n", r->key.domain,
		       dev, flush_kind_names[r->key.kind], (unsigned long long)r->v.count,
		       (double)r->v.count / secs, o->unit.div == 1 ? 0 : 3,
		       r->v.count ? (double)r->v.ns / r->v.count / o->unit.div : 0.0, pages,
		       released);
	}
	for (size_t i = 0; i < nh; i++) {
		bool expo = hrows[i].key.hist == FH_EXPOSURE_NS;

		dev = dom_dev(hrows[i].key.domain);
		printf("\ndomain %u (%s): %s\n", hrows[i].key.domain, dev,
		       expo ? "exposure window, queued unmap -> flush" : "range flush size");
		hist_print(stdout, &hrows[i].h, expo ? &o->unit : &bytes, o->log2);
		hist_print_summary(stdout, &hrows[i].h, expo ? &o->unit : &bytes);
	}
	if (trace_losses_total(lost)) {
		printf("\n");
		trace_losses_print(stdout, lost);
	}
	printf("\n");
	fflush(stdout);
}

void flush_prog_losses(const struct flush_prog *fp, struct trace_losses *l)
{
	const struct flush_bpf *skel = fp->owner;

	memset(l, 0, sizeof(*l));
	l->has = LOSS_MAP_FULL | (fp->exposure ? LOSS_PENDING : 0);
	l->map_full = skel->bss->lost_map_full;
	l->pending = skel->bss->lost_pending;
	trace_losses_read(fp->skel, l);
}

static void read_losses(void *ctx, struct trace_losses *l)
{
	flush_prog_losses(ctx, l);
}

const char *const flush_prog_events[] = {
	"iotlb_flush_all", "iotlb_sync", "iotlb_sync_map", "dma_fq_flush",
	"iommu_dma_unmap", NULL
};

int flush_prog_open(struct flush_prog *fp, bool exposure, bool raw_tp)
{
	struct flush_bpf *skel;
	int err;

	memset(fp, 0, sizeof(*fp));
	skel = flush_bpf__open();
	if (!skel)
		return p_err("opening the BPF skeleton failed: %s", strerror(errno));
	skel->rodata->track_exposure = exposure;
	bpf_map__set_max_entries(skel->maps.pending, exposure ? FLUSH_MAX_PENDING : 1);
	trace_select_programs(skel->obj, raw_tp);
	err = flush_bpf__load(skel);
	if (err) {
		bpf_log_load_error("flush", err);
		flush_bpf__destroy(skel);
		return EXIT_FAILURE;
	}
	err = flush_bpf__attach(skel);
	if (err) {
		flush_bpf__destroy(skel);
		return p_err("attaching to the iommu tracepoints failed: %s", strerror(-err));
	}
	*fp = (struct flush_prog){
		.exposure = exposure,
		.fd_flushes = bpf_map__fd(skel->maps.flushes),
		.fd_hists = bpf_map__fd(skel->maps.flush_hists),
		.fd_devs = bpf_map__fd(skel->maps.domain_devs),
		.snap_flushes = MAP_SNAP_INIT(struct flush_row, key, v, NULL),
		.snap_hists = MAP_SNAP_INIT(struct flush_hrow, key, h, hist_snap_finish),
		.obj = skel->obj, .skel = skel->skeleton,
		.owner = skel,
	};
	return 0;
}

void flush_prog_close(struct flush_prog *fp)
{
	flush_bpf__destroy(fp->owner);
	fp->owner = NULL;
	map_snap_free(&fp->snap_flushes);
	map_snap_free(&fp->snap_hists);
}

int cmd_trace_flush(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &trace_common_argp }, { &trace_hist_argp }, { &output_argp }, {}
	};
	static const struct argp argp = { opts, parse_arg, NULL, doc, children };
	struct trace_env tenv = {};
	struct flush_prog fp;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	err = check_device_filter(o->dev, false);
	if (err)
		return err;
	err = trace_env_check(&tenv, flush_prog_events, false);
	if (err)
		return err;
	err = flush_prog_open(&fp, exposure, tenv.use_raw_tp);
	if (err)
		return err;
	trace_loop_run(&(struct trace_loop){
		.banner = "Tracing IOTLB flushes...",
		.obj = fp.obj, .ctx = &fp,
		.read_losses = read_losses, .print = print_interval,
	});
	flush_prog_close(&fp);
	return 0;
}

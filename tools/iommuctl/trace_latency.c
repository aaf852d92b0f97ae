// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace latency: DMA and domain map/unmap latency histograms from
 * the iommu tracepoints, aggregated in the kernel.
 */
#include <argp.h>
#include <errno.h>
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
#include "latency.skel.h"
#include "latency_fallback.skel.h"

static const char *const op_names[LAT_NR_OPS] = {
	[LAT_DMA_MAP] = "dma_map",
	[LAT_DMA_UNMAP_STRICT] = "dma_unmap_strict",
	[LAT_DMA_UNMAP_QUEUED] = "dma_unmap_queued",
	[LAT_CORE_MAP] = "domain_map",
	[LAT_CORE_UNMAP] = "domain_unmap",
};

static struct {
	bool per_device;
	const char *dev;
	__u32 ops;
	struct unit unit;
} env = {
	.ops = (1U << LAT_NR_OPS) - 1,
	.unit = { "usecs", 1000 },
};
static struct trace_opts *const o = &trace_opts;

static const char doc[] =
"Latency histograms of IOMMU map and unmap operations.\n"
"\n"
"USAGE: iommuctl trace latency [-D] [-d DEV] [-o OPS] [-m|-u|-n] [-T] [-j]\n"
"                              [--stats] [-v] [interval [count]]\n"
"\n"
"Operations (-o, comma-separated):\n"
"  dma_map             DMA API map through dma-iommu (iommu:iommu_dma_map)\n"
"  dma_unmap           both of:\n"
"    dma_unmap_strict  unmap that flushed the IOTLB before returning\n"
"    dma_unmap_queued  unmap whose flush went to the flush queue (lazy)\n"
"  domain_map          iommu_map()/iommu_map_sg(), as VFIO and iommufd use\n"
"  domain_unmap        iommu_unmap()/iommu_unmap_fast()\n"
"\n"
"Without an interval, runs until Ctrl-C and prints once at the end.\n"
"On a kernel without the iommu-bpf tracepoints, times iommu_dma_map_page,\n"
"iommu_dma_unmap_page, iommu_map and iommu_unmap with fentry/fexit (kprobes\n"
"if fentry cannot attach) and says so on stderr.\n"
"\n"
"EXAMPLES:\n"
"    iommuctl trace latency                 # all operations until Ctrl-C\n"
"    iommuctl trace latency -D 1 5          # per device, 1 s intervals, 5 times\n"
"    iommuctl trace latency -d 0000:00:03.0 -o dma_unmap -n 10\n"
"    iommuctl trace latency -j 1 3          # NDJSON, one object per interval\n";

static const struct argp_option opts[] = {
	{ "per-device", 'D', NULL, 0, "one histogram per device (domain for domain_*)", 0 },
	{ "device", 'd', "DEV", 0, "only this device (e.g. 0000:00:03.0); dma_* ops only", 0 },
	{ "ops", 'o', "OPS", 0, "operations to trace (see above)", 0 },
	{ "milliseconds", 'm', NULL, 0, "print in milliseconds", 0 },
	{ "microseconds", 'u', NULL, 0, "print in microseconds (default)", 0 },
	{ "nanoseconds", 'n', NULL, 0, "print in nanoseconds", 0 },
	{},
};

static int parse_ops(const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int ret = 0;

	env.ops = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;

		if (!strcmp(tok, "dma_unmap")) {
			env.ops |= 1U << LAT_DMA_UNMAP_STRICT | 1U << LAT_DMA_UNMAP_QUEUED;
			continue;
		}
		if (!strcmp(tok, "all")) {
			env.ops = (1U << LAT_NR_OPS) - 1;
			continue;
		}
		for (i = 0; i < LAT_NR_OPS; i++)
			if (!strcmp(tok, op_names[i]))
				break;
		if (i == LAT_NR_OPS) {
			fprintf(stderr, "iommuctl: unknown operation '%s' (want dma_map, dma_unmap, "
				"dma_unmap_strict, dma_unmap_queued, domain_map, domain_unmap, all)\n",
				tok);
			ret = EXIT_USAGE;
			break;
		}
		env.ops |= 1U << i;
	}
	free(copy);
	return ret;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'D':
		env.per_device = true;
		break;
	case 'd':
		if (strlen(arg) >= DEV_NAME_LEN)
			argp_error(state, "device name '%s' is too long", arg);
		env.dev = arg;
		break;
	case 'o':
		if (parse_ops(arg))
			exit(EXIT_USAGE);
		break;
	case 'm':
		env.unit = (struct unit){ "msecs", 1000000 };
		break;
	case 'u':
		env.unit = (struct unit){ "usecs", 1000 };
		break;
	case 'n':
		env.unit = (struct unit){ "nsecs", 1 };
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct entry {
	struct lat_key key;
	struct hist h;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->key.op != y->key.op)
		return (int)x->key.op - (int)y->key.op;
	if (x->key.domain != y->key.domain)
		return x->key.domain < y->key.domain ? -1 : 1;
	return strcmp(x->key.dev, y->key.dev);
}

/*
 * Read and reset the histograms: per-CPU copies summed per key, from the
 * per-operation array (fd_ops, when not split by device; -1 if none) and
 * the hash.
 */
static int drain(int fd, int fd_ops, struct entry **out, size_t *n_out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct lat_key keys[4096];
	size_t n = map_keys(fd, sizeof(keys[0]), keys, 4096);
	struct hist *vals;
	struct entry *e;

	vals = calloc(ncpu, sizeof(*vals));
	e = calloc(n + LAT_NR_OPS, sizeof(*e));
	if (!vals || !e)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		e[i].key = keys[i];
		if (bpf_map_lookup_elem(fd, &keys[i], vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			hist_merge(&e[i].h, &vals[c]);
		bpf_map_delete_elem(fd, &keys[i]);
	}
	for (__u32 op = 0; fd_ops >= 0 && op < LAT_NR_OPS; op++) {
		struct entry *x = &e[n];

		if (bpf_map_lookup_elem(fd_ops, &op, vals))
			continue;
		x->key.op = op;
		for (int c = 0; c < ncpu; c++)
			hist_merge(&x->h, &vals[c]);
		if (!x->h.count)
			continue;
		memset(vals, 0, ncpu * sizeof(*vals));
		bpf_map_update_elem(fd_ops, &op, vals, BPF_ANY);
		n++;
	}
	free(vals);
	qsort(e, n, sizeof(*e), cmp_entry);
	*out = e;
	*n_out = n;
	return 0;
}

static void print_interval(int fd, int fd_ops, int interval_s, struct trace_stats *ts)
{
	struct entry *e;
	size_t n;
	char when[32];
	time_t now = time(NULL);

	if (drain(fd, fd_ops, &e, &n)) {
		fprintf(stderr, "iommuctl: out of memory\n");
		return;
	}
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	for (size_t i = 0; i < n; i++)
		ts->events += e[i].h.count;

	if (o->json) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_i64(&j, "time", now);
		json_i64(&j, "interval_s", interval_s);
		json_str(&j, "unit", "ns");
		json_begin_array(&j, "latency");
		for (size_t i = 0; i < n; i++) {
			json_begin_object(&j, NULL);
			json_str(&j, "op", op_names[e[i].key.op]);
			if (e[i].key.dev[0])
				json_str(&j, "device", e[i].key.dev);
			else
				json_null(&j, "device");
			if (e[i].key.domain)
				json_u64(&j, "domain", e[i].key.domain);
			else
				json_null(&j, "domain");
			hist_json(&j, &e[i].h);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_end_object(&j);
		json_line(&j);
	} else {
		if (o->timestamp)
			printf("%-8s\n", when);
		if (!n)
			printf("(no IOMMU map/unmap operations traced)\n");
		for (size_t i = 0; i < n; i++) {
			printf("\nop = %s", op_names[e[i].key.op]);
			if (e[i].key.dev[0])
				printf("  device = %s", e[i].key.dev);
			if (e[i].key.domain)
				printf("  domain = %u", e[i].key.domain);
			printf("\n");
			hist_print(stdout, &e[i].h, &env.unit);
			hist_print_summary(stdout, &e[i].h, &env.unit);
		}
		printf("\n");
		fflush(stdout);
	}
	free(e);
}

/* Print every interval until count or Ctrl-C; the programs are attached. */
static void run(int fd, int fd_ops, struct bpf_object *obj)
{
	struct trace_stats ts = {};
	int printed = 0;
	time_t start;

	if (o->stats)
		trace_stats_begin(&ts, obj);
	trace_handle_signals();
	fprintf(stderr, "Tracing IOMMU map/unmap latency... %s\n",
		o->nargs ? "" : "Hit Ctrl-C to end.");
	start = time(NULL);
	while (!exiting && printed < o->count) {
		sleep(o->interval);	/* a signal ends the sleep early */
		print_interval(fd, fd_ops, exiting && !o->nargs ?
			       (int)(time(NULL) - start) : o->interval, &ts);
		printed++;
	}
	if (o->stats)
		trace_stats_end(&ts, obj, time(NULL) - start);
}

#define SET_RODATA(skel)						\
	do {								\
		(skel)->rodata->per_device = env.per_device;		\
		(skel)->rodata->ops_mask = env.ops;			\
		if (env.dev) {						\
			(skel)->rodata->filter_dev = true;		\
			strncpy((char *)(skel)->rodata->dev_filter, env.dev, \
				DEV_NAME_LEN - 1);			\
		}							\
	} while (0)

/*
 * A kernel without the series' tracepoints: time the functions themselves,
 * with fentry/fexit, or kprobes where fentry cannot attach.
 */
static int run_fallback(const char *missing)
{
	struct latency_fallback_bpf *skel = NULL;
	bool kprobes = false;
	int err;

	fprintf(stderr, "iommuctl: no iommu:%s tracepoint (a kernel without the iommu-bpf "
		"series): timing iommu_dma_map_page, iommu_dma_unmap_page, iommu_map and "
		"iommu_unmap with fentry/fexit instead; unmaps are classed strict or queued "
		"by their group's default domain\n", missing);
	for (;;) {
		skel = latency_fallback_bpf__open();
		if (!skel) {
			fprintf(stderr, "iommuctl: opening the BPF skeleton failed: %s\n",
				strerror(errno));
			return EXIT_FAILURE;
		}
		SET_RODATA(skel);
		if (kprobes)
			trace_autoload(skel->obj, "kprobe/", "kretprobe/");
		else
			trace_autoload(skel->obj, "fentry/", "fexit/");
		err = latency_fallback_bpf__load(skel);
		if (!err)
			err = latency_fallback_bpf__attach(skel);
		if (!err || kprobes)
			break;
		latency_fallback_bpf__destroy(skel);
		fprintf(stderr, "iommuctl: fentry/fexit unavailable (%s): using kprobes\n",
			strerror(-err));
		kprobes = true;
	}
	if (err)
		trace_report_load_error("fallback latency", err);
	else
		run(bpf_map__fd(skel->maps.hists), bpf_map__fd(skel->maps.op_hists),
		    skel->obj);
	latency_fallback_bpf__destroy(skel);
	return err ? EXIT_FAILURE : 0;
}

int cmd_trace_latency(int argc, char **argv)
{
	static const struct argp_child children[] = { { &trace_common_argp, 0, NULL, 0 }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children };
	static const char *const events[] = {
		"iommu_dma_map", "iommu_dma_unmap", "domain_map", "domain_unmap", NULL
	};
	struct trace_env tenv = {};
	struct latency_bpf *skel;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (check_device_arg(env.dev))
		return EXIT_USAGE;
	tenv.verbose = o->verbose;
	trace_libbpf_setup(o->verbose);
	err = trace_env_check(&tenv, events, true);
	if (err)
		return err;
	if (tenv.missing)
		return run_fallback(tenv.missing);

	skel = latency_bpf__open();
	if (!skel) {
		fprintf(stderr, "iommuctl: opening the BPF skeleton failed: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	SET_RODATA(skel);
	trace_select_programs(skel->obj, tenv.use_raw_tp);
	err = latency_bpf__load(skel);
	if (err) {
		trace_report_load_error("latency", err);
		goto out;
	}
	err = latency_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "iommuctl: attaching to the iommu tracepoints failed: %s\n",
			strerror(-err));
		goto out;
	}
	run(bpf_map__fd(skel->maps.hists), bpf_map__fd(skel->maps.op_hists), skel->obj);
out:
	latency_bpf__destroy(skel);
	return err ? EXIT_FAILURE : 0;
}

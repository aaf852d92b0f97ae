// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace latency: DMA and domain map/unmap latency histograms from
 * the iommu tracepoints, aggregated in the kernel.
 */
#include <argp.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "bpf_log.h"
#include "bpf_maps.h"
#include "commands.h"
#include "devname.h"
#include "histo.h"
#include "output.h"
#include "sysfs.h"
#include "trace_common.h"
#include "iommuctl/trace.h"
#include "stats.h"
#include "trace_progs.h"
#include "latency.skel.h"
#include "latency_fallback.skel.h"

const char *const lat_op_names[LAT_NR_OPS] = {
	[LAT_DMA_MAP] = "dma_map",
	[LAT_DMA_UNMAP_STRICT] = "dma_unmap_strict",
	[LAT_DMA_UNMAP_QUEUED] = "dma_unmap_queued",
	[LAT_CORE_MAP] = "domain_map",
	[LAT_CORE_UNMAP] = "domain_unmap",
	[LAT_DMA_MAP_SG] = "dma_map_sg",
	[LAT_DMA_UNMAP_SG] = "dma_unmap_sg",
};

static struct {
	bool per_device;
	__u32 ops;
	__u32 max_keys;		/* histograms with -D */
	bool force_kprobes;	/* hidden: the fallback's kprobes (tests) */
	bool list_programs;	/* hidden: say what -o would load, load nothing */
} env = {
	.ops = (1U << LAT_NR_OPS) - 1,
	.max_keys = LAT_MAX_KEYS,
};
static struct trace_opts *const o = &trace_opts;

static const char doc[] =
"Latency histograms of IOMMU map and unmap operations.\n"
"\n"
"USAGE: iommuctl trace latency [-D [-K KEYS]] [-d DEV] [-o OPS] [-m|-u|-n] [-l]\n"
"                              [-T] [-j|-p] [-S] [-v] [interval [count]]\n"
"\n"
"Operations (-o, comma-separated):\n"
"  dma_map             DMA API map through dma-iommu (iommu:iommu_dma_map)\n"
"  dma_unmap           both of:\n"
"    dma_unmap_strict  unmap that flushed the IOTLB before returning\n"
"    dma_unmap_queued  unmap whose flush went to the flush queue (lazy)\n"
"  domain_map          iommu_map()/iommu_map_sg(), as VFIO and iommufd use\n"
"  domain_unmap        iommu_unmap()/iommu_unmap_fast()\n"
"  dma_map_sg          without the series only: iommu_dma_map_sg() (the\n"
"  dma_unmap_sg        series' tracepoints show it as domain_map, dma_unmap)\n"
"Only the programs of the operations asked for are loaded (-S: their runs).\n"
"\n"
"Without an interval, runs until Ctrl-C and prints once at the end.\n"
"Memory: one histogram per operation and CPU (14 KB per CPU); with -D, up to\n"
"KEYS shared histograms of 2 KB (1024: 2 MB).  Samples that find no room\n"
"are counted and shown as not recorded, as are runs the kernel skipped.\n"
"On a kernel without the iommu-bpf tracepoints, times the functions with\n"
"fentry/fexit (kprobes if fentry cannot attach), the ones this kernel's BTF\n"
"has (iommu_dma_map_page or iommu_dma_map_phys, ...), and says which on\n"
"stderr.\n"
"\n"
"EXAMPLES:\n"
"    iommuctl trace latency                 # all operations until Ctrl-C\n"
"    iommuctl trace latency -D 1 5          # per device, 1 s intervals, 5 times\n"
"    iommuctl trace latency -d 0000:00:03.0 -o dma_unmap -n 10\n"
"    iommuctl trace latency -j 1 3          # NDJSON, one object per interval\n";

enum { OPT_FORCE_KPROBES = 0x100, OPT_LIST_PROGRAMS };

static const struct argp_option opts[] = {
	{ "per-device", 'D', NULL, 0, "one histogram per device (domain for domain_*)", 0 },
	{ "ops", 'o', "OPS", 0, "operations to trace (see above)", 0 },
	{ "force-kprobes", OPT_FORCE_KPROBES, NULL, OPTION_HIDDEN, "fallback: kprobes (tests)", 0 },
	{ "list-programs", OPT_LIST_PROGRAMS, NULL, OPTION_HIDDEN, "print the programs the "
	  "options load, load nothing (tests)", 0 },
	{ "max-keys", 'K', "KEYS", 0, "with -D: at most KEYS (operation, device) "
	  "histograms (default 1024)", 0 },
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
			if (!strcmp(tok, lat_op_names[i]))
				break;
		if (i == LAT_NR_OPS) {
			ret = p_usage("unknown operation '%s' (want dma_map, dma_unmap, "
				      "dma_unmap_strict, dma_unmap_queued, domain_map, domain_unmap, "
				      "dma_map_sg, dma_unmap_sg, all)", tok);
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
	case 'o':
		if (parse_ops(arg))
			return EINVAL;
		break;
	case OPT_FORCE_KPROBES:
		env.force_kprobes = true;
		break;
	case OPT_LIST_PROGRAMS:
		env.list_programs = true;
		break;
	case 'K': {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || *end || !v || v > 1U << 20) {
			p_usage("invalid KEYS '%s': want 1 to 1048576", arg);
			return EINVAL;
		}
		env.max_keys = v;
		break;
	}
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct lat_entry *x = a, *y = b;

	if (x->key.op != y->key.op)
		return (int)x->key.op - (int)y->key.op;
	if (x->key.domain != y->key.domain)
		return x->key.domain < y->key.domain ? -1 : 1;
	return strcmp(x->key.dev, y->key.dev);
}

/*
 * The histograms' growth since the last read: from the per-operation array
 * (per-CPU copies summed) without per_device, from the shared hash with it
 * (every key: it has at most max_keys).  Neither is written (map_snap.h).
 */
int lat_prog_read(struct lat_prog *lp, struct lat_entry **out, size_t *n_out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct hist *vals = calloc(ncpu, sizeof(*vals));
	struct lat_entry *e = calloc(lp->p.max_keys + LAT_NR_OPS, sizeof(*e));
	double now = monotonic_s();
	ssize_t n = 0;

	if (!vals || !e)
		goto nomem;
	if (lp->p.per_device) {
		n = map_read_delta(lp->fd, &lp->snap, e, lp->p.max_keys, now);
	} else {
		for (__u32 op = 0; op < LAT_NR_OPS; op++) {
			if (bpf_map_lookup_elem(lp->fd_ops, &op, vals))
				continue;
			e[n].key.op = op;
			for (int c = 0; c < ncpu; c++)
				hist_merge(&e[n].h, &vals[c]);
			n++;
		}
		n = map_snap_delta(&lp->snap, e, n, now);
	}
	if (n < 0)
		goto nomem;
	free(vals);
	qsort(e, n, sizeof(*e), cmp_entry);
	*out = e;
	*n_out = n;
	return 0;
nomem:
	free(vals);
	free(e);
	return -ENOMEM;
}

static void print_interval(void *ctx, double secs,
			   const struct trace_losses *lost, struct trace_stats *ts)
{
	struct lat_prog *lp = ctx;
	struct lat_entry *e;
	size_t n;
	char when[32];
	time_t now = time(NULL);

	if (lat_prog_read(lp, &e, &n)) {
		p_err("out of memory");
		return;
	}
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	for (size_t i = 0; i < n; i++)
		ts->events += e[i].h.count;

	if (json_output) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_i64(&j, "time", now);
		json_f64(&j, "interval_s", secs);
		json_str(&j, "unit", "ns");
		trace_losses_json(&j, lost);
		json_begin_array(&j, "latency");
		for (size_t i = 0; i < n; i++) {
			json_begin_object(&j, NULL);
			json_str(&j, "op", lat_op_names[e[i].key.op]);
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
			printf("\nop = %s", lat_op_names[e[i].key.op]);
			if (e[i].key.dev[0])
				printf("  device = %s", e[i].key.dev);
			if (e[i].key.domain)
				printf("  domain = %u", e[i].key.domain);
			printf("\n");
			hist_print(stdout, &e[i].h, &o->unit, o->log2);
			hist_print_summary(stdout, &e[i].h, &o->unit);
		}
		if (trace_losses_total(lost)) {
			printf("\n");
			trace_losses_print(stdout, lost);
		}
		printf("\n");
		fflush(stdout);
	}
	free(e);
}

void lat_prog_losses(const struct lat_prog *lp, struct trace_losses *l)
{
	memset(l, 0, sizeof(*l));
	l->has = LOSS_MAP_FULL;
	l->map_full = *lp->map_full;
	if (lp->too_deep) {
		l->has |= LOSS_TOO_DEEP;
		l->too_deep = *lp->too_deep;
	}
	trace_losses_read(lp->skel, l);
}

static void read_losses(void *ctx, struct trace_losses *l)
{
	lat_prog_losses(ctx, l);
}

static void run(struct lat_prog *lp)
{
	const struct trace_loop loop = {
		.banner = "Tracing IOMMU map/unmap latency...",
		.obj = lp->obj, .ctx = lp,
		.read_losses = read_losses, .print = print_interval,
	};

	trace_loop_run(&loop);
}

#define SET_RODATA(skel, p)						\
	do {								\
		(skel)->rodata->per_device = (p)->per_device;		\
		(skel)->rodata->ops_mask = (p)->ops;			\
		/* Only the map the mode uses gets its size. */		\
		bpf_map__set_max_entries((skel)->maps.hists,		\
					 (p)->per_device ? (p)->max_keys : 1); \
		bpf_map__set_max_entries((skel)->maps.op_hists,	\
					 (p)->per_device ? 1 : LAT_NR_OPS); \
		if ((p)->dev) {						\
			(skel)->rodata->filter_dev = true;		\
			strncpy((char *)(skel)->rodata->dev_filter, (p)->dev, \
				DEV_NAME_LEN - 1);			\
		}							\
	} while (0)

/*
 * What each of latency.bpf.c's programs records (its name after tp_btf_ or
 * raw_tp_): a program no asked operation needs is not loaded, so that it
 * costs no run per event (and -S counts only the runs of the ones used).
 */
#define OP(op)		(1U << (op))
#define DMA_UNMAP_OPS	(OP(LAT_DMA_UNMAP_STRICT) | OP(LAT_DMA_UNMAP_QUEUED))

static const struct {
	const char *name;
	__u32 ops;
} lat_prog_ops[] = {
	{ "dma_map", OP(LAT_DMA_MAP) },
	{ "dma_unmap", DMA_UNMAP_OPS },
	{ "domain_map", OP(LAT_CORE_MAP) },
	{ "domain_unmap", OP(LAT_CORE_UNMAP) },
};

/* Of the programs trace_select_programs() chose, keep those ops needs; how
 * many are left. */
static int lat_select_ops(struct bpf_object *obj, __u32 ops)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, obj) {
		const char *name = bpf_program__name(prog);
		__u32 needs = ~0U;

		if (!bpf_program__autoload(prog))
			continue;
		if (!strncmp(name, "tp_btf_", 7) || !strncmp(name, "raw_tp_", 7))
			name += 7;
		for (size_t i = 0; i < sizeof(lat_prog_ops) / sizeof(lat_prog_ops[0]); i++)
			if (!strcmp(name, lat_prog_ops[i].name))
				needs = lat_prog_ops[i].ops;
		bpf_program__set_autoload(prog, !!(needs & ops));
		n += !!(needs & ops);
	}
	return n;
}

/* The command's options as lat_params */
static struct lat_params cmd_params(void)
{
	return (struct lat_params){
		.per_device = env.per_device, .ops = env.ops,
		.max_keys = env.max_keys, .dev = o->dev,
	};
}

/*
 * The fallback's slots (enum fn in latency_fallback.bpf.c, same order) and
 * the kernel functions each can time, newest last: the first one the
 * kernel's BTF has is used.  6.1 and 6.12 map pages, newer kernels map
 * physical addresses (iommu_dma_map_phys); dma-iommu maps with the _atomic
 * variants before 6.3.
 */
static const struct fb_slot {
	const char *name;	/* the programs are fe_, fx_, kp_, krp_<name> */
	const char *const fns[3];
	__u32 ops;		/* what it records: loaded only if asked */
} fb_slots[] = {
	{ "dma_map", { "iommu_dma_map_page", "iommu_dma_map_phys" }, OP(LAT_DMA_MAP) },
	{ "dma_unmap", { "iommu_dma_unmap_page", "iommu_dma_unmap_phys" }, DMA_UNMAP_OPS },
	{ "dma_map_sg", { "iommu_dma_map_sg" }, OP(LAT_DMA_MAP_SG) },
	{ "dma_unmap_sg", { "iommu_dma_unmap_sg" }, OP(LAT_DMA_UNMAP_SG) },
	{ "map", { "iommu_map" }, OP(LAT_CORE_MAP) },
	{ "map_sg", { "iommu_map_sg" }, OP(LAT_CORE_MAP) },
	{ "map_atomic", { "iommu_map_atomic" }, OP(LAT_CORE_MAP) },
	{ "map_sg_atomic", { "iommu_map_sg_atomic" }, OP(LAT_CORE_MAP) },
	{ "unmap", { "iommu_unmap" }, OP(LAT_CORE_UNMAP) },
	{ "unmap_fast", { "iommu_unmap_fast" }, OP(LAT_CORE_UNMAP) },
};
#define FB_NR_SLOTS (sizeof(fb_slots) / sizeof(fb_slots[0]))

/* Each slot's function in this kernel (NULL: none), from its BTF. */
static int fb_choose(const char *chosen[FB_NR_SLOTS])
{
	struct btf *btf = btf__load_vmlinux_btf();
	int n = 0;

	if (!btf) {
		fprintf(stderr, "iommuctl: cannot read the kernel's BTF (%s): the fallback "
			"needs CONFIG_DEBUG_INFO_BTF\n", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < FB_NR_SLOTS; i++) {
		chosen[i] = NULL;
		for (int k = 0; k < 3 && fb_slots[i].fns[k]; k++)
			if (btf__find_by_name_kind(btf, fb_slots[i].fns[k], BTF_KIND_FUNC) > 0) {
				chosen[i] = fb_slots[i].fns[k];
				n++;
				break;
			}
	}
	btf__free(btf);
	return n;
}

static struct bpf_program *fb_prog(struct bpf_object *obj, const char *kind,
				   const struct fb_slot *slot)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_%s", kind, slot->name);
	return bpf_object__find_program_by_name(obj, name);
}

/* Load the pair of programs of each chosen slot ops needs, with its target;
 * how many slots. */
static int fb_select(struct bpf_object *obj, const char *chosen[FB_NR_SLOTS], bool kprobes,
		     __u32 ops)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, false);
	for (size_t i = 0; i < FB_NR_SLOTS; i++) {
		if (!chosen[i] || !(fb_slots[i].ops & ops))
			continue;
		n++;
		if (kprobes) {
			bpf_program__set_autoload(fb_prog(obj, "kp", &fb_slots[i]), true);
			bpf_program__set_autoload(fb_prog(obj, "krp", &fb_slots[i]), true);
			continue;
		}
		prog = fb_prog(obj, "fe", &fb_slots[i]);
		bpf_program__set_autoload(prog, true);
		bpf_program__set_attach_target(prog, 0, chosen[i]);
		prog = fb_prog(obj, "fx", &fb_slots[i]);
		bpf_program__set_autoload(prog, true);
		bpf_program__set_attach_target(prog, 0, chosen[i]);
	}
	return n;
}

/* kprobes name their function at attach time; the skeleton owns the links. */
static int fb_attach_kprobes(const struct bpf_object_skeleton *s, const char *chosen[FB_NR_SLOTS])
{
	for (int i = 0; i < s->prog_cnt; i++) {
		struct bpf_program *prog = *s->progs[i].prog;
		const char *name = bpf_program__name(prog);
		bool ret = !strncmp(name, "krp_", 4);
		struct bpf_link *link;
		size_t k;

		if (!bpf_program__autoload(prog))
			continue;
		for (k = 0; k < FB_NR_SLOTS; k++)
			if (!strcmp(strchr(name, '_') + 1, fb_slots[k].name))
				break;
		if (k == FB_NR_SLOTS || !chosen[k])
			continue;
		link = bpf_program__attach_kprobe(prog, ret, chosen[k]);
		if (!link)
			return -errno;
		*s->progs[i].link = link;
	}
	return 0;
}

/*
 * A kernel without the series' tracepoints: time the functions themselves,
 * with fentry/fexit, or kprobes where fentry cannot attach.
 */
static int run_fallback(const char *missing)
{
	const char *chosen[FB_NR_SLOTS];
	const struct lat_params params = cmd_params();
	struct latency_fallback_bpf *skel = NULL;
	bool kprobes = env.force_kprobes;
	int err;

	if (fb_choose(chosen) <= 0)
		return p_err("no iommu:%s tracepoint, and none of the dma-iommu or IOMMU core "
			     "functions iommuctl can time is in this kernel's BTF", missing);
	fprintf(stderr, "iommuctl: no iommu:%s tracepoint (a kernel without the iommu-bpf "
		"series): timing the functions instead:", missing);
	for (size_t i = 0; i < FB_NR_SLOTS; i++)
		fprintf(stderr, " %s=%s%s", fb_slots[i].name, chosen[i] ? chosen[i] : "(none)",
			chosen[i] && !(fb_slots[i].ops & params.ops) ? " (not asked: -o)" : "");
	fprintf(stderr, "; unmaps are classed strict or queued by their group's default "
		"domain\n");
	for (;;) {
		skel = latency_fallback_bpf__open();
		if (!skel)
			return p_err("opening the BPF skeleton failed: %s", strerror(errno));
		SET_RODATA(skel, &params);
		if (!fb_select(skel->obj, chosen, kprobes, params.ops)) {
			latency_fallback_bpf__destroy(skel);
			return p_err("this kernel has none of the functions that time the "
				     "operations -o asks for");
		}
		err = latency_fallback_bpf__load(skel);
		if (!err)
			err = latency_fallback_bpf__attach(skel);
		if (!err && kprobes)
			err = fb_attach_kprobes(skel->skeleton, chosen);
		if (!err || kprobes)
			break;
		latency_fallback_bpf__destroy(skel);
		fprintf(stderr, "iommuctl: fentry/fexit unavailable (%s): using kprobes\n",
			strerror(-err));
		kprobes = true;
	}
	if (err) {
		bpf_log_load_error("fallback latency", err);
	} else {
		struct lat_prog lp = {
			.p = params,
			.fd = bpf_map__fd(skel->maps.hists),
			.fd_ops = bpf_map__fd(skel->maps.op_hists),
			.obj = skel->obj, .skel = skel->skeleton,
			.map_full = &skel->bss->lost_map_full,
			.too_deep = &skel->bss->lost_too_deep,
			.snap = LAT_PROG_SNAP,
		};

		fprintf(stderr, "iommuctl: attached with %s\n",
			kprobes ? "kprobes" : "fentry/fexit");
		run(&lp);
		map_snap_free(&lp.snap);
	}
	latency_fallback_bpf__destroy(skel);
	return err ? EXIT_FAILURE : 0;
}

static void print_loaded(const char *what, struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
		if (bpf_program__autoload(prog))
			printf("%s %s\n", what, bpf_program__name(prog));
}

/*
 * Hidden --list-programs: the programs the options would load, from the
 * series' object and from the fallback's (for the functions this kernel's
 * BTF has), by the functions that choose them for loading.  No privilege,
 * nothing loaded: a host test checks what -o selects.
 */
static int list_programs(void)
{
	const char *chosen[FB_NR_SLOTS];
	struct latency_fallback_bpf *fb;
	struct latency_bpf *skel;

	skel = latency_bpf__open();
	if (!skel)
		return p_err("opening the BPF skeleton failed: %s", strerror(errno));
	trace_select_programs(skel->obj, o->force_raw_tp);
	lat_select_ops(skel->obj, env.ops);
	print_loaded("latency", skel->obj);
	latency_bpf__destroy(skel);
	if (fb_choose(chosen) <= 0)
		return 0;
	fb = latency_fallback_bpf__open();
	if (!fb)
		return p_err("opening the BPF skeleton failed: %s", strerror(errno));
	fb_select(fb->obj, chosen, env.force_kprobes, env.ops);
	print_loaded("fallback", fb->obj);
	latency_fallback_bpf__destroy(fb);
	return 0;
}

const char *const lat_prog_events[] = {
	"iommu_dma_map", "iommu_dma_unmap", "domain_map", "domain_unmap", NULL
};

int lat_prog_open(struct lat_prog *lp, const struct lat_params *p, bool raw_tp)
{
	struct latency_bpf *skel;
	int err;

	memset(lp, 0, sizeof(*lp));
	skel = latency_bpf__open();
	if (!skel)
		return p_err("opening the BPF skeleton failed: %s", strerror(errno));
	SET_RODATA(skel, p);
	trace_select_programs(skel->obj, raw_tp);
	if (!lat_select_ops(skel->obj, p->ops)) {
		latency_bpf__destroy(skel);
		return p_err("the series' tracepoints show none of the operations -o asks for "
			     "(dma_map_sg and dma_unmap_sg are only without it: ask for "
			     "domain_map and dma_unmap)");
	}
	err = latency_bpf__load(skel);
	if (err) {
		bpf_log_load_error("latency", err);
		latency_bpf__destroy(skel);
		return EXIT_FAILURE;
	}
	err = latency_bpf__attach(skel);
	if (err) {
		latency_bpf__destroy(skel);
		return p_err("attaching to the iommu tracepoints failed: %s", strerror(-err));
	}
	*lp = (struct lat_prog){
		.p = *p,
		.fd = bpf_map__fd(skel->maps.hists),
		.fd_ops = bpf_map__fd(skel->maps.op_hists),
		.obj = skel->obj, .skel = skel->skeleton,
		.map_full = &skel->bss->lost_map_full,
		.snap = LAT_PROG_SNAP,
		.owner = skel,
	};
	return 0;
}

void lat_prog_close(struct lat_prog *lp)
{
	latency_bpf__destroy(lp->owner);
	lp->owner = NULL;
	map_snap_free(&lp->snap);
}

int cmd_trace_latency(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &trace_common_argp }, { &trace_hist_argp }, { &output_argp }, {}
	};
	static const struct argp argp = { opts, parse_arg, NULL, doc, children };
	struct lat_params params;
	struct trace_env tenv = {};
	struct lat_prog lp;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	err = check_device_filter(o->dev, false);
	if (err)
		return err;
	if (env.max_keys != LAT_MAX_KEYS && !env.per_device)
		return p_usage("-K sizes the per-device histograms: use it with -D");
	if (env.list_programs)
		return list_programs();
	err = trace_env_check(&tenv, lat_prog_events, true);
	if (err)
		return err;
	if (tenv.missing)
		return run_fallback(tenv.missing);

	params = cmd_params();
	err = lat_prog_open(&lp, &params, tenv.use_raw_tp);
	if (err)
		return err;
	run(&lp);
	lat_prog_close(&lp);
	return 0;
}

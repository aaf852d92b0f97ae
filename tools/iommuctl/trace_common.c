// SPDX-License-Identifier: GPL-2.0
/* What the trace commands share: see trace_common.h */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "caps.h"
#include "output.h"
#include "sysfs.h"
#include "trace_common.h"

volatile bool exiting;

static void on_signal(int sig)
{
	exiting = true;
}

void trace_handle_signals(void)
{
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
}

static bool tracefs_has(const char *event)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/iommu/%s", event);
	if (!access(path, F_OK))
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/iommu/%s", event);
	return !access(path, F_OK);
}

bool trace_event_exists(const char *event)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	char name[128];
	bool found;

	snprintf(name, sizeof(name), "btf_trace_%s", event);
	found = vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) >= 0;
	btf__free(vmlinux);
	return found || tracefs_has(event);
}

static bool dir_has_entries(const char *path)
{
	struct dirent *e;
	bool any = false;
	DIR *d = opendir(path);

	if (!d)
		return false;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			any = true;
			break;
		}
	closedir(d);
	return any;
}

int trace_env_check(struct trace_env *env, const char *const *events,
		    bool allow_fallback)
{
	struct btf *vmlinux;
	char name[128];
	int ret;

	ret = caps_check(NEED_TRACE, "tracing");
	if (ret)
		return ret;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return p_err("this kernel has no BTF (/sys/kernel/btf/vmlinux): it needs "
			     "CONFIG_DEBUG_INFO_BTF=y");
	env->use_raw_tp = false;
	for (const char *const *e = events; *e; e++) {
		snprintf(name, sizeof(name), "btf_trace_%s", *e);
		if (btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) >= 0)
			continue;
		if (tracefs_has(*e)) {
			/* The event exists but tp_btf cannot see its type. */
			env->use_raw_tp = true;
			continue;
		}
		if (allow_fallback) {
			env->missing = *e;
			break;
		}
		btf__free(vmlinux);
		return p_err("the kernel has no iommu:%s tracepoint: it needs the iommu-bpf "
			     "kernel series (kernel/patches)", *e);
	}
	btf__free(vmlinux);
	if (!dir_has_entries("/sys/class/iommu"))
		p_warn("no IOMMU is registered (/sys/class/iommu is empty): there will be "
		       "nothing to trace");
	if (trace_opts.force_raw_tp)
		env->use_raw_tp = true;
	if (env->use_raw_tp && !env->missing)
		fprintf(stderr, "iommuctl: tp_btf unavailable, attaching raw tracepoints\n");
	return 0;
}

void trace_autoload(struct bpf_object *obj, const char *p1, const char *p2)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) {
		const char *sec = bpf_program__section_name(prog);
		bool on = !strncmp(sec, p1, strlen(p1)) ||
			  (p2 && !strncmp(sec, p2, strlen(p2)));

		bpf_program__set_autoload(prog, on);
	}
}

void trace_select_programs(struct bpf_object *obj, bool raw_tp)
{
	trace_autoload(obj, raw_tp ? "raw_tp/" : "tp_btf/", NULL);
}

struct trace_opts trace_opts = {
	.interval = 99999999,
	.count = 99999999,
	.unit = { "usecs", 1000 },
};

int parse_interval_arg(const char *arg, bool count_only, int *nargs, int *interval,
		       int *count)
{
	int max = count_only ? 1 : 2;
	bool is_count = count_only || *nargs == 1;
	char *end;
	long v;

	if (*nargs >= max)
		return p_usage("unexpected argument '%s'", arg);
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return p_usage("invalid %s '%s': want a positive integer",
			       is_count ? "count" : "interval", arg);
	(*nargs)++;
	if (is_count)
		*count = v;
	else
		*interval = v;
	return 0;
}

/* Positional [interval [count]], or [count] alone (count_only). */
static int parse_positional(const char *arg)
{
	struct trace_opts *o = &trace_opts;

	return parse_interval_arg(arg, o->count_only, &o->nargs, &o->interval, &o->count);
}

enum { OPT_FORCE_RAW_TP = 0x100 };

static const struct argp_option trace_common_opts[] = {
	{ "device", 'd', "DEV", 0, "only this device (e.g. 0000:00:03.0)", 0 },
	{ "timestamp", 'T', NULL, 0, "print a timestamp with each interval or event", 0 },
	{ "stats", 'S', NULL, 0, "report events handled and BPF run time (own overhead)", 0 },
	{ "force-raw-tp", OPT_FORCE_RAW_TP, NULL, OPTION_HIDDEN, "attach raw_tp (tests)", 0 },
	{},
};

static error_t trace_common_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'd':
		trace_opts.dev = arg;
		break;
	case 'T':
		trace_opts.timestamp = true;
		break;
	case 'S':
		trace_opts.stats = true;
		break;
	case OPT_FORCE_RAW_TP:
		trace_opts.force_raw_tp = true;
		break;
	case ARGP_KEY_ARG:
		if (parse_positional(arg))
			return EINVAL;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp trace_common_argp = { trace_common_opts, trace_common_parse };

static const struct argp_option trace_hist_opts[] = {
	{ "milliseconds", 'm', NULL, 0, "print times in milliseconds", 0 },
	{ "microseconds", 'u', NULL, 0, "print times in microseconds (default)", 0 },
	{ "nanoseconds", 'n', NULL, 0, "print times in nanoseconds", 0 },
	{ "log2", 'l', NULL, 0, "text histograms with one row per power of two "
	  "(default: four)", 0 },
	{},
};

static error_t trace_hist_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'm':
		trace_opts.unit = (struct unit){ "msecs", 1000000 };
		break;
	case 'u':
		trace_opts.unit = (struct unit){ "usecs", 1000 };
		break;
	case 'n':
		trace_opts.unit = (struct unit){ "nsecs", 1 };
		break;
	case 'l':
		trace_opts.log2 = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp trace_hist_argp = { trace_hist_opts, trace_hist_parse };

double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

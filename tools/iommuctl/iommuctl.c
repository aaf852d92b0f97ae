// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl: see what the IOMMU costs, per device.
 *
 * bpftool-style dispatch: iommuctl OBJECT COMMAND [options]; each command
 * parses its own options with argp and has --help with examples.
 */
#define _GNU_SOURCE	/* vasprintf */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "iommuctl.h"

const char *sysfs_root = "";
volatile bool exiting;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: iommuctl COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  devices          every device behind an IOMMU: group, domain type, trust,\n"
"                   reserved regions, PASID, IOMMU\n"
"  trace latency    DMA and domain map/unmap latency histograms\n"
"  trace flush      IOTLB flushes per domain, and lazy mode's exposure window\n"
"  trace events     attach/detach, default-domain, DMA ownership, PASID,\n"
"                   I/O page fault and policy decision events as they happen\n"
"  policy load      attach a BPF IOMMU policy (rules file or BPF object), pinned\n"
"  policy replace   swap the attached policy for another, atomically\n"
"  policy sync      attach, replace or keep: whichever makes it the one given\n"
"  policy unload    detach the pinned policy\n"
"  policy show      the policy's state, decision counters and last exit\n"
"  policy explain   per device: group, trust, what each policy hook decided\n"
"  policy test      what a rules file would decide per device, loading nothing\n"
"  policy apply     let the attached policy decide devices probed before it\n"
"  help             this text\n"
"\n"
"'iommuctl COMMAND --help' describes a command, with examples.\n"
"Exit status: 0 success, 1 failure, 2 bad usage, bad input (rules, objects)\n"
"or unknown device.\n");
}

int main(int argc, char **argv)
{
	argp_err_exit_status = EXIT_USAGE;
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "devices")) {
		argv[1] = "iommuctl devices";
		return cmd_devices(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "trace"))
		return cmd_trace(argc - 1, argv + 1);
	if (!strcmp(argv[1], "policy"))
		return cmd_policy(argc - 1, argv + 1);
	fprintf(stderr, "iommuctl: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

int cmd_trace(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "latency")) {
		argv[1] = "iommuctl trace latency";
		return cmd_trace_latency(argc - 1, argv + 1);
	}
	if (argc >= 2 && !strcmp(argv[1], "flush")) {
		argv[1] = "iommuctl trace flush";
		return cmd_trace_flush(argc - 1, argv + 1);
	}
	if (argc >= 2 && !strcmp(argv[1], "events")) {
		argv[1] = "iommuctl trace events";
		return cmd_trace_events(argc - 1, argv + 1);
	}
	fprintf(stderr, "Usage: iommuctl trace {latency|flush|events} [OPTIONS]\n");
	return EXIT_USAGE;
}

/* ------------------------------------------------------------ tracing env */

static bool verbose_libbpf;
static char verifier_tail[4096];

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	char *line, *from;
	size_t have, len;
	int ret = 0;

	/* Whole: a verifier log comes as one message, its reason at the end. */
	if (vasprintf(&line, fmt, args) < 0)
		return 0;
	/* Keep the last lines of whatever libbpf said (the verifier log). */
	len = strlen(line);
	from = line;
	if (len >= sizeof(verifier_tail)) {
		from = line + len - (sizeof(verifier_tail) - 1);
		len = sizeof(verifier_tail) - 1;
	}
	have = strlen(verifier_tail);
	if (have + len >= sizeof(verifier_tail)) {
		size_t drop = have + len - sizeof(verifier_tail) + 1;

		memmove(verifier_tail, verifier_tail + drop, have - drop + 1);
	}
	strcat(verifier_tail, from);
	if (level == LIBBPF_WARN || verbose_libbpf)
		ret = fputs(line, stderr);
	free(line);
	return ret;
}

void trace_libbpf_setup(bool verbose)
{
	verbose_libbpf = verbose;
	libbpf_set_print(libbpf_print);
}

void trace_report_load_error(const char *what, int err)
{
	fprintf(stderr, "iommuctl: loading the %s BPF program failed: %s\n",
		what, strerror(-err));
	if (verbose_libbpf) {
		const char *p = verifier_tail;
		int lines = 0;

		/* The last 15 lines are where the verifier says why. */
		for (const char *q = verifier_tail + strlen(verifier_tail); q > verifier_tail; q--)
			if (*q == '\n' && ++lines > 15) {
				p = q + 1;
				break;
			}
		fprintf(stderr, "iommuctl: last lines of the libbpf/verifier log:\n%s", p);
	} else {
		fprintf(stderr, "iommuctl: run with -v to see the verifier's log\n");
	}
}

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

	if (geteuid() != 0) {
		fprintf(stderr, "iommuctl: tracing needs root (CAP_BPF and CAP_PERFMON): run it with sudo\n");
		return EXIT_FAILURE;
	}
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		fprintf(stderr, "iommuctl: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
			"it needs CONFIG_DEBUG_INFO_BTF=y\n");
		return EXIT_FAILURE;
	}
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
		fprintf(stderr, "iommuctl: the kernel has no iommu:%s tracepoint: it needs the "
			"iommu-bpf kernel series (kernel/patches)\n", *e);
		return EXIT_FAILURE;
	}
	btf__free(vmlinux);
	if (!dir_has_entries("/sys/class/iommu"))
		fprintf(stderr, "iommuctl: warning: no IOMMU is registered (/sys/class/iommu is empty): "
			"there will be nothing to trace\n");
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

int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

bool device_exists(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s", sysfs_root, name);
	if (!access(path, F_OK))
		return true;
	snprintf(path, sizeof(path), "%s/sys/bus/platform/devices/%s", sysfs_root, name);
	return !access(path, F_OK);
}

int check_device_arg(const char *dev)
{
	if (!dev || device_exists(dev))
		return 0;
	fprintf(stderr, "iommuctl: no device '%s' in sysfs (want a name such as "
		"0000:00:03.0; see 'iommuctl devices')\n", dev);
	return EXIT_USAGE;
}

struct trace_opts trace_opts = {
	.interval = 99999999,
	.count = 99999999,
};

static int parse_interval_count(const char *arg)
{
	struct trace_opts *o = &trace_opts;
	char *end;
	long v;

	if (o->nargs >= 2) {
		fprintf(stderr, "iommuctl: unexpected argument '%s'\n", arg);
		return EXIT_USAGE;
	}
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX) {
		fprintf(stderr, "iommuctl: invalid %s '%s': want a positive integer\n",
			o->nargs ? "count" : "interval", arg);
		return EXIT_USAGE;
	}
	if (o->nargs++ == 0)
		o->interval = v;
	else
		o->count = v;
	return 0;
}

static const struct argp_option trace_common_opts[] = {
	{ "timestamp", 'T', NULL, 0, "print a timestamp with each interval", 0 },
	{ "json", 'j', NULL, 0, "JSON output, one object per interval", 0 },
	{ "stats", 'S', NULL, 0, "report events handled and BPF run time (own overhead)", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output; verifier log on load errors", 0 },
	{ "force-raw-tp", 'R', NULL, OPTION_HIDDEN, "attach raw_tp (tests)", 0 },
	{},
};

static error_t trace_common_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'T':
		trace_opts.timestamp = true;
		break;
	case 'j':
		trace_opts.json = true;
		break;
	case 'S':
		trace_opts.stats = true;
		break;
	case 'v':
		trace_opts.verbose = true;
		break;
	case 'R':
		trace_opts.force_raw_tp = true;
		break;
	case ARGP_KEY_ARG:
		if (parse_interval_count(arg))
			exit(EXIT_USAGE);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp trace_common_argp = { trace_common_opts, trace_common_parse };

double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

size_t map_keys(int fd, size_t key_size, void *keys, size_t max)
{
	char *prev = NULL, *next = keys;
	size_t n = 0;

	while (n < max && !bpf_map_get_next_key(fd, prev, next)) {
		prev = next;
		next += key_size;
		n++;
	}
	return n;
}

size_t map_drain(int fd, size_t key_size, size_t row_size, size_t val_off,
		 void *rows, size_t max)
{
	char *keys = calloc(max, key_size), *r = rows;
	size_t n = 0, nk;

	if (!keys)
		return 0;
	nk = map_keys(fd, key_size, keys, max);
	for (size_t i = 0; i < nk; i++) {
		char *row = r + n * row_size;

		memset(row, 0, row_size);
		memcpy(row, keys + i * key_size, key_size);
		if (!bpf_map_lookup_and_delete_elem(fd, row, row + val_off))
			n++;
	}
	free(keys);
	return n;
}

/* SPDX-License-Identifier: GPL-2.0 */
/* What the trace commands share: their options, the checks that tracing can
 * work here, and choosing which programs of an object to load. */
#ifndef IOMMUCTL_TRACE_COMMON_H
#define IOMMUCTL_TRACE_COMMON_H

#include <argp.h>
#include <stdbool.h>
#include <bpf/libbpf.h>
#include "histo.h"

extern volatile bool exiting;	/* Ctrl-C or SIGTERM */

/* Attach mode and environment, from trace_env_check(). */
struct trace_env {
	bool use_raw_tp;	/* tp_btf not usable: attach raw_tp instead */
	const char *missing;	/* with allow_fallback: a tracepoint the kernel lacks */
};

/* Fail with a message a user can act on if tracing cannot work here.
 * events: NULL-terminated iommu events the command needs.  With
 * allow_fallback, a missing tracepoint is reported in env->missing instead. */
int trace_env_check(struct trace_env *env, const char *const *events,
		    bool allow_fallback);
/* Does the kernel have this iommu tracepoint (BTF or tracefs)? */
bool trace_event_exists(const char *event);
void trace_handle_signals(void);
/* Pick the tp_btf or raw_tp copy of each program in obj. */
void trace_select_programs(struct bpf_object *obj, bool raw_tp);
/* Load only the programs whose section starts with p1 or p2 (may be NULL). */
void trace_autoload(struct bpf_object *obj, const char *p1, const char *p2);

/*
 * Options of every trace command (trace_common_argp, an argp child): -d,
 * -T, -S, and the positional [interval [count]] ([count] alone with
 * count_only); the histogram commands add trace_hist_argp: -m/-u/-n, -l.
 */
struct trace_opts {
	const char *dev;	/* -d: only this device */
	bool timestamp, stats;
	bool force_raw_tp;	/* hidden: attach raw_tp even where tp_btf works */
	bool count_only;	/* set by the command: no interval */
	int interval, count, nargs;
	struct unit unit;	/* -m, -u (default), -n */
	bool log2;		/* text histograms: one row per power of two */
};
extern struct trace_opts trace_opts;
extern const struct argp trace_common_argp;
extern const struct argp trace_hist_argp;

/* The nargs-th positional argument of [interval [count]] (of [count] with
 * count_only) into *interval or *count: 0, or p_usage()'s status. */
int parse_interval_arg(const char *arg, bool count_only, int *nargs, int *interval,
		       int *count);

/* CLOCK_MONOTONIC in seconds: interval lengths. */
double monotonic_s(void);

#endif

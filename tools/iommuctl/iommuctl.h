/* SPDX-License-Identifier: GPL-2.0 */
#ifndef IOMMUCTL_H
#define IOMMUCTL_H

#include <stdbool.h>
#include <bpf/libbpf.h>

/* Exit statuses: 0 success, 1 failure at run time, 2 bad usage or input. */
#define EXIT_USAGE	2

extern const char *sysfs_root;	/* "" normally; a fixture tree in tests */
extern volatile bool exiting;

int cmd_devices(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_trace_latency(int argc, char **argv);
int cmd_trace_flush(int argc, char **argv);
int cmd_trace_events(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_policy_apply(int argc, char **argv);
/* One line of /sys/kernel/iommu_policy/ATTR (policy.c); -1 if unreadable */
int policy_attr(const char *attr, char *buf, size_t len);
long long policy_attr_ll(const char *attr);

/* Attach mode and environment checks shared by the trace commands. */
struct trace_env {
	bool verbose;
	bool use_raw_tp;	/* tp_btf not usable: attach raw_tp instead */
	const char *missing;	/* with allow_fallback: a tracepoint the kernel lacks */
};

/* Fail with a message a user can act on if tracing cannot work here.
 * events: NULL-terminated iommu events the command needs.  With
 * allow_fallback, a missing tracepoint is reported in env->missing instead. */
int trace_env_check(struct trace_env *env, const char *const *events,
		    bool allow_fallback);
/* libbpf messages: always warnings; everything with -v; keeps the tail of
 * the verifier log for load errors. */
void trace_libbpf_setup(bool verbose);
void trace_report_load_error(const char *what, int err);
/* Does the kernel have this iommu tracepoint (BTF or tracefs)? */
bool trace_event_exists(const char *event);
void trace_handle_signals(void);
/* Pick the tp_btf or raw_tp copy of each program in obj. */
void trace_select_programs(struct bpf_object *obj, bool raw_tp);
/* Load only the programs whose section starts with p1 or p2 (may be NULL). */
void trace_autoload(struct bpf_object *obj, const char *p1, const char *p2);
/* The first line of a (sysfs) file, without its newline; "" and -errno if
 * it cannot be read. */
int read_line(const char *path, char *buf, size_t len);
/* Is a PCI or other device by this name known to sysfs? */
bool device_exists(const char *name);
/* 0 if dev is NULL or exists; else say so and return EXIT_USAGE. */
int check_device_arg(const char *dev);
/* Options every trace command takes, parsed by trace_common_argp (an argp
 * child): -T, -j, --stats, -v and [interval [count]]. */
struct trace_opts {
	bool timestamp, json, verbose, stats;
	bool force_raw_tp;	/* hidden: attach raw_tp even where tp_btf works */
	int interval, count, nargs;
};
extern struct trace_opts trace_opts;
extern const struct argp trace_common_argp;
/*
 * Call fn for every device of every IOMMU group (gdir: the group's sysfs
 * directory), until it returns nonzero.  0, fn's nonzero return, or -errno
 * if there are no IOMMU groups (no IOMMU).
 */
typedef int (*iommu_group_dev_fn)(void *ctx, int group, const char *gdir, const char *dev);
int iommu_groups_for_each_dev(iommu_group_dev_fn fn, void *ctx);
/* CLOCK_MONOTONIC in seconds: interval lengths. */
double monotonic_s(void);
/* Up to max keys of a BPF map, key_size bytes each, into keys. */
size_t map_keys(int fd, size_t key_size, void *keys, size_t max);
/*
 * Read and delete every key of a hash (at most max): keys added after the
 * walk stay for the next interval.  rows: max records of row_size bytes,
 * each its key at offset 0 and its value at val_off.  Returns how many.
 */
size_t map_drain(int fd, size_t key_size, size_t row_size, size_t val_off,
		 void *rows, size_t max);

#endif

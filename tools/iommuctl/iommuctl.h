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

/* Attach mode and environment checks shared by the trace commands. */
struct trace_env {
	bool verbose;
	bool use_raw_tp;	/* tp_btf not usable: attach raw_tp instead */
};

/* Fail with a message a user can act on if tracing cannot work here.
 * events: NULL-terminated iommu events the command needs. */
int trace_env_check(struct trace_env *env, const char *const *events);
/* libbpf messages: always warnings; everything with -v; keeps the tail of
 * the verifier log for load errors. */
void trace_libbpf_setup(bool verbose);
void trace_report_load_error(const char *what, int err);
void trace_handle_signals(void);
/* Pick the tp_btf or raw_tp copy of each program in obj. */
void trace_select_programs(struct bpf_object *obj, bool raw_tp);
/* Is a PCI or other device by this name known to sysfs? */
bool device_exists(const char *name);
int parse_interval_count(const char *arg, int *interval, int *count,
			 int *nargs);

#endif

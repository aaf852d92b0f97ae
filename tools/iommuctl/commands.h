/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every command's entry point, for main.c's tables: argv[0] is the
 * command's full name ("iommuctl trace latency"), the options follow; the
 * return value is the exit status (see output.h).
 */
#ifndef IOMMUCTL_COMMANDS_H
#define IOMMUCTL_COMMANDS_H

int cmd_devices(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_trace_latency(int argc, char **argv);
int cmd_trace_flush(int argc, char **argv);
int cmd_trace_events(int argc, char **argv);
int cmd_policy_load(int argc, char **argv);
int cmd_policy_replace(int argc, char **argv);
int cmd_policy_sync(int argc, char **argv);
int cmd_policy_unload(int argc, char **argv);
int cmd_policy_show(int argc, char **argv);
int cmd_policy_explain(int argc, char **argv);
int cmd_policy_test(int argc, char **argv);
int cmd_policy_apply(int argc, char **argv);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How iommuctl talks: text or JSON (-j, -p) on stdout, errors on stderr.
 *
 * The one error idiom: a command, and every helper that reports, returns
 * an exit status: 0, or what p_err() (failed at run time: 1), p_usage() or
 * p_input() (bad usage or input, unknown device: 2) returned after saying
 * what is wrong and what to do.  Helpers that only fetch (sysfs reads, map walks)
 * print nothing and return 0 or -errno; their caller decides what it means.
 * With -j the first error is also a JSON object on stdout:
 *   {"schema_version": 1, "error": "...", "exit_status": 2}
 */
#ifndef IOMMUCTL_OUTPUT_H
#define IOMMUCTL_OUTPUT_H

#include <argp.h>
#include <stdbool.h>

/* Exit statuses: 0 success, 1 failure at run time, 2 bad usage or input. */
#define EXIT_USAGE	2

extern bool json_output;	/* -j, -p */
extern bool verbose;		/* -v: libbpf debug output */

/* Report an error (see above); return the exit status. */
int p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int p_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Bad input located in a file, compiler style: "FILE:LINE: what" (exit 2) */
int p_input(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning on stderr ("iommuctl: warning: ..."); never changes the status. */
void p_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* -p: pretty JSON (implies -j). */
void output_set_pretty(void);
/* Set what -j, -p or -v (key) asks for; false for any other key.  main()'s
 * global options and output_argp share it. */
bool output_option(int key);
/* -j, -p, -v after the command: an argp child every command includes. */
extern const struct argp output_argp;

#endif

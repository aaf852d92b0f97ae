// SPDX-License-Identifier: GPL-2.0
/* Output mode and error reporting: see output.h */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "output.h"

bool json_output;
bool verbose;
static bool error_reported;

static void json_error(int status, const char *msg)
{
	if (json_output && !error_reported) {
		struct json j;

		/* Whatever the command printed so far ends on its own line. */
		fflush(stdout);
		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_str(&j, "error", msg);
		json_i64(&j, "exit_status", status);
		json_end_object(&j);
		json_line(&j);
	}
	error_reported = true;
}

static int report(int status, bool prefix, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s%s\n", prefix ? "iommuctl: " : "", msg);
	json_error(status, msg);
	return status;
}

int p_err(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = report(EXIT_FAILURE, true, fmt, ap);
	va_end(ap);
	return ret;
}

int p_usage(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = report(EXIT_USAGE, true, fmt, ap);
	va_end(ap);
	return ret;
}

int p_input(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = report(EXIT_USAGE, false, fmt, ap);
	va_end(ap);
	return ret;
}

void p_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("iommuctl: warning: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void output_set_pretty(void)
{
	json_output = true;
	json_pretty = true;
}

static const struct argp_option output_opts[] = {
	{ "json", 'j', NULL, 0, "JSON output (schema: iommuctl(8))", -1 },
	{ "pretty", 'p', NULL, 0, "indented JSON (implies -j)", -1 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output; verifier log on load errors", -1 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "give this help list", -1 },
	{},
};

bool output_option(int key)
{
	switch (key) {
	case 'j':
		json_output = true;
		return true;
	case 'p':
		output_set_pretty();
		return true;
	case 'v':
		verbose = true;
		return true;
	}
	return false;
}

/*
 * argp reports bad usage itself, then exits: with -j, keep what it says and
 * give it back at exit, on stderr and as the JSON error object.
 */
static char *argp_msg;
static size_t argp_msg_len;
static FILE *argp_err;

static void argp_error_at_exit(int status, void *arg)
{
	char line[1024];

	if (!argp_err)
		return;
	fclose(argp_err);
	argp_err = NULL;
	fputs(argp_msg, stderr);
	if (status) {
		/* getopt said what was wrong on stderr; argp's own line says where to look */
		snprintf(line, sizeof(line), "bad usage (an unknown option, or a missing or "
			 "invalid argument): %.*s", (int)strcspn(argp_msg, "\n"), argp_msg);
		json_error(status, line);
	}
	free(argp_msg);
}

static error_t output_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_INIT:
		if (json_output && !argp_err) {
			argp_err = open_memstream(&argp_msg, &argp_msg_len);
			if (argp_err) {
				state->err_stream = argp_err;
				on_exit(argp_error_at_exit, NULL);
			}
		}
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	default:
		if (!output_option(key))
			return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp output_argp = { output_opts, output_parse };

// SPDX-License-Identifier: GPL-2.0
/* libbpf's messages: see bpf_log.h */
#define _GNU_SOURCE	/* vasprintf */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "bpf_log.h"
#include "output.h"

static char verifier_tail[4096];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
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
	if (level == LIBBPF_WARN || verbose)
		ret = fputs(line, stderr);
	free(line);
	return ret;
}

void bpf_log_setup(void)
{
	libbpf_set_print(libbpf_print);
}

int bpf_log_load_error(const char *what, int err)
{
	const char *p = verifier_tail;
	int lines = 0;

	if (!verbose)
		return p_err("loading the %s BPF program failed: %s (run with -v to see the "
			     "verifier's log)", what, strerror(-err));
	/* The last 15 lines are where the verifier says why. */
	for (const char *q = verifier_tail + strlen(verifier_tail); q > verifier_tail; q--)
		if (*q == '\n' && ++lines > 15) {
			p = q + 1;
			break;
		}
	fprintf(stderr, "iommuctl: last lines of the libbpf/verifier log:\n%s", p);
	return p_err("loading the %s BPF program failed: %s", what, strerror(-err));
}

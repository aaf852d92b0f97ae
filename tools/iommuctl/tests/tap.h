/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host unit tests' TAP lines: "ok - host: iommuctl SUITE: name" or
 * "not ok - ...", then the detail of a failure as a "# " line.  Define
 * TAP_SUITE ("rules") before including this.
 */
#ifndef IOMMUCTL_TESTS_TAP_H
#define IOMMUCTL_TESTS_TAP_H

#include <stdio.h>

static int failed;

static void t(const char *name, int cond, const char *detail)
{
	printf("%s - host: iommuctl " TAP_SUITE ": %s\n", cond ? "ok" : "not ok", name);
	if (!cond && detail)
		printf("# %s\n", detail);
	failed += !cond;
}

#endif /* IOMMUCTL_TESTS_TAP_H */

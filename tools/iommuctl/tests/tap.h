/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host unit tests' TAP: a plan first ("1..TAP_PLAN": how many checks
 * the test declares it will make), then "ok - host: iommuctl SUITE: name"
 * or "not ok - ..." per check, the detail of a failure as a "# " line.
 * Define TAP_SUITE ("rules") and TAP_PLAN before including this.
 *
 * stdout is line-buffered, so a crash loses no line already checked, and
 * the runner (selftests/host/run.sh) counts the lines against the plan: a
 * crash, an early exit or a check that was never reached is a failure.
 */
#ifndef IOMMUCTL_TESTS_TAP_H
#define IOMMUCTL_TESTS_TAP_H

#include <stdio.h>

#ifndef TAP_PLAN
#error "define TAP_PLAN, the number of checks the test makes"
#endif

static int failed;

__attribute__((constructor)) static void tap_plan(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", TAP_PLAN);
}

static void t(const char *name, int cond, const char *detail)
{
	printf("%s - host: iommuctl " TAP_SUITE ": %s\n", cond ? "ok" : "not ok", name);
	if (!cond && detail)
		printf("# %s\n", detail);
	failed += !cond;
}

#endif /* IOMMUCTL_TESTS_TAP_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small test harness in the style of the kselftest harness: TEST(name)
 * registers a test, each test runs in a forked child (a crashed or timed-out
 * test fails alone, and its BPF links close when it exits), ASSERT_* fail
 * the test, SKIP() skips it loudly. Output is TAP; the exit status is
 * non-zero if any test failed.
 */
#ifndef POLICY_HARNESS_H
#define POLICY_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

struct test {
	const char *name;
	void (*fn)(void);
	int timeout;
	struct test *next;
};

void test_register(struct test *t);
/* Shared with the parent, so that it can print why a test skipped */
extern char *test_skip_reason;

#define TEST_TIMEOUT(tname, secs)					\
	static void test_##tname(void);					\
	static struct test __test_##tname = {				\
		.name = #tname, .fn = test_##tname, .timeout = secs,	\
	};								\
	__attribute__((constructor)) static void __reg_##tname(void)	\
	{								\
		test_register(&__test_##tname);				\
	}								\
	static void test_##tname(void)

#define TEST(tname) TEST_TIMEOUT(tname, 60)

#define TH_LOG(fmt, ...)						\
	fprintf(stdout, "#   " fmt "\n", ##__VA_ARGS__)

#define __FAIL(fmt, ...)						\
	do {								\
		fprintf(stdout, "#   %s:%d: " fmt "\n", __FILE__,	\
			__LINE__, ##__VA_ARGS__);			\
		fflush(stdout);						\
		_exit(KSFT_FAIL);					\
	} while (0)

#define ASSERT_TRUE(cond)						\
	do {								\
		if (!(cond))						\
			__FAIL("expected %s", #cond);			\
	} while (0)

#define __ASSERT_OP(a, op, b)						\
	do {								\
		long long __a = (long long)(a), __b = (long long)(b);	\
		if (!(__a op __b))					\
			__FAIL("%s %s %s: %lld vs %lld", #a, #op, #b,	\
			       __a, __b);				\
	} while (0)

#define ASSERT_EQ(a, b) __ASSERT_OP(a, ==, b)
#define ASSERT_NE(a, b) __ASSERT_OP(a, !=, b)
#define ASSERT_GT(a, b) __ASSERT_OP(a, >, b)
#define ASSERT_GE(a, b) __ASSERT_OP(a, >=, b)

#define ASSERT_STREQ(a, b)						\
	do {								\
		const char *__a = (a), *__b = (b);			\
		if (strcmp(__a, __b))					\
			__FAIL("%s == %s: \"%s\" vs \"%s\"", #a, #b,	\
			       __a, __b);				\
	} while (0)

#define ASSERT_STRNE(a, b)						\
	do {								\
		const char *__a = (a), *__b = (b);			\
		if (!strcmp(__a, __b))					\
			__FAIL("%s != %s: both \"%s\"", #a, #b, __a);	\
	} while (0)

#define ASSERT_STRSTR(hay, needle)					\
	do {								\
		const char *__h = (hay), *__n = (needle);		\
		if (!strstr(__h, __n))					\
			__FAIL("\"%s\" does not contain \"%s\"", __h,	\
			       __n);					\
	} while (0)

#define SKIP(fmt, ...)							\
	do {								\
		snprintf(test_skip_reason, 256, fmt, ##__VA_ARGS__);	\
		fflush(stdout);						\
		_exit(KSFT_SKIP);					\
	} while (0)

#endif /* POLICY_HARNESS_H */

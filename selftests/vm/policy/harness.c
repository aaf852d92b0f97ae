// SPDX-License-Identifier: GPL-2.0
/*
 * The runner behind harness.h: runs the registered tests in order, each in a
 * forked child with a timeout, and prints TAP.
 *
 *   policy_test [-t SUBSTRING] [-l]
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "harness.h"

char *test_skip_reason;
static struct test *tests, **tests_tail = &tests;

void test_register(struct test *t)
{
	*tests_tail = t;
	tests_tail = &t->next;
}

/* Provided by the tests: undo what a (possibly crashed) test left behind */
void test_cleanup(void);

static int run_one(struct test *t)
{
	int status;
	pid_t pid;

	test_skip_reason[0] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return KSFT_FAIL;
	}
	if (pid == 0) {
		alarm(t->timeout);
		t->fn();
		fflush(stdout);
		_exit(KSFT_PASS);
	}
	if (waitpid(pid, &status, 0) < 0)
		return KSFT_FAIL;
	test_cleanup();
	if (WIFSIGNALED(status)) {
		printf("#   killed by signal %d%s\n", WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		return KSFT_FAIL;
	}
	return WEXITSTATUS(status);
}

/* Does @name contain one of the comma-separated substrings of @list? */
static bool matches(const char *name, const char *list)
{
	char pat[256];

	while (*list) {
		size_t len = strcspn(list, ",");

		snprintf(pat, sizeof(pat), "%.*s", (int)len, list);
		if (len && strstr(name, pat))
			return true;
		list += len + (list[len] == ',');
	}
	return false;
}

/* The first substring of @list that no test's name contains, or NULL */
static const char *unmatched(const char *list)
{
	static char pat[256];
	struct test *t;

	while (*list) {
		size_t len = strcspn(list, ",");

		snprintf(pat, sizeof(pat), "%.*s", (int)len, list);
		for (t = tests; len && t; t = t->next)
			if (strstr(t->name, pat))
				break;
		if (len && !t)
			return pat;
		list += len + (list[len] == ',');
	}
	return NULL;
}

/* -t: names with one of these substrings only; -x: none with one of those */
static bool selected(const struct test *t, const char *filter, const char *exclude)
{
	return (!filter || matches(t->name, filter)) &&
	       (!exclude || !matches(t->name, exclude));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int n = 0, planned = 0, pass = 0, fail = 0, skip = 0;
	const char *filter = NULL, *exclude = NULL;
	bool list = false;
	struct test *t;
	double start;
	int opt;

	while ((opt = getopt(argc, argv, "t:x:l")) != -1) {
		switch (opt) {
		case 't':
			filter = optarg;
			break;
		case 'x':
			exclude = optarg;
			break;
		case 'l':
			list = true;
			break;
		default:
			fprintf(stderr, "usage: %s [-t SUBSTRING] [-x SUBSTRING] [-l]\n", argv[0]);
			return 2;
		}
	}
	test_skip_reason = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (test_skip_reason == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	/*
	 * Every name in -t must select a test: a renamed or removed test
	 * must fail the run, not quietly leave it out of a profile.
	 */
	if (filter && unmatched(filter)) {
		fprintf(stderr, "-t %s: '%s' names no test (policy_test -l lists them)\n",
			filter, unmatched(filter));
		return 2;
	}
	/* The plan first: a runner that dies midway is short of it */
	if (!list) {
		for (t = tests; t; t = t->next)
			planned += selected(t, filter, exclude);
		printf("1..%d\n", planned);
	}
	for (t = tests; t; t = t->next) {
		if (!selected(t, filter, exclude))
			continue;
		if (list) {
			printf("%s\n", t->name);
			continue;
		}
		n++;
		printf("# RUN %s\n", t->name);
		start = now();
		switch (run_one(t)) {
		case KSFT_PASS:
			pass++;
			printf("ok %d %s\n", n, t->name);
			break;
		case KSFT_SKIP:
			skip++;
			printf("ok %d %s # SKIP %s\n", n, t->name,
			       test_skip_reason);
			break;
		default:
			fail++;
			printf("not ok %d %s\n", n, t->name);
			break;
		}
		/* what each test costs, to see where a profile's time goes */
		printf("#   %s: %.1fs\n", t->name, now() - start);
	}
	if (!list)
		printf("# PASSED: %d FAILED: %d SKIPPED: %d\n", pass, fail, skip);
	return fail ? 1 : 0;
}

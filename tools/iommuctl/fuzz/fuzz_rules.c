// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target of the rules parser (make fuzz).  Properties, each an
 * abort when broken:
 *  - a file that parses, printed back (what policy load -c prints), parses
 *    to the same table, and prints the same again;
 *  - a file that does not parse gives one "fuzz:LINE: ..." message and an
 *    empty table;
 *  - every verdict is in its hook's enum, every rule's score as its
 *    conditions say, the table in lookup order;
 *  - the glob matcher agrees with fnmatch(3) on the file's dev= globs.
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy_names.h"
#include "policy_rules.h"

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_rules: %s: ", #cond);		\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

static int parse(const char *text, size_t len, struct policy_rules *rs, char *err,
		 size_t errlen)
{
	/* fmemopen() refuses a zero size: an empty file is "" */
	FILE *f = fmemopen((void *)(len ? text : "\n"), len ? len : 1, "r");
	int ret;

	CHECK(f, "fmemopen");
	ret = policy_rules_parse(f, "fuzz", rs, err, errlen);
	fclose(f);
	return ret;
}

static char *print(const struct policy_rules *rs, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	CHECK(f, "open_memstream");
	policy_rules_print(rs, f);
	fclose(f);
	return out;
}

/* Names a glob is tried on: derived from it, and a few fixed */
static void check_glob(const char *pat)
{
	static const char *const fixed[] = { "", "a", "m1", "0000:00:03.0", "pm12",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	char names[3][POLICY_TABLE_NAME_LEN];
	size_t n = strlen(pat);

	for (size_t i = 0; i <= n; i++) {
		names[0][i] = pat[i] == '*' || pat[i] == '?' ? 'x' : pat[i];
		names[1][i] = pat[i] == '*' ? '-' : pat[i] == '?' ? 'q' : pat[i];
		names[2][i] = pat[n - i - (i < n)];
	}
	names[2][n] = '\0';
	for (size_t k = 0; k < 3 + sizeof(fixed) / sizeof(fixed[0]); k++) {
		const char *name = k < 3 ? names[k] : fixed[k - 3];
		/* '[' and '\\' are literal in rules, not in fnmatch() */
		bool want = strpbrk(pat, "[\\") ? policy_glob_match(pat, name) :
			    !fnmatch(pat, name, 0);

		CHECK(policy_glob_match(pat, name) == want, "glob '%s' on '%s'", pat, name);
	}
	CHECK(policy_glob_match(pat, names[0]), "glob '%s' on its own '%s'", pat, names[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_rules rs, again;
	char err[1024], err2[1024], *out, *out2;
	size_t len, len2;

	if (parse((const char *)data, size, &rs, err, sizeof(err))) {
		CHECK(!strncmp(err, "fuzz:", 5) && rs.n == 0 && !rs.rules, "error '%s'", err);
		return 0;
	}
	for (size_t i = 0; i < rs.n; i++) {
		const struct policy_rule *r = &rs.rules[i];

		CHECK(policy_verdict_name(r->hook, r->t.verdict), "verdict %d", r->t.verdict);
		CHECK(r->score == policy_rule_score(&r->t), "score");
		CHECK(!i || rs.rules[i - 1].score > r->score ||
		      (rs.rules[i - 1].score == r->score && rs.rules[i - 1].t.line < r->t.line),
		      "lookup order at %zu", i);
		if (r->t.conds & POLICY_COND_DEV_GLOB)
			check_glob(r->t.name);
	}
	out = print(&rs, &len);
	CHECK(!parse(out, len, &again, err2, sizeof(err2)), "printed table does not parse: %s\n%s",
	      err2, out);
	CHECK(policy_rules_same_table(&rs, &again), "printed table differs:\n%s", out);
	out2 = print(&again, &len2);
	CHECK(len == len2 && !memcmp(out, out2, len), "prints differ:\n%s\n--\n%s", out, out2);
	free(out);
	free(out2);
	policy_rules_free(&again);
	policy_rules_free(&rs);
	return 0;
}

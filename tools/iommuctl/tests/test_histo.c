// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the histogram layout shared with the BPF programs, the
 * quantiles iommuctl reports, and its JSON writer.  Prints one
 * "ok - / not ok - " line per check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "histo.h"
#include "hist_samples.h"
#include "json.h"

#define TAP_SUITE "histo"
/* Checks made: the runner fails the test if fewer are printed */
#define TAP_PLAN 11
#include "tap.h"

static int slots_tile_the_u64_range(void)
{
	if (hist_slot_low(0) != 0)
		return 0;
	for (unsigned int s = 0; s + 1 < HIST_SLOTS; s++)
		if (hist_slot_high(s) + 1 != hist_slot_low(s + 1) ||
		    hist_slot_low(s) > hist_slot_high(s))
			return 0;
	return hist_slot_high(HIST_SLOTS - 1) == ~0ULL;
}

static int values_land_in_their_slot(void)
{
	for (int k = 0; k < 64; k++) {
		__u64 p = 1ULL << k;
		__u64 vals[] = { p - 1, p, p + 1, p + p / 3, p + p / 2 };

		for (unsigned int i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			unsigned int s = hist_slot(vals[i]);

			if (s >= HIST_SLOTS || vals[i] < hist_slot_low(s) ||
			    vals[i] > hist_slot_high(s))
				return 0;
		}
	}
	return hist_slot(~0ULL) == HIST_SLOTS - 1;
}

static int buckets_are_quarter_octaves(void)
{
	/* 1000 ns: octave 512..1023 split in 4: 896..1023 */
	unsigned int s = hist_slot(1000);

	return hist_slot_low(s) == 896 && hist_slot_high(s) == 1023 &&
	       hist_slot(3) == 3 && hist_slot(4) == 4 && hist_slot(7) == 7 &&
	       hist_slot(8) == 8 && hist_slot(9) == 8 && hist_slot(10) == 9;
}

static int quantiles(void)
{
	struct hist h;
	struct hist_summary s;

	memset(&h, 0, sizeof(h));
	hist_add_samples(&h, 100, 50);	/* slot 96..111 */
	hist_add_samples(&h, 1000, 40);	/* slot 896..1023 */
	hist_add_samples(&h, 5000, 9);	/* slot 4096..5119 */
	hist_add_samples(&h, 70000, 1);	/* the max */
	hist_summarize(&h, &s);
	return s.count == 100 && s.p50 == 111 && s.p90 == 1023 &&
	       s.p99 == 5119 && s.max == 70000 && s.avg == (5000 + 40000 + 45000 + 70000) / 100.0 &&
	       hist_quantile(&h, 1.0) == 70000;
}

static int quantile_capped_at_max(void)
{
	struct hist h;

	memset(&h, 0, sizeof(h));
	hist_add_samples(&h, 900, 10);	/* bucket high is 1023, but nothing above 900 */
	return hist_quantile(&h, 0.5) == 900;
}

static int empty_histogram(void)
{
	struct hist h;
	struct hist_summary s;

	memset(&h, 0, sizeof(h));
	hist_summarize(&h, &s);
	return s.count == 0 && s.p50 == 0 && s.avg == 0;
}

static int merge_sums_cpus(void)
{
	struct hist a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	hist_add_samples(&a, 10, 2);
	hist_add_samples(&b, 10, 3);
	hist_add_samples(&b, 500, 1);
	hist_merge(&a, &b);
	return a.count == 6 && a.slots[hist_slot(10)] == 5 && a.max == 500 && a.sum == 550;
}

static int json_is_escaped_and_nested(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;
	int ok;

	json_init(&j, f);
	json_begin_object(&j, NULL);
	json_str(&j, "dev", "a\"b\\c\n");
	json_begin_array(&j, "xs");
	json_u64(&j, NULL, 1);
	json_i64(&j, NULL, -2);
	json_end_array(&j);
	json_null(&j, "n");
	json_bool(&j, "t", true);
	json_f64(&j, "f", 1.5);
	json_end_object(&j);
	json_line(&j);
	fclose(f);
	ok = !strcmp(buf, "{\"dev\":\"a\\\"b\\\\c\\n\",\"xs\":[1,-2],\"n\":null,\"t\":true,\"f\":1.500}\n");
	if (!ok)
		printf("# got: %s", buf);
	free(buf);
	return ok;
}

/* Text of fn(f), for comparing printed output */
static char *printed(void (*fn)(FILE *f, void *arg), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, arg);
	fclose(f);
	return buf;
}

static void print_log2(FILE *f, void *h)
{
	const struct unit u = { "nsecs", 1 };

	hist_print(f, h, &u, true);
}

static void print_quarters(FILE *f, void *h)
{
	const struct unit u = { "nsecs", 1 };

	hist_print(f, h, &u, false);
}

/* --log2: one row per octave, its count the sum of its four sub-buckets */
static int log2_rows_are_octaves(void)
{
	struct hist h;
	char *l2, *q;
	int ok;

	memset(&h, 0, sizeof(h));
	hist_add_samples(&h, 256, 1);	/* 256..319 */
	hist_add_samples(&h, 400, 2);	/* 384..447 */
	hist_add_samples(&h, 500, 3);	/* 448..511 */
	hist_add_samples(&h, 5000, 4);	/* 4096..8191 */
	l2 = printed(print_log2, &h);
	q = printed(print_quarters, &h);
	ok = strstr(l2, "        256 -> 511         : 6 ") &&
	     strstr(l2, "       4096 -> 8191        : 4 ") &&
	     /* empty octaves between them still print, as in libbpf-tools */
	     strstr(l2, "       2048 -> 4095        : 0 ") &&
	     !strstr(l2, "384") && strstr(q, "        384 -> 447         : 2 ");
	if (!ok)
		printf("# log2:\n%s# quarters:\n%s", l2, q);
	free(l2);
	free(q);
	return ok;
}

static int json_pretty_and_versioned(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;
	int ok;

	json_pretty = true;
	json_schema_version = 1;
	json_init(&j, f);
	json_begin_object(&j, NULL);
	json_begin_array(&j, "xs");
	json_begin_object(&j, NULL);
	json_u64(&j, "a", 1);
	json_end_object(&j);
	json_end_array(&j);
	json_begin_object(&j, "empty");
	json_end_object(&j);
	json_end_object(&j);
	json_line(&j);
	fclose(f);
	json_pretty = false;
	json_schema_version = 0;
	ok = !strcmp(buf, "{\n  \"schema_version\": 1,\n  \"xs\": [\n    {\n      \"a\": 1\n"
		     "    }\n  ],\n  \"empty\": {}\n}\n");
	if (!ok)
		printf("# got: %s", buf);
	free(buf);
	return ok;
}

/* Only top-level objects carry the version: not nested ones, not arrays */
static int schema_version_top_level_only(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;
	int ok;

	json_schema_version = 1;
	json_init(&j, f);
	json_begin_object(&j, NULL);
	json_begin_object(&j, "in");
	json_end_object(&j);
	json_end_object(&j);
	json_line(&j);
	json_begin_object(&j, NULL);
	json_end_object(&j);
	json_line(&j);
	fclose(f);
	json_schema_version = 0;
	ok = !strcmp(buf, "{\"schema_version\":1,\"in\":{}}\n{\"schema_version\":1}\n");
	if (!ok)
		printf("# got: %s", buf);
	free(buf);
	return ok;
}

int main(void)
{
	t("histogram slots tile the u64 range", slots_tile_the_u64_range(), NULL);
	t("histogram values land in their slot", values_land_in_their_slot(), NULL);
	t("histogram has 4 buckets per octave", buckets_are_quarter_octaves(), NULL);
	t("percentiles from buckets", quantiles(), NULL);
	t("percentiles capped at the max", quantile_capped_at_max(), NULL);
	t("empty histogram", empty_histogram(), NULL);
	t("per-CPU merge", merge_sums_cpus(), NULL);
	t("JSON escaping and nesting", json_is_escaped_and_nested(), NULL);
	t("--log2 prints one row per octave", log2_rows_are_octaves(), NULL);
	t("-p: indented JSON, schema_version first", json_pretty_and_versioned(), NULL);
	t("schema_version in top-level objects only", schema_version_top_level_only(), NULL);
	return failed ? 1 : 0;
}

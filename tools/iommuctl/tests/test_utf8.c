// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of names that are not UTF-8 in JSON (json.c) and in the
 * Prometheus text format (prom.c): valid UTF-8 passes as it is, a byte
 * that begins no valid sequence is its Latin-1 character in both formats
 * (\u00XX in JSON), and what each format escapes is escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "json.h"
#include "prom.h"
#include "utf8.h"

#define TAP_SUITE "utf8"
/* Checks made: the runner fails the test if fewer are printed */
#define TAP_PLAN 17
#include "tap.h"

static char out[1024], detail[4096];

static void dump(char *buf, size_t len, const char *s)
{
	size_t k = 0;

	for (; *s && k + 5 < len; s++) {
		unsigned char c = *s;

		k += snprintf(buf + k, len - k, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
	}
	buf[k] = '\0';
}

/* s as a JSON string value, into out */
static const char *json_of(const char *s)
{
	FILE *f = fmemopen(out, sizeof(out), "w");
	struct json j;

	json_init(&j, f);
	json_str(&j, NULL, s);
	fclose(f);
	return out;
}

/* name="s" as prom_label() writes it, into out */
static const char *label_as(const char *name, const char *s, bool first)
{
	FILE *f = fmemopen(out, sizeof(out), "w");

	prom_label(f, name, s, first);
	fclose(f);
	return out;
}

static const char *label_of(const char *s)
{
	return label_as("name", s, true);
}

static void check(const char *name, const char *got, const char *want)
{
	char g[1024], w[1024];

	dump(g, sizeof(g), got);
	dump(w, sizeof(w), want);
	snprintf(detail, sizeof(detail), "got %s, want %s", g, w);
	t(name, !strcmp(got, want), detail);
}

/* promtool, which checks metrics as node_exporter parses them, takes a
 * series labelled with name */
static void promtool_takes(const char *name)
{
	const char *name_t = "promtool check metrics takes a series labelled with bytes "
			     "that are not UTF-8";
	char path[] = "/tmp/test_utf8.XXXXXX", cmd[256];
	FILE *f;
	int fd, rc;

	if (system("command -v promtool >/dev/null 2>&1")) {
		printf("ok - host: iommuctl " TAP_SUITE ": %s # SKIP no promtool\n", name_t);
		return;
	}
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("# HELP iommu_policy_info The policy.\n# TYPE iommu_policy_info gauge\n"
	      "iommu_policy_info{", f);
	prom_label(f, "name", name, true);
	fputs("} 1\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	rc = system(cmd);
	unlink(path);
	snprintf(detail, sizeof(detail), "promtool exited %d", rc);
	t(name_t, rc == 0, detail);
}

/* Is s valid UTF-8 throughout? */
static int valid(const char *s)
{
	for (int n; *s; s += n)
		if (!(n = utf8_seq_len(s)))
			return 0;
	return 1;
}

int main(void)
{
	/* Every sequence utf8_seq_len() must refuse, and some it must take */
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80",
		"\xf0\x80\x80\xaf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
		"\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xc3x",
	};
	static const char *const good[] = {
		"a", "\xc3\xa9", "\xe2\x82\xac", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf",
	};
	int all = 1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		all &= utf8_seq_len(bad[i]) == 0;
	t("overlong forms, surrogates, past U+10FFFF, stray and cut sequences are not UTF-8",
	  all, NULL);
	all = 1;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		all &= utf8_seq_len(good[i]) == (int)strlen(good[i]);
	t("valid sequences of 1 to 4 bytes are UTF-8", all, NULL);

	check("JSON: a policy name t\\xe9st is t\\u00e9st", json_of("t\xe9st"),
	      "\"t\\u00e9st\"");
	check("JSON: valid UTF-8 passes as it is", json_of("t\xc3\xa9st \xe2\x82\xac \xf0\x9f\x98\x80"),
	      "\"t\xc3\xa9st \xe2\x82\xac \xf0\x9f\x98\x80\"");
	check("JSON: a surrogate is three Latin-1 characters", json_of("\xed\xa0\x80"),
	      "\"\\u00ed\\u00a0\\u0080\"");
	check("JSON: a sequence cut by the end of the name", json_of("ab\xe2\x82"),
	      "\"ab\\u00e2\\u0082\"");
	check("JSON: an overlong '/' does not become one", json_of("\xc0\xaf"),
	      "\"\\u00c0\\u00af\"");
	check("JSON: quotes, backslashes and control characters", json_of("a\"b\\c\nd\te\x01"),
	      "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
	t("JSON: what it writes is valid UTF-8", valid(json_of("\xff\xfe t\xe9st \xc3\xa9")),
	  out);

	check("label: a policy name t\\xe9st is t\\u00e9 in UTF-8", label_of("t\xe9st"),
	      "name=\"t\xc3\xa9st\"");
	check("label: valid UTF-8 passes as it is", label_of("t\xc3\xa9st \xf0\x9f\x98\x80"),
	      "name=\"t\xc3\xa9st \xf0\x9f\x98\x80\"");
	check("label: bytes 80 to ff are U+0080 to U+00FF", label_of("\x80\xff"),
	      "name=\"\xc2\x80\xc3\xbf\"");
	check("label: a sequence cut by the end of the name", label_of("ab\xe2\x82"),
	      "name=\"ab\xc3\xa2\xc2\x82\"");
	check("label: \\, \" and newline are escaped, as the format says",
	      label_of("a\\b\"c\nd"), "name=\"a\\\\b\\\"c\\nd\"");
	t("label: what it writes is valid UTF-8", valid(label_of("\xff\xfe t\xe9st \xc3\xa9")),
	  out);
	check("label: after the first, a comma", label_as("x", "y", false), ",x=\"y\"");
	promtool_takes("t\xe9st \xff \xc0\xaf \xed\xa0\x80 \xc3\xa9 \"\\\n");
	return failed ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <math.h>
#include "json.h"
#include "utf8.h"

bool json_pretty;
int json_schema_version;

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->need_comma[0] = false;
	j->pretty = json_pretty;
}

static void newline(struct json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* JSON wants UTF-8: a byte that begins no valid sequence is written as
 * \u00XX, its Latin-1 character (utf8.h), as prom.c does. */
static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;
		int n;

		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20) {
			fprintf(f, "\\u%04x", c);
		} else if (c < 0x80) {
			fputc(c, f);
		} else if ((n = utf8_seq_len(s))) {
			fwrite(s, 1, n, f);
			s += n - 1;
		} else {
			fprintf(f, "\\u%04x", c);
		}
	}
	fputc('"', f);
}

/* Comma and key before a value, as the container needs. */
static void prefix(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	if (j->depth)
		newline(j);
	j->need_comma[j->depth] = true;
	if (key) {
		put_string(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_container(struct json *j, const char *key, char c)
{
	prefix(j, key);
	fputc(c, j->f);
	if (j->depth < 15)
		j->depth++;
	j->need_comma[j->depth] = false;
	if (c == '{' && j->depth == 1 && json_schema_version)
		json_i64(j, "schema_version", json_schema_version);
}

static void close_container(struct json *j, char c)
{
	bool empty = !j->need_comma[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		newline(j);
	fputc(c, j->f);
}

void json_begin_object(struct json *j, const char *key) { open_container(j, key, '{'); }
void json_end_object(struct json *j) { close_container(j, '}'); }
void json_begin_array(struct json *j, const char *key) { open_container(j, key, '['); }
void json_end_array(struct json *j) { close_container(j, ']'); }

void json_str(struct json *j, const char *key, const char *val)
{
	prefix(j, key);
	put_string(j->f, val ? val : "");
}

void json_u64(struct json *j, const char *key, uint64_t val)
{
	prefix(j, key);
	fprintf(j->f, "%llu", (unsigned long long)val);
}

void json_i64(struct json *j, const char *key, int64_t val)
{
	prefix(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void json_f64(struct json *j, const char *key, double val)
{
	prefix(j, key);
	if (isfinite(val))
		fprintf(j->f, "%.3f", val);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, bool val)
{
	prefix(j, key);
	fputs(val ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	prefix(j, key);
	fputs("null", j->f);
}

void json_line(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
	j->depth = 0;
	j->need_comma[0] = false;
}

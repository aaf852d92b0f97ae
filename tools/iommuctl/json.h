/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal streaming JSON writer: enough for iommuctl's -j output. */
#ifndef IOMMUCTL_JSON_H
#define IOMMUCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json {
	FILE *f;
	int depth;
	bool need_comma[16];
	bool pretty;
};

/* -p: indent, one member per line (json_init copies it). */
extern bool json_pretty;
/* Nonzero: every top-level object starts with "schema_version": N. */
extern int json_schema_version;

void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_f64(struct json *j, const char *key, double val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
/* Ends a top-level value with a newline (NDJSON). */
void json_line(struct json *j);

#endif

// SPDX-License-Identifier: GPL-2.0
/* Prometheus label values: see prom.h */
#include "prom.h"
#include "utf8.h"

void prom_label(FILE *f, const char *name, const char *val, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	while (*val) {
		unsigned char c = *val;
		int n = utf8_seq_len(val);

		if (c == '\\' || c == '"') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (n) {
			fwrite(val, 1, n, f);
			val += n;
			continue;
		} else {
			fputc(0xc0 | c >> 6, f);
			fputc(0x80 | (c & 0x3f), f);
		}
		val++;
	}
	fputc('"', f);
}

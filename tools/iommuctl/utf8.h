/* SPDX-License-Identifier: GPL-2.0 */
/*
 * UTF-8 as JSON and the Prometheus text format need it.  Names iommuctl
 * prints come from the kernel (sysfs, debugfs, BPF maps) as bytes, and a
 * policy name may hold any byte but '\0': a byte that does not begin a
 * valid sequence is taken as its Latin-1 character, U+0080 to U+00FF, in
 * both formats (json.c writes \u00XX, prom.c its UTF-8).
 */
#ifndef IOMMUCTL_UTF8_H
#define IOMMUCTL_UTF8_H

/* The length (1 to 4) of the valid UTF-8 sequence s begins with (no
 * overlong form, no surrogate, nothing above U+10FFFF); 0 if it begins
 * none.  *s must not be '\0'; reads no further than a '\0'. */
int utf8_seq_len(const char *s);

#endif

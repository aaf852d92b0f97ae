/* SPDX-License-Identifier: GPL-2.0 */
/* The Prometheus text format's label values, written in one place. */
#ifndef IOMMUCTL_PROM_H
#define IOMMUCTL_PROM_H

#include <stdbool.h>
#include <stdio.h>

/*
 * name="val", after a comma unless first.  The format wants UTF-8 and
 * escapes only \, " and newline (node_exporter rejects the whole file
 * over one bad byte): a byte that begins no valid UTF-8 sequence is
 * written as its Latin-1 character (utf8.h).
 */
void prom_label(FILE *f, const char *name, const char *val, bool first);

#endif

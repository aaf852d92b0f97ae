// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <string.h>
#include "histo.h"

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (int i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

__u64 hist_slots_total(const struct hist *h)
{
	__u64 total = 0;

	for (int i = 0; i < HIST_SLOTS; i++)
		total += h->slots[i];
	return total;
}

void hist_snap_finish(void *delta, const void *cum)
{
	struct hist *d = delta;
	const struct hist *c = cum;
	int top = HIST_SLOTS - 1;
	__u64 low, high;

	d->count = hist_slots_total(d);
	while (top >= 0 && !d->slots[top])
		top--;
	if (top < 0) {
		d->max = 0;
		return;
	}
	/*
	 * The interval's largest sample is in its top bucket and at most the
	 * cumulative max: exact when it is the largest so far.  A max read
	 * before the program raised it (it comes after the bucket) is below
	 * the bucket: then the bucket's low bound.
	 */
	low = hist_slot_low(top);
	high = hist_slot_high(top);
	d->max = c->max < high ? c->max : high;
	if (d->max < low)
		d->max = low;
}

__u64 hist_quantile(const struct hist *h, double q)
{
	__u64 total = hist_slots_total(h), seen = 0, rank;

	if (!total)
		return 0;
	/* The rank-th smallest sample, 1-based: ceil(q * total). */
	rank = (unsigned long long)(q * total);
	if ((double)rank < q * total)
		rank++;
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < HIST_SLOTS; i++) {
		seen += h->slots[i];
		if (seen >= rank) {
			__u64 high = hist_slot_high(i);

			return h->max && high > h->max ? h->max : high;
		}
	}
	return h->max;
}

void hist_summarize(const struct hist *h, struct hist_summary *s)
{
	s->count = h->count;
	s->sum = h->sum;
	s->max = h->max;
	s->avg = h->count ? (double)h->sum / h->count : 0;
	s->p50 = hist_quantile(h, 0.50);
	s->p90 = hist_quantile(h, 0.90);
	s->p99 = hist_quantile(h, 0.99);
}

static void stars(FILE *f, __u64 val, __u64 max, int width)
{
	int n = max ? (int)(val * width / max) : 0;

	for (int i = 0; i < width; i++)
		fputc(i < n ? '*' : ' ', f);
}

void hist_print(FILE *f, const struct hist *h, const struct unit *u, bool log2)
{
	int step = log2 ? HIST_SUB : 1, first = -1, last = -1;
	__u64 rows[HIST_SLOTS] = {}, vmax = 0;

	/* Row r covers slots r*step .. r*step+step-1: an octave with log2. */
	for (int i = 0; i < HIST_SLOTS; i++)
		rows[i / step] += h->slots[i];
	for (int r = 0; r < HIST_SLOTS / step; r++) {
		if (!rows[r])
			continue;
		if (first < 0)
			first = r;
		last = r;
		if (rows[r] > vmax)
			vmax = rows[r];
	}
	if (first < 0)
		return;
	fprintf(f, "%26s : %-10s distribution\n", u->name, "count");
	for (int r = first; r <= last; r++) {
		__u64 low = hist_slot_low(r * step), high = hist_slot_high(r * step + step - 1);

		if (u->div == 1)
			fprintf(f, "%11llu -> %-11llu", low, high);
		else
			fprintf(f, "%11.3f -> %-11.3f", (double)low / u->div, (double)high / u->div);
		fprintf(f, " : %-10llu |", (unsigned long long)rows[r]);
		stars(f, rows[r], vmax, 40);
		fputs("|\n", f);
	}
}

void hist_json(struct json *j, const struct hist *h)
{
	struct hist_summary s;

	hist_summarize(h, &s);
	json_u64(j, "count", s.count);
	json_u64(j, "sum", s.sum);
	json_f64(j, "avg", s.avg);
	json_u64(j, "p50", s.p50);
	json_u64(j, "p90", s.p90);
	json_u64(j, "p99", s.p99);
	json_u64(j, "max", s.max);
	json_begin_array(j, "hist");
	for (int i = 0; i < HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		json_begin_object(j, NULL);
		json_u64(j, "low", hist_slot_low(i));
		json_u64(j, "high", hist_slot_high(i));
		json_u64(j, "count", h->slots[i]);
		json_end_object(j);
	}
	json_end_array(j);
}

void hist_print_summary(FILE *f, const struct hist *h, const struct unit *u)
{
	struct hist_summary s;
	double d = u->div;

	hist_summarize(h, &s);
	fprintf(f, "count %llu  avg %.3f  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f (%s)\n",
		s.count, s.avg / d, s.p50 / d, s.p90 / d, s.p99 / d, s.max / d, u->name);
}

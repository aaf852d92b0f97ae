// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the per-interval growth of BPF maps (map_snap.c) and of the
 * histogram finish (histo.c): what trace latency, trace flush, top and
 * metrics report from maps they never reset.  Reads are made up here: rows
 * as map_read_delta() would pass them.  Prints one "ok - / not ok - " line
 * per check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "histo.h"
#include "hist_samples.h"
#include "map_snap.h"

#define TAP_SUITE "map_snap"
/* Checks made: the runner fails the test if fewer are printed */
#define TAP_PLAN 16
#include "tap.h"

/* Counters, as flush.bpf.c's: a key of 4 bytes, two words */
struct crow {
	__u32 key;
	__u64 v[2];
};

/* Histograms, as latency.bpf.c's: a key that is no multiple of 8 */
struct hrow {
	struct {
		char name[6];
	} key;
	struct hist h;
};

static char detail[256];

static struct map_snap csnap(void)
{
	return (struct map_snap)MAP_SNAP_INIT(struct crow, key, v, NULL);
}

static struct map_snap hsnap(void)
{
	return (struct map_snap)MAP_SNAP_INIT(struct hrow, key, h, hist_snap_finish);
}

static ssize_t read1(struct map_snap *s, struct crow *rows, __u32 key, __u64 a, __u64 b,
		     double now)
{
	rows[0] = (struct crow){ .key = key, .v = { a, b } };
	return map_snap_delta(s, rows, 1, now);
}

static int new_key_is_whole_value(void)
{
	struct map_snap s = csnap();
	struct crow r[1];
	ssize_t n = read1(&s, r, 7, 5, 900, 0);
	int ok = n == 1 && r[0].key == 7 && r[0].v[0] == 5 && r[0].v[1] == 900 && s.n == 1;

	/* A key created but not yet added to (map_get_or_create): no row */
	n = read1(&s, r, 8, 0, 0, 1);
	ok = ok && n == 0 && s.n == 2;
	map_snap_free(&s);
	return ok;
}

static int unchanged_key_gives_no_row(void)
{
	struct map_snap s = csnap();
	struct crow r[1];
	int ok;

	read1(&s, r, 7, 5, 900, 0);
	ok = read1(&s, r, 7, 5, 900, 1) == 0 && s.n == 1;
	/* ... and is still known: its next growth is a difference */
	ok = ok && read1(&s, r, 7, 6, 950, 2) == 1 && r[0].v[0] == 1 && r[0].v[1] == 50;
	map_snap_free(&s);
	return ok;
}

static int grown_keys_give_differences(void)
{
	struct map_snap s = csnap();
	struct crow r[3] = {
		{ .key = 3, .v = { 30, 300 } },
		{ .key = 1, .v = { 10, 100 } },
		{ .key = 2, .v = { 20, 200 } },
	};
	ssize_t n = map_snap_delta(&s, r, 3, 0);
	int ok = n == 3;

	/* key 2 grew, key 1 did not, key 3 is not in this read */
	r[0] = (struct crow){ .key = 2, .v = { 25, 200 } };
	r[1] = (struct crow){ .key = 1, .v = { 10, 100 } };
	n = map_snap_delta(&s, r, 2, 1);
	ok = ok && n == 1 && r[0].key == 2 && r[0].v[0] == 5 && r[0].v[1] == 0;
	/* key 3 was kept: its growth is a difference, not its whole value */
	n = read1(&s, r, 3, 31, 301, 2);
	ok = ok && n == 1 && r[0].v[0] == 1 && r[0].v[1] == 1 && s.n == 3;
	map_snap_free(&s);
	return ok;
}

static int rows_in_key_order(void)
{
	struct map_snap s = csnap();
	struct crow r[3] = {
		{ .key = 0x0300, .v = { 1 } },
		{ .key = 0x0100, .v = { 1 } },
		{ .key = 0x0200, .v = { 1 } },
	};
	ssize_t n = map_snap_delta(&s, r, 3, 0);
	int ok = n == 3;

	/* memcmp order of the key bytes (little endian here) */
	for (int i = 0; ok && i + 1 < 3; i++)
		ok = memcmp(&r[i].key, &r[i + 1].key, sizeof(r[i].key)) < 0;
	map_snap_free(&s);
	return ok;
}

static int lower_read_is_no_negative_growth(void)
{
	struct map_snap s = csnap();
	struct crow r[1];
	int ok;

	read1(&s, r, 1, 100, 100, 0);
	/* A torn copy reads a word lower: nothing grew */
	ok = read1(&s, r, 1, 90, 100, 1) == 0;
	/* A word read higher than it is: that growth counts, and the next
	 * read, correct, adds nothing until the word passes it */
	ok = ok && read1(&s, r, 1, 200, 100, 2) == 1 && r[0].v[0] == 100;
	ok = ok && read1(&s, r, 1, 150, 100, 3) == 0;
	ok = ok && read1(&s, r, 1, 210, 101, 4) == 1 && r[0].v[0] == 10 && r[0].v[1] == 1;
	map_snap_free(&s);
	return ok;
}

static ssize_t hread(struct map_snap *s, struct hrow *r, const struct hist *cum, double now)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->key.name, "dev", 3);
	r->h = *cum;
	return map_snap_delta(s, r, 1, now);
}

static int count_is_the_buckets_sum(void)
{
	struct map_snap s = hsnap();
	struct hist k = {};
	struct hrow r;
	ssize_t n;
	int ok;

	hist_add_samples(&k, 100, 3);
	k.count += 2;	/* count read ahead of its buckets */
	n = hread(&s, &r, &k, 0);
	ok = n == 1 && r.h.count == 3 && hist_slots_total(&r.h) == 3 && r.h.sum == 300;
	hist_add_samples(&k, 100, 2);
	k.count -= 2;	/* caught up: 5 in all */
	n = hread(&s, &r, &k, 1);
	ok = ok && n == 1 && r.h.count == 2 && r.h.slots[hist_slot(100)] == 2;
	snprintf(detail, sizeof(detail), "second interval: count %llu", r.h.count);
	map_snap_free(&s);
	return ok;
}

static int max_rule(void)
{
	struct map_snap s = hsnap();
	struct hist k = {};
	struct hrow r;
	int ok;

	hist_add_samples(&k, 100, 1);
	hist_add_samples(&k, 1000, 1);
	/* New: the whole histogram, its max the kernel's */
	ok = hread(&s, &r, &k, 0) == 1 && r.h.max == 1000;
	/* 100 again: its bucket 96..111 bounds the interval, not the max 1000 */
	hist_add_samples(&k, 100, 1);
	ok = ok && hread(&s, &r, &k, 1) == 1 && r.h.max == 111 && r.h.count == 1;
	/* 5000 in 4096..5119: the new cumulative max caps the bucket */
	hist_add_samples(&k, 5000, 1);
	ok = ok && hread(&s, &r, &k, 2) == 1 && r.h.max == 5000;
	/* 8000 in 7168..8191, the max read before it was raised: the low bound */
	k.slots[hist_slot(8000)]++;
	k.count++;
	k.sum += 8000;
	ok = ok && hread(&s, &r, &k, 3) == 1 && r.h.max == 7168 &&
	     hist_quantile(&r.h, 0.99) <= r.h.max;
	/* A sum read ahead of its bucket: a row, no count, no max */
	k.sum += 50;
	ok = ok && hread(&s, &r, &k, 4) == 1 && r.h.count == 0 && r.h.max == 0 &&
	     r.h.sum == 50;
	snprintf(detail, sizeof(detail), "last: count %llu max %llu sum %llu", r.h.count,
		 r.h.max, r.h.sum);
	map_snap_free(&s);
	return ok;
}

static int may_prune_rule(void)
{
	return !map_snap_may_prune(3, 4, 1000) &&	/* 3/4 full: never */
	       map_snap_may_prune(4, 4, 60) &&
	       !map_snap_may_prune(4, 4, 59.9) &&
	       map_snap_may_prune(769, 1024, 60) &&
	       !map_snap_may_prune(768, 1024, 3600) &&
	       !map_snap_may_prune(0, 0, 60) &&
	       map_snap_may_prune(1, 1, 60);	/* -K 1 */
}

/* A map for map_snap_prune: the last values, and what was taken */
struct fake_map {
	struct crow have[8];
	size_t n;
	int taken[8];
	size_t ntaken;
};

static int fake_take(void *ctx, const void *key, void *val)
{
	struct fake_map *m = ctx;
	__u32 k;

	memcpy(&k, key, sizeof(k));
	for (size_t i = 0; i < m->n; i++) {
		if (m->have[i].key != k)
			continue;
		memcpy(val, m->have[i].v, sizeof(m->have[i].v));
		m->taken[m->ntaken++] = k;
		m->have[i] = m->have[--m->n];
		return 0;
	}
	return -2;	/* -ENOENT */
}

/* Keys 1 to n, each at v */
static void fake_fill(struct fake_map *m, size_t n, __u64 v)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < n; i++)
		m->have[i] = (struct crow){ .key = i + 1, .v = { v } };
	m->n = n;
}

static size_t read_all(struct map_snap *s, struct fake_map *m, struct crow *r, double now)
{
	ssize_t n;

	memcpy(r, m->have, m->n * sizeof(*r));
	n = map_snap_delta(s, r, m->n, now);
	return n < 0 ? 0 : map_snap_prune(s, 4, now, fake_take, m, r, n, 4);
}

static int no_prune_under_three_quarters(void)
{
	struct map_snap s = csnap();
	struct fake_map m;
	struct crow r[4];
	int ok;

	fake_fill(&m, 3, 1);
	read_all(&s, &m, r, 0);
	ok = read_all(&s, &m, r, 3600) == 0 && m.ntaken == 0 && s.n == 3;
	map_snap_free(&s);
	return ok;
}

static int prune_idle_keys_of_a_full_map(void)
{
	struct map_snap s = csnap();
	struct fake_map m;
	struct crow r[4];
	size_t n;
	int ok;

	fake_fill(&m, 4, 1);
	read_all(&s, &m, r, 0);
	m.have[2].v[0] = 2;	/* 3 and 4 grow at 50 s */
	m.have[3].v[0] = 2;
	ok = read_all(&s, &m, r, 50) == 2 && m.ntaken == 0;
	/* At 61 s, 1 and 2 have been idle 61 s: taken, 3 and 4 stay */
	n = read_all(&s, &m, r, 61);
	ok = ok && n == 0 && m.ntaken == 2 && m.taken[0] == 1 && m.taken[1] == 2 &&
	     s.n == 2 && m.n == 2;
	snprintf(detail, sizeof(detail), "%zu rows, %zu taken, %zu kept", n, m.ntaken, s.n);
	map_snap_free(&s);
	return ok;
}

/* What grew between the read and the deletion is in the same interval */
static int prune_keeps_late_growth(void)
{
	struct map_snap s = csnap();
	struct fake_map m;
	struct crow r[4];
	ssize_t n;
	size_t k;
	int ok;

	fake_fill(&m, 4, 5);
	read_all(&s, &m, r, 0);
	/* Read at 100 s: 4 grew; then, before the prune takes them, 1 and 4 */
	memcpy(r, m.have, sizeof(m.have[0]) * 4);
	r[3].v[0] = 6;
	n = map_snap_delta(&s, r, 4, 100);
	m.have[0].v[0] = 9;
	m.have[3].v[0] = 8;
	k = map_snap_prune(&s, 4, 100, fake_take, &m, r, n, 4);
	/* 4 grew at 100 s: not idle, stays.  1: +4, a row of its own; 2 and
	 * 3 did not grow: taken, no row. */
	ok = n == 1 && k == 2 && r[0].key == 4 && r[0].v[0] == 1 && r[1].key == 1 &&
	     r[1].v[0] == 4 && m.ntaken == 3 && s.n == 1;
	/* Pruned keys are forgotten: 1 coming back is new, its whole value */
	m.have[m.n++] = (struct crow){ .key = 1, .v = { 3 } };
	memcpy(r, m.have, m.n * sizeof(r[0]));
	n = map_snap_delta(&s, r, m.n, 101);
	/* ... and 4 grew by 2 since it was read at 6 */
	ok = ok && n == 2 && r[0].key == 1 && r[0].v[0] == 3 && r[1].key == 4 &&
	     r[1].v[0] == 2;
	snprintf(detail, sizeof(detail), "%zd then %zu rows, %zu taken, %zu kept", n, k,
		 m.ntaken, s.n);
	map_snap_free(&s);
	return ok;
}

static int prune_take_failure_forgets(void)
{
	struct map_snap s = csnap();
	struct fake_map m;
	struct crow r[4];
	size_t n;
	int ok;

	fake_fill(&m, 4, 1);
	read_all(&s, &m, r, 0);
	memcpy(r, m.have, sizeof(r));
	m.n = 0;	/* gone from the map already */
	n = map_snap_delta(&s, r, 4, 60);
	n = map_snap_prune(&s, 4, 60, fake_take, &m, r, n, 4);
	ok = n == 0 && s.n == 0;
	map_snap_free(&s);
	return ok;
}

static int hist_take(void *ctx, const void *key, void *val)
{
	memcpy(val, ctx, sizeof(struct hist));
	return 0;
}

/* The hist rows of a prune: count and max follow the late growth too */
static int prune_finishes_hist_rows(void)
{
	struct map_snap s = hsnap();
	struct hist k = {}, late;
	struct hrow r[2];
	ssize_t n;
	int ok;

	hist_add_samples(&k, 1000, 1);
	hread(&s, &r[0], &k, 0);
	late = k;
	hist_add_samples(&late, 100, 2);
	n = hread(&s, &r[0], &k, 60);	/* idle, 1 key of 1: full */
	ok = n == 0;
	n = map_snap_prune(&s, 1, 60, hist_take, &late, r, n, 2);
	ok = ok && n == 1 && r[0].h.count == 2 && r[0].h.sum == 200 && r[0].h.max == 111 &&
	     s.n == 0;
	map_snap_free(&s);
	return ok;
}

static __u64 lcg(__u64 *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return *x >> 33;
}

/*
 * A writer adds samples (bucket, count, sum, max, in that order, as
 * hist_add_atomic() does) while reads copy the histogram at random points,
 * some in the middle of a sample (a random part of its updates seen).
 * Over the window the intervals add up to the kernel's count and sum, each
 * interval's count is its buckets' sum, and its max bounds its p99.
 */
static int intervals_add_up_over_a_window(void)
{
	struct map_snap s = hsnap();
	struct hist k = {}, seen;
	__u64 x = 42, count = 0, sum = 0, want_sum = 0;
	int ok = 1, reads = 0;
	struct hrow r;

	for (int i = 0; i < 20000 && ok; i++) {
		__u64 v = lcg(&x) % 100000, parts = lcg(&x);
		unsigned int slot = hist_slot(v);

		want_sum += v;
		if (lcg(&x) % 7 == 0) {
			/* A read while sample i is half done */
			seen = k;
			if (parts & 1)
				seen.slots[slot]++;
			if (parts & 2)
				seen.count++;
			if (parts & 4)
				seen.sum += v;
			if ((parts & 8) && v > seen.max)
				seen.max = v;
			if (hread(&s, &r, &seen, i) == 1) {
				count += r.h.count;
				sum += r.h.sum;
				ok = r.h.count == hist_slots_total(&r.h) &&
				     (!r.h.count || hist_quantile(&r.h, 0.99) <= r.h.max);
			}
			reads++;
		}
		hist_add_samples(&k, v, 1);
	}
	/* The last read, after the window */
	if (hread(&s, &r, &k, 1e6) == 1) {
		count += r.h.count;
		sum += r.h.sum;
	}
	snprintf(detail, sizeof(detail), "%d reads: count %llu of 20000, sum %llu of %llu",
		 reads, count, sum, want_sum);
	ok = ok && count == 20000 && sum == want_sum && reads > 1000;
	map_snap_free(&s);
	return ok;
}

static int slots_total(void)
{
	struct hist h = {};

	hist_add_samples(&h, 1, 2);
	hist_add_samples(&h, 1 << 20, 3);
	h.count = 99;
	return hist_slots_total(&h) == 5;
}

static int empty_read(void)
{
	struct map_snap s = csnap();
	ssize_t n = map_snap_delta(&s, NULL, 0, 0);
	int ok = n == 0 && s.n == 0;

	map_snap_free(&s);
	return ok;
}

int main(void)
{
	t("a new key's growth is its whole value", new_key_is_whole_value(), NULL);
	t("an unchanged key gives no row and is kept", unchanged_key_gives_no_row(), NULL);
	t("grown keys give their differences, absent ones are kept",
	  grown_keys_give_differences(), NULL);
	t("rows come in key byte order", rows_in_key_order(), NULL);
	t("a word read lower is no negative growth", lower_read_is_no_negative_growth(), NULL);
	t("histogram count is its buckets' sum", count_is_the_buckets_sum(), detail);
	t("interval max: top bucket's bound capped by the max", max_rule(), detail);
	t("prune rule: over 3/4 full and idle 60 s", may_prune_rule(), NULL);
	t("no prune in a map at most 3/4 full", no_prune_under_three_quarters(), NULL);
	t("a full map loses only keys idle 60 s", prune_idle_keys_of_a_full_map(), detail);
	t("a pruned key's late growth is reported, then it is new",
	  prune_keeps_late_growth(), detail);
	t("a key gone before its prune is forgotten", prune_take_failure_forgets(), NULL);
	t("pruned histogram rows are finished", prune_finishes_hist_rows(), NULL);
	t("intervals add up to the kernel's count and sum", intervals_add_up_over_a_window(),
	  detail);
	t("hist_slots_total sums the buckets, not count", slots_total(), NULL);
	t("an empty read of an empty snapshot", empty_read(), NULL);
	return failed ? 1 : 0;
}

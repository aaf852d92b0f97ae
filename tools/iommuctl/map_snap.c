// SPDX-License-Identifier: GPL-2.0
/* Per-interval growth of BPF maps: see map_snap.h */
#define _GNU_SOURCE	/* qsort_r */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "map_snap.h"

/* An entry: the key, padded to 8 bytes, then the value's words */
static size_t key_room(const struct map_snap *s)
{
	return (s->key_size + 7) & ~(size_t)7;
}

static size_t ent_size(const struct map_snap *s)
{
	return key_room(s) + s->val_size;
}

static unsigned char *ent(const struct map_snap *s, unsigned char *ents, size_t i)
{
	return ents + i * ent_size(s);
}

static __u64 *ent_val(const struct map_snap *s, unsigned char *e)
{
	return (__u64 *)(e + key_room(s));
}

static unsigned char *row(const struct map_snap *s, void *rows, size_t i)
{
	return (unsigned char *)rows + i * s->row_size;
}

static int cmp_key(const void *a, const void *b, void *key_size)
{
	return memcmp(a, b, *(const size_t *)key_size);
}

/*
 * cur's growth over last (NULL: a new key) into delta, a word read lower
 * than last raised to it (kept: growth shows on a later read).  Whether
 * anything grew.
 */
static bool grow(const struct map_snap *s, __u64 *cur, const __u64 *last, __u64 *delta)
{
	bool grew = false;

	for (size_t w = 0; w < s->val_size / 8; w++) {
		__u64 was = last ? last[w] : 0;

		if (cur[w] < was)
			cur[w] = was;
		delta[w] = cur[w] - was;
		grew |= delta[w] != 0;
	}
	return grew;
}

ssize_t map_snap_delta(struct map_snap *s, void *rows, size_t n, double now)
{
	size_t es = ent_size(s), cap = n + s->n, m = 0, out = 0, i = 0, j = 0;
	unsigned char *cur = malloc(n ? n * es : 1), *ents = malloc(cap ? cap * es : 1);
	double *changed = malloc(cap ? cap * sizeof(*changed) : 1);

	if (!cur || !ents || !changed) {
		free(cur);
		free(ents);
		free(changed);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		unsigned char *e = ent(s, cur, k);

		memset(e, 0, key_room(s));
		memcpy(e, row(s, rows, k), s->key_size);
		memcpy(ent_val(s, e), row(s, rows, k) + s->val_off, s->val_size);
	}
	qsort_r(cur, n, es, cmp_key, &s->key_size);

	/* Merge this read with the last, both sorted; rows are rewritten from
	 * cur, so they can be overwritten as we go (out <= i). */
	while (i < n || j < s->n) {
		unsigned char *c = i < n ? ent(s, cur, i) : NULL;
		unsigned char *o = j < s->n ? ent(s, s->ents, j) : NULL;
		int order = !c ? 1 : !o ? -1 : memcmp(c, o, s->key_size);
		unsigned char *e = ent(s, ents, m), *r;

		if (order > 0) {
			/* Not in this read (only a prune deletes keys): as it was */
			memcpy(e, o, es);
			changed[m++] = s->changed[j++];
			continue;
		}
		memcpy(e, c, es);
		r = row(s, rows, out);
		memset(r, 0, s->row_size);
		if (grow(s, ent_val(s, e), order ? NULL : ent_val(s, o),
			 (__u64 *)(r + s->val_off))) {
			memcpy(r, c, s->key_size);
			if (s->finish)
				s->finish(r + s->val_off, ent_val(s, e));
			out++;
			changed[m] = now;
		} else {
			changed[m] = order ? now : s->changed[j];
		}
		m++;
		/* A key twice in one read (a walk never gives one): the first */
		while (++i < n && !memcmp(ent(s, cur, i), c, s->key_size))
			;
		j += !order;
	}
	free(cur);
	free(s->ents);
	free(s->changed);
	s->ents = ents;
	s->changed = changed;
	s->n = m;
	return out;
}

bool map_snap_may_prune(size_t n, size_t max_entries, double idle_s)
{
	return n * MAP_SNAP_FULL_DEN > max_entries * MAP_SNAP_FULL_NUM &&
	       idle_s >= MAP_SNAP_IDLE_S;
}

/* Add the growth of a pruned key's last value val over entry e to its row. */
static size_t add_growth(const struct map_snap *s, unsigned char *e, __u64 *val,
			 void *rows, size_t n, size_t max)
{
	size_t words = s->val_size / 8, i;
	__u64 *d, *last = ent_val(s, e);
	unsigned char *r;
	bool grew = false;

	for (size_t w = 0; w < words; w++) {
		if (val[w] < last[w])
			val[w] = last[w];
		grew |= val[w] != last[w];
	}
	if (!grew)
		return n;
	for (i = 0; i < n; i++)
		if (!memcmp(row(s, rows, i), e, s->key_size))
			break;
	if (i == n) {
		if (n == max)
			return n;
		memset(row(s, rows, n), 0, s->row_size);
		memcpy(row(s, rows, n), e, s->key_size);
		n++;
	}
	r = row(s, rows, i);
	d = (__u64 *)(r + s->val_off);
	for (size_t w = 0; w < words; w++)
		d[w] += val[w] - last[w];
	if (s->finish)
		s->finish(d, val);
	return n;
}

size_t map_snap_prune(struct map_snap *s, size_t max_entries, double now,
		      int (*take)(void *ctx, const void *key, void *val), void *ctx,
		      void *rows, size_t n, size_t max)
{
	size_t es = ent_size(s), before = s->n;
	__u64 *val = NULL;

	for (size_t i = 0; i < s->n;) {
		unsigned char *e = ent(s, s->ents, i);

		if (!map_snap_may_prune(before, max_entries, now - s->changed[i])) {
			i++;
			continue;
		}
		if (!val)
			val = malloc(s->val_size);
		if (!val)
			break;	/* prune next time */
		if (!take(ctx, e, val))
			n = add_growth(s, e, val, rows, n, max);
		/* Forgotten: if the key comes back, it is new */
		memmove(e, e + es, (s->n - i - 1) * es);
		memmove(&s->changed[i], &s->changed[i + 1],
			(s->n - i - 1) * sizeof(*s->changed));
		s->n--;
	}
	free(val);
	return n;
}

void map_snap_free(struct map_snap *s)
{
	free(s->ents);
	free(s->changed);
	s->ents = NULL;
	s->changed = NULL;
	s->n = 0;
}

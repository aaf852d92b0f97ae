/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-interval growth of BPF maps whose values only grow.
 *
 * The BPF programs keep cumulative counters and update them in place,
 * through a pointer they looked up (atomics on a shared hash, plain adds on
 * a per-CPU array).  Deleting or zeroing a key to start the next interval
 * would lose what lands between the copy and the reset, or, in a
 * preallocated hash whose element is reused, credit it to another key.  So
 * user space never writes on the read path: each interval it reads every
 * key's cumulative value and reports its growth since the value it kept
 * from the last read (a key it had not seen: all of it).  No syscalls
 * here: bpf_maps.c reads the maps.
 *
 * A value is an array of __u64 words that only grow (counters, and a
 * maximum); a word read lower than last time (the copy is not atomic) is
 * taken as unchanged, and its growth shows on a later read: over a window
 * the sum of the intervals is what the kernel counted.  A sample read half
 * way (its bucket but not yet its sum, or the reverse) has the rest in a
 * later interval (a histogram row can then have a sum and no count).
 * finish() derives what is no counter (see hist_snap_finish).
 *
 * Pruning, the one rule by which keys are deleted: keys of devices gone
 * idle stay in the maps, and a key is deleted only when the map holds more
 * than 3/4 of its max_entries (MAP_SNAP_FULL_NUM/DEN), and then only if its
 * value did not change for MAP_SNAP_IDLE_S seconds of reads.  It is taken
 * with one lookup-and-delete, its growth since the interval's read reported
 * in the same interval, and forgotten, so if it comes back it is new.  The
 * one loss possible: a program that looked the element up just before the
 * deletion adds to it just after (after 60 s idle, within microseconds of
 * a prune); that add is lost or, the hash being preallocated, lands on the
 * key that reuses the element.  Maps that stay under 3/4 full never lose a
 * key.
 */
#ifndef IOMMUCTL_MAP_SNAP_H
#define IOMMUCTL_MAP_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MAP_SNAP_IDLE_S	60.0
/* More than num/den of max_entries keys: prune what is idle */
#define MAP_SNAP_FULL_NUM	3
#define MAP_SNAP_FULL_DEN	4

/*
 * The previous read of one map.  Rows (what callers read into and get
 * back) are structs of row_size bytes, the key first, the value at val_off.
 */
struct map_snap {
	size_t row_size, key_size, val_off, val_size;
	/* delta: the interval's growth, word by word; cum: the cumulative value
	 * it ends at.  Fixes the words that are not counters; NULL: none. */
	void (*finish)(void *delta, const void *cum);
	/* private: the last values, sorted by key bytes */
	unsigned char *ents;	/* n entries, key then value */
	double *changed;	/* when each last grew (the read's now) */
	size_t n;
};

/* type: the row struct; key, val: its members */
#define MAP_SNAP_INIT(type, key, val, fin) {				\
	.row_size = sizeof(type),					\
	.key_size = sizeof(((type *)0)->key),				\
	.val_off = offsetof(type, val),					\
	.val_size = sizeof(((type *)0)->val),				\
	.finish = (fin),						\
}

/*
 * rows[n]: every key's cumulative value, as just read.  Rewrites them as
 * the growth since the last call of each key that grew (in key byte order)
 * and keeps the values for the next call.  Returns how many rows that
 * leaves, or -ENOMEM (nothing changed).
 */
ssize_t map_snap_delta(struct map_snap *s, void *rows, size_t n, double now);

/* The rule: whether a map of max_entries holding n keys may lose one that
 * has not grown for idle_s seconds. */
bool map_snap_may_prune(size_t n, size_t max_entries, double idle_s);

/*
 * Right after map_snap_delta: delete what the rule lets go.  take() deletes
 * key from the map and gives its last value (0), or fails (-errno: the key
 * is gone).  A taken key's growth since the read is added to its row
 * (appended if it had none, while n < max).  Returns the new row count.
 */
size_t map_snap_prune(struct map_snap *s, size_t max_entries, double now,
		      int (*take)(void *ctx, const void *key, void *val), void *ctx,
		      void *rows, size_t n, size_t max);

void map_snap_free(struct map_snap *s);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/* Histogram updates for the BPF programs (see hist.h for the layout). */
#ifndef IOMMUCTL_HIST_BPF_H
#define IOMMUCTL_HIST_BPF_H

#include "hist.h"

/*
 * Two kinds of maps hold histograms:
 *  - per-CPU arrays, one slot per fixed key (an operation), written with
 *    plain updates: each histogram is written by one program only, and the
 *    kernel never runs a program again on a CPU where it is already running
 *    (prog->active), so nothing can interleave with an update;
 *  - shared hashes, for keys that grow with the machine (devices, domains),
 *    written with atomics.  A per-CPU hash would cost its size times the
 *    number of possible CPUs: 4096 histograms were 8 MB per CPU.
 */

/* A zeroed value to create histograms from (too big for the BPF stack). */
static const struct hist hist_zero;

/* Samples dropped because a map had no room for a new key (.bss, one per
 * BPF object: only BPF programs include this header); iommuctl reports it. */
__u64 lost_map_full;

static __always_inline void hist_add_to(struct hist *h, __u64 val)
{
	__u64 slot;

	slot = hist_slot(val);
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	h->slots[slot]++;
	h->count++;
	h->sum += val;
	if (val > h->max)
		h->max = val;
}

static __always_inline void hist_add_atomic(struct hist *h, __u64 val)
{
	__u64 slot, old;

	slot = hist_slot(val);
	if (slot >= HIST_SLOTS)
		slot = HIST_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum, val);
	/* Bounded: each failed exchange means a larger max was stored. */
	old = h->max;
	for (int i = 0; i < 8 && val > old; i++) {
		__u64 seen = __sync_val_compare_and_swap(&h->max, old, val);

		if (seen == old)
			break;
		old = seen;
	}
}

/* The value at key in a shared hash, created from zero if absent; NULL
 * (and counted) if the map is full. */
static __always_inline void *map_get_or_create(void *map, const void *key,
					       const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	/* -EEXIST: another CPU created it first, which is fine. */
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		__sync_fetch_and_add(&lost_map_full, 1);
	return v;
}

/* Add val to the histogram at key in map (a shared hash of struct hist). */
static __always_inline void hist_record(void *map, const void *key, __u64 val)
{
	struct hist *h = map_get_or_create(map, key, &hist_zero);

	if (h)
		hist_add_atomic(h, val);
}

#endif /* IOMMUCTL_HIST_BPF_H */

/* SPDX-License-Identifier: GPL-2.0 */
/* Histogram updates for the BPF programs (see hist.h for the layout). */
#ifndef IOMMUCTL_HIST_BPF_H
#define IOMMUCTL_HIST_BPF_H

#include "hist.h"

/*
 * Updates are plain, not atomic: the maps are per-CPU, each histogram is
 * written by one program only (the key includes the operation), and the
 * kernel never runs a program again on a CPU where it is already running
 * (prog->active), so nothing can interleave with an update.
 */

/* A zeroed value to create histograms from (too big for the BPF stack). */
static const struct hist hist_zero;

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

/* Add val to the histogram at key in map (a per-CPU hash of struct hist). */
static __always_inline void hist_record(void *map, const void *key, __u64 val)
{
	struct hist *h;

	h = bpf_map_lookup_elem(map, key);
	if (!h) {
		bpf_map_update_elem(map, key, &hist_zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(map, key);
		if (!h)
			return;
	}
	hist_add_to(h, val);
}

#endif /* IOMMUCTL_HIST_BPF_H */

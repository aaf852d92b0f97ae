/* SPDX-License-Identifier: GPL-2.0 */
/* Histograms for the host unit tests, filled as the BPF programs fill them. */
#ifndef IOMMUCTL_TESTS_HIST_SAMPLES_H
#define IOMMUCTL_TESTS_HIST_SAMPLES_H

#include "iommuctl/hist.h"

/* n samples of value v into h */
static void hist_add_samples(struct hist *h, __u64 v, __u64 n)
{
	h->slots[hist_slot(v)] += n;
	h->count += n;
	h->sum += v * n;
	if (v > h->max)
		h->max = v;
}

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Log-linear latency histograms, shared by the BPF programs that fill them
 * and iommuctl, which reads them: one definition of the bucket layout.
 *
 * Values below HIST_SUB are exact; above, every power of two is split into
 * HIST_SUB buckets of equal width, so a bucket's width is at most 1/HIST_SUB
 * (25%) of its lower bound, against 100% for a log2 histogram.
 */
#ifndef IOMMUCTL_HIST_H
#define IOMMUCTL_HIST_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define HIST_SUB_BITS	2
#define HIST_SUB	(1 << HIST_SUB_BITS)
/* Enough slots for any u64: the top bucket of 2^63 is slot 251. */
#define HIST_SLOTS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	__u64 slots[HIST_SLOTS];
	__u64 count;
	__u64 sum;
	__u64 max;
};

/* Index of the most significant set bit of v, v != 0. */
static __always_inline int hist_msb(__u64 v)
{
	int r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

static __always_inline unsigned int hist_slot(__u64 v)
{
	int msb;

	if (v < HIST_SUB)
		return v;
	msb = hist_msb(v);
	return (msb - HIST_SUB_BITS + 1) * HIST_SUB +
	       ((v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Smallest value that falls in slot s. */
static __always_inline __u64 hist_slot_low(unsigned int s)
{
	unsigned int shift;

	if (s < HIST_SUB)
		return s;
	shift = s / HIST_SUB - 1;
	return (__u64)(HIST_SUB + s % HIST_SUB) << shift;
}

/* Largest value that falls in slot s. */
static __always_inline __u64 hist_slot_high(unsigned int s)
{
	if (s < HIST_SUB)
		return s;
	if (s == HIST_SLOTS - 1)
		return ~0ULL;
	return hist_slot_low(s + 1) - 1;
}

#endif /* IOMMUCTL_HIST_H */

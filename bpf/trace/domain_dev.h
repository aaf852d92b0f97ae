/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which device a domain serves, for display and for trace flush -d: the
 * last device seen unmapping in it.  A domain of a group with several
 * devices (or one several devices were attached to) serves them all, and
 * its flushes go under whichever unmapped last.
 *
 * Included by flush.bpf.c; tools/iommuctl/tests/test_domain_dev.c compiles
 * the same code on the host, over mock maps and helpers.
 */
#ifndef IOMMUCTL_DOMAIN_DEV_H
#define IOMMUCTL_DOMAIN_DEV_H

#include "iommuctl/trace.h"

/* What this CPU last learnt: while the same device unmaps in the same
 * domain and no CPU changed any domain's device, the hash is skipped. */
struct domain_dev_seen {
	__u64 dev;	/* the struct device * */
	__u64 gen;	/* domain_devs_gen when it was checked */
	__u32 domain;
	__u32 valid;
};

/* Domain id -> the device last seen unmapping in it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLUSH_MAX_KEYS);
	__type(key, __u32);
	__type(value, struct domain_dev);
} domain_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct domain_dev_seen);
} last_seen SEC(".maps");

/* Bumped whenever a domain's device changes: every CPU's last_seen is stale */
__u64 domain_devs_gen;

static __always_inline void learn_dev(__u32 domain, struct device *dev)
{
	/* Read before the lookup: a change made after it makes the cache stale */
	__u64 gen = *(volatile __u64 *)&domain_devs_gen;
	__u64 ptr = (unsigned long)dev;
	__u32 zero = 0;
	struct domain_dev_seen *s = bpf_map_lookup_elem(&last_seen, &zero);
	struct domain_dev *d;

	if (s && s->valid && s->domain == domain && s->dev == ptr && s->gen == gen)
		return;
	d = bpf_map_lookup_elem(&domain_devs, &domain);
	if (!d || d->ptr != ptr) {
		struct domain_dev nd = { .ptr = ptr };

		bpf_probe_read_kernel_str(nd.dev, sizeof(nd.dev),
					  BPF_CORE_READ(dev, kobj.name));
		/* The element is preallocated and rewritten in place: a reader
		 * copying it meanwhile can see a torn name (rare: only a change
		 * of device writes).  A full map (domains never pruned) changes nothing: no CPU's
		 * cache goes stale, and no event pays the shared atomic for it. */
		if (!bpf_map_update_elem(&domain_devs, &domain, &nd, BPF_ANY) &&
		    /* The cache stays fresh only if no other change came between */
		    __sync_fetch_and_add(&domain_devs_gen, 1) == gen)
			gen++;
	}
	if (s) {
		s->domain = domain;
		s->dev = ptr;
		s->gen = gen;
		s->valid = 1;
	}
}

#endif /* IOMMUCTL_DOMAIN_DEV_H */

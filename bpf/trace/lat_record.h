/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What trace latency's two BPF objects share: the filters set before load,
 * the histogram maps iommuctl reads, and how one sample is recorded.
 * latency.bpf.c feeds it from the series' tracepoints, latency_fallback.bpf.c
 * from fentry/fexit or kprobes on stock kernels.
 */
#ifndef IOMMUCTL_LAT_RECORD_H
#define IOMMUCTL_LAT_RECORD_H

#include "iommuctl/hist_bpf.h"
#include "iommuctl/trace.h"

const volatile bool per_device = false;
const volatile bool filter_dev = false;
const volatile char dev_filter[DEV_NAME_LEN] = {};
const volatile __u32 ops_mask = ~0U;

/*
 * With -D: a histogram per operation and device (or domain), shared by all
 * CPUs.  iommuctl sizes both maps at load time: the one a mode does not use
 * gets a single entry.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LAT_MAX_KEYS);
	__type(key, struct lat_key);
	__type(value, struct hist);
} hists SEC(".maps");

/* Without -D (with or without -d): one histogram per operation, per CPU, no
 * hashing on the way. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LAT_NR_OPS);
	__type(key, __u32);
	__type(value, struct hist);
} op_hists SEC(".maps");

static __always_inline bool dev_matches(const char *name)
{
	for (int i = 0; i < DEV_NAME_LEN; i++) {
		if (name[i] != dev_filter[i])
			return false;
		if (!name[i])
			return true;
	}
	return true;
}

/* domain: the domain id, used only to split device-less ops with -D. */
static __always_inline void lat_record(__u32 op, struct device *dev,
				       __u32 domain, __u64 ns)
{
	struct lat_key key = { .op = op };

	if (!(ops_mask & (1U << op)))
		return;
	if (dev && (per_device || filter_dev))
		bpf_probe_read_kernel_str(key.dev, sizeof(key.dev),
					  BPF_CORE_READ(dev, kobj.name));
	if (filter_dev && (!dev || !dev_matches(key.dev)))
		return;
	if (!per_device) {
		struct hist *h = bpf_map_lookup_elem(&op_hists, &op);

		if (h)
			hist_add_to(h, ns);
		return;
	}
	if (!dev)
		key.domain = domain;
	hist_record(&hists, &key, ns);
}

#endif /* IOMMUCTL_LAT_RECORD_H */

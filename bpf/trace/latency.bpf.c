// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace latency: per-operation latency histograms, aggregated in
 * per-CPU maps.  The durations come from the iommu tracepoints themselves
 * (measured in the kernel only while the event is enabled), so there is no
 * begin/end pairing and one program run per operation.
 *
 * Each handler exists twice: tp_btf (typed arguments) and raw_tp, for
 * kernels where tp_btf cannot attach; iommuctl loads one set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "iommuctl/hist_bpf.h"
#include "iommuctl/trace.h"

const volatile bool per_device = false;
const volatile bool filter_dev = false;
const volatile char dev_filter[DEV_NAME_LEN] = {};
const volatile __u32 ops_mask = ~0U;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct lat_key);
	__type(value, struct hist);
} hists SEC(".maps");

/* Without -D or -d: one histogram per operation, no hashing on the way. */
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

static __always_inline void record(__u32 op, struct device *dev,
				   struct iommu_domain *domain, __u64 ns)
{
	struct lat_key key = { .op = op };

	if (!(ops_mask & (1U << op)))
		return;
	if (!per_device && !filter_dev) {
		struct hist *h = bpf_map_lookup_elem(&op_hists, &op);

		if (h)
			hist_add_to(h, ns);
		return;
	}
	if (dev && (per_device || filter_dev))
		bpf_probe_read_kernel_str(key.dev, sizeof(key.dev),
					  BPF_CORE_READ(dev, kobj.name));
	if (filter_dev && (!dev || !dev_matches(key.dev)))
		return;
	if (!per_device)
		__builtin_memset(key.dev, 0, sizeof(key.dev));
	else if (!dev)
		key.domain = BPF_CORE_READ(domain, id);

	hist_record(&hists, &key, ns);
}

#define LAT_HANDLERS(kind)						\
SEC(#kind "/iommu_dma_map")						\
int BPF_PROG(kind##_dma_map, struct device *dev,			\
	     struct iommu_domain *domain, dma_addr_t iova,		\
	     phys_addr_t paddr, size_t size, int prot, int ret,		\
	     u64 duration_ns)						\
{									\
	record(LAT_DMA_MAP, dev, domain, duration_ns);			\
	return 0;							\
}									\
									\
SEC(#kind "/iommu_dma_unmap")						\
int BPF_PROG(kind##_dma_unmap, struct device *dev,			\
	     struct iommu_domain *domain, dma_addr_t iova, size_t size,	\
	     int dir, bool queued, u64 duration_ns)			\
{									\
	record(queued ? LAT_DMA_UNMAP_QUEUED : LAT_DMA_UNMAP_STRICT,	\
	       dev, domain, duration_ns);				\
	return 0;							\
}									\
									\
SEC(#kind "/domain_map")						\
int BPF_PROG(kind##_domain_map, struct iommu_domain *domain,		\
	     unsigned long iova, phys_addr_t paddr, size_t size,	\
	     int prot, int ret, u64 duration_ns)			\
{									\
	record(LAT_CORE_MAP, NULL, domain, duration_ns);		\
	return 0;							\
}									\
									\
SEC(#kind "/domain_unmap")						\
int BPF_PROG(kind##_domain_unmap, struct iommu_domain *domain,		\
	     unsigned long iova, size_t size, size_t unmapped,		\
	     bool synced, u64 duration_ns)				\
{									\
	record(LAT_CORE_UNMAP, NULL, domain, duration_ns);		\
	return 0;							\
}

LAT_HANDLERS(tp_btf)
LAT_HANDLERS(raw_tp)

char LICENSE[] SEC("license") = "GPL";

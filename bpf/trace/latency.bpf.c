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
#include "lat_record.h"

static __always_inline void record(__u32 op, struct device *dev,
				   struct iommu_domain *domain, __u64 ns)
{
	lat_record(op, dev, per_device && !dev ? BPF_CORE_READ(domain, id) : 0, ns);
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

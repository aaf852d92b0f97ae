/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared by iommuctl's tracing BPF programs and the tool: map keys,
 * operation and flush kinds.  Stable only within one build of iommuctl.
 */
#ifndef IOMMUCTL_TRACE_H
#define IOMMUCTL_TRACE_H

#include "hist.h"

#define DEV_NAME_LEN	32

/* What `trace latency` measures, one histogram each (per device with -D) */
enum lat_op {
	LAT_DMA_MAP,		/* iommu:iommu_dma_map */
	LAT_DMA_UNMAP_STRICT,	/* iommu:iommu_dma_unmap, queued=0 */
	LAT_DMA_UNMAP_QUEUED,	/* iommu:iommu_dma_unmap, queued=1 */
	LAT_CORE_MAP,		/* iommu:domain_map */
	LAT_CORE_UNMAP,		/* iommu:domain_unmap */
	LAT_DMA_MAP_SG,		/* fallback only: iommu_dma_map_sg() */
	LAT_DMA_UNMAP_SG,	/* fallback only: iommu_dma_unmap_sg() */
	LAT_NR_OPS,
};

/* trace latency -D: (operation, device or domain) histograms, 2 KB each */
#define LAT_MAX_KEYS	1024

struct lat_key {
	__u32 op;		/* enum lat_op */
	__u32 domain;		/* domain id, with -D, for core ops */
	char dev[DEV_NAME_LEN];	/* device, with -D, for DMA API ops */
};

/* What `trace flush` counts, per domain */
enum flush_kind {
	FLUSH_ALL,		/* iommu:iotlb_flush_all */
	FLUSH_RANGE,		/* iommu:iotlb_sync */
	FLUSH_SYNC_MAP,		/* iommu:iotlb_sync_map */
	FLUSH_FQ_TIMER,		/* iommu:dma_fq_flush reason=timer */
	FLUSH_FQ_FULL,		/* iommu:dma_fq_flush reason=full */
	FLUSH_NR_KINDS,
};

/* trace flush: (kind, domain) counters; (histogram, domain) histograms */
#define FLUSH_MAX_KEYS	4096
#define FLUSH_MAX_HISTS	1024
/* trace flush -E: queued unmaps not yet flushed (a flush walks them all) */
#define FLUSH_MAX_PENDING	16384

struct flush_key {
	__u32 kind;		/* enum flush_kind */
	__u32 domain;
};

struct flush_val {
	__u64 count;
	__u64 ns;		/* time the driver spent flushing */
	__u64 pages;		/* range flushes: 4 KiB pages covered */
	__u64 released;		/* flush-queue flushes: IOVAs released */
};

/* Histograms kept by `trace flush`, per domain */
enum flush_hist {
	FH_RANGE_BYTES,		/* size of each range flushed */
	FH_EXPOSURE_NS,		/* lazy: queued unmap to the flush that ends it */
	FH_NR,
};

struct flush_hist_key {
	__u32 hist;		/* enum flush_hist */
	__u32 domain;
};

/* Which device a domain serves: the last seen unmapping in it */
struct domain_dev {
	char dev[DEV_NAME_LEN];
	__u64 ptr;		/* its struct device *, to notice another one */
};

/* What `trace events` streams, one record per event */
enum ev_kind {
	EV_ATTACH_DEV,		/* iommu:attach_dev */
	EV_DETACH_DEV,		/* iommu:detach_dev */
	EV_ATTACH_PASID,	/* iommu:attach_pasid */
	EV_DETACH_PASID,	/* iommu:detach_pasid */
	EV_DEFAULT_DOMAIN,	/* iommu:default_domain */
	EV_DMA_OWNER,		/* iommu:dma_owner */
	EV_IO_PAGE_FAULT,	/* iommu:io_page_fault */
	EV_POLICY_DECISION,	/* iommu:policy_decision */
	EV_NR_KINDS,
};

struct ev_record {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u32 kind;		/* enum ev_kind */
	__s32 group;
	__s32 ret;
	__u32 pasid;
	__u32 old_domain, old_type;	/* attach/detach */
	__u32 new_domain, new_type;	/* attach/detach; default_domain: the result */
	__u32 driver_type, req_type;	/* default_domain */
	__u32 claim, owner_cnt;		/* dma_owner */
	__u64 iova;			/* io_page_fault */
	__s32 flags;			/* io_page_fault; policy_decision: the hook's */
	__u32 hook, reason;		/* policy_decision: enum iommu_policy_* */
	__s32 proposed, verdict, applied;	/* policy_decision: the hook's enum */
	char dev[DEV_NAME_LEN];
};

#endif /* IOMMUCTL_TRACE_H */

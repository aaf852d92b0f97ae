// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace flush: IOTLB flushes per domain, by kind (flush-all, range
 * sync, sync-after-map, flush-queue flush by reason), with the time drivers
 * spent in them, a histogram of range sizes, and in lazy mode the exposure
 * window: how long each queued unmap stayed reachable until the flush-queue
 * flush that ended it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "iommuctl/hist_bpf.h"
#include "iommuctl/trace.h"
#include "domain_dev.h"

/*
 * Exposure tracking (-E) costs a hash update per queued unmap and a walk of
 * the pending map per flush-queue flush, which is why it is opt-in and why
 * the map is small: a walk visits every bucket.  Without -E, iommuctl gives
 * it one entry.
 */
const volatile bool track_exposure = false;

/* Shared by all CPUs (atomic updates): keys grow with the domains. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLUSH_MAX_KEYS);
	__type(key, struct flush_key);
	__type(value, struct flush_val);
} flushes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLUSH_MAX_HISTS);
	__type(key, struct flush_hist_key);
	__type(value, struct hist);
} flush_hists SEC(".maps");

/* Queued (lazy) unmaps not yet flushed: {domain, iova} -> time queued */
struct pending_key {
	__u32 domain;
	__u32 pad;
	__u64 iova;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLUSH_MAX_PENDING);
	__type(key, struct pending_key);
	__type(value, __u64);
} pending SEC(".maps");

/* Queued unmaps that did not fit in the pending map (exposure undercounted) */
__u64 lost_pending;

static const struct flush_val flush_zero;

static __always_inline void count(__u32 kind, __u32 domain, __u64 ns,
				  __u64 pages, __u64 released)
{
	struct flush_key key = { .kind = kind, .domain = domain };
	struct flush_val *v = map_get_or_create(&flushes, &key, &flush_zero);

	if (!v)
		return;
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->ns, ns);
	if (pages)
		__sync_fetch_and_add(&v->pages, pages);
	if (released)
		__sync_fetch_and_add(&v->released, released);
}

static __always_inline void hist_add(__u32 which, __u32 domain, __u64 val)
{
	struct flush_hist_key key = { .hist = which, .domain = domain };

	hist_record(&flush_hists, &key, val);
}

struct expose_ctx {
	__u32 domain;
	__u64 cutoff;	/* queued before the flush started */
	__u64 now;
};

static long expose_one(struct bpf_map *map, struct pending_key *key,
		       __u64 *queued_at, struct expose_ctx *ctx)
{
	if (key->domain != ctx->domain || *queued_at > ctx->cutoff)
		return 0;
	hist_add(FH_EXPOSURE_NS, ctx->domain, ctx->now - *queued_at);
	bpf_map_delete_elem(map, key);
	return 0;
}

/* tp_btf arguments are typed pointers: read fields directly there. */
#define DOM_ID_tp_btf(d)	((d)->id)
#define DOM_ID_raw_tp(d)	BPF_CORE_READ(d, id)

#define FLUSH_HANDLERS(kind)						\
SEC(#kind "/iotlb_flush_all")						\
int BPF_PROG(kind##_flush_all, struct iommu_domain *domain,		\
	     u64 duration_ns)						\
{									\
	count(FLUSH_ALL, DOM_ID_##kind(domain), duration_ns, 0, 0);	\
	return 0;							\
}									\
									\
SEC(#kind "/iotlb_sync")						\
int BPF_PROG(kind##_iotlb_sync, struct iommu_domain *domain,		\
	     unsigned long start, unsigned long end, size_t pgsize,	\
	     u64 duration_ns)						\
{									\
	__u32 id = DOM_ID_##kind(domain);				\
	__u64 bytes = start <= end ? end - start + 1 : 0;		\
									\
	count(FLUSH_RANGE, id, duration_ns, bytes >> 12, 0);		\
	if (bytes)							\
		hist_add(FH_RANGE_BYTES, id, bytes);			\
	return 0;							\
}									\
									\
SEC(#kind "/iotlb_sync_map")						\
int BPF_PROG(kind##_sync_map, struct iommu_domain *domain,		\
	     unsigned long iova, size_t size, int ret, u64 duration_ns)	\
{									\
	count(FLUSH_SYNC_MAP, DOM_ID_##kind(domain), duration_ns,	\
	      size >> 12, 0);						\
	return 0;							\
}									\
									\
SEC(#kind "/dma_fq_flush")						\
int BPF_PROG(kind##_fq_flush, struct iommu_domain *domain, int reason,	\
	     unsigned int released, u64 duration_ns)			\
{									\
	struct expose_ctx ec = {					\
		.domain = DOM_ID_##kind(domain),			\
		.now = bpf_ktime_get_ns(),				\
	};								\
									\
	ec.cutoff = ec.now - duration_ns;				\
	count(reason ? FLUSH_FQ_FULL : FLUSH_FQ_TIMER, ec.domain,	\
	      duration_ns, 0, released);				\
	if (track_exposure)						\
		bpf_for_each_map_elem(&pending, expose_one, &ec, 0);	\
	return 0;							\
}									\
									\
SEC(#kind "/iommu_dma_unmap")						\
int BPF_PROG(kind##_dma_unmap, struct device *dev,			\
	     struct iommu_domain *domain, dma_addr_t iova, size_t size,	\
	     int dir, bool queued)					\
{									\
	struct pending_key key = { .iova = iova };			\
	__u64 now;							\
									\
	key.domain = DOM_ID_##kind(domain);				\
	learn_dev(key.domain, dev);					\
	if (!queued || !track_exposure)					\
		return 0;						\
	now = bpf_ktime_get_ns();					\
	if (bpf_map_update_elem(&pending, &key, &now, BPF_ANY))		\
		__sync_fetch_and_add(&lost_pending, 1);		\
	return 0;							\
}

FLUSH_HANDLERS(tp_btf)
FLUSH_HANDLERS(raw_tp)

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace events: attach/detach, default-domain decisions, DMA
 * ownership, PASID, I/O page faults and BPF policy decisions, one
 * ring-buffer record each.
 * These events are rare (control path), so every one is sent to user space.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "iommuctl/trace.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Records lost because the ring buffer was full */
__u64 lost_ringbuf;

static __always_inline struct ev_record *ev_new(__u32 kind, struct device *dev)
{
	struct ev_record *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_ringbuf, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->kind = kind;
	if (dev)
		bpf_probe_read_kernel_str(e->dev, sizeof(e->dev),
					  BPF_CORE_READ(dev, kobj.name));
	return e;
}

static __always_inline void attach_ev(__u32 kind, struct device *dev, int group,
				      __u32 pasid, struct iommu_domain *old,
				      struct iommu_domain *new, int ret)
{
	struct ev_record *e = ev_new(kind, dev);

	if (!e)
		return;
	e->group = group;
	e->pasid = pasid;
	e->ret = ret;
	if (old) {
		e->old_domain = BPF_CORE_READ(old, id);
		e->old_type = BPF_CORE_READ(old, type);
	}
	if (new) {
		e->new_domain = BPF_CORE_READ(new, id);
		e->new_type = BPF_CORE_READ(new, type);
	}
	bpf_ringbuf_submit(e, 0);
}

#define EVENT_HANDLERS(kind)						\
SEC(#kind "/attach_dev")						\
int BPF_PROG(kind##_attach_dev, struct device *dev, int group, u32 pasid, \
	     struct iommu_domain *old, struct iommu_domain *new, int ret)	\
{									\
	attach_ev(EV_ATTACH_DEV, dev, group, pasid, old, new, ret);	\
	return 0;							\
}									\
									\
SEC(#kind "/detach_dev")						\
int BPF_PROG(kind##_detach_dev, struct device *dev, int group, u32 pasid, \
	     struct iommu_domain *old, struct iommu_domain *new, int ret)	\
{									\
	attach_ev(EV_DETACH_DEV, dev, group, pasid, old, new, ret);	\
	return 0;							\
}									\
									\
SEC(#kind "/attach_pasid")						\
int BPF_PROG(kind##_attach_pasid, struct device *dev, int group,	\
	     u32 pasid, struct iommu_domain *old, struct iommu_domain *new, \
	     int ret)							\
{									\
	attach_ev(EV_ATTACH_PASID, dev, group, pasid, old, new, ret);	\
	return 0;							\
}									\
									\
SEC(#kind "/detach_pasid")						\
int BPF_PROG(kind##_detach_pasid, struct device *dev, int group,	\
	     u32 pasid, struct iommu_domain *old, struct iommu_domain *new, \
	     int ret)							\
{									\
	attach_ev(EV_DETACH_PASID, dev, group, pasid, old, new, ret);	\
	return 0;							\
}									\
									\
SEC(#kind "/default_domain")						\
int BPF_PROG(kind##_default_domain, int group, struct device *dev,	\
	     unsigned int driver_type, unsigned int req_type,		\
	     struct iommu_domain *domain, int ret)			\
{									\
	struct ev_record *e = ev_new(EV_DEFAULT_DOMAIN, dev);		\
									\
	if (!e)								\
		return 0;						\
	e->group = group;						\
	e->driver_type = driver_type;					\
	e->req_type = req_type;						\
	e->ret = ret;							\
	if (domain) {							\
		e->new_domain = BPF_CORE_READ(domain, id);		\
		e->new_type = BPF_CORE_READ(domain, type);		\
	}								\
	bpf_ringbuf_submit(e, 0);					\
	return 0;							\
}									\
									\
SEC(#kind "/dma_owner")							\
int BPF_PROG(kind##_dma_owner, int group, struct device *dev,		\
	     bool claim, unsigned int owner_cnt, int ret)		\
{									\
	struct ev_record *e = ev_new(EV_DMA_OWNER, dev);		\
									\
	if (!e)								\
		return 0;						\
	e->group = group;						\
	e->claim = claim;						\
	e->owner_cnt = owner_cnt;					\
	e->ret = ret;							\
	bpf_ringbuf_submit(e, 0);					\
	return 0;							\
}									\
									\
SEC(#kind "/io_page_fault")						\
int BPF_PROG(kind##_io_page_fault, struct device *dev,			\
	     unsigned long iova, int flags)				\
{									\
	struct ev_record *e = ev_new(EV_IO_PAGE_FAULT, dev);		\
									\
	if (!e)								\
		return 0;						\
	e->iova = iova;							\
	e->flags = flags;						\
	bpf_ringbuf_submit(e, 0);					\
	return 0;							\
}									\
									\
SEC(#kind "/policy_decision")						\
int BPF_PROG(kind##_policy_decision, unsigned int hook,		\
	     struct device *dev, int proposed, int verdict, int applied,	\
	     unsigned int reason, unsigned int flags)			\
{									\
	struct ev_record *e = ev_new(EV_POLICY_DECISION, dev);		\
									\
	if (!e)								\
		return 0;						\
	e->hook = hook;							\
	e->proposed = proposed;						\
	e->verdict = verdict;						\
	e->applied = applied;						\
	e->reason = reason;						\
	e->flags = flags;						\
	bpf_ringbuf_submit(e, 0);					\
	return 0;							\
}

EVENT_HANDLERS(tp_btf)
EVENT_HANDLERS(raw_tp)

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace latency on kernels without the iommu-bpf tracepoints (a
 * distribution's stock kernel): time the dma-iommu and core map/unmap
 * functions with fentry/fexit, or kprobe/kretprobe where fentry cannot
 * attach.  Which kernel function each slot times depends on the kernel
 * (iommu_dma_map_page before the DMA API moved to physical addresses,
 * iommu_dma_map_phys after): iommuctl finds them in the kernel's BTF and
 * sets the attach targets before load.  Begin and end are paired through a
 * hash (see below), so this costs more than the tracepoints do, and unmaps
 * are classed strict or queued by the group's default domain type rather
 * than by what the unmap did.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lat_record.h"

#define DOMAIN_DMA_FQ	11	/* IOMMU_DOMAIN_DMA_FQ, the same since 5.15 */

/* The slots; iommuctl's table in trace_latency.c names their functions. */
enum fn {
	FN_DMA_MAP, FN_DMA_UNMAP, FN_DMA_MAP_SG, FN_DMA_UNMAP_SG,
	FN_MAP, FN_MAP_SG, FN_MAP_ATOMIC, FN_MAP_SG_ATOMIC,
	FN_UNMAP, FN_UNMAP_FAST,
};

/*
 * Begin and end are paired on a stack per (context, function): the same
 * function can run again on the same CPU from an interrupt before it
 * returns, and such calls nest, so the last begin belongs to the first end.
 * The context is the thread id, except for the idle tasks, which are all
 * tid 0 (one per CPU): they use their CPU.  A task can migrate between begin
 * and end; its tid goes with it.
 */
#define NEST_MAX	4	/* a power of two */
#define CTX_IDLE	0x80000000u

struct start_key {
	__u32 ctx;
	__u32 fn;
};

struct start_stack {
	__u32 depth;		/* calls begun and not ended, even past NEST_MAX */
	__u32 pad;
	__u64 ts[NEST_MAX];
	struct device *dev[NEST_MAX];
};

/* An entry lives while its context is inside the function. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct start_key);
	__type(value, struct start_stack);
} starts SEC(".maps");

/* Calls nested deeper than NEST_MAX: not timed */
__u64 lost_too_deep;

static const struct start_stack stack_zero;

static __always_inline struct start_key ctx_key(__u32 fn)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct start_key k = {
		.ctx = tid ? tid : CTX_IDLE | bpf_get_smp_processor_id(),
		.fn = fn,
	};

	return k;
}

static __always_inline void begin(__u32 fn, struct device *dev)
{
	struct start_key k = ctx_key(fn);
	struct start_stack *s = map_get_or_create(&starts, &k, &stack_zero);
	__u32 d;

	if (!s)
		return;
	d = s->depth++;
	if (d >= NEST_MAX) {
		__sync_fetch_and_add(&lost_too_deep, 1);
		return;
	}
	barrier_var(d);		/* keep the mask: a bound 6.1's verifier follows */
	d &= NEST_MAX - 1;
	s->dev[d] = dev;
	s->ts[d] = bpf_ktime_get_ns();
}

static __always_inline void end(__u32 fn)
{
	__u64 now = bpf_ktime_get_ns(), ns = 0;
	struct start_key k = ctx_key(fn);
	struct start_stack *s = bpf_map_lookup_elem(&starts, &k);
	struct device *dev = NULL;
	__u32 op, d;

	if (!s || !s->depth)	/* begun before iommuctl attached */
		return;
	d = --s->depth;
	if (d < NEST_MAX) {
		__u32 i = d;

		barrier_var(i);
		i &= NEST_MAX - 1;
		ns = now - s->ts[i];
		dev = s->dev[i];
	}
	/* After the reads: a deleted element can be reused at once. */
	if (!d)
		bpf_map_delete_elem(&starts, &k);
	if (d >= NEST_MAX)
		return;

	switch (fn) {
	case FN_DMA_MAP:
		op = LAT_DMA_MAP;
		break;
	case FN_DMA_UNMAP:
		op = BPF_CORE_READ(dev, iommu_group, default_domain, type) ==
		     DOMAIN_DMA_FQ ? LAT_DMA_UNMAP_QUEUED : LAT_DMA_UNMAP_STRICT;
		break;
	case FN_DMA_MAP_SG:
		op = LAT_DMA_MAP_SG;
		break;
	case FN_DMA_UNMAP_SG:
		op = LAT_DMA_UNMAP_SG;
		break;
	case FN_MAP:
	case FN_MAP_SG:
	case FN_MAP_ATOMIC:
	case FN_MAP_SG_ATOMIC:
		op = LAT_CORE_MAP;
		break;
	default:
		op = LAT_CORE_UNMAP;
		break;
	}
	lat_record(op, dev, 0, ns);
}

/*
 * Four programs per slot; iommuctl loads one pair.  Only the first argument
 * is read (a struct device * for the DMA API slots): the prototypes differ
 * across versions.  The section names carry no function: iommuctl sets it.
 */
#define SLOT(name, fn, DEV)						\
SEC("fentry")								\
int BPF_PROG(fe_##name, struct device *dev)				\
{									\
	begin(fn, DEV);							\
	return 0;							\
}									\
SEC("fexit")								\
int BPF_PROG(fx_##name)							\
{									\
	end(fn);							\
	return 0;							\
}									\
SEC("kprobe")								\
int BPF_KPROBE(kp_##name, struct device *dev)				\
{									\
	begin(fn, DEV);							\
	return 0;							\
}									\
SEC("kretprobe")							\
int BPF_KRETPROBE(krp_##name)						\
{									\
	end(fn);							\
	return 0;							\
}

SLOT(dma_map, FN_DMA_MAP, dev)
SLOT(dma_unmap, FN_DMA_UNMAP, dev)
SLOT(dma_map_sg, FN_DMA_MAP_SG, dev)
SLOT(dma_unmap_sg, FN_DMA_UNMAP_SG, dev)
SLOT(map, FN_MAP, NULL)
SLOT(map_sg, FN_MAP_SG, NULL)
SLOT(map_atomic, FN_MAP_ATOMIC, NULL)
SLOT(map_sg_atomic, FN_MAP_SG_ATOMIC, NULL)
SLOT(unmap, FN_UNMAP, NULL)
SLOT(unmap_fast, FN_UNMAP_FAST, NULL)

char LICENSE[] SEC("license") = "GPL";

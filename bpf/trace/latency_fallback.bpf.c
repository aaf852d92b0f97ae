// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace latency on kernels without the iommu-bpf tracepoints (a
 * distribution's stock kernel): time the dma-iommu and core map/unmap
 * functions with fentry/fexit, or kprobe/kretprobe where fentry cannot
 * attach.  Begin and end are paired through a hash (see below), so this
 * costs more than the tracepoints do, and unmaps are classed strict or queued by
 * the group's default domain type rather than by what the unmap did.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lat_record.h"

#define DOMAIN_DMA_FQ	11	/* IOMMU_DOMAIN_DMA_FQ, the same since 5.15 */

enum fn { FN_DMA_MAP, FN_DMA_UNMAP, FN_MAP, FN_UNMAP };

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
	case FN_MAP:
		op = LAT_CORE_MAP;
		break;
	default:
		op = LAT_CORE_UNMAP;
		break;
	}
	lat_record(op, dev, 0, ns);
}

/* Only the first argument is used: the prototypes differ across versions. */
SEC("fentry/iommu_dma_map_page")
int BPF_PROG(fe_dma_map, struct device *dev) { begin(FN_DMA_MAP, dev); return 0; }
SEC("fexit/iommu_dma_map_page")
int BPF_PROG(fx_dma_map) { end(FN_DMA_MAP); return 0; }
SEC("fentry/iommu_dma_unmap_page")
int BPF_PROG(fe_dma_unmap, struct device *dev) { begin(FN_DMA_UNMAP, dev); return 0; }
SEC("fexit/iommu_dma_unmap_page")
int BPF_PROG(fx_dma_unmap) { end(FN_DMA_UNMAP); return 0; }
SEC("fentry/iommu_map")
int BPF_PROG(fe_map) { begin(FN_MAP, NULL); return 0; }
SEC("fexit/iommu_map")
int BPF_PROG(fx_map) { end(FN_MAP); return 0; }
SEC("fentry/iommu_unmap")
int BPF_PROG(fe_unmap) { begin(FN_UNMAP, NULL); return 0; }
SEC("fexit/iommu_unmap")
int BPF_PROG(fx_unmap) { end(FN_UNMAP); return 0; }

SEC("kprobe/iommu_dma_map_page")
int BPF_KPROBE(kp_dma_map, struct device *dev) { begin(FN_DMA_MAP, dev); return 0; }
SEC("kretprobe/iommu_dma_map_page")
int BPF_KRETPROBE(krp_dma_map) { end(FN_DMA_MAP); return 0; }
SEC("kprobe/iommu_dma_unmap_page")
int BPF_KPROBE(kp_dma_unmap, struct device *dev) { begin(FN_DMA_UNMAP, dev); return 0; }
SEC("kretprobe/iommu_dma_unmap_page")
int BPF_KRETPROBE(krp_dma_unmap) { end(FN_DMA_UNMAP); return 0; }
SEC("kprobe/iommu_map")
int BPF_KPROBE(kp_map) { begin(FN_MAP, NULL); return 0; }
SEC("kretprobe/iommu_map")
int BPF_KRETPROBE(krp_map) { end(FN_MAP); return 0; }
SEC("kprobe/iommu_unmap")
int BPF_KPROBE(kp_unmap) { begin(FN_UNMAP, NULL); return 0; }
SEC("kretprobe/iommu_unmap")
int BPF_KRETPROBE(krp_unmap) { end(FN_UNMAP); return 0; }

char LICENSE[] SEC("license") = "GPL";

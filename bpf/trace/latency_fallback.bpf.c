// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace latency on kernels without the iommu-bpf tracepoints (a
 * distribution's stock kernel): time the dma-iommu and core map/unmap
 * functions with fentry/fexit, or kprobe/kretprobe where fentry cannot
 * attach.  Begin and end are paired per thread and function, so this costs
 * more than the tracepoints do, and unmaps are classed strict or queued by
 * the group's default domain type rather than by what the unmap did.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lat_record.h"

#define DOMAIN_DMA_FQ	11	/* IOMMU_DOMAIN_DMA_FQ, the same since 5.15 */

enum fn { FN_DMA_MAP, FN_DMA_UNMAP, FN_MAP, FN_UNMAP };

struct start_key {
	__u32 tid;
	__u32 fn;
};

struct start_val {
	__u64 ts;
	struct device *dev;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct start_key);
	__type(value, struct start_val);
} starts SEC(".maps");

static __always_inline void begin(__u32 fn, struct device *dev)
{
	struct start_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .fn = fn };
	struct start_val v = { .ts = bpf_ktime_get_ns(), .dev = dev };

	bpf_map_update_elem(&starts, &k, &v, BPF_ANY);
}

static __always_inline void end(__u32 fn)
{
	struct start_key k = { .tid = (__u32)bpf_get_current_pid_tgid(), .fn = fn };
	struct start_val *v = bpf_map_lookup_elem(&starts, &k);
	struct device *dev;
	__u32 op;
	__u64 ns;

	if (!v)
		return;
	ns = bpf_ktime_get_ns() - v->ts;
	dev = v->dev;
	bpf_map_delete_elem(&starts, &k);

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

// SPDX-License-Identifier: GPL-2.0
/*
 * The table policy: every verdict comes from rules that user space puts in
 * two maps before attaching it (iommuctl policy load -r RULES; the rules
 * format is iommu-policy.rules(5), tools/iommuctl/doc, the maps in
 * include/iommuctl/policy_table.h).
 *
 * For each hook, a device's verdict is that of the hook's first rule, most
 * specific first, whose conditions all hold; with none, DEFAULT (0): the
 * kernel decides.  Every fact a condition tests comes from the kernel's
 * kfuncs or the hook's arguments, asked anew at each decision, so a device
 * plugged in later is decided by the same rules.  The scan is a bpf_loop()
 * over the hook's rules: the verifier checks its callback once, whatever
 * the number of rules.  iommuctl checks that every verdict is in its hook's
 * enum, so the kernel never sees an invalid one from here.
 */
#include "iommu_policy.bpf.h"
#include "iommuctl/policy_table.h"

/* Each hook's rules, consecutive, in lookup order */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, POLICY_TABLE_MAX_RULES);
	__type(key, __u32);
	__type(value, struct policy_table_rule);
} rules SEC(".maps");

/* Where each hook's rules are in rules */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, POLICY_TABLE_NR_HOOKS);
	__type(key, __u32);
	__type(value, struct policy_table_hook);
} hooks SEC(".maps");

/*
 * The glob matcher's state: in a map value, so that the verifier sees
 * unknown numbers at each step and checks the step once, not once per
 * value.  Per CPU, with a generation: a decision runs with migration
 * disabled, but on a preemptible kernel another decision may run on this
 * CPU meanwhile and take the slot; the generation tells, and the match
 * starts again.
 */
struct glob_slot {
	struct policy_glob g;
	__u32 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct glob_slot);
} glob_state SEC(".maps");

/* glob_ctx.result of a match another decision interrupted */
#define GLOB_INTERRUPTED	(-2)
/* Matches tried before giving up (no match): each needs a preemption */
#define GLOB_TRIES		4

struct glob_ctx {
	struct glob_slot *slot;
	const struct policy_table_rule *r;
	const struct policy_table_facts *f;
	__u32 gen;
	int result;
};

static long glob_cb(u64 i, void *ctx)
{
	struct glob_ctx *c = ctx;

	if (c->slot->gen != c->gen) {
		c->result = GLOB_INTERRUPTED;
		return 1;
	}
	c->result = policy_glob_step(&c->slot->g, c->r->name, c->f->name);
	return c->result != 0;
}

/* r's dev= glob matches f's name */
static __noinline bool glob_matches(const struct policy_table_rule *r,
				    const struct policy_table_facts *f)
{
	struct glob_ctx c = { .r = r, .f = f, .result = -1 };
	u32 zero = 0;

	if (!r || !f)
		return false;
	c.slot = bpf_map_lookup_elem(&glob_state, &zero);
	if (!c.slot)
		return false;
	for (int try = 0; try < GLOB_TRIES; try++) {
		c.gen = ++c.slot->gen;
		c.slot->g.p = c.slot->g.s = c.slot->g.mark = 0;
		c.slot->g.star = -1;
		c.result = -1;
		bpf_loop(POLICY_GLOB_STEPS, glob_cb, &c, 0);
		if (c.result != GLOB_INTERRUPTED)
			break;
	}
	return c.result == 1;
}

struct scan_ctx {
	struct policy_table_facts f;
	u32 first;
	s32 verdict;
};

static long scan_cb(u64 i, void *ctx)
{
	struct scan_ctx *c = ctx;
	struct policy_table_rule *r;
	u32 key = c->first + i;

	r = bpf_map_lookup_elem(&rules, &key);
	if (!r || !policy_rule_holds(r, &c->f))
		return 0;
	if ((r->conds & POLICY_COND_DEV_GLOB) && !glob_matches(r, &c->f))
		return 0;
	c->verdict = r->verdict;
	return 1;
}

/*
 * The facts of dev the conditions test; owner: dma_owner()'s flags, or -1
 * in the other hooks.  Always inlined: it takes the hook's trusted dev.
 */
static __always_inline void facts(struct device *dev, s64 owner,
				  struct policy_table_facts *f)
{
	s64 ids, class, bdf;
	s32 n;

	/* A truncated name (-E2BIG) cannot match: rules hold shorter ones. */
	if (bpf_iommu_dev_name(dev, f->name, sizeof(f->name)) > 0)
		f->have |= POLICY_FACT_NAME;
	ids = bpf_iommu_pci_ids(dev);
	class = bpf_iommu_pci_class(dev);
	bdf = bpf_iommu_pci_bdf(dev);
	if (ids >= 0 && class >= 0 && bdf >= 0) {
		f->have |= POLICY_FACT_PCI;
		f->ids = ids;
		f->class = class;
		f->bdf = bdf;
	}
	f->fw = bpf_iommu_dev_fw_flags(dev);
	/* -ENODEV in dev_trust(): before the IOMMU driver probed dev */
	n = bpf_iommu_dev_resv_regions(dev, 0 /* IOMMU_RESV_DIRECT */);
	if (n >= 0) {
		f->have |= POLICY_FACT_RESV;
		f->resv_direct = n;
	}
	if (bpf_iommu_dev_iommu_name(dev, f->iommu, sizeof(f->iommu)) >= 0)
		f->have |= POLICY_FACT_IOMMU;
	else
		__builtin_memset(f->iommu, 0, sizeof(f->iommu));
	if (owner >= 0) {
		f->have |= POLICY_FACT_OWNER;
		f->owner = owner;
	}
}

static __always_inline s32 lookup(struct device *dev, u32 hook, s64 owner)
{
	struct scan_ctx c = { .verdict = IOMMU_POLICY_TRUST_DEFAULT };	/* 0 in every enum */
	struct policy_table_hook *h;

	h = bpf_map_lookup_elem(&hooks, &hook);
	if (!h || !h->count)
		return c.verdict;
	c.first = h->first;
	facts(dev, owner, &c.f);
	bpf_loop(h->count, scan_cb, &c, 0);
	return c.verdict;
}

SEC("struct_ops/dev_trust")
s32 BPF_PROG(table_dev_trust, struct device *dev, u32 fw_flags)
{
	return lookup(dev, IOMMU_POLICY_HOOK_DEV_TRUST, -1);
}

SEC("struct_ops/dma_mode")
s32 BPF_PROG(table_dma_mode, struct device *dev, u32 proposed, u32 flags)
{
	return lookup(dev, IOMMU_POLICY_HOOK_DMA_MODE, -1);
}

SEC("struct_ops/resv_direct")
s32 BPF_PROG(table_resv_direct, struct device *dev, u32 reason)
{
	return lookup(dev, IOMMU_POLICY_HOOK_RESV_DIRECT, -1);
}

SEC("struct_ops/pasid_attach")
s32 BPF_PROG(table_pasid_attach, struct device *dev, u32 pasid, u32 domain_type,
	     u32 flags)
{
	return lookup(dev, IOMMU_POLICY_HOOK_PASID_ATTACH, -1);
}

SEC("struct_ops/dma_owner")
s32 BPF_PROG(table_dma_owner, struct device *dev, u32 flags)
{
	return lookup(dev, IOMMU_POLICY_HOOK_DMA_OWNER, flags);
}

/* Attached only through a link (.struct_ops.link): the kernel refuses others */
SEC(".struct_ops.link")
struct iommu_policy_ops table = {
	.dev_trust	= (void *)table_dev_trust,
	.dma_mode	= (void *)table_dma_mode,
	.resv_direct	= (void *)table_resv_direct,
	.pasid_attach	= (void *)table_pasid_attach,
	.dma_owner	= (void *)table_dma_owner,
	.name		= "table",
};

char LICENSE[] SEC("license") = "GPL";

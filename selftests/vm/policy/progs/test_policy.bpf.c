// SPDX-License-Identifier: GPL-2.0
/*
 * The configurable policy most tests load. User space sets the verdict of
 * each hook for devices named "pt-*" (or per device, in per_dev) through
 * global variables, and reads back what each hook saw.
 */
#include "iommu_policy.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#include "test_policy.h"

#define NAME_LEN 32

/* Per-device verdicts, keyed by device name; they win over def */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, char[NAME_LEN]);
	__type(value, struct verdicts);
} per_dev SEC(".maps");

/* Plain C types: the skeleton exposes these to the runner */
struct verdicts def;		/* for other "pt-*" devices */
int init_ret;
unsigned int init_calls;

/*
 * A gate in dma_mode(), to hold a decision open while the runner races it
 * against a replacement: with hold set, dma_mode() sets held and spins
 * (bounded) until release is set.
 */
int hold, held;
/* dma_mode() spins this many bpf_loop() iterations (at most 1 << 23) */
unsigned int spin;
volatile int release;

/*
 * The same gate in the sleepable init(), which runs under the kernel's
 * policy mutex: with init_hold set, init() sets init_held and spins until
 * init_release, then sets init_done.
 */
int init_hold, init_held, init_done;
volatile int init_release;

/* What the hooks saw, for the "pt-*" devices */
unsigned long long calls;
unsigned int seen_fw_flags, seen_dma_proposed, seen_dma_flags;
unsigned int seen_resv_reason, seen_pasid, seen_pasid_domain;
unsigned int seen_pasid_flags, seen_owner_flags;
int seen_resv_direct, seen_max_pasids, seen_is_pci, seen_iommu_name_ret;
long long seen_pci_ids;
char seen_iommu_name[NAME_LEN];

/* Filled by exit() */
int exit_kind;
int exit_hook;
long long exit_value;
char exit_msg[256];

static struct verdicts *lookup(struct device *dev)
{
	char name[NAME_LEN] = {};
	struct verdicts *v;

	bpf_iommu_dev_name(dev, name, sizeof(name));
	v = bpf_map_lookup_elem(&per_dev, name);
	if (v)
		return v;
	if (name[0] == 'p' && name[1] == 't' && name[2] == '-')
		return &def;
	return NULL;
}

SEC("struct_ops/dev_trust")
s32 BPF_PROG(t_dev_trust, struct device *dev, u32 fw_flags)
{
	struct verdicts *v = lookup(dev);

	if (!v)
		return 0;
	calls++;
	seen_fw_flags = fw_flags;
	seen_is_pci = bpf_iommu_dev_is_pci(dev);
	seen_pci_ids = bpf_iommu_pci_ids(dev);
	return v->trust;
}

static long wait_release(u64 i, void *ctx)
{
	return release ? 1 : 0;
}

static long spin_once(u64 i, void *ctx)
{
	return 0;
}

SEC("struct_ops/dma_mode")
s32 BPF_PROG(t_dma_mode, struct device *dev, u32 proposed, u32 flags)
{
	struct verdicts *v = lookup(dev);

	if (!v)
		return 0;
	calls++;
	if (hold) {
		held = 1;
		for (int i = 0; i < 32 && !release; i++)
			bpf_loop(1 << 22, wait_release, NULL, 0);
	}
	if (spin)
		bpf_loop(spin, spin_once, NULL, 0);
	seen_dma_proposed = proposed;
	seen_dma_flags = flags;
	seen_resv_direct = bpf_iommu_dev_resv_regions(dev, 0);
	seen_max_pasids = bpf_iommu_dev_max_pasids(dev);
	seen_iommu_name_ret = bpf_iommu_dev_iommu_name(dev, seen_iommu_name,
						       sizeof(seen_iommu_name));
	return v->dma;
}

SEC("struct_ops/resv_direct")
s32 BPF_PROG(t_resv_direct, struct device *dev, u32 reason)
{
	struct verdicts *v = lookup(dev);

	if (!v)
		return 0;
	calls++;
	seen_resv_reason = reason;
	return v->resv;
}

SEC("struct_ops/pasid_attach")
s32 BPF_PROG(t_pasid_attach, struct device *dev, u32 pasid, u32 domain_type,
	     u32 flags)
{
	struct verdicts *v = lookup(dev);

	if (!v)
		return 0;
	calls++;
	seen_pasid = pasid;
	seen_pasid_domain = domain_type;
	seen_pasid_flags = flags;
	return v->pasid;
}

SEC("struct_ops/dma_owner")
s32 BPF_PROG(t_dma_owner, struct device *dev, u32 flags)
{
	struct verdicts *v = lookup(dev);

	if (!v)
		return 0;
	calls++;
	seen_owner_flags = flags;
	return v->owner;
}

static long wait_init_release(u64 i, void *ctx)
{
	return init_release ? 1 : 0;
}

SEC("struct_ops.s/init")
s32 BPF_PROG(t_init)
{
	init_calls++;
	if (init_hold) {
		init_held = 1;
		for (int i = 0; i < 32 && !init_release; i++)
			bpf_loop(1 << 22, wait_init_release, NULL, 0);
		init_done = 1;
	}
	return init_ret;
}

SEC("struct_ops/exit")
void BPF_PROG(t_exit, struct iommu_policy_exit_info *ei)
{
	exit_kind = ei->kind;
	exit_hook = ei->hook;
	exit_value = ei->value;
	/* direct reads: bpf_probe_read_kernel() is refused under lockdown */
	for (int i = 0; i < sizeof(exit_msg) - 1; i++) {
		exit_msg[i] = ei->msg[i];
		if (!exit_msg[i])
			break;
	}
}

SEC(".struct_ops.link")
struct iommu_policy_ops test_ops = {
	.dev_trust	= (void *)t_dev_trust,
	.dma_mode	= (void *)t_dma_mode,
	.resv_direct	= (void *)t_resv_direct,
	.pasid_attach	= (void *)t_pasid_attach,
	.dma_owner	= (void *)t_dma_owner,
	.init		= (void *)t_init,
	.exit		= (void *)t_exit,
	.name		= "test",
};

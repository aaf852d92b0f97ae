/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Verdicts and flags of the BPF IOMMU attach policy (struct iommu_policy_ops).
 *
 * Shared by the kernel, the BPF programs implementing a policy and the tools
 * explaining its decisions. Everything is an enum so that it is also in the
 * kernel's BTF. In every verdict enum, 0 means "do exactly what the kernel
 * does without a policy". Values keep their meaning; new ones are added at
 * the end of their enum. struct iommu_policy_ops itself is a BPF struct_ops,
 * not user API (Documentation/userspace-api/iommu-bpf-policy.rst).
 *
 * The one loosening rule: a verdict that gives a device more DMA reach than
 * the kernel's own choice for it is applied only with
 * iommu_policy.allow_loosen=1 and never under lockdown.
 */
#ifndef _UAPI_LINUX_IOMMU_POLICY_H
#define _UAPI_LINUX_IOMMU_POLICY_H

enum iommu_policy_consts {
	IOMMU_POLICY_NAME_LEN		= 32,
	IOMMU_POLICY_EXIT_MSG_LEN	= 256,
};

/* The decision callbacks, in the order of the per-device records */
enum iommu_policy_hook {
	IOMMU_POLICY_HOOK_DEV_TRUST,
	IOMMU_POLICY_HOOK_DMA_MODE,
	IOMMU_POLICY_HOOK_RESV_DIRECT,
	IOMMU_POLICY_HOOK_PASID_ATTACH,
	IOMMU_POLICY_HOOK_DMA_OWNER,
	IOMMU_POLICY_NR_HOOKS,
	/* Not a decision; used in exit records */
	IOMMU_POLICY_HOOK_INIT = IOMMU_POLICY_NR_HOOKS,
};

/* dev_trust(): whether the device may be trusted with unrestricted DMA */
enum iommu_policy_trust {
	IOMMU_POLICY_TRUST_DEFAULT,
	IOMMU_POLICY_TRUST_TRUSTED,	/* loosening if firmware says untrusted */
	IOMMU_POLICY_TRUST_UNTRUSTED,
	IOMMU_POLICY_TRUST_MAX,
};

/* What firmware and the bus said about the device (dev_trust() fw_flags) */
enum iommu_policy_fw_flags {
	IOMMU_POLICY_FW_UNTRUSTED	= 1 << 0, /* e.g. pci_dev->untrusted */
	IOMMU_POLICY_FW_REMOVABLE	= 1 << 1, /* dev_is_removable() */
	IOMMU_POLICY_FW_EXTERNAL_FACING	= 1 << 2, /* behind an external port */
	IOMMU_POLICY_FW_PCI		= 1 << 3,
};

/*
 * dma_mode(): the DMA mode of the group's default domain, ordered from the
 * loosest to the strictest; the strictest verdict of a group's devices wins.
 */
enum iommu_policy_dma_mode {
	IOMMU_POLICY_DMA_DEFAULT,
	IOMMU_POLICY_DMA_IDENTITY,	/* loosening for an untrusted device */
	IOMMU_POLICY_DMA_LAZY,		/* loosening for an untrusted device */
	IOMMU_POLICY_DMA_STRICT,
	IOMMU_POLICY_DMA_MAX,
};

/* dma_mode() flags */
enum iommu_policy_dma_flags {
	IOMMU_POLICY_DMA_F_UNTRUSTED	  = 1 << 0, /* after dev_trust() */
	IOMMU_POLICY_DMA_F_REQUIRE_DIRECT = 1 << 1, /* has RESV_DIRECT regions */
	IOMMU_POLICY_DMA_F_DRIVER	  = 1 << 2, /* IOMMU driver forces proposed */
	IOMMU_POLICY_DMA_F_REEVAL	  = 1 << 3, /* sysfs "auto", not a probe */
	IOMMU_POLICY_DMA_F_STRICT	  = 1 << 4, /* driver or quirk needs strict */
};

/*
 * resv_direct(): may a device with IOMMU_RESV_DIRECT regions (Intel RMRR,
 * AMD IVMD, Arm RMR) be attached to a domain without its 1:1 map?
 */
enum iommu_policy_resv {
	IOMMU_POLICY_RESV_DEFAULT,	/* no: refuse the attach */
	IOMMU_POLICY_RESV_KEEP,		/* no, explicitly */
	IOMMU_POLICY_RESV_RELAX,	/* yes: loosening */
	IOMMU_POLICY_RESV_MAX,
};

/* resv_direct() reason */
enum iommu_policy_resv_reason {
	IOMMU_POLICY_RESV_OWNER_CLAIM	= 1,	/* user space claims DMA ownership */
	IOMMU_POLICY_RESV_BLOCK		= 2,	/* the kernel blocks DMA */
};

/*
 * pasid_attach(): whether a domain may be attached to a PASID of the device,
 * and which addressing the PASID must use.
 */
enum iommu_policy_pasid {
	IOMMU_POLICY_PASID_DEFAULT,	/* allow */
	IOMMU_POLICY_PASID_ALLOW,
	IOMMU_POLICY_PASID_DENY,
	IOMMU_POLICY_PASID_PHYS,	/* allow only an identity domain */
	IOMMU_POLICY_PASID_IOVA,	/* allow only a paging (IOVA) domain */
	IOMMU_POLICY_PASID_MAX,
};

/* pasid_attach() domain_type: the domain being attached */
enum iommu_policy_domain {
	IOMMU_POLICY_DOMAIN_BLOCKED,
	IOMMU_POLICY_DOMAIN_IDENTITY,
	IOMMU_POLICY_DOMAIN_DMA,	/* the device's default DMA-API domain */
	IOMMU_POLICY_DOMAIN_PAGING,	/* another paging domain (e.g. user) */
	IOMMU_POLICY_DOMAIN_SVA,
	IOMMU_POLICY_DOMAIN_OTHER,
};

/* pasid_attach() flags */
enum iommu_policy_pasid_flags {
	IOMMU_POLICY_PASID_F_RID_IDENTITY = 1 << 0, /* the RID is in identity */
};

/* dma_owner(): may user space (VFIO, iommufd) own the device's DMA? */
enum iommu_policy_owner {
	IOMMU_POLICY_OWNER_DEFAULT,	/* allow */
	IOMMU_POLICY_OWNER_ALLOW,
	IOMMU_POLICY_OWNER_DENY,
	IOMMU_POLICY_OWNER_MAX,
};

/* dma_owner() flags */
enum iommu_policy_owner_flags {
	IOMMU_POLICY_OWNER_F_GROUP	= 1 << 0, /* whole-group claim (VFIO) */
	IOMMU_POLICY_OWNER_F_DEVICE	= 1 << 1, /* device claim (iommufd) */
	/*
	 * The IOMMU can force the device's DMA cache-coherent
	 * (IOMMU_CAP_ENFORCE_CACHE_COHERENCY). Without it, a device given to
	 * a VM may issue non-snooped DMA, and KVM must emulate WBINVD.
	 */
	IOMMU_POLICY_OWNER_F_COHERENT	= 1 << 2,
};

/* Why the applied verdict is what it is (tracepoint, per-device record) */
enum iommu_policy_reason {
	IOMMU_POLICY_REASON_DEFAULT,	/* the policy deferred to the kernel */
	IOMMU_POLICY_REASON_APPLIED,	/* the policy's verdict was applied */
	IOMMU_POLICY_REASON_INVALID,	/* out of range: default, policy detached */
	IOMMU_POLICY_REASON_NO_OPTIN,	/* loosening without the boot opt-in */
	IOMMU_POLICY_REASON_LOCKDOWN,	/* loosening under kernel lockdown */
	IOMMU_POLICY_REASON_DRIVER,	/* the IOMMU driver cannot do it */
	IOMMU_POLICY_REASON_GROUP,	/* not in effect: the group is in use */
	IOMMU_POLICY_REASON_MAX,
};

/* How the last policy went away (sysfs last_exit_kind) */
enum iommu_policy_exit_kind {
	IOMMU_POLICY_EXIT_NONE,
	IOMMU_POLICY_EXIT_UNREG,	/* detached by user space */
	IOMMU_POLICY_EXIT_REPLACED,	/* replaced through BPF_LINK_UPDATE */
	IOMMU_POLICY_EXIT_ERROR,	/* runtime error: detached by the kernel */
	IOMMU_POLICY_EXIT_ERROR_INIT,	/* init() failed */
};

#endif /* _UAPI_LINUX_IOMMU_POLICY_H */

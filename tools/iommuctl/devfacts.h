/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel tells a BPF IOMMU policy about each device, from debugfs
 * iommu_policy/devices (CONFIG_IOMMU_BPF_POLICY, policy attached or not),
 * and opening the policy's debugfs files.  Used by `devices` and `policy
 * explain`; no BPF here: unit-tested on the host (tests/test_devfacts.c).
 */
#ifndef IOMMUCTL_DEVFACTS_H
#define IOMMUCTL_DEVFACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define POLICY_DEBUGFS_DEVICES	"/sys/kernel/debug/iommu_policy/devices"

/* One line: "<device> untrusted=<0|1> fw_flags=<hex> coherent=<0|1>
 * resv_direct=<n> max_pasids=<n>" */
struct dev_facts {
	char name[128];
	bool untrusted;		/* the trust decided when it was probed */
	unsigned int fw_flags;	/* enum iommu_policy_fw_flags */
	bool coherent;		/* its IOMMU has IOMMU_CAP_ENFORCE_CACHE_COHERENCY */
	unsigned int resv_direct;	/* IOMMU_RESV_DIRECT regions */
	unsigned int max_pasids;
};

struct dev_facts_list {
	struct dev_facts *d;
	size_t n, cap;
};

/*
 * Open a debugfs file by its usual path ("/sys/kernel/debug/..."), below
 * sysfs_root in tests.  Root on the real tree mounts debugfs first if the
 * file is missing.  NULL with errno set if it cannot be opened.
 */
FILE *debugfs_open(const char *path);

/*
 * Add the devices of a devices file to l (which starts zeroed).  Lines that
 * do not have the five facts, each well-formed, are skipped; unknown
 * key=value words after the name are ignored (facts the kernel may add).
 * Returns the number of devices added, or -ENOMEM.
 */
int dev_facts_parse(FILE *f, struct dev_facts_list *l);
/* POLICY_DEBUGFS_DEVICES parsed into l; -errno if it cannot be read. */
int dev_facts_read(struct dev_facts_list *l);
/* The first device by this name, or NULL */
const struct dev_facts *dev_facts_find(const struct dev_facts_list *l, const char *name);
void dev_facts_free(struct dev_facts_list *l);

/* The name of one enum iommu_policy_fw_flags bit: "untrusted", "removable",
 * "external_facing", "pci"; any other bit written to buf as "0x10". */
const char *fw_flag_str(unsigned int flag, char *buf, size_t len);
/* "removable|pci", "none" for 0; unknown bits as "0x10" */
void fw_flags_str(unsigned int flags, char *buf, size_t len);

#endif /* IOMMUCTL_DEVFACTS_H */

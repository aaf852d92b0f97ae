/* SPDX-License-Identifier: GPL-2.0 */
/* sysfs: one line of a file, device names, and the one walk of the IOMMU
 * groups every command shares. */
#ifndef IOMMUCTL_SYSFS_H
#define IOMMUCTL_SYSFS_H

#include <argp.h>
#include <stdbool.h>
#include <stddef.h>

extern const char *sysfs_root;	/* "" normally; a fixture tree in tests */

/* The first line of a file, without its newline; "" and -errno if it
 * cannot be read. */
int read_line(const char *path, char *buf, size_t len);
/* The buses whose devices an IOMMU can translate, NULL-terminated: where
 * a device is looked up by name */
extern const char *const iommu_buses[];
/* Is a device by this name on one of those buses? */
bool device_exists(const char *name);
/* The IOMMU group of the device by this name, or -1 */
int device_group(const char *name);
/* p_usage(): dev is not behind an IOMMU (saying whether it exists at all) */
int p_no_iommu_device(const char *dev);
/* Hidden --sysfs-root DIR (tests: a fixture tree), an argp child. */
extern const struct argp sysfs_root_argp;

struct resv_counts {
	int direct, relaxable, msi, reserved;
};

/* A device behind an IOMMU, as sysfs describes it. */
struct iommu_dev {
	char name[128];
	char bus[32];
	char vendor_device[16];	/* "1234:11e8" for PCI, "" otherwise */
	char driver[64];
	int group;
	char type[32];		/* the group's default domain type */
	bool removable;		/* "removable": the firmware does not trust it */
	struct resv_counts resv;
	int pasid_bits;		/* PCI PASID capability width; 0 if none; -1 unknown */
	char iommu[64];
};

struct iommu_devs {
	struct iommu_dev *d;
	size_t n, cap;
};

/*
 * Every device of every IOMMU group, sorted by group then name.  0, -ENOENT
 * if there are no IOMMU groups (no IOMMU), or -errno.  With pasid, reads
 * PCI config space for the PASID width (root sees the extended space).
 */
int iommu_devs_read(struct iommu_devs *l, bool pasid);
struct iommu_dev *iommu_devs_find(const struct iommu_devs *l, const char *name);
void iommu_devs_free(struct iommu_devs *l);

#endif

// SPDX-License-Identifier: GPL-2.0
/* Walking /sys/kernel/iommu_groups: see iommuctl.h */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include "iommuctl.h"

int iommu_groups_for_each_dev(iommu_group_dev_fn fn, void *ctx)
{
	char groups[PATH_MAX], gdir[PATH_MAX + 300], ddir[PATH_MAX + 320];
	struct dirent *g, *e;
	int ret = 0;
	DIR *gd, *dd;

	snprintf(groups, sizeof(groups), "%s/sys/kernel/iommu_groups", sysfs_root);
	gd = opendir(groups);
	if (!gd)
		return -errno;
	while (!ret && (g = readdir(gd))) {
		if (g->d_name[0] < '0' || g->d_name[0] > '9')
			continue;
		snprintf(gdir, sizeof(gdir), "%s/%s", groups, g->d_name);
		snprintf(ddir, sizeof(ddir), "%s/devices", gdir);
		dd = opendir(ddir);
		if (!dd)
			continue;
		while (!ret && (e = readdir(dd)))
			if (e->d_name[0] != '.')
				ret = fn(ctx, atoi(g->d_name), gdir, e->d_name);
		closedir(dd);
	}
	closedir(gd);
	return ret;
}

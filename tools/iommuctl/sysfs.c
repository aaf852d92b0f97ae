// SPDX-License-Identifier: GPL-2.0
/* sysfs: see sysfs.h */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "output.h"
#include "sysfs.h"

const char *sysfs_root = "";

int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return -errno;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* PCI, platform (device tree, ACPI), Arm AMBA, NXP's fsl-mc, AMD/Xilinx CDX */
const char *const iommu_buses[] = { "pci", "platform", "amba", "fsl-mc", "cdx", NULL };

bool device_exists(const char *name)
{
	char path[PATH_MAX];

	for (int i = 0; iommu_buses[i]; i++) {
		snprintf(path, sizeof(path), "%s/sys/bus/%s/devices/%s", sysfs_root,
			 iommu_buses[i], name);
		if (!access(path, F_OK))
			return true;
	}
	return false;
}

int p_no_iommu_device(const char *dev)
{
	return p_usage("no device '%s' behind an IOMMU%s (see 'iommuctl devices')", dev,
		       device_exists(dev) ? " (it exists, but has no IOMMU group)" : "");
}

enum { OPT_SYSFS_ROOT = 0x100 };

static const struct argp_option sysfs_root_opts[] = {
	{ "sysfs-root", OPT_SYSFS_ROOT, "DIR", OPTION_HIDDEN, "read sysfs and debugfs below DIR "
	  "(tests)", 0 },
	{},
};

static error_t sysfs_root_parse(int key, char *arg, struct argp_state *state)
{
	if (key != OPT_SYSFS_ROOT)
		return ARGP_ERR_UNKNOWN;
	sysfs_root = arg;
	return 0;
}

const struct argp sysfs_root_argp = { sysfs_root_opts, sysfs_root_parse };

static void link_base(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	buf[0] = '\0';
	if (n < 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	snprintf(buf, len, "%s", base ? base + 1 : target);
}

int device_group(const char *name)
{
	char path[PATH_MAX], group[32];

	for (int i = 0; iommu_buses[i]; i++) {
		snprintf(path, sizeof(path), "%s/sys/bus/%s/devices/%s/iommu_group", sysfs_root,
			 iommu_buses[i], name);
		link_base(path, group, sizeof(group));
		if (group[0])
			return atoi(group);
	}
	return -1;
}

static void read_resv(const char *gdir, struct resv_counts *r)
{
	char path[PATH_MAX + 32], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/reserved_regions", gdir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char type[64] = "";

		if (sscanf(line, "%*s %*s %63s", type) != 1)
			continue;
		if (!strcmp(type, "direct"))
			r->direct++;
		else if (!strcmp(type, "direct-relaxable"))
			r->relaxable++;
		else if (!strcmp(type, "msi"))
			r->msi++;
		else
			r->reserved++;
	}
	fclose(f);
}

/* Width of the PCIe PASID capability (ext cap 0x1b), from config space. */
static int pci_pasid_bits(const char *devdir)
{
	char path[PATH_MAX + 16];
	uint8_t cfg[4096];
	unsigned int off = 0x100;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/config", devdir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (n <= 0x100)
		/* Root sees all there is: no extended space, no PASID. */
		return geteuid() == 0 ? 0 : -1;
	for (int hops = 0; off && off + 8 <= (size_t)n && hops < 64; hops++) {
		uint32_t hdr = cfg[off] | cfg[off + 1] << 8 | cfg[off + 2] << 16 |
			       (uint32_t)cfg[off + 3] << 24;

		if (!hdr || hdr == 0xffffffff)
			break;
		if ((hdr & 0xffff) == 0x1b)
			return (cfg[off + 5] & 0x1f) ?: 0;
		off = hdr >> 20;
	}
	return 0;
}

static void describe(struct iommu_dev *d, const char *gdir, const char *name, int group,
		     bool pasid)
{
	char devdir[PATH_MAX], path[PATH_MAX + 32], v[16], dv[16], removable[32];

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->group = group;
	snprintf(devdir, sizeof(devdir), "%s/devices/%s", gdir, name);
	snprintf(path, sizeof(path), "%s/subsystem", devdir);
	link_base(path, d->bus, sizeof(d->bus));
	snprintf(path, sizeof(path), "%s/driver", devdir);
	link_base(path, d->driver, sizeof(d->driver));
	snprintf(path, sizeof(path), "%s/iommu", devdir);
	link_base(path, d->iommu, sizeof(d->iommu));
	snprintf(path, sizeof(path), "%s/removable", devdir);
	read_line(path, removable, sizeof(removable));
	d->removable = !strcmp(removable, "removable");
	snprintf(path, sizeof(path), "%s/type", gdir);
	read_line(path, d->type, sizeof(d->type));
	read_resv(gdir, &d->resv);
	if (!strcmp(d->bus, "pci")) {
		snprintf(path, sizeof(path), "%s/vendor", devdir);
		read_line(path, v, sizeof(v));
		snprintf(path, sizeof(path), "%s/device", devdir);
		read_line(path, dv, sizeof(dv));
		snprintf(d->vendor_device, sizeof(d->vendor_device), "%.4s:%.4s",
			 v[0] ? v + 2 : "????", dv[0] ? dv + 2 : "????");
		if (pasid)
			d->pasid_bits = pci_pasid_bits(devdir);
	}
}

static int add(struct iommu_devs *l, const char *gdir, const char *name, int group,
	       bool pasid)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct iommu_dev *p = realloc(l->d, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->d = p;
		l->cap = cap;
	}
	describe(&l->d[l->n++], gdir, name, group, pasid);
	return 0;
}

static int cmp_dev(const void *a, const void *b)
{
	const struct iommu_dev *x = a, *y = b;

	return x->group != y->group ? x->group - y->group : strcmp(x->name, y->name);
}

int iommu_devs_read(struct iommu_devs *l, bool pasid)
{
	char groups[PATH_MAX], gdir[PATH_MAX + 300], ddir[PATH_MAX + 320];
	struct dirent *g, *e;
	int ret = 0;
	DIR *gd, *dd;

	memset(l, 0, sizeof(*l));
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
				ret = add(l, gdir, e->d_name, atoi(g->d_name), pasid);
		closedir(dd);
	}
	closedir(gd);
	if (ret) {
		iommu_devs_free(l);
		return ret;
	}
	qsort(l->d, l->n, sizeof(*l->d), cmp_dev);
	return 0;
}

struct iommu_dev *iommu_devs_find(const struct iommu_devs *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->d[i].name, name))
			return &l->d[i];
	return NULL;
}

void iommu_devs_free(struct iommu_devs *l)
{
	free(l->d);
	memset(l, 0, sizeof(*l));
}

// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl devices: every device behind an IOMMU, from sysfs (no BPF, no
 * root needed except to read PCI extended config space for PASID) and, for
 * DMA cache coherency, debugfs iommu_policy/devices (root, a kernel with
 * the BPF policy).
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "devfacts.h"
#include "iommuctl.h"
#include "json.h"

struct resv_counts {
	int direct, relaxable, msi, reserved;
};

struct dev_info {
	char name[128];
	char bus[32];
	char vendor_device[16];	/* "1234:11e8" for PCI, "" otherwise */
	char driver[64];
	int group;
	char type[32];		/* the group's default domain type */
	char removable[16];	/* "removable", "fixed", "unknown" or "" */
	struct resv_counts resv;
	int pasid_bits;		/* PCI PASID capability width; 0 if none; -1 unknown */
	int coherent;		/* IOMMU enforces cache coherency: 1, 0; -1 unknown */
	char iommu[64];
};

static bool json_out;

static const char doc[] =
"List every device behind an IOMMU.\n"
"\n"
"Columns: device, PCI vendor:device, driver, IOMMU group, the group's default\n"
"domain type (identity, DMA, DMA-FQ, blocked, unmanaged), trust as the firmware\n"
"sees it (untrusted = removable/external-facing), reserved regions (direct,\n"
"relaxable, msi, reserved), PCI PASID width, whether the IOMMU enforces DMA\n"
"cache coherency (noncoherent: a VM given the device may need WBINVD emulated;\n"
"- unknown: needs root and debugfs iommu_policy/devices), and the IOMMU instance.\n"
"\n"
"EXAMPLES:\n"
"    iommuctl devices           # table\n"
"    iommuctl devices -j        # JSON (schema: tools/iommuctl/README.md)\n";

static const struct argp_option opts[] = {
	{ "json", 'j', NULL, 0, "JSON output", 0 },
	{ "sysfs-root", 'R', "DIR", OPTION_HIDDEN, "read sysfs below DIR (tests)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'j':
		json_out = true;
		break;
	case 'R':
		sysfs_root = arg;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

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

static void read_resv(int group, struct resv_counts *r)
{
	char path[PATH_MAX], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d/reserved_regions",
		 sysfs_root, group);
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
	char path[PATH_MAX];
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

static void collect(const char *name, int group, struct dev_info *d)
{
	char devdir[PATH_MAX], path[PATH_MAX + 32], v[16], dv[16];

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->group = group;
	snprintf(devdir, sizeof(devdir), "%s/sys/kernel/iommu_groups/%d/devices/%s",
		 sysfs_root, group, name);

	snprintf(path, sizeof(path), "%s/subsystem", devdir);
	link_base(path, d->bus, sizeof(d->bus));
	snprintf(path, sizeof(path), "%s/driver", devdir);
	link_base(path, d->driver, sizeof(d->driver));
	snprintf(path, sizeof(path), "%s/iommu", devdir);
	link_base(path, d->iommu, sizeof(d->iommu));
	snprintf(path, sizeof(path), "%s/removable", devdir);
	read_line(path, d->removable, sizeof(d->removable));
	snprintf(path, sizeof(path), "%s/sys/kernel/iommu_groups/%d/type", sysfs_root, group);
	read_line(path, d->type, sizeof(d->type));
	read_resv(group, &d->resv);

	d->pasid_bits = 0;
	if (!strcmp(d->bus, "pci")) {
		snprintf(path, sizeof(path), "%s/vendor", devdir);
		read_line(path, v, sizeof(v));
		snprintf(path, sizeof(path), "%s/device", devdir);
		read_line(path, dv, sizeof(dv));
		snprintf(d->vendor_device, sizeof(d->vendor_device), "%.4s:%.4s",
			 v[0] ? v + 2 : "????", dv[0] ? dv + 2 : "????");
		d->pasid_bits = pci_pasid_bits(devdir);
	}
}

static int cmp_dev(const void *a, const void *b)
{
	const struct dev_info *x = a, *y = b;

	return x->group != y->group ? x->group - y->group : strcmp(x->name, y->name);
}

static void read_coherency(struct dev_info *devs, size_t n)
{
	struct dev_facts_list facts = {};
	int ret = dev_facts_read(&facts);

	for (size_t i = 0; i < n; i++) {
		const struct dev_facts *f = ret ? NULL : dev_facts_find(&facts, devs[i].name);

		devs[i].coherent = f ? f->coherent : -1;
	}
	dev_facts_free(&facts);
}

static const char *coherency(const struct dev_info *d)
{
	return d->coherent < 0 ? "-" : d->coherent ? "coherent" : "noncoherent";
}

static const char *trust(const struct dev_info *d)
{
	return !strcmp(d->removable, "removable") ? "untrusted" : "trusted";
}

struct dev_list {
	struct dev_info *d;
	size_t n, cap;
};

static int add_dev(void *ctx, int group, const char *gdir, const char *name)
{
	struct dev_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct dev_info *p = realloc(l->d, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->d = p;
		l->cap = cap;
	}
	collect(name, group, &l->d[l->n++]);
	return 0;
}

int cmd_devices(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, NULL, doc };
	struct dev_list list = {};
	struct dev_info *devs;
	size_t n;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return EXIT_USAGE;

	err = iommu_groups_for_each_dev(add_dev, &list);
	if (err == -ENOMEM) {
		perror("iommuctl");
		return EXIT_FAILURE;
	}
	if (err) {
		fprintf(stderr, "iommuctl: no IOMMU groups (%s/sys/kernel/iommu_groups: %s): is an "
			"IOMMU enabled (intel_iommu=on, amd_iommu, virtio-iommu)?\n", sysfs_root,
			strerror(-err));
		return EXIT_FAILURE;
	}
	devs = list.d;
	n = list.n;
	qsort(devs, n, sizeof(*devs), cmp_dev);
	read_coherency(devs, n);

	if (json_out) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_begin_array(&j, "devices");
		for (size_t i = 0; i < n; i++) {
			struct dev_info *d = &devs[i];

			json_begin_object(&j, NULL);
			json_str(&j, "device", d->name);
			json_str(&j, "bus", d->bus);
			if (d->vendor_device[0])
				json_str(&j, "vendor_device", d->vendor_device);
			else
				json_null(&j, "vendor_device");
			if (d->driver[0])
				json_str(&j, "driver", d->driver);
			else
				json_null(&j, "driver");
			json_i64(&j, "group", d->group);
			json_str(&j, "domain_type", d->type);
			json_bool(&j, "trusted", !strcmp(trust(d), "trusted"));
			json_begin_object(&j, "reserved_regions");
			json_i64(&j, "direct", d->resv.direct);
			json_i64(&j, "direct_relaxable", d->resv.relaxable);
			json_i64(&j, "msi", d->resv.msi);
			json_i64(&j, "reserved", d->resv.reserved);
			json_end_object(&j);
			if (d->pasid_bits < 0)
				json_null(&j, "pasid_bits");
			else
				json_i64(&j, "pasid_bits", d->pasid_bits);
			if (d->coherent < 0)
				json_null(&j, "coherent");
			else
				json_bool(&j, "coherent", d->coherent);
			json_str(&j, "iommu", d->iommu);
			json_end_object(&j);
		}
		json_end_array(&j);
		json_end_object(&j);
		json_line(&j);
	} else {
		printf("%-16s %-9s %-18s %5s %-9s %-9s %-11s %5s %-11s %s\n", "DEVICE", "VEN:DEV",
		       "DRIVER", "GROUP", "TYPE", "TRUST", "RESV d/r/m/o", "PASID", "COHERENCY",
		       "IOMMU");
		for (size_t i = 0; i < n; i++) {
			struct dev_info *d = &devs[i];
			char resv[32], pasid[8];

			snprintf(resv, sizeof(resv), "%d/%d/%d/%d", d->resv.direct,
				 d->resv.relaxable, d->resv.msi, d->resv.reserved);
			if (d->pasid_bits < 0)
				snprintf(pasid, sizeof(pasid), "?");
			else
				snprintf(pasid, sizeof(pasid), "%d", d->pasid_bits);
			printf("%-16s %-9s %-18s %5d %-9s %-9s %-11s %5s %-11s %s\n", d->name,
			       d->vendor_device[0] ? d->vendor_device : "-",
			       d->driver[0] ? d->driver : "-", d->group, d->type, trust(d),
			       resv, pasid, coherency(d), d->iommu[0] ? d->iommu : "-");
		}
	}
	free(devs);
	return 0;
}

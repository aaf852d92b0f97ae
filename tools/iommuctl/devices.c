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
#include "commands.h"
#include "devfacts.h"
#include "json.h"
#include "output.h"
#include "sysfs.h"

/* What sysfs says, and the one fact that needs debugfs */
struct dev_info {
	struct iommu_dev s;
	int coherent;		/* IOMMU enforces cache coherency: 1, 0; -1 unknown */
};


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
"    iommuctl devices -j        # JSON (schema: iommuctl(8))\n";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_ARG:
		p_usage("unexpected argument '%s'", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void read_coherency(struct dev_info *devs, size_t n)
{
	struct dev_facts_list facts = {};
	int ret = dev_facts_read(&facts);

	for (size_t i = 0; i < n; i++) {
		const struct dev_facts *f = ret ? NULL : dev_facts_find(&facts, devs[i].s.name);

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
	return d->s.removable ? "untrusted" : "trusted";
}

int cmd_devices(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &output_argp }, { &sysfs_root_argp }, {}
	};
	static const struct argp argp = { NULL, parse_arg, NULL, doc, children };
	struct iommu_devs list;
	struct dev_info *devs;
	size_t n;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	err = iommu_devs_read(&list, true);
	if (err == -ENOMEM)
		return p_err("out of memory");
	if (err)
		return p_err("no IOMMU groups (%s/sys/kernel/iommu_groups: %s): is an IOMMU "
			     "enabled (intel_iommu=on, amd_iommu, virtio-iommu)?", sysfs_root,
			     strerror(-err));
	n = list.n;
	devs = calloc(n ?: 1, sizeof(*devs));
	if (!devs) {
		iommu_devs_free(&list);
		return p_err("out of memory");
	}
	for (size_t i = 0; i < n; i++)
		devs[i].s = list.d[i];
	iommu_devs_free(&list);
	read_coherency(devs, n);

	if (json_output) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_begin_array(&j, "devices");
		for (size_t i = 0; i < n; i++) {
			const struct dev_info *d = &devs[i];
			const struct iommu_dev *s = &d->s;

			json_begin_object(&j, NULL);
			json_str(&j, "device", s->name);
			json_str(&j, "bus", s->bus);
			if (s->vendor_device[0])
				json_str(&j, "vendor_device", s->vendor_device);
			else
				json_null(&j, "vendor_device");
			if (s->driver[0])
				json_str(&j, "driver", s->driver);
			else
				json_null(&j, "driver");
			json_i64(&j, "group", s->group);
			json_str(&j, "domain_type", s->type);
			json_bool(&j, "trusted", !strcmp(trust(d), "trusted"));
			json_begin_object(&j, "reserved_regions");
			json_i64(&j, "direct", s->resv.direct);
			json_i64(&j, "direct_relaxable", s->resv.relaxable);
			json_i64(&j, "msi", s->resv.msi);
			json_i64(&j, "reserved", s->resv.reserved);
			json_end_object(&j);
			if (s->pasid_bits < 0)
				json_null(&j, "pasid_bits");
			else
				json_i64(&j, "pasid_bits", s->pasid_bits);
			if (d->coherent < 0)
				json_null(&j, "coherent");
			else
				json_bool(&j, "coherent", d->coherent);
			json_str(&j, "iommu", s->iommu);
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
			const struct dev_info *d = &devs[i];
			const struct iommu_dev *s = &d->s;
			char resv[32], pasid[8];

			snprintf(resv, sizeof(resv), "%d/%d/%d/%d", s->resv.direct,
				 s->resv.relaxable, s->resv.msi, s->resv.reserved);
			if (s->pasid_bits < 0)
				snprintf(pasid, sizeof(pasid), "?");
			else
				snprintf(pasid, sizeof(pasid), "%d", s->pasid_bits);
			printf("%-16s %-9s %-18s %5d %-9s %-9s %-11s %5s %-11s %s\n", s->name,
			       s->vendor_device[0] ? s->vendor_device : "-",
			       s->driver[0] ? s->driver : "-", s->group, s->type, trust(d),
			       resv, pasid, coherency(d), s->iommu[0] ? s->iommu : "-");
		}
	}
	free(devs);
	return 0;
}

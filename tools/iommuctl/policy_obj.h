/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A policy before it is attached: the built-in table policy (rules) or any
 * BPF object with one struct iommu_policy_ops, opened, named, loaded, its
 * table filled; and why the kernel would refuse it.
 */
#ifndef IOMMUCTL_POLICY_OBJ_H
#define IOMMUCTL_POLICY_OBJ_H

#include <bpf/libbpf.h>
#include <linux/iommu_policy.h>
#include "policy_checks.h"
#include "policy_rules.h"

struct policy_obj {
	struct table_bpf *table;	/* the built-in table policy */
	struct bpf_object *obj;
	struct bpf_map *map;		/* its struct iommu_policy_ops */
	const char *path;		/* the object file; NULL: the table policy */
	char name[IOMMU_POLICY_NAME_LEN];
};

/* Open the object at path (NULL: the table policy); name it if name. */
int policy_obj_open(struct policy_obj *p, const char *path, const char *name);
/* ... and load it: not attached yet. */
int policy_obj_load(struct policy_obj *p, const char *path, const char *name);
void policy_obj_free(struct policy_obj *p);
/* The table policy's rules, before it is attached. */
int policy_obj_fill_table(struct policy_obj *p, const struct policy_rules *rs);
/* p_err() saying which of the kernel's checks an EINVAL comes from. */
int policy_obj_report_einval(const struct policy_obj *p);
/* last_exit_* and nr_errors now, to tell an init() failure apart later */
void policy_exit_snap_read(struct policy_exit_snap *s);

#endif

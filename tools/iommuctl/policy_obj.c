// SPDX-License-Identifier: GPL-2.0
/* A policy object before it is attached: see policy_obj.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bpf_log.h"
#include "output.h"
#include "policy_checks.h"
#include "policy_names.h"
#include "policy_obj.h"
#include "policy_sysfs.h"
#include "policy_table.skel.h"

/* policy_view() reads the callbacks from libbpf's shadow struct_ops type */
#if LIBBPF_MAJOR_VERSION < 1 || (LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION < 4)
#error "iommuctl needs libbpf 1.4 or later"
#endif
/* BPF_F_LINK of <linux/bpf.h> 6.4+; the system's header may be older */
#define MAP_F_LINK	(1U << 13)

/* The iommu_policy_ops type of a struct_ops map, or NULL */
static const struct btf_type *policy_type(struct bpf_object *obj, struct bpf_map *map)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t;
	int id;

	if (!btf || bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
		return NULL;
	id = btf__resolve_type(btf, bpf_map__btf_value_type_id(map));
	t = id < 0 ? NULL : btf__type_by_id(btf, id);
	if (!t || !btf_is_struct(t) ||
	    strcmp(btf__name_by_offset(btf, t->name_off), "iommu_policy_ops"))
		return NULL;
	return t;
}

/* The policy's name member in the map's initial value; set it if name */
static int policy_name(struct policy_obj *p, const char *name)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	const struct btf_type *t = policy_type(p->obj, p->map);
	const struct btf_member *m = btf_members(t);
	size_t size;
	char *data = bpf_map__initial_value(p->map, &size);

	for (int i = 0; data && i < btf_vlen(t); i++, m++) {
		size_t off = btf_member_bit_offset(t, i) / 8;

		if (strcmp(btf__name_by_offset(btf, m->name_off), "name") ||
		    off + IOMMU_POLICY_NAME_LEN > size)
			continue;
		if (name) {
			memset(data + off, 0, IOMMU_POLICY_NAME_LEN);
			memcpy(data + off, name, strnlen(name, IOMMU_POLICY_NAME_LEN));
		}
		snprintf(p->name, sizeof(p->name), "%.*s", IOMMU_POLICY_NAME_LEN - 1,
			 data + off);
		return 0;
	}
	return p_usage("the struct iommu_policy_ops of %s has no name",
		       p->path ? p->path : "the table policy");
}

/* An integer member of a policy (flags: a __u64); 0 for an odd size */
static __u64 member_uint(const char *p, size_t size)
{
	__u64 v8;
	__u32 v4;
	__u16 v2;

	switch (size) {
	case 1:
		return (__u8)*p;
	case 2:
		memcpy(&v2, p, 2);
		return v2;
	case 4:
		memcpy(&v4, p, 4);
		return v4;
	case 8:
		memcpy(&v8, p, 8);
		return v8;
	}
	return 0;
}

/*
 * What the kernel checks of the policy when libbpf writes it to its map
 * (iommu_policy_init_member(), iommu_policy_validate_ops()), as libbpf will
 * write it: the map's initial value.  Name and flags are the bytes libbpf
 * sends.  For the callbacks, libbpf (1.4+) keeps its "shadow type" there: in
 * each function pointer member, the struct bpf_program whose fd it sends for
 * that member, set from the object's .struct_ops relocations (or by whoever
 * opened the object), NULL for none.  That is the one public view of which
 * member a program fills: the programs alone do not say it, and libbpf's
 * struct_ops state (st_ops->progs) is private.
 */
static void policy_view(const struct policy_obj *p, struct policy_ops_view *v)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	const struct btf_type *t = policy_type(p->obj, p->map);
	const char *data = bpf_map__initial_value(p->map, NULL);
	const struct btf_member *m;

	memset(v, 0, sizeof(*v));
	if (!t || !data)
		return;
	m = btf_members(t);
	/* t->size, not the map's value size: after the load, that is the kernel's */
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		const struct btf_type *mt = btf__type_by_id(btf, m->type);
		long long rsize = btf__resolve_size(btf, m->type);
		size_t off = btf_member_bit_offset(t, i) / 8, size = rsize > 0 ? rsize : 0;

		if (!mname || !size || off + size > t->size)
			continue;
		if (!strcmp(mname, "name") && size == IOMMU_POLICY_NAME_LEN) {
			v->name = data + off;
			continue;
		}
		if (!strcmp(mname, "flags")) {
			v->flags = member_uint(data + off, size);
			continue;
		}
		while (mt && (btf_is_mod(mt) || btf_is_typedef(mt)))
			mt = btf__type_by_id(btf, mt->type);
		if (!mt || !btf_is_ptr(mt) || size != sizeof(void *))
			continue;
		for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++) {
			void *prog;

			if (strcmp(mname, policy_hook_name(h)))
				continue;
			memcpy(&prog, data + off, sizeof(prog));
			if (prog)
				v->callbacks |= 1U << h;
		}
	}
}

static int open_object(struct policy_obj *p, const char *path)
{
	struct bpf_map *m, *found = NULL;
	char err[128];
	int n = 0;

	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj) {
		libbpf_strerror(-errno, err, sizeof(err));
		return p_usage("cannot open the BPF object %s: %s", path, err);
	}
	bpf_object__for_each_map(m, p->obj) {
		if (policy_type(p->obj, m)) {
			found = m;
			n++;
		} else if (bpf_map__type(m) == BPF_MAP_TYPE_STRUCT_OPS) {
			/* Some other struct_ops: not ours to register */
			bpf_map__set_autocreate(m, false);
		}
	}
	if (n != 1)
		return p_usage("%s has %d struct iommu_policy_ops maps (expected exactly one, "
			       "declared SEC(\".struct_ops.link\"))", path, n);
	p->map = found;
	/*
	 * The kernel attaches a policy only through a link (EOPNOTSUPP
	 * otherwise): make a map from SEC(".struct_ops") a link map too.
	 */
	bpf_map__set_map_flags(found, bpf_map__map_flags(found) | MAP_F_LINK);
	return 0;
}

int policy_obj_open(struct policy_obj *p, const char *path, const char *name)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->path = path;
	if (!path) {
		p->table = table_bpf__open();
		if (!p->table)
			return p_err("opening the table policy failed: %s", strerror(errno));
		p->obj = p->table->obj;
		p->map = p->table->maps.table;
	} else {
		err = open_object(p, path);
		if (err)
			return err;
	}
	return policy_name(p, name);
}

int policy_obj_load(struct policy_obj *p, const char *path, const char *name)
{
	int err;

	err = policy_obj_open(p, path, name);
	if (err)
		return err;
	err = p->table ? table_bpf__load(p->table) : bpf_object__load(p->obj);
	if (err)
		return bpf_log_load_error("policy", err);
	return 0;
}

void policy_obj_free(struct policy_obj *p)
{
	if (p->table)
		table_bpf__destroy(p->table);
	else
		bpf_object__close(p->obj);
}

int policy_obj_fill_table(struct policy_obj *p, const struct policy_rules *rs)
{
	struct policy_table_hook hooks[POLICY_TABLE_NR_HOOKS];
	struct policy_table_rule *t = calloc(rs->n ? rs->n : 1, sizeof(*t));
	struct table_bpf *skel = p->table;
	int err = 0;

	if (!t)
		return p_err("out of memory");
	/* Rules first: a hook's range points at nothing not yet stored */
	policy_rules_table(rs, t, hooks);
	for (__u32 i = 0; i < rs->n && !err; i++)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.rules), &i, &t[i], BPF_ANY);
	for (__u32 h = 0; h < POLICY_TABLE_NR_HOOKS && !err; h++)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.hooks), &h, &hooks[h], BPF_ANY);
	free(t);
	if (err)
		return p_err("storing the rules: %s", strerror(errno));
	return 0;
}

/*
 * What last_exit_* and nr_errors said before an attach, to tell an init()
 * failure apart: a failed attach records it as the last exit, a failed
 * replacement only counts it in nr_errors.
 */
void policy_exit_snap_read(struct policy_exit_snap *s)
{
	policy_attr("last_exit_kind", s->kind, sizeof(s->kind));
	policy_attr("last_exit_msg", s->msg, sizeof(s->msg));
	s->nr_errors = policy_attr_ll("nr_errors");
}

/*
 * EINVAL: the kernel refused the policy when libbpf wrote it to its map.
 * Say which of its checks fails, naming the value it refused.
 */
int policy_obj_report_einval(const struct policy_obj *p)
{
	struct policy_ops_view v;
	char why[512], last[400];

	policy_view(p, &v);
	if (!policy_ops_invalid(&v, why, sizeof(why))) {
		policy_last_exit_str(last, sizeof(last));
		return p_err("the kernel refused policy '%s' with EINVAL (%s), though its name, "
			     "flags and decision callbacks are valid (last exit: %s)", p->name,
			     strerror(EINVAL), last);
	}
	if (v.name && policy_name_valid(v.name, IOMMU_POLICY_NAME_LEN, NULL, 0))
		return p_err("the kernel refused policy '%s' (%s): %s", p->name,
			     strerror(EINVAL), why);
	/* Its name is what is wrong: name it by where it comes from */
	return p_err("the kernel refused %s%s (%s): %s",
		     p->path ? "the policy in " : "the table policy", p->path ? p->path : "",
		     strerror(EINVAL), why);
}

// SPDX-License-Identifier: GPL-2.0
/* debugfs iommu_policy/verdicts: see verdicts.h */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>
#include "devfacts.h"
#include "output.h"
#include "policy_names.h"
#include "sysfs.h"
#include "verdicts.h"

static int reason_by_name(const char *name)
{
	for (int r = 0; r < IOMMU_POLICY_REASON_MAX; r++)
		if (policy_reason_name(r) && !strcmp(policy_reason_name(r), name))
			return r;
	return -1;
}

int policy_records_parse(FILE *f, struct policy_records *l)
{
	char line[512], hook[32], by[16], reason[32];
	int added = 0;

	while (fgets(line, sizeof(line), f)) {
		struct policy_record r = {};

		/* flags= came later: a kernel without it still parses */
		if (sscanf(line, "%127s %31s %15s proposed=%d verdict=%d applied=%d "
			   "reason=%31s seq=%llu flags=%x", r.dev, hook, by, &r.proposed,
			   &r.verdict, &r.applied, reason, &r.seq, &r.flags) < 8)
			continue;
		r.hook = policy_hook_by_name(hook);
		r.reason = reason_by_name(reason);
		r.by_policy = !strcmp(by, "policy");
		if (r.hook < 0 || r.reason < 0)
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			struct policy_record *p = realloc(l->r, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			l->r = p;
			l->cap = cap;
		}
		l->r[l->n++] = r;
		added++;
	}
	return added;
}

int policy_records_read(struct policy_records *l)
{
	FILE *f = debugfs_open(POLICY_DEBUGFS_VERDICTS);
	int ret;

	if (!f)
		return -errno;
	ret = policy_records_parse(f, l);
	fclose(f);
	return ret < 0 ? ret : 0;
}

const struct policy_record *policy_records_find(const struct policy_records *l,
						const char *dev, int hook)
{
	const struct policy_record *found = NULL;

	for (size_t i = 0; i < l->n; i++)
		if (l->r[i].hook == hook && !strcmp(l->r[i].dev, dev))
			found = &l->r[i];
	return found;
}

void policy_records_free(struct policy_records *l)
{
	free(l->r);
	memset(l, 0, sizeof(*l));
}

int policy_records_error(int err, const char *what)
{
	const char *path = POLICY_DEBUGFS_VERDICTS;

	if (err == EACCES || err == EPERM || geteuid() != 0)
		return p_err("cannot read %s%s: %s: %s needs root (run it with sudo)",
			     sysfs_root, path, strerror(err), what);
	return p_err("cannot read %s%s: %s: %s needs debugfs (mount -t debugfs none "
		     "/sys/kernel/debug)", sysfs_root, path, strerror(err), what);
}

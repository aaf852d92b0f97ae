// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs iommu_policy/devices: what a BPF IOMMU policy is told about each
 * device (format: tools/iommuctl/devfacts.h), and opening the policy's
 * debugfs files.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <linux/iommu_policy.h>
#include "devfacts.h"
#include "sysfs.h"


FILE *debugfs_open(const char *path)
{
	char full[PATH_MAX];
	struct statfs st;
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", sysfs_root, path);
	f = fopen(full, "r");
	if (!f && errno == ENOENT && !sysfs_root[0] && geteuid() == 0) {
		/* debugfs not mounted yet?  (If it is, the kernel lacks the file.) */
		if (statfs("/sys/kernel/debug", &st) || st.f_type != DEBUGFS_MAGIC) {
			mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
			f = fopen(full, "r");
		} else {
			errno = ENOENT;
		}
	}
	return f;
}

/* An unsigned number of base 10 or 16 (optional 0x) and nothing else */
static bool parse_uint(const char *s, int base, unsigned int *val)
{
	unsigned long v;
	char *end;

	if (!isxdigit((unsigned char)s[0]) || (base == 10 && !isdigit((unsigned char)s[0])))
		return false;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > UINT_MAX)
		return false;
	*val = v;
	return true;
}

static bool parse_bool(const char *s, bool *val)
{
	if (strcmp(s, "0") && strcmp(s, "1"))
		return false;
	*val = s[0] == '1';
	return true;
}

/* The facts of a line, each once: bools are 0 or 1, numbers unsigned ints
 * in base 16 (optional 0x) or 10 */
static const struct {
	const char *key;
	size_t off;
	int base;		/* 0: a bool */
} fact_keys[] = {
	{ "untrusted", offsetof(struct dev_facts, untrusted), 0 },
	{ "fw_flags", offsetof(struct dev_facts, fw_flags), 16 },
	{ "coherent", offsetof(struct dev_facts, coherent), 0 },
	{ "resv_direct", offsetof(struct dev_facts, resv_direct), 10 },
	{ "max_pasids", offsetof(struct dev_facts, max_pasids), 10 },
};
#define NR_FACTS (sizeof(fact_keys) / sizeof(fact_keys[0]))

/* One line into d; false if it is not a well-formed devices line */
static bool parse_line(char *line, struct dev_facts *d)
{
	unsigned int seen = 0;
	char *save, *w, *name = strtok_r(line, " \t\n", &save);

	if (!name || strlen(name) >= sizeof(d->name) || strchr(name, '='))
		return false;
	memset(d, 0, sizeof(*d));
	strcpy(d->name, name);
	while ((w = strtok_r(NULL, " \t\n", &save))) {
		char *val = strchr(w, '=');
		size_t k;
		void *at;

		if (!val || val == w)
			return false;
		*val++ = '\0';
		for (k = 0; k < NR_FACTS && strcmp(w, fact_keys[k].key); k++)
			;
		if (k == NR_FACTS)
			continue;	/* a fact this iommuctl does not know */
		if (seen & 1U << k)
			return false;
		seen |= 1U << k;
		at = (char *)d + fact_keys[k].off;
		if (fact_keys[k].base ? !parse_uint(val, fact_keys[k].base, at) :
		    !parse_bool(val, at))
			return false;
	}
	return seen == (1U << NR_FACTS) - 1;
}

int dev_facts_parse(FILE *f, struct dev_facts_list *l)
{
	char *line = NULL;
	size_t len = 0;
	int added = 0;

	while (getline(&line, &len, f) >= 0) {
		struct dev_facts d;

		if (!parse_line(line, &d))
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 32;
			struct dev_facts *p = realloc(l->d, cap * sizeof(*p));

			if (!p) {
				free(line);
				return -ENOMEM;
			}
			l->d = p;
			l->cap = cap;
		}
		l->d[l->n++] = d;
		added++;
	}
	free(line);
	return added;
}

int dev_facts_read(struct dev_facts_list *l)
{
	FILE *f = debugfs_open(POLICY_DEBUGFS_DEVICES);
	int ret;

	if (!f)
		return -errno;
	ret = dev_facts_parse(f, l);
	fclose(f);
	return ret < 0 ? ret : 0;
}

const struct dev_facts *dev_facts_find(const struct dev_facts_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->d[i].name, name))
			return &l->d[i];
	return NULL;
}

void dev_facts_free(struct dev_facts_list *l)
{
	free(l->d);
	memset(l, 0, sizeof(*l));
}

static const char *fw_flag_name(unsigned int flag)
{
	switch (flag) {
	case IOMMU_POLICY_FW_UNTRUSTED:
		return "untrusted";
	case IOMMU_POLICY_FW_REMOVABLE:
		return "removable";
	case IOMMU_POLICY_FW_EXTERNAL_FACING:
		return "external_facing";
	case IOMMU_POLICY_FW_PCI:
		return "pci";
	}
	return NULL;
}

const char *fw_flag_str(unsigned int flag, char *buf, size_t len)
{
	const char *name = fw_flag_name(flag);

	if (name)
		return name;
	snprintf(buf, len, "%#x", flag);
	return buf;
}

void fw_flags_str(unsigned int flags, char *buf, size_t len)
{
	size_t at = 0;

	snprintf(buf, len, "none");
	for (unsigned int bit = 0; bit < 32 && at < len; bit++) {
		char hex[16];

		if (flags & 1U << bit)
			at += snprintf(buf + at, len - at, "%s%s", at ? "|" : "",
				       fw_flag_str(1U << bit, hex, sizeof(hex)));
	}
}

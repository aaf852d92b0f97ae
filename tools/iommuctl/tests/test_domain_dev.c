// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of which device trace flush, top and metrics show a domain's
 * flushes under: flush.bpf.c's learn_dev() (bpf/trace/domain_dev.h),
 * compiled here over mock maps and helpers, on two mock CPUs.  The domain
 * must name the device last seen unmapping in it, whichever CPU saw it, and
 * a run of unmaps by one device must not touch the shared hash.
 */
#include <stdio.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/types.h>

#define TAP_SUITE "domain_dev"
/* Checks made: the runner fails the test if fewer are printed */
#define TAP_PLAN 8
#include "tap.h"

/* What the BPF program's headers give it, as libbpf defines them (glibc
 * has __always_inline) */
#define SEC(name)
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define BPF_CORE_READ(p, field) ((p)->field)

struct device {
	struct {
		const char *name;
	} kobj;
};

#define NR_CPUS 2
static int cpu;			/* the CPU the program runs on */
static int hash_lookups, hash_updates;

static void *bpf_map_lookup_elem(void *map, const void *key);
static long bpf_map_update_elem(void *map, const void *key, const void *val, __u64 flags);
static long bpf_probe_read_kernel_str(void *dst, __u32 size, const void *src)
{
	snprintf(dst, size, "%s", (const char *)src);
	return strlen(dst) + 1;
}

#include "domain_dev.h"

static struct domain_dev_seen seen[NR_CPUS];
static struct {
	__u32 key;
	struct domain_dev val;
} hash[8];
static int nhash;

static void *bpf_map_lookup_elem(void *map, const void *key)
{
	if (map == (void *)&last_seen)
		return &seen[cpu];
	hash_lookups++;
	for (int i = 0; i < nhash; i++)
		if (hash[i].key == *(const __u32 *)key)
			return &hash[i].val;
	return NULL;
}

static long bpf_map_update_elem(void *map, const void *key, const void *val, __u64 flags)
{
	struct domain_dev *d = bpf_map_lookup_elem(map, key);

	hash_lookups--;		/* the program's own lookups are the ones counted */
	hash_updates++;
	if (!d && flags == BPF_EXIST)
		return -1;
	if (d && flags == BPF_NOEXIST)
		return -1;
	if (!d) {
		if (nhash == (int)(sizeof(hash) / sizeof(hash[0])))
			return -1;
		hash[nhash].key = *(const __u32 *)key;
		d = &hash[nhash++].val;
	}
	*d = *(const struct domain_dev *)val;
	return 0;
}

static void reset(void)
{
	memset(seen, 0, sizeof(seen));
	nhash = hash_lookups = hash_updates = 0;
	domain_devs_gen = 0;
}

/* An unmap by dev in domain, on CPU c */
static void unmap(int c, __u32 domain, struct device *dev)
{
	cpu = c;
	learn_dev(domain, dev);
}

static const char *name_of(__u32 domain)
{
	for (int i = 0; i < nhash; i++)
		if (hash[i].key == domain)
			return hash[i].val.dev;
	return "(none)";
}

static char detail[256];

static int named(__u32 domain, const char *want)
{
	snprintf(detail, sizeof(detail), "domain %u names %s, want %s", domain,
		 name_of(domain), want);
	return !strcmp(name_of(domain), want);
}

int main(void)
{
	struct device a = { { "0000:00:03.0" } }, b = { { "0000:00:03.1" } };
	struct device c = { { "0000:00:04.0" } };
	struct device lng = { { "soc@0:bus@30800000:mmc@30b40000x" } };

	reset();
	unmap(0, 5, &a);
	unmap(0, 5, &b);
	t("a domain names the device last seen on it, not the first", named(5, "0000:00:03.1"),
	  detail);

	reset();
	unmap(0, 5, &a);
	unmap(1, 5, &b);
	unmap(0, 5, &a);
	t("the last seen across CPUs: a CPU that saw the device before sees the change",
	  named(5, "0000:00:03.0"), detail);
	unmap(1, 5, &b);
	t("and back on the other CPU", named(5, "0000:00:03.1"), detail);

	reset();
	unmap(0, 5, &a);
	unmap(0, 6, &c);
	unmap(1, 5, &a);
	t("each domain keeps its own device", named(5, "0000:00:03.0") && named(6, "0000:00:04.0"),
	  detail);

	reset();
	unmap(0, 5, &a);
	hash_lookups = hash_updates = 0;
	for (int i = 0; i < 1000; i++)
		unmap(0, 5, &a);
	snprintf(detail, sizeof(detail), "%d lookups, %d updates of the shared hash",
		 hash_lookups, hash_updates);
	t("a run of unmaps by one device on one CPU skips the shared hash",
	  hash_lookups == 0 && hash_updates == 0, detail);

	reset();
	unmap(0, 5, &a);
	unmap(1, 5, &a);
	hash_updates = 0;
	unmap(0, 5, &a);
	unmap(1, 5, &a);
	snprintf(detail, sizeof(detail), "%d updates", hash_updates);
	t("the same device seen again writes nothing", hash_updates == 0, detail);

	reset();
	unmap(1, 5, &a);
	for (__u32 dom = 100; dom < 107; dom++)	/* the mock hash is full: 8 */
		unmap(0, dom, &c);
	unmap(1, 5, &a);	/* CPU 1 checks its cache again: fresh now */
	hash_lookups = hash_updates = 0;
	for (__u32 dom = 200; dom < 210; dom++)	/* domains the map has no room for */
		unmap(0, dom, &c);
	unmap(1, 5, &a);
	snprintf(detail, sizeof(detail), "gen %llu, %d lookups on CPU 1's run",
		 (unsigned long long)domain_devs_gen, hash_lookups - 10);
	t("a domain the full map cannot take leaves every CPU's cache fresh",
	  domain_devs_gen == 8 && hash_lookups == 10, detail);

	reset();
	unmap(0, 7, &lng);
	t("a long name is kept to its first 31 characters",
	  named(7, "soc@0:bus@30800000:mmc@30b40000"), detail);
	return failed ? 1 : 0;
}

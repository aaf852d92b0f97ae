// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the table policy's rules parser: a good file gives the
 * expected table; each kind of malformed line gives its exact message and
 * nothing else.  Prints one "ok - / not ok - " line per check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy_checks.h"
#include "policy_names.h"
#include "policy_rules.h"

#define TAP_SUITE "rules"
/* Checks made: the runner fails the test if fewer are printed */
#define TAP_PLAN 139
#include "tap.h"

static int parse(const char *text, struct policy_rules *rs, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f) {
		perror("fmemopen");
		exit(1);
	}
	ret = policy_rules_parse(f, "rules", rs, err, errlen);
	fclose(f);
	return ret;
}

/* A table compiled from rules, as iommuctl stores it in the maps */
struct table {
	struct policy_table_rule t[POLICY_TABLE_MAX_RULES];
	struct policy_table_hook hooks[POLICY_TABLE_NR_HOOKS];
};

static struct table *compile(const struct policy_rules *rs)
{
	static struct table tb;

	memset(&tb, 0, sizeof(tb));
	policy_rules_table(rs, tb.t, tb.hooks);
	return &tb;
}

/* A device as the kernel's kfuncs describe it */
static struct policy_table_facts dev(const char *name)
{
	struct policy_table_facts f = { .have = POLICY_FACT_NAME | POLICY_FACT_RESV |
					POLICY_FACT_IOMMU };

	snprintf(f.name, sizeof(f.name), "%s", name);
	snprintf(f.iommu, sizeof(f.iommu), "iommu-policy-mock");
	return f;
}

static struct policy_table_facts pci(const char *name, __u32 ids, __u32 class)
{
	struct policy_table_facts f = dev(name);
	unsigned int seg, bus, d, fn;

	f.have |= POLICY_FACT_PCI;
	f.ids = ids;
	f.class = class;
	f.fw = IOMMU_POLICY_FW_PCI;
	if (sscanf(name, "%x:%x:%x.%x", &seg, &bus, &d, &fn) == 4)
		f.bdf = seg << 16 | bus << 8 | d << 3 | fn;
	memset(f.iommu, 0, sizeof(f.iommu));	/* NUL padded, as the kfunc's is */
	snprintf(f.iommu, sizeof(f.iommu), "dmar0");
	return f;
}

/* The verdict of hook for f, and the line that decided it (0: none) */
static int decide(const struct table *tb, int hook, const struct policy_table_facts *f,
		  int *line)
{
	const struct policy_table_rule *r = policy_table_decide(tb->t, tb->hooks, hook, f);

	*line = r ? (int)r->line : 0;
	return r ? r->verdict : 0;
}

/* "name: want VERDICT from line N" */
static void decides(const char *what, const struct table *tb, int hook,
		    const struct policy_table_facts *f, int want, int want_line)
{
	char name[256], detail[256];
	int line, v = decide(tb, hook, f, &line);

	snprintf(name, sizeof(name), "decides %s", what);
	snprintf(detail, sizeof(detail), "%s %s: got %s (line %d), want %s (line %d)", f->name,
		 policy_hook_name(hook), policy_verdict_name(hook, v), line,
		 policy_verdict_name(hook, want), want_line);
	t(name, v == want && line == want_line, detail);
}

static char *print(const struct policy_rules *rs)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);

	policy_rules_print(rs, f);
	fclose(f);
	return out;
}

/* Printed back (policy load -c), rs parses to the same table */
static bool round_trips(const struct policy_rules *rs, char *detail, size_t len)
{
	struct policy_rules again;
	char *out = print(rs), err[512];
	bool ok = !parse(out, &again, err, sizeof(err)) && policy_rules_same_table(rs, &again);

	snprintf(detail, len, "%s\n# %s", out, err);
	policy_rules_free(&again);
	free(out);
	return ok;
}

static void good_file(void)
{
	static const char text[] =
		"# a comment line\n"
		"\n"
		"*            dma_owner  deny      # comments end lines too\n"
		"dev=m1       dma_mode   strict\n"
		"dev=m1       trust      untrusted\n"
		"\tpci=8086:1A2b  pasid  iova\n"
		"pci=1234:*   resv_direct relax\n"
		"dev=0000:00:03.0 dev_trust trusted\n"
		"dev=m2 pasid_attach phys\n"
		"dev=m3 dma_mode default\n";
	static const char table[] =
		"dev=m1 dma_mode strict\n"
		"dev=m1 trust untrusted\n"
		"dev=0000:00:03.0 trust trusted\n"
		"dev=m2 pasid phys\n"
		"dev=m3 dma_mode default\n"
		"pci=8086:1a2b pasid iova\n"
		"pci=1234:* resv_direct relax\n"
		"* dma_owner deny\n";
	struct policy_table_facts m1 = dev("m1"), m3 = dev("m3"), p = pci("0000:00:04.0",
		0x80861a2b, 0x020000), v = pci("0000:00:05.0", 0x12340001, 0x010802);
	char err[256], detail[2048], *out;
	struct policy_rules rs;
	struct table *tb;

	t("good file parses", !parse(text, &rs, err, sizeof(err)), err);
	t("good file: 8 rule lines", rs.lines == 8 && rs.n == 8, NULL);
	tb = compile(&rs);
	decides("dev=m1 dma_mode strict", tb, IOMMU_POLICY_HOOK_DMA_MODE, &m1,
		IOMMU_POLICY_DMA_STRICT, 4);
	decides("dev=m1 trust untrusted, a line of its own", tb, IOMMU_POLICY_HOOK_DEV_TRUST,
		&m1, IOMMU_POLICY_TRUST_UNTRUSTED, 5);
	decides("the wildcard for m1's dma_owner", tb, IOMMU_POLICY_HOOK_DMA_OWNER, &m1,
		IOMMU_POLICY_OWNER_DENY, 3);
	decides("nothing for m1's pasid", tb, IOMMU_POLICY_HOOK_PASID_ATTACH, &m1, 0, 0);
	decides("an explicit default is a rule", tb, IOMMU_POLICY_HOOK_DMA_MODE, &m3,
		IOMMU_POLICY_DMA_DEFAULT, 10);
	decides("pci=8086:1A2b (hex in any case)", tb, IOMMU_POLICY_HOOK_PASID_ATTACH, &p,
		IOMMU_POLICY_PASID_IOVA, 6);
	decides("pci=1234:* for 1234:0001", tb, IOMMU_POLICY_HOOK_RESV_DIRECT, &v,
		IOMMU_POLICY_RESV_RELAX, 7);
	decides("pci=1234:* not for 8086:1a2b", tb, IOMMU_POLICY_HOOK_RESV_DIRECT, &p, 0, 0);
	m1 = dev("0000:00:03.0");
	decides("kernel hook names are accepted (dev_trust)", tb, IOMMU_POLICY_HOOK_DEV_TRUST,
		&m1, IOMMU_POLICY_TRUST_TRUSTED, 8);
	m1 = dev("m2");
	decides("kernel hook names are accepted (pasid_attach)", tb,
		IOMMU_POLICY_HOOK_PASID_ATTACH, &m1, IOMMU_POLICY_PASID_PHYS, 9);
	t("the table's hooks: 2 trust, 2 dma_mode, 1 resv_direct, 2 pasid, 1 dma_owner",
	  tb->hooks[0].count == 2 && tb->hooks[1].count == 2 && tb->hooks[2].count == 1 &&
	  tb->hooks[3].count == 2 && tb->hooks[4].count == 1 && tb->hooks[4].first == 7, NULL);

	out = print(&rs);
	t("the table prints in lookup order", !strcmp(out, table), out);
	free(out);
	t("the table prints back to itself", round_trips(&rs, detail, sizeof(detail)), detail);
	policy_rules_free(&rs);

	t("an empty file is an empty table", !parse("# nothing\n\n", &rs, err, sizeof(err)) &&
	  rs.n == 0 && rs.lines == 0, err);
	policy_rules_free(&rs);
}

/*
 * Old files keep their meaning: random files in the first syntax (dev=,
 * pci=VVVV:DDDD, pci=VVVV:*, *) decide every device as the first table
 * policy did: per hook, dev= before pci=VVVV:DDDD before pci=VVVV:* before
 * *, the only rule of that match for the hook.
 */
struct old_rule {
	int kind;		/* 0 dev, 1 pci, 2 vendor, 3 any */
	int name;		/* dev: m<name>; pci: the id's index */
	int hook, verdict;
};

static const __u32 old_ids[] = { 0x80861533, 0x80861534, 0x10de2204, 0x1af41041 };

static int old_decide(const struct old_rule *rules, int n, int hook, int dev, int id)
{
	for (int kind = 0; kind < 4; kind++)
		for (int i = 0; i < n; i++) {
			const struct old_rule *r = &rules[i];
			bool hit = r->kind == kind && r->hook == hook &&
				   (kind == 0 ? r->name == dev :
				    kind == 1 ? id >= 0 && old_ids[r->name] == old_ids[id] :
				    kind == 2 ? id >= 0 && old_ids[r->name] >> 16 == old_ids[id] >> 16 :
				    true);

			if (hit)
				return r->verdict;
		}
	return 0;
}

static void old_files(void)
{
	static const int nverdicts[] = { IOMMU_POLICY_TRUST_MAX, IOMMU_POLICY_DMA_MAX,
		IOMMU_POLICY_RESV_MAX, IOMMU_POLICY_PASID_MAX, IOMMU_POLICY_OWNER_MAX };
	int files = 0, checks = 0, bad = 0;
	char detail[4096] = "";

	srand(9);
	for (files = 0; files < 2000; files++) {
		struct old_rule rules[40];
		struct policy_rules rs;
		char *text = NULL, err[256];
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		int n = 0, want = 1 + rand() % 30;
		struct table *tb;

		while (n < want) {
			struct old_rule r = { rand() % 4, rand() % 4, rand() % 5 };
			bool dup = false;

			r.verdict = rand() % nverdicts[r.hook];
			for (int i = 0; i < n; i++)
				dup |= rules[i].kind == r.kind && rules[i].hook == r.hook &&
				       (r.kind == 3 || (r.kind == 2 ? old_ids[rules[i].name] >> 16 ==
							old_ids[r.name] >> 16 :
							rules[i].name == r.name));
			if (dup)
				continue;
			rules[n++] = r;
			if (r.kind == 0)
				fprintf(f, "dev=m%d", r.name);
			else if (r.kind == 1)
				fprintf(f, "pci=%04x:%04x", old_ids[r.name] >> 16,
					old_ids[r.name] & 0xffff);
			else if (r.kind == 2)
				fprintf(f, "pci=%04x:*", old_ids[r.name] >> 16);
			else
				fprintf(f, "*");
			fprintf(f, " %s %s\n", policy_rule_hook_name(r.hook),
				policy_verdict_name(r.hook, r.verdict));
		}
		fclose(f);
		if (parse(text, &rs, err, sizeof(err))) {
			snprintf(detail, sizeof(detail), "%s\n# %s", text, err);
			bad++;
			free(text);
			break;
		}
		tb = compile(&rs);
		/* Devices m0..m4 (m4: no rule names it), PCI with each id or not */
		for (int d = 0; d < 5; d++)
			for (int id = -1; id < 4; id++)
				for (int h = 0; h < 5; h++) {
					char name[8];
					struct policy_table_facts fa;
					int line, got, exp = old_decide(rules, n, h, d, id);

					snprintf(name, sizeof(name), "m%d", d);
					fa = id < 0 ? dev(name) : pci(name, old_ids[id], 0);
					got = decide(tb, h, &fa, &line);
					checks++;
					if (got != exp && !bad++)
						snprintf(detail, sizeof(detail), "%s\n# m%d id %d %s: "
							 "got %d, want %d", text, d, id,
							 policy_hook_name(h), got, exp);
				}
		policy_rules_free(&rs);
		free(text);
	}
	t("2000 random files of the old syntax decide 250000 cases as before",
	  !bad && checks == 2000 * 125, detail);
}

static void conditions(void)
{
	static const char text[] =
		"class=0108 dma_mode identity\n"			/* 1 */
		"class=01 fw=!untrusted dma_mode lazy\n"		/* 2 */
		"class=0c0330 dma_mode strict\n"			/* 3 */
		"fw=external_facing trust untrusted\n"			/* 4 */
		"fw=removable,!untrusted trust trusted\n"		/* 5 */
		"resv=direct dma_owner allow\n"				/* 6 */
		"resv=none dma_owner deny\n"				/* 7 */
		"bdf=03:*.* pasid deny\n"				/* 8 */
		"bdf=0001:00-02:1f.0-3 pasid phys\n"			/* 9 */
		"iommu=dmar1 resv_direct keep\n"			/* 10 */
		"owner=device resv=direct dma_owner deny\n"		/* 11 */
		"dev=0000:00:1?.* dma_mode strict\n"			/* 12 */
		"pci=*:1041 trust untrusted\n"				/* 13 */
		"pci=*:* resv_direct relax\n";				/* 14 */
	struct policy_table_facts nvme = pci("0000:03:00.0", 0x144d0000, 0x010802),
		sata = pci("0000:00:1f.2", 0x80862922, 0x010601),
		xhci = pci("0000:00:14.0", 0x80860000, 0x0c0330),
		plat = dev("pm1"), net = pci("0001:02:1f.3", 0x1af41041, 0x020000);
	char err[256], detail[2048];
	struct policy_rules rs;
	struct table *tb;

	t("every kind of condition parses", !parse(text, &rs, err, sizeof(err)) && rs.n == 14,
	  err);
	tb = compile(&rs);
	decides("class=01 fw=!untrusted (2 conditions) before class=0108 (1)", tb, IOMMU_POLICY_HOOK_DMA_MODE, &nvme,
		IOMMU_POLICY_DMA_LAZY, 2);
	nvme.fw |= IOMMU_POLICY_FW_UNTRUSTED;
	decides("fw=!untrusted fails for an untrusted device: class=0108 (class, subclass)", tb,
		IOMMU_POLICY_HOOK_DMA_MODE, &nvme, IOMMU_POLICY_DMA_IDENTITY, 1);
	decides("class=01 fw=!untrusted (2) before the dev= glob 0000:00:1?.* (1)", tb, IOMMU_POLICY_HOOK_DMA_MODE, &sata, IOMMU_POLICY_DMA_LAZY, 2);
	decides("class=0c0330 (class, subclass, prog-if) and a dev= glob: equals, the first",
		tb, IOMMU_POLICY_HOOK_DMA_MODE, &xhci, IOMMU_POLICY_DMA_STRICT, 3);
	decides("a platform device has no class", tb, IOMMU_POLICY_HOOK_DMA_MODE, &plat, 0, 0);
	plat.fw = IOMMU_POLICY_FW_EXTERNAL_FACING | IOMMU_POLICY_FW_REMOVABLE;
	decides("fw=external_facing, the first of two equals", tb, IOMMU_POLICY_HOOK_DEV_TRUST,
		&plat, IOMMU_POLICY_TRUST_UNTRUSTED, 4);
	plat.fw = IOMMU_POLICY_FW_REMOVABLE;
	decides("fw=removable,!untrusted", tb, IOMMU_POLICY_HOOK_DEV_TRUST, &plat,
		IOMMU_POLICY_TRUST_TRUSTED, 5);
	plat.fw = IOMMU_POLICY_FW_REMOVABLE | IOMMU_POLICY_FW_UNTRUSTED;
	decides("fw=removable,!untrusted fails for an untrusted one", tb,
		IOMMU_POLICY_HOOK_DEV_TRUST, &plat, 0, 0);
	plat.resv_direct = 2;
	decides("resv=direct", tb, IOMMU_POLICY_HOOK_DMA_OWNER, &plat, IOMMU_POLICY_OWNER_ALLOW,
		6);
	plat.have |= POLICY_FACT_OWNER;
	plat.owner = IOMMU_POLICY_OWNER_F_DEVICE;
	decides("owner=device resv=direct: an iommufd claim", tb, IOMMU_POLICY_HOOK_DMA_OWNER,
		&plat, IOMMU_POLICY_OWNER_DENY, 11);
	plat.owner = IOMMU_POLICY_OWNER_F_GROUP;
	decides("owner=device does not match a VFIO group claim", tb,
		IOMMU_POLICY_HOOK_DMA_OWNER, &plat, IOMMU_POLICY_OWNER_ALLOW, 6);
	plat.resv_direct = 0;
	decides("resv=none", tb, IOMMU_POLICY_HOOK_DMA_OWNER, &plat, IOMMU_POLICY_OWNER_DENY, 7);
	plat.have &= ~POLICY_FACT_RESV;
	decides("resv= does not match when the fact is unknown", tb,
		IOMMU_POLICY_HOOK_DMA_OWNER, &plat, 0, 0);
	decides("bdf=03:*.* (segment 0000)", tb, IOMMU_POLICY_HOOK_PASID_ATTACH, &nvme,
		IOMMU_POLICY_PASID_DENY, 8);
	decides("bdf=0001:00-02:1f.0-3", tb, IOMMU_POLICY_HOOK_PASID_ATTACH, &net,
		IOMMU_POLICY_PASID_PHYS, 9);
	net.bdf = 0x10000 | 2 << 8 | 0x1f << 3 | 4;
	decides("bdf= range: function 4 is out", tb, IOMMU_POLICY_HOOK_PASID_ATTACH, &net, 0, 0);
	decides("pci=*:1041", tb, IOMMU_POLICY_HOOK_DEV_TRUST, &net,
		IOMMU_POLICY_TRUST_UNTRUSTED, 13);
	decides("pci=*:* matches PCI devices", tb, IOMMU_POLICY_HOOK_RESV_DIRECT, &net,
		IOMMU_POLICY_RESV_RELAX, 14);
	net.iommu[4] = '1';
	decides("iommu=dmar1 (1 condition) and pci=*:* (1): the first", tb,
		IOMMU_POLICY_HOOK_RESV_DIRECT, &net, IOMMU_POLICY_RESV_KEEP, 10);
	net.have &= ~POLICY_FACT_IOMMU;
	decides("iommu= does not match when the fact is unknown", tb,
		IOMMU_POLICY_HOOK_RESV_DIRECT, &net, IOMMU_POLICY_RESV_RELAX, 14);
	plat = dev("pm1");
	decides("pci=*:* does not match a platform device", tb, IOMMU_POLICY_HOOK_RESV_DIRECT,
		&plat, 0, 0);
	t("conditions print back to the same table", round_trips(&rs, detail, sizeof(detail)),
	  detail);
	policy_rules_free(&rs);
}

static void precedence(void)
{
	static const char text[] =
		"*                          dma_mode strict\n"		/* 1: 0 */
		"pci=8086:*                 dma_mode lazy\n"		/* 2: 2 */
		"class=02 fw=!untrusted     dma_mode identity\n"	/* 3: 2 */
		"pci=8086:1533              dma_mode default\n"		/* 4: 4 */
		"pci=8086:* class=02 fw=pci dma_mode strict\n"		/* 5: 4 */
		"pci=8086:* class=02 fw=pci resv=none dma_mode lazy\n"	/* 6: 5 */
		"dev=0000:00:03.0           dma_mode identity\n"	/* 7: 16 */
		"bdf=00:03.0 class=02       dma_mode strict\n";		/* 8: 17 */
	static const char order[] =
		"bdf=0000:00:03.0 class=02 dma_mode strict\n"
		"dev=0000:00:03.0 dma_mode identity\n"
		"pci=8086:* class=02 fw=pci resv=none dma_mode lazy\n"
		"pci=8086:1533 dma_mode default\n"
		"pci=8086:* class=02 fw=pci dma_mode strict\n"
		"pci=8086:* dma_mode lazy\n"
		"class=02 fw=!untrusted dma_mode identity\n"
		"* dma_mode strict\n";
	struct policy_table_facts a = pci("0000:00:03.0", 0x80861533, 0x020000),
		b = pci("0000:00:04.0", 0x80861533, 0x020000),
		c = pci("0000:00:05.0", 0x80861000, 0x030000),
		d = pci("0000:00:06.0", 0x10ec8168, 0x020000),
		e = pci("0000:00:07.0", 0x10ec8168, 0x030000);
	char err[256], *out;
	struct policy_rules rs;
	struct table *tb;

	t("precedence file parses", !parse(text, &rs, err, sizeof(err)), err);
	tb = compile(&rs);
	out = print(&rs);
	t("lookup order: by specificity, equals in file order", !strcmp(out, order), out);
	free(out);
	decides("bdf= of one function with class= (17) beats dev= (16)", tb,
		IOMMU_POLICY_HOOK_DMA_MODE, &a, IOMMU_POLICY_DMA_STRICT, 8);
	a.class = 0x030000;
	decides("dev= (16) beats any rule not naming one device", tb,
		IOMMU_POLICY_HOOK_DMA_MODE, &a, IOMMU_POLICY_DMA_IDENTITY, 7);
	decides("4 conditions (5) beat pci=VVVV:DDDD (4)", tb, IOMMU_POLICY_HOOK_DMA_MODE, &b,
		IOMMU_POLICY_DMA_LAZY, 6);
	b.resv_direct = 1;
	decides("pci=VVVV:DDDD (4) with an explicit default, before an equal later line", tb,
		IOMMU_POLICY_HOOK_DMA_MODE, &b, IOMMU_POLICY_DMA_DEFAULT, 4);
	decides("pci=8086:* (2) beats *", tb, IOMMU_POLICY_HOOK_DMA_MODE, &c,
		IOMMU_POLICY_DMA_LAZY, 2);
	decides("class=02 fw=!untrusted (2)", tb, IOMMU_POLICY_HOOK_DMA_MODE, &d,
		IOMMU_POLICY_DMA_IDENTITY, 3);
	decides("* when nothing else holds", tb, IOMMU_POLICY_HOOK_DMA_MODE, &e,
		IOMMU_POLICY_DMA_STRICT, 1);
	policy_rules_free(&rs);
	t("ties: the first line wins (pci=8086:* before class=02 fw=pci)",
	  !parse("class=02 fw=pci trust untrusted\npci=8086:* trust trusted\n", &rs, err,
		 sizeof(err)) &&
	  decide(compile(&rs), IOMMU_POLICY_HOOK_DEV_TRUST, &c, &(int){0}) ==
	  IOMMU_POLICY_TRUST_TRUSTED &&
	  decide(compile(&rs), IOMMU_POLICY_HOOK_DEV_TRUST, &b, &(int){0}) ==
	  IOMMU_POLICY_TRUST_UNTRUSTED, err);
	policy_rules_free(&rs);
}

static void globs(void)
{
	static const struct {
		const char *pat, *name;
		bool match;
	} cases[] = {
		{ "*", "anything", true },
		{ "*", "", true },
		{ "m?", "m1", true },
		{ "m?", "m12", false },
		{ "0000:00:*", "0000:00:1f.2", true },
		{ "0000:00:*", "0000:01:00.0", false },
		{ "*.0", "0000:03:00.0", true },
		{ "*.0", "0000:03:00.1", false },
		{ "a*b*c", "axxbyyc", true },
		{ "a*b*c", "axxbyyd", false },
		{ "a*b*c", "abcbcbc", true },
		{ "**x", "yx", true },
		{ "x*", "x", true },
		{ "?", "", false },
		{ "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
		{ "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true },
		{ "*?*?*?*?*?*?*?*?*?*?*?*?*?*?*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", true },
		{ "pm1", "pm1", true },
	};
	char name[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "glob '%s' %s '%s'", cases[i].pat,
			 cases[i].match ? "matches" : "does not match", cases[i].name);
		t(name, policy_glob_match(cases[i].pat, cases[i].name) == cases[i].match, NULL);
	}
}

static void bad(const char *what, const char *text, const char *want)
{
	struct policy_rules rs;
	char err[512], name[128], detail[1200];
	int ret = parse(text, &rs, err, sizeof(err));

	snprintf(name, sizeof(name), "rejects %s", what);
	snprintf(detail, sizeof(detail), "got '%s', want '%s'", ret ? err : "(no error)", want);
	t(name, ret == -1 && !strcmp(err, want) && rs.n == 0 && !rs.rules, detail);
	policy_rules_free(&rs);
}

static void bad_files(void)
{
	char long_name[64], text[128], want[256];

	bad("an unknown match", "dev=m1 dma_mode strict\nvendor=8086 dma_mode strict\n",
	    "rules:2: unknown match 'vendor=8086' (expected dev=, pci=, class=, bdf=, fw=, "
	    "resv=, iommu=, owner= or *)");
	bad("an empty device name", "dev= dma_mode strict\n",
	    "rules:1: empty device name (expected dev=NAME, e.g. dev=0000:00:03.0)");
	memset(long_name, 'x', 32);
	long_name[32] = '\0';
	snprintf(text, sizeof(text), "# long\ndev=%s dma_mode strict\n", long_name);
	snprintf(want, sizeof(want), "rules:2: device name '%s' is too long (expected at "
		 "most 31 characters)", long_name);
	bad("a device name too long to match", text, want);
	bad("a short PCI id", "pci=8086:123 dma_mode strict\n",
	    "rules:1: bad PCI id '8086:123' (expected pci=VVVV:DDDD, 4 hex digits each or *, "
	    "e.g. pci=8086:1533 or pci=10de:*)");
	bad("a non-hex PCI id", "pci=80g6:1234 dma_mode strict\n",
	    "rules:1: bad PCI id '80g6:1234' (expected pci=VVVV:DDDD, 4 hex digits each or *, "
	    "e.g. pci=8086:1533 or pci=10de:*)");
	bad("PCI device id ffff", "pci=8086:ffff dma_mode strict\n",
	    "rules:1: bad PCI id '8086:ffff' (expected pci=VVVV:DDDD, 4 hex digits each or *, "
	    "e.g. pci=8086:1533 or pci=10de:*)");
	bad("a missing hook", "dev=m1   # nothing else\n",
	    "rules:1: missing hook after 'dev=m1' (expected trust, dma_mode, resv_direct, "
	    "pasid or dma_owner)");
	bad("an unknown hook", "* dma strict\n",
	    "rules:1: unknown hook 'dma' (expected trust, dma_mode, resv_direct, pasid or "
	    "dma_owner)");
	bad("a missing verdict", "* dma_mode\n",
	    "rules:1: missing verdict after 'dma_mode' (expected default, identity, lazy or "
	    "strict)");
	bad("a verdict of another hook", "* dma_mode trusted\n",
	    "rules:1: 'trusted' is not a dma_mode verdict (expected default, identity, lazy "
	    "or strict)");
	bad("an unknown trust verdict", "* trust maybe\n",
	    "rules:1: 'maybe' is not a trust verdict (expected default, trusted or untrusted)");
	bad("an unknown resv_direct verdict", "* resv_direct drop\n",
	    "rules:1: 'drop' is not a resv_direct verdict (expected default, keep or relax)");
	bad("an unknown pasid verdict", "* pasid_attach any\n",
	    "rules:1: 'any' is not a pasid verdict (expected default, allow, deny, phys or "
	    "iova)");
	bad("an unknown dma_owner verdict", "* dma_owner yes\n",
	    "rules:1: 'yes' is not a dma_owner verdict (expected default, allow or deny)");
	bad("a verdict in capitals (names are case-sensitive)", "* dma_mode Strict\n",
	    "rules:1: 'Strict' is not a dma_mode verdict (expected default, identity, lazy "
	    "or strict)");
	bad("two rules on one line", "dev=m1 dma_mode strict dev=m2 dma_mode lazy\n",
	    "rules:1: unexpected 'dev=m2' after the verdict (expected one rule per line: "
	    "MATCH HOOK VERDICT)");
	bad("a duplicate rule", "dev=m1 dma_mode strict\ndev=m1 trust untrusted\n"
	    "dev=m1 dma_mode lazy\n",
	    "rules:3: dev=m1 dma_mode is already set on line 1 (expected one verdict per "
	    "match and hook)");
	bad("* with a condition", "* class=01 dma_mode strict\n",
	    "rules:1: '*' with other conditions (expected * alone, for every device, or "
	    "conditions without it)");
	bad("a condition twice", "class=01 class=02 dma_mode strict\n",
	    "rules:1: class= given twice (expected each condition at most once per line)");
	bad("a class of 3 digits", "class=010 dma_mode strict\n",
	    "rules:1: bad class '010' (expected class=CC, CCSS or CCSSPP in hex: class, "
	    "subclass, prog-if, e.g. class=0108 for NVMe)");
	bad("an unknown firmware flag", "fw=!thunderbolt dma_mode strict\n",
	    "rules:1: bad firmware flags '!thunderbolt' (expected fw=FLAG or fw=!FLAG, FLAG "
	    "untrusted, removable, external (or external_facing) or pci, several joined by "
	    "',')");
	bad("an empty firmware flag", "fw=untrusted,,pci dma_mode strict\n",
	    "rules:1: bad firmware flags 'untrusted,,pci' (expected fw=FLAG or fw=!FLAG, FLAG "
	    "untrusted, removable, external (or external_facing) or pci, several joined by "
	    "',')");
	bad("a firmware flag twice", "fw=untrusted,!untrusted dma_mode strict\n",
	    "rules:1: fw=untrusted,!untrusted names untrusted twice (expected each flag at "
	    "most once)");
	bad("a bad resv=", "resv=rmrr dma_mode strict\n",
	    "rules:1: bad resv= 'rmrr' (expected resv=direct or resv=none)");
	bad("a device number out of range", "bdf=00:20.0 dma_mode strict\n",
	    "rules:1: bad bdf '00:20.0' (expected bdf=[SSSS:]BB:DD.F in hex, each field a "
	    "number, * or a range LO-HI, e.g. bdf=0000:03:00.0 or bdf=03-05:*.*)");
	bad("a backwards range", "bdf=05-03:*.* dma_mode strict\n",
	    "rules:1: bad bdf '05-03:*.*' (expected bdf=[SSSS:]BB:DD.F in hex, each field a "
	    "number, * or a range LO-HI, e.g. bdf=0000:03:00.0 or bdf=03-05:*.*)");
	bad("a bdf without a function", "bdf=00:03 dma_mode strict\n",
	    "rules:1: bad bdf '00:03' (expected bdf=[SSSS:]BB:DD.F in hex, each field a "
	    "number, * or a range LO-HI, e.g. bdf=0000:03:00.0 or bdf=03-05:*.*)");
	bad("an IOMMU glob", "iommu=dmar* dma_mode strict\n",
	    "rules:1: IOMMU name 'dmar*' is a glob (expected the name of one IOMMU, e.g. "
	    "iommu=dmar0)");
	bad("an empty IOMMU name", "iommu= dma_mode strict\n",
	    "rules:1: empty IOMMU name (expected iommu=NAME, e.g. iommu=dmar0)");
	bad("a bad owner=", "owner=vfio dma_owner deny\n",
	    "rules:1: bad owner= 'vfio' (expected owner=group, a VFIO group claim, or "
	    "owner=device, an iommufd device claim)");
	bad("owner= in another hook", "owner=group dma_mode strict\n",
	    "rules:1: owner= is a fact of dma_owner only (expected it with dma_owner, not "
	    "dma_mode)");
	bad("iommu= in trust", "iommu=dmar0 trust untrusted\n",
	    "rules:1: iommu= is not known yet when trust is decided (expected it with "
	    "dma_mode, resv_direct, pasid or dma_owner)");
	bad("resv= in trust", "resv=direct trust untrusted\n",
	    "rules:1: resv= is not known yet when trust is decided (expected it with "
	    "dma_mode, resv_direct, pasid or dma_owner)");
	bad("a word that is no condition first", "dma_mode strict\n",
	    "rules:1: unknown match 'dma_mode' (expected dev=, pci=, class=, bdf=, fw=, "
	    "resv=, iommu=, owner= or *)");
	bad("a duplicate written otherwise", "fw=!untrusted class=01 trust trusted\n"
	    "class=01 fw=!untrusted trust untrusted\n",
	    "rules:2: class=01 fw=!untrusted trust is already set on line 1 (expected one "
	    "verdict per match and hook)");
	bad("a duplicate bdf= through the default segment", "bdf=00:03.0 pasid deny\n"
	    "bdf=0000:00:03.0 pasid allow\n",
	    "rules:2: bdf=0000:00:03.0 pasid is already set on line 1 (expected one verdict "
	    "per match and hook)");
	bad("a duplicate through a hook alias", "pci=8086:1234 pasid deny\n"
	    "pci=8086:1234 pasid_attach allow\n",
	    "rules:2: pci=8086:1234 pasid is already set on line 1 (expected one verdict per "
	    "match and hook)");
}

static void too_many(void)
{
	size_t len = 0;
	char *text = NULL, want[128];
	FILE *f = open_memstream(&text, &len);
	struct policy_rules rs;
	char err[256];
	int ret;

	for (int i = 0; i <= POLICY_TABLE_MAX_RULES; i++)
		fprintf(f, "dev=d%d dma_mode strict\n", i);
	fclose(f);
	ret = parse(text, &rs, err, sizeof(err));
	snprintf(want, sizeof(want), "rules:%d: too many rules (expected at most %d rule lines)",
		 POLICY_TABLE_MAX_RULES + 1, POLICY_TABLE_MAX_RULES);
	t("rejects more rules than the map holds", ret == -1 && !strcmp(err, want), err);
	policy_rules_free(&rs);
	/* The map's size, each hook's rules in its own range */
	text[len - strlen("dev=d4096 dma_mode strict\n")] = '\0';
	ret = parse(text, &rs, err, sizeof(err));
	t("takes as many rules as the map holds", !ret && rs.n == POLICY_TABLE_MAX_RULES &&
	  compile(&rs)->hooks[IOMMU_POLICY_HOOK_DMA_MODE].count == POLICY_TABLE_MAX_RULES, err);
	policy_rules_free(&rs);
	free(text);
}

static void unreadable(void)
{
	struct policy_rules rs;
	char err[256];
	int ret = policy_rules_read("/nonexistent/rules", &rs, err, sizeof(err));

	t("an unreadable file says so",
	  ret == -1 && !strcmp(err, "/nonexistent/rules: cannot read the rules file: No such "
			       "file or directory"), err);
}

static void names(void)
{
	char buf[256];

	t("hook and verdict names",
	  !strcmp(policy_hook_name(IOMMU_POLICY_HOOK_PASID_ATTACH), "pasid_attach") &&
	  !strcmp(policy_verdict_name(IOMMU_POLICY_HOOK_DMA_MODE, IOMMU_POLICY_DMA_LAZY), "lazy") &&
	  !policy_verdict_name(IOMMU_POLICY_HOOK_DMA_MODE, IOMMU_POLICY_DMA_MAX) &&
	  !strcmp(policy_reason_name(IOMMU_POLICY_REASON_NO_OPTIN), "no_optin"), NULL);
	policy_describe(buf, sizeof(buf), IOMMU_POLICY_HOOK_DMA_MODE, IOMMU_POLICY_DMA_LAZY,
			IOMMU_POLICY_DMA_STRICT, IOMMU_POLICY_DMA_STRICT,
			IOMMU_POLICY_REASON_APPLIED);
	t("describe an applied verdict",
	  !strcmp(buf, "policy said strict, applied strict (applied; the kernel proposed lazy)"),
	  buf);
	policy_describe(buf, sizeof(buf), IOMMU_POLICY_HOOK_DEV_TRUST,
			IOMMU_POLICY_TRUST_UNTRUSTED, IOMMU_POLICY_TRUST_TRUSTED,
			IOMMU_POLICY_TRUST_UNTRUSTED, IOMMU_POLICY_REASON_NO_OPTIN);
	t("describe a clamped verdict",
	  !strcmp(buf, "policy said trusted, clamped to untrusted (no_optin: loosening needs "
		  "iommu_policy.allow_loosen=1 on the kernel command line)"), buf);
	policy_describe(buf, sizeof(buf), IOMMU_POLICY_HOOK_DMA_OWNER, IOMMU_POLICY_OWNER_ALLOW,
			9, IOMMU_POLICY_OWNER_ALLOW, IOMMU_POLICY_REASON_INVALID);
	t("describe an invalid verdict",
	  !strcmp(buf, "policy returned 9, out of range: applied allow (invalid: the kernel "
		  "detached the policy)"), buf);
}

/* The kernel's rule for a policy's name, on IOMMU_POLICY_NAME_LEN bytes */
static void name_is(const char *what, const char *name, size_t n, const char *want)
{
	char buf[IOMMU_POLICY_NAME_LEN] = {}, why[256] = "", detail[600];
	bool ok;

	memcpy(buf, name, n);
	ok = policy_name_valid(buf, sizeof(buf), why, sizeof(why));
	snprintf(detail, sizeof(detail), "got %s '%s', want '%s'", ok ? "valid" : "invalid",
		 why, want ? want : "valid");
	t(what, want ? !ok && !strcmp(why, want) : ok && !why[0], detail);
}

static void policy_names(void)
{
	char full[IOMMU_POLICY_NAME_LEN], want[256];

	name_is("policy name: letters, digits, '_' and '.'", "Table_2.x", 9, NULL);
	name_is("policy name: 31 characters", "abcdefghijklmnopqrstuvwxyz01234", 31, NULL);
	name_is("policy name: Latin-1 letters, as the kernel's isalnum() has them",
		"caf\xe9", 4, NULL);
	name_is("policy name: a blank", "bad name", 8,
		"policy name 'bad name' may only contain letters, digits, '_' and '.' "
		"(not ' ')");
	name_is("policy name: a dash", "my-policy", 9,
		"policy name 'my-policy' may only contain letters, digits, '_' and '.' "
		"(not '-')");
	name_is("policy name: unprintable bytes are quoted", "a\tb\xd7", 4,
		"policy name 'a\\x09b\\xd7' may only contain letters, digits, '_' and '.' "
		"(not '\\x09')");
	name_is("policy name: UTF-8 is not Latin-1", "caf\xc3\xa9", 5,
		"policy name 'caf\\xc3\\xa9' may only contain letters, digits, '_' and '.' "
		"(not '\\xa9')");
	name_is("policy name: empty", "", 0,
		"policy name is empty (expected 1 to 31 letters, digits, '_' or '.')");
	memset(full, 'n', sizeof(full));
	snprintf(want, sizeof(want), "policy name '%.32s' is longer than 31 characters", full);
	name_is("policy name: no NUL in 32 bytes", full, sizeof(full), want);
	t("policy name: a C string longer than the member",
	  !policy_name_valid("abcdefghijklmnopqrstuvwxyz0123456789", IOMMU_POLICY_NAME_LEN,
			     NULL, 0), NULL);
	t("policy name: a C string as -n gives it",
	  policy_name_valid("table2", IOMMU_POLICY_NAME_LEN, NULL, 0), NULL);
}

static void ops_invalid(const char *what, const struct policy_ops_view *v, const char *want)
{
	char why[512], detail[1100];
	bool bad = policy_ops_invalid(v, why, sizeof(why));

	snprintf(detail, sizeof(detail), "got '%s'\nwant '%s'", why, want ? want : "");
	t(what, want ? bad && !strcmp(why, want) : !bad && !why[0], detail);
}

static void ops_checks(void)
{
	static const char good[IOMMU_POLICY_NAME_LEN] = "untrusted_strict";
	static const char bad[IOMMU_POLICY_NAME_LEN] = "bad name";
	static const char nocb[] = "it implements no decision callback (expected at least one "
		"of dev_trust, dma_mode, resv_direct, pasid_attach or dma_owner)";
	struct policy_ops_view v = { .name = good, .callbacks = 1 << IOMMU_POLICY_HOOK_DMA_MODE };
	char want[512];

	ops_invalid("policy ops: a valid one", &v, NULL);
	v.flags = 0x10;
	ops_invalid("policy ops: flags", &v, "flags is 0x10 (expected 0)");
	v.flags = 1ULL << 63;
	ops_invalid("policy ops: the top bit of flags", &v,
		    "flags is 0x8000000000000000 (expected 0)");
	v.flags = 0;
	v.callbacks = 0;
	ops_invalid("policy ops: no decision callback", &v, nocb);
	v.callbacks = 1 << IOMMU_POLICY_NR_HOOKS;	/* init or exit only */
	ops_invalid("policy ops: only callbacks that decide nothing", &v, nocb);
	v.callbacks = 1 << IOMMU_POLICY_HOOK_DMA_OWNER;
	v.name = bad;
	ops_invalid("policy ops: a bad name", &v, "policy name 'bad name' may only contain "
		    "letters, digits, '_' and '.' (not ' ')");
	v.name = NULL;
	ops_invalid("policy ops: no name member: all zeros", &v,
		    "policy name is empty (expected 1 to 31 letters, digits, '_' or '.')");
	v.name = bad;
	v.flags = 2;
	v.callbacks = 0;
	snprintf(want, sizeof(want), "policy name 'bad name' may only contain letters, digits, "
		 "'_' and '.' (not ' '); flags is 0x2 (expected 0); %s", nocb);
	ops_invalid("policy ops: every check failing, in the kernel's order", &v, want);
}

static void snap(struct policy_exit_snap *s, const char *kind, const char *msg, long long n)
{
	snprintf(s->kind, sizeof(s->kind), "%s", kind);
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
	s->nr_errors = n;
}

static void init_failures(void)
{
	struct policy_exit_snap before, now;
	char msg[300] = "";

	snap(&before, "unreg", "policy \"old\" detached", 2);
	snap(&now, "error_init", "init() of \"p\" returned -12", 3);
	t("init failure: an attach records error_init",
	  policy_init_failed(&before, &now, -ENOMEM, msg, sizeof(msg)) &&
	  !strcmp(msg, "init() of \"p\" returned -12"), msg);
	snap(&before, "replaced", "policy \"a\" replaced by \"b\"", 0);
	snap(&now, "replaced", "policy \"a\" replaced by \"b\"", 1);
	t("init failure: a replacement only counts an error",
	  policy_init_failed(&before, &now, -ENOMEM, msg, sizeof(msg)) &&
	  !strcmp(msg, "init() failed with Cannot allocate memory"), msg);
	snap(&before, "error_init", "init() of \"p\" returned 7", 4);
	snap(&now, "error_init", "init() of \"p\" returned 7", 5);
	t("init failure: the same record again, one more error",
	  policy_init_failed(&before, &now, -EINVAL, msg, sizeof(msg)) &&
	  !strcmp(msg, "init() failed with Invalid argument"), msg);
	snap(&now, "error_init", "init() of \"p\" returned 7", 4);
	t("init failure: not when nothing changed",
	  !policy_init_failed(&before, &now, -EINVAL, msg, sizeof(msg)), msg);
	snap(&before, "none", "", 1);
	snap(&now, "none", "", 3);
	t("init failure: not for two more errors",
	  !policy_init_failed(&before, &now, -EINVAL, msg, sizeof(msg)), msg);
	snap(&before, "none", "", -1);
	snap(&now, "none", "", 0);
	t("init failure: not without nr_errors before",
	  !policy_init_failed(&before, &now, -EINVAL, msg, sizeof(msg)), msg);
	snap(&before, "none", "", 0);
	snap(&now, "error", "dma_mode(pm1) returned 9, which is out of range", 1);
	t("init failure: not for a runtime error exit",
	  !policy_init_failed(&before, &now, -EINVAL, msg, sizeof(msg)), msg);
}

/* fw=external is what admins call external_facing: the same table */
static void fw_external_alias(void)
{
	struct policy_rules a = {}, b = {};
	char err[512];
	bool ok;

	ok = !parse("fw=external,!untrusted dma_mode strict\n", &a, err, sizeof(err)) &&
	     !parse("fw=external_facing,!untrusted dma_mode strict\n", &b, err, sizeof(err)) &&
	     policy_rules_same_table(&a, &b);
	t("fw=external reads as fw=external_facing", ok, err);
	policy_rules_free(&a);
	policy_rules_free(&b);
}

int main(void)
{
	good_file();
	fw_external_alias();
	old_files();
	conditions();
	precedence();
	globs();
	bad_files();
	too_many();
	unreadable();
	names();
	policy_names();
	ops_checks();
	init_failures();
	return failed ? 1 : 0;
}

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
#include "policy_rules.h"

#define TAP_SUITE "rules"
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

static const struct policy_rule *find(const struct policy_rules *rs, enum policy_match m,
				      const char *name, __u32 pci)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct policy_rule *r = &rs->rules[i];

		if (r->match == m && (m != MATCH_DEV || !strcmp(r->name, name)) &&
		    ((m != MATCH_PCI && m != MATCH_PCI_VENDOR) || r->pci == pci))
			return r;
	}
	return NULL;
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
		"dev=m1 trust untrusted\n"
		"dev=m1 dma_mode strict\n"
		"dev=0000:00:03.0 trust trusted\n"
		"dev=m2 pasid phys\n"
		"dev=m3 dma_mode default\n"
		"pci=8086:1a2b pasid iova\n"
		"pci=1234:* resv_direct relax\n"
		"* dma_owner deny\n";
	struct policy_rules rs;
	const struct policy_rule *r;
	char err[256], *out = NULL;
	size_t outlen = 0;
	FILE *f;

	t("good file parses", !parse(text, &rs, err, sizeof(err)), err);
	t("good file: 8 rule lines, 7 matches", rs.lines == 8 && rs.n == 7, NULL);

	r = find(&rs, MATCH_DEV, "m1", 0);
	t("dev=m1 sets trust and dma_mode only",
	  r && r->entry.set == (1U << IOMMU_POLICY_HOOK_DEV_TRUST | 1U << IOMMU_POLICY_HOOK_DMA_MODE) &&
	  r->entry.verdict[IOMMU_POLICY_HOOK_DMA_MODE] == IOMMU_POLICY_DMA_STRICT &&
	  r->entry.verdict[IOMMU_POLICY_HOOK_DEV_TRUST] == IOMMU_POLICY_TRUST_UNTRUSTED &&
	  r->line[IOMMU_POLICY_HOOK_DMA_MODE] == 4, NULL);
	r = find(&rs, MATCH_DEV, "m3", 0);
	t("an explicit default is a rule (set, verdict 0)",
	  r && r->entry.set == 1U << IOMMU_POLICY_HOOK_DMA_MODE &&
	  r->entry.verdict[IOMMU_POLICY_HOOK_DMA_MODE] == IOMMU_POLICY_DMA_DEFAULT, NULL);
	r = find(&rs, MATCH_PCI, NULL, 0x80861a2b);
	t("pci=8086:1A2b is key 0x80861a2b, pasid iova",
	  r && r->entry.set == 1U << IOMMU_POLICY_HOOK_PASID_ATTACH &&
	  r->entry.verdict[IOMMU_POLICY_HOOK_PASID_ATTACH] == IOMMU_POLICY_PASID_IOVA, NULL);
	r = find(&rs, MATCH_PCI_VENDOR, NULL, 0x1234ffff);
	t("pci=1234:* is key 0x1234ffff, resv_direct relax",
	  r && r->entry.verdict[IOMMU_POLICY_HOOK_RESV_DIRECT] == IOMMU_POLICY_RESV_RELAX, NULL);
	r = find(&rs, MATCH_ANY, NULL, 0);
	t("* dma_owner deny",
	  r && r->entry.set == 1U << IOMMU_POLICY_HOOK_DMA_OWNER &&
	  r->entry.verdict[IOMMU_POLICY_HOOK_DMA_OWNER] == IOMMU_POLICY_OWNER_DENY, NULL);
	r = find(&rs, MATCH_DEV, "m2", 0);
	t("kernel hook names are accepted (pasid_attach, dev_trust)",
	  r && r->entry.verdict[IOMMU_POLICY_HOOK_PASID_ATTACH] == IOMMU_POLICY_PASID_PHYS &&
	  find(&rs, MATCH_DEV, "0000:00:03.0", 0), NULL);

	f = open_memstream(&out, &outlen);
	policy_rules_print(&rs, f);
	fclose(f);
	t("the table prints in lookup order", !strcmp(out, table), out);
	free(out);
	policy_rules_free(&rs);

	t("an empty file is an empty table", !parse("# nothing\n\n", &rs, err, sizeof(err)) &&
	  rs.n == 0 && rs.lines == 0, err);
	policy_rules_free(&rs);
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
	    "rules:2: unknown match 'vendor=8086' (expected dev=NAME, pci=VVVV:DDDD, "
	    "pci=VVVV:* or *)");
	bad("an empty device name", "dev= dma_mode strict\n",
	    "rules:1: empty device name (expected dev=NAME, e.g. dev=0000:00:03.0)");
	memset(long_name, 'x', 32);
	long_name[32] = '\0';
	snprintf(text, sizeof(text), "# long\ndev=%s dma_mode strict\n", long_name);
	snprintf(want, sizeof(want), "rules:2: device name '%s' is too long (expected at "
		 "most 31 characters)", long_name);
	bad("a device name too long to match", text, want);
	bad("a short PCI id", "pci=8086:123 dma_mode strict\n",
	    "rules:1: bad PCI id '8086:123' (expected pci=VVVV:DDDD or pci=VVVV:*, 4 hex "
	    "digits each, e.g. pci=8086:1533)");
	bad("a non-hex PCI id", "pci=80g6:1234 dma_mode strict\n",
	    "rules:1: bad PCI id '80g6:1234' (expected pci=VVVV:DDDD or pci=VVVV:*, 4 hex "
	    "digits each, e.g. pci=8086:1533)");
	bad("PCI device id ffff", "pci=8086:ffff dma_mode strict\n",
	    "rules:1: bad PCI id '8086:ffff' (expected pci=VVVV:DDDD or pci=VVVV:*, 4 hex "
	    "digits each, e.g. pci=8086:1533)");
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
	snprintf(want, sizeof(want), "rules:%d: too many dev= rules (expected at most %d)",
		 POLICY_TABLE_MAX_RULES + 1, POLICY_TABLE_MAX_RULES);
	t("rejects more dev= rules than the map holds", ret == -1 && !strcmp(err, want), err);
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

int main(void)
{
	good_file();
	bad_files();
	too_many();
	unreadable();
	names();
	policy_names();
	ops_checks();
	init_failures();
	return failed ? 1 : 0;
}

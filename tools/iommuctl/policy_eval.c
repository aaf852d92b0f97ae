// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl policy test: evaluate a rules file against this machine's
 * devices, loading nothing.  The facts are those the kernel's kfuncs give
 * the table policy, read from sysfs (name, PCI ids, class and address, the
 * IOMMU's name) and debugfs iommu_policy/devices (firmware flags,
 * RESV_DIRECT regions); the matcher is policy_table_decide(), the same scan
 * over the same table as bpf/policy/table.bpf.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <argp.h>
#include "commands.h"
#include "devfacts.h"
#include "json.h"
#include "output.h"
#include "policy_eval.h"
#include "policy_names.h"
#include "policy_sysfs.h"
#include "sysfs.h"

static const char doc[] =
"What a rules file would decide for each device behind an IOMMU (or DEV),\n"
"hook by hook, and which line decided it; loads nothing.  Facts come from\n"
"sysfs and debugfs iommu_policy/devices, as the kernel gives them to the\n"
"table policy.  dma_owner is shown for a VFIO group claim and for an\n"
"iommufd device claim.  Verdicts are the policy's: the kernel may still\n"
"clamp a loosening one (see 'policy explain' once loaded).\n"
"\n"
"USAGE: iommuctl policy test -r RULES [-j|-p] [DEV]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy test -r /etc/iommu-policy.rules\n"
"    iommuctl policy test -r rules -j 0000:00:03.0\n";

struct edev {
	char name[128];
	int group;
	bool have_fw;		/* in debugfs iommu_policy/devices */
	struct policy_table_facts f;
};

struct edevs {
	struct edev *d;
	size_t n, cap;
};

/* "0x8086\n" */
static bool read_hex(const char *dir, const char *attr, __u32 *val)
{
	char path[PATH_MAX + 64], buf[32], *end;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	if (read_line(path, buf, sizeof(buf)) < 0)
		return false;
	*val = strtoul(buf, &end, 16);
	return end != buf && !*end;
}

/* The basename of a symlink's target, "" if none */
static void link_name(const char *dir, const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX + 64], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	n = readlink(path, target, sizeof(target) - 1);
	buf[0] = '\0';
	if (n > 0) {
		target[n] = '\0';
		snprintf(buf, len, "%s", basename(target));
	}
}

/* The facts bpf_iommu_*() would give, those sysfs has */
static void sysfs_facts(const char *ddir, const char *name, struct policy_table_facts *f)
{
	unsigned int seg, bus, dev, fn;
	char subsys[64], iommu[64];
	__u32 vendor, device, class;
	int end = 0;

	memset(f, 0, sizeof(*f));
	if (strlen(name) < sizeof(f->name)) {
		strcpy(f->name, name);
		f->have |= POLICY_FACT_NAME;
	}
	link_name(ddir, "subsystem", subsys, sizeof(subsys));
	if (!strcmp(subsys, "pci") && read_hex(ddir, "vendor", &vendor) &&
	    read_hex(ddir, "device", &device) && read_hex(ddir, "class", &class) &&
	    sscanf(name, "%x:%x:%x.%x%n", &seg, &bus, &dev, &fn, &end) == 4 && !name[end]) {
		f->have |= POLICY_FACT_PCI;
		f->ids = vendor << 16 | device;
		f->class = class;
		f->bdf = seg << 16 | bus << 8 | dev << 3 | fn;
	}
	link_name(ddir, "iommu", iommu, sizeof(iommu));
	if (iommu[0] && strlen(iommu) < sizeof(f->iommu)) {
		strcpy(f->iommu, iommu);
		f->have |= POLICY_FACT_IOMMU;
	}
}

/* The devices behind an IOMMU (or only dev), in group order, with their facts */
static int collect(struct edevs *es, const char *dev)
{
	char ddir[PATH_MAX + 300];
	struct iommu_devs devs;
	int ret = iommu_devs_read(&devs, false);

	/* No IOMMU groups: no devices to test the rules on */
	if (ret)
		return ret == -ENOMEM ? ret : 0;
	es->d = calloc(devs.n ?: 1, sizeof(*es->d));
	if (!es->d) {
		iommu_devs_free(&devs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < devs.n; i++) {
		const struct iommu_dev *s = &devs.d[i];
		struct edev *d = &es->d[es->n];

		if (dev && strcmp(s->name, dev))
			continue;
		es->n++;
		snprintf(d->name, sizeof(d->name), "%s", s->name);
		d->group = s->group;
		snprintf(ddir, sizeof(ddir), "%s/sys/kernel/iommu_groups/%d/devices/%s",
			 sysfs_root, s->group, s->name);
		sysfs_facts(ddir, s->name, &d->f);
	}
	iommu_devs_free(&devs);
	return 0;
}

/* What each hook knows: iommu=, resv= not in dev_trust; owner= only in dma_owner */
static struct policy_table_facts hook_facts(const struct edev *d, int hook, __u32 owner)
{
	struct policy_table_facts f = d->f;

	if (hook == IOMMU_POLICY_HOOK_DEV_TRUST)
		f.have &= ~(POLICY_FACT_RESV | POLICY_FACT_IOMMU);
	if (hook == IOMMU_POLICY_HOOK_DMA_OWNER) {
		f.have |= POLICY_FACT_OWNER;
		f.owner = owner;
	}
	return f;
}

struct table {
	struct policy_table_rule *t;
	struct policy_table_hook hooks[POLICY_TABLE_NR_HOOKS];
};

static const struct policy_table_rule *decide(const struct table *tb, const struct edev *d,
					      int hook, __u32 owner)
{
	struct policy_table_facts f = hook_facts(d, hook, owner);

	return policy_table_decide(tb->t, tb->hooks, hook, &f);
}

/* "pci=8086:1533 class=020000 bdf=0000:00:03.0 iommu=dmar0 fw=pci resv_direct=0" */
static void facts_str(const struct edev *d, char *buf, size_t len)
{
	const struct policy_table_facts *f = &d->f;
	char fw[128];
	size_t off = 0;

	buf[0] = '\0';
	if (f->have & POLICY_FACT_PCI)
		off += snprintf(buf + off, len - off, "pci=%04x:%04x class=%06x "
				"bdf=%04x:%02x:%02x.%x ", f->ids >> 16, f->ids & 0xffff, f->class,
				f->bdf >> 16, (f->bdf >> 8) & 0xff, (f->bdf >> 3) & 0x1f, f->bdf & 7);
	if (off < len)
		off += snprintf(buf + off, len - off, "iommu=%s ",
				f->have & POLICY_FACT_IOMMU ? f->iommu : "?");
	fw_flags_str(f->fw, fw, sizeof(fw));
	if (off < len && d->have_fw)
		snprintf(buf + off, len - off, "fw=%s resv_direct=%u", fw, f->resv_direct);
	else if (off < len)
		snprintf(buf + off, len - off, "fw=? resv_direct=? (not in debugfs "
			 "iommu_policy/devices: conditions on them do not hold)");
}

static const char *verdict_of(int hook, const struct policy_table_rule *r)
{
	return policy_verdict_name(hook, r ? r->verdict : 0);
}

static void rule_str(int hook, const struct policy_table_rule *r, char *buf, size_t len)
{
	char m[256];

	if (!r) {
		snprintf(buf, len, "no rule");
		return;
	}
	policy_match_str(r, m, sizeof(m));
	snprintf(buf, len, "line %u: %s %s %s", r->line, m, policy_rule_hook_name(hook),
		 verdict_of(hook, r));
}

static void decision_json(struct json *j, const char *key, int hook,
			  const struct policy_table_rule *r)
{
	char text[400];

	json_begin_object(j, key);
	json_str(j, "verdict", verdict_of(hook, r));
	if (r)
		json_u64(j, "line", r->line);
	else
		json_null(j, "line");
	rule_str(hook, r, text, sizeof(text));
	json_str(j, "rule", text);
	json_end_object(j);
}

static void print_json(const struct table *tb, const struct edevs *es, const char *path,
		       size_t nrules)
{
	struct json j;
	char fw[128];

	json_init(&j, stdout);
	json_begin_object(&j, NULL);
	json_str(&j, "rules", path);
	json_u64(&j, "nr_rules", nrules);
	json_begin_array(&j, "devices");
	for (size_t i = 0; i < es->n; i++) {
		const struct edev *d = &es->d[i];
		const struct policy_table_facts *f = &d->f;

		json_begin_object(&j, NULL);
		json_str(&j, "device", d->name);
		json_i64(&j, "group", d->group);
		json_begin_object(&j, "facts");
		if (f->have & POLICY_FACT_PCI) {
			snprintf(fw, sizeof(fw), "%04x:%04x", f->ids >> 16, f->ids & 0xffff);
			json_str(&j, "pci", fw);
			snprintf(fw, sizeof(fw), "%06x", f->class);
			json_str(&j, "class", fw);
			snprintf(fw, sizeof(fw), "%04x:%02x:%02x.%x", f->bdf >> 16,
				 (f->bdf >> 8) & 0xff, (f->bdf >> 3) & 0x1f, f->bdf & 7);
			json_str(&j, "bdf", fw);
		}
		if (f->have & POLICY_FACT_IOMMU)
			json_str(&j, "iommu", f->iommu);
		else
			json_null(&j, "iommu");
		if (d->have_fw) {
			json_begin_array(&j, "fw_flags");
			for (unsigned int bit = 0; bit < 32; bit++)
				if (f->fw & 1U << bit)
					json_str(&j, NULL, fw_flag_str(1U << bit, fw, sizeof(fw)));
			json_end_array(&j);
			json_u64(&j, "resv_direct", f->resv_direct);
		} else {
			json_null(&j, "fw_flags");
			json_null(&j, "resv_direct");
		}
		json_end_object(&j);
		json_begin_object(&j, "decisions");
		for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++) {
			if (h != IOMMU_POLICY_HOOK_DMA_OWNER) {
				decision_json(&j, policy_hook_name(h), h, decide(tb, d, h, 0));
				continue;
			}
			/* A VFIO group claim; an iommufd device claim inside */
			json_begin_object(&j, policy_hook_name(h));
			decision_json(&j, "group_claim", h,
				      decide(tb, d, h, IOMMU_POLICY_OWNER_F_GROUP));
			decision_json(&j, "device_claim", h,
				      decide(tb, d, h, IOMMU_POLICY_OWNER_F_DEVICE));
			json_end_object(&j);
		}
		json_end_object(&j);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_line(&j);
}

static void print_text(const struct table *tb, const struct edevs *es, const char *path,
		       size_t nrules)
{
	char buf[512];

	printf("rules %s: %zu rule%s; nothing loaded\n", path, nrules, nrules == 1 ? "" : "s");
	for (size_t i = 0; i < es->n; i++) {
		const struct edev *d = &es->d[i];

		printf("\n%s: group %d\n", d->name, d->group);
		facts_str(d, buf, sizeof(buf));
		printf("  %-13s %s\n", "facts", buf);
		for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++) {
			const struct policy_table_rule *r, *r2;

			if (h != IOMMU_POLICY_HOOK_DMA_OWNER) {
				r = decide(tb, d, h, 0);
				rule_str(h, r, buf, sizeof(buf));
				printf("  %-13s %-10s %s\n", policy_hook_name(h), verdict_of(h, r),
				       buf);
				continue;
			}
			r = decide(tb, d, h, IOMMU_POLICY_OWNER_F_GROUP);
			r2 = decide(tb, d, h, IOMMU_POLICY_OWNER_F_DEVICE);
			rule_str(h, r, buf, sizeof(buf));
			if (r == r2) {
				printf("  %-13s %-10s %s\n", policy_hook_name(h), verdict_of(h, r),
				       buf);
				continue;
			}
			printf("  %-13s %-10s %s (VFIO group claim)\n", policy_hook_name(h),
			       verdict_of(h, r), buf);
			rule_str(h, r2, buf, sizeof(buf));
			printf("  %-13s %-10s %s (iommufd device claim)\n", "",
			       verdict_of(h, r2), buf);
		}
	}
}

static int policy_test(const char *path, const char *dev)
{
	struct dev_facts_list facts = {};
	struct policy_rules rs;
	struct edevs es = {};
	struct table tb = {};
	char err[512];
	int facts_err, ret = 0;

	if (policy_rules_read(path, &rs, err, sizeof(err)))
		return p_input("%s", err);
	if (collect(&es, dev)) {
		ret = p_err("out of memory");
		goto out;
	}
	if (dev && !es.n) {
		ret = p_no_iommu_device(dev);
		goto out;
	}
	/* Firmware flags and RESV_DIRECT regions: only the kernel's record has them */
	facts_err = -dev_facts_read(&facts);
	if (facts_err)
		p_warn("cannot read debugfs iommu_policy/devices (%s): fw= and resv= "
		       "conditions hold for no device", strerror(facts_err));
	for (size_t i = 0; i < es.n; i++) {
		const struct dev_facts *df = dev_facts_find(&facts, es.d[i].name);

		if (!df)
			continue;
		es.d[i].have_fw = true;
		es.d[i].f.fw = df->fw_flags;
		es.d[i].f.resv_direct = df->resv_direct;
		es.d[i].f.have |= POLICY_FACT_RESV;
	}
	tb.t = calloc(rs.n ? rs.n : 1, sizeof(*tb.t));
	if (!tb.t) {
		ret = p_err("out of memory");
		goto out;
	}
	policy_rules_table(&rs, tb.t, tb.hooks);
	if (json_output)
		print_json(&tb, &es, path, rs.n);
	else
		print_text(&tb, &es, path, rs.n);
out:
	free(tb.t);
	dev_facts_free(&facts);
	free(es.d);
	policy_rules_free(&rs);
	return ret;
}

/* Verdicts that give a device more DMA reach than the kernel's choice may */
static const char *loosening(int hook, int verdict)
{
	switch (hook) {
	case IOMMU_POLICY_HOOK_DEV_TRUST:
		return verdict == IOMMU_POLICY_TRUST_TRUSTED ?
		       "trusts a device firmware may call untrusted" : NULL;
	case IOMMU_POLICY_HOOK_DMA_MODE:
		return verdict == IOMMU_POLICY_DMA_IDENTITY ?
		       "gives identity where the kernel would translate" :
		       verdict == IOMMU_POLICY_DMA_LAZY ?
		       "gives lazy where the kernel would choose strict" : NULL;
	case IOMMU_POLICY_HOOK_RESV_DIRECT:
		return verdict == IOMMU_POLICY_RESV_RELAX ? "drops a firmware 1:1 map" : NULL;
	}
	return NULL;
}

int policy_warn_clamped(const struct policy_rules *rs, const char *path)
{
	char loosen[32], m[256];
	const char *why;
	int n = 0;

	/* A kernel without the attach policy has no opinion yet */
	if (policy_attr("allow_loosen", loosen, sizeof(loosen)) < 0 ||
	    !strcmp(loosen, "applied"))
		return 0;
	why = !strcmp(loosen, "lockdown") ? "the kernel is locked down" :
	      "no iommu_policy.allow_loosen=1 on the kernel command line";
	for (size_t i = 0; i < rs->n; i++) {
		const struct policy_rule *r = &rs->rules[i];
		const char *what = loosening(r->hook, r->t.verdict);

		if (!what)
			continue;
		policy_match_str(&r->t, m, sizeof(m));
		fprintf(stderr, "iommuctl: warning: %s:%u: '%s %s %s' %s: clamped on this boot "
			"(%s)\n", path, r->t.line, m, policy_rule_hook_name(r->hook),
			policy_verdict_name(r->hook, r->t.verdict), what, why);
		n++;
	}
	return n;
}

static const char *rules, *dev;

static const struct argp_option opts[] = {
	{ "rules", 'r', "RULES", 0, "the rules file to evaluate", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'r':
		rules = arg;
		break;
	case ARGP_KEY_ARG:
		if (dev) {
			p_usage("unexpected argument '%s'", arg);
			return EINVAL;
		}
		dev = arg;
		break;
	case ARGP_KEY_END:
		if (!rules) {
			p_usage("policy test needs -r RULES");
			return EINVAL;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_policy_test(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &output_argp }, { &sysfs_root_argp }, {}
	};
	static const struct argp argp = { opts, parse_arg, "[DEV]", doc, children };

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	return policy_test(rules, dev);
}

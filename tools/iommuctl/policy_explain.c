// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl policy explain: for each device behind an IOMMU, its group, trust
 * and the last decision of each policy hook, from debugfs iommu_policy/
 * verdicts and iommu_policy/devices.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "devfacts.h"
#include "json.h"
#include "output.h"
#include "policy_names.h"
#include "policy_sysfs.h"
#include "sysfs.h"
#include "verdicts.h"

static const char *dev;

static const char doc[] =
"For each device behind an IOMMU (or DEV), its group, the group's domain\n"
"type, its trust, and the last decision of each policy hook: what the\n"
"kernel proposed, what the policy said, what was applied and why.\n"
"\n"
"USAGE: iommuctl policy explain [-j|-p] [DEV]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy explain\n"
"    iommuctl policy explain -j 0000:00:03.0\n";

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case ARGP_KEY_ARG:
		if (dev) {
			p_usage("unexpected argument '%s'", arg);
			return EINVAL;
		}
		dev = arg;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct record {
	bool set, by_policy;
	int proposed, verdict, applied, reason;
	unsigned long long seq;
};

struct xdev {
	const struct iommu_dev *s;	/* sysfs */
	const struct dev_facts *facts;	/* debugfs iommu_policy/devices; NULL: unknown */
	struct record rec[IOMMU_POLICY_NR_HOOKS];
};

struct xdevs {
	struct xdev *d;
	size_t n;
};

/* The last decision of each hook for each device, from debugfs */
static int read_verdicts(struct xdevs *xs)
{
	struct policy_records recs = {};
	int err = -policy_records_read(&recs);

	if (err)
		return policy_records_error(err, "explaining decisions");
	for (size_t i = 0; i < recs.n; i++) {
		const struct policy_record *pr = &recs.r[i];
		struct record r = {
			.set = true, .by_policy = pr->by_policy, .proposed = pr->proposed,
			.verdict = pr->verdict, .applied = pr->applied, .reason = pr->reason,
			.seq = pr->seq,
		};

		for (size_t k = 0; k < xs->n; k++)
			if (!strcmp(xs->d[k].s->name, pr->dev))
				xs->d[k].rec[pr->hook] = r;
	}
	policy_records_free(&recs);
	return 0;
}

static bool dev_trusted(const struct xdev *d, bool *by_policy)
{
	const struct record *r = &d->rec[IOMMU_POLICY_HOOK_DEV_TRUST];

	*by_policy = r->set && r->reason == IOMMU_POLICY_REASON_APPLIED;
	if (r->set)
		return r->applied != IOMMU_POLICY_TRUST_UNTRUSTED;
	/* No decision recorded: as `iommuctl devices` tells it */
	return !d->s->removable;
}

static void verdict_json(struct json *j, const char *key, int hook, int v)
{
	const char *name = policy_verdict_name(hook, v);
	char num[16];

	snprintf(num, sizeof(num), "%d", v);
	json_str(j, key, name ? name : num);
}

/* What the kernel tells a policy about the device: "facts": {...} or null */
static void facts_json(struct json *j, const struct dev_facts *f)
{
	char hex[16];

	if (!f) {
		json_null(j, "facts");
		return;
	}
	json_begin_object(j, "facts");
	json_bool(j, "untrusted", f->untrusted);
	json_begin_array(j, "fw_flags");
	for (unsigned int bit = 0; bit < 32; bit++)
		if (f->fw_flags & 1U << bit)
			json_str(j, NULL, fw_flag_str(1U << bit, hex, sizeof(hex)));
	json_end_array(j);
	json_bool(j, "coherent", f->coherent);
	json_u64(j, "resv_direct", f->resv_direct);
	json_u64(j, "max_pasids", f->max_pasids);
	json_end_object(j);
}

static void facts_text(const struct dev_facts *f, int facts_err)
{
	char flags[128];

	if (!f) {
		if (facts_err)
			printf("  %-13s unknown (cannot read debugfs iommu_policy/devices: %s)\n",
			       "facts", strerror(facts_err));
		else
			printf("  %-13s unknown (not in debugfs iommu_policy/devices)\n", "facts");
		return;
	}
	fw_flags_str(f->fw_flags, flags, sizeof(flags));
	printf("  %-13s untrusted=%s fw_flags=%s coherent=%s resv_direct=%u max_pasids=%u\n",
	       "facts", f->untrusted ? "yes" : "no", flags, f->coherent ? "yes" : "no",
	       f->resv_direct, f->max_pasids);
}

static void explain_json(const struct xdevs *xs, const char *state, const char *name,
			 long long seq)
{
	struct json j;
	char text[256];

	json_init(&j, stdout);
	json_begin_object(&j, NULL);
	json_begin_object(&j, "policy");
	json_str(&j, "state", state);
	if (name[0])
		json_str(&j, "name", name);
	else
		json_null(&j, "name");
	json_i64(&j, "enable_seq", seq);
	json_end_object(&j);
	json_begin_array(&j, "devices");
	for (size_t i = 0; i < xs->n; i++) {
		const struct xdev *d = &xs->d[i];
		bool by_policy, trusted = dev_trusted(d, &by_policy);

		json_begin_object(&j, NULL);
		json_str(&j, "device", d->s->name);
		json_i64(&j, "group", d->s->group);
		json_str(&j, "domain_type", d->s->type);
		json_bool(&j, "trusted", trusted);
		json_str(&j, "trust_by", by_policy ? "policy" : "kernel");
		facts_json(&j, d->facts);
		json_begin_object(&j, "decisions");
		for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++) {
			const struct record *r = &d->rec[h];

			if (!r->set)
				continue;
			json_begin_object(&j, policy_hook_name(h));
			json_str(&j, "by", r->by_policy ? "policy" : "kernel");
			verdict_json(&j, "proposed", h, r->proposed);
			verdict_json(&j, "verdict", h, r->verdict);
			verdict_json(&j, "applied", h, r->applied);
			json_str(&j, "reason", policy_reason_name(r->reason));
			json_u64(&j, "seq", r->seq);
			json_bool(&j, "current", !strcmp(state, "enabled") &&
				  (long long)r->seq == seq);
			policy_describe(text, sizeof(text), h, r->proposed, r->verdict,
					r->applied, r->reason);
			json_str(&j, "text", text);
			json_end_object(&j);
		}
		json_end_object(&j);
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_line(&j);
}

static void explain_text(const struct xdevs *xs, const char *state, const char *name,
			 long long seq, int facts_err)
{
	char text[256];

	if (!strcmp(state, "enabled"))
		printf("policy '%s' (enable_seq %lld)\n", name, seq);
	else
		printf("no policy attached (%s); decisions below are from earlier ones\n", state);
	for (size_t i = 0; i < xs->n; i++) {
		const struct xdev *d = &xs->d[i];
		bool by_policy, trusted = dev_trusted(d, &by_policy), any = false;

		printf("\n%s: group %d, %s, %s%s\n", d->s->name, d->s->group, d->s->type,
		       trusted ? "trusted" : "untrusted", by_policy ? " (by the policy)" : "");
		facts_text(d->facts, facts_err);
		for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++) {
			const struct record *r = &d->rec[h];

			if (!r->set)
				continue;
			any = true;
			policy_describe(text, sizeof(text), h, r->proposed, r->verdict,
					r->applied, r->reason);
			printf("  %-13s %s", policy_hook_name(h), text);
			if (strcmp(state, "enabled") || (long long)r->seq != seq)
				printf(" [enable_seq %llu, an earlier policy]", r->seq);
			printf("\n");
		}
		if (!any)
			printf("  no policy decision recorded\n");
	}
}

static int policy_explain(void)
{
	struct dev_facts_list facts = {};
	char state[32], name[64];
	struct iommu_devs devs;
	struct xdevs xs = {};
	long long seq;
	int ret, facts_err;

	ret = policy_check_kernel(false);
	if (ret)
		return ret;
	/* No IOMMU groups: nothing to explain */
	ret = iommu_devs_read(&devs, false);
	if (ret == -ENOMEM)
		return p_err("out of memory");
	xs.d = calloc(devs.n ?: 1, sizeof(*xs.d));
	if (!xs.d) {
		iommu_devs_free(&devs);
		return p_err("out of memory");
	}
	for (size_t i = 0; i < devs.n; i++)
		if (!dev || !strcmp(devs.d[i].name, dev))
			xs.d[xs.n++].s = &devs.d[i];
	if (dev && !xs.n) {
		ret = p_no_iommu_device(dev);
		goto out;
	}
	ret = read_verdicts(&xs);
	if (ret)
		goto out;
	/* Optional: a kernel of the series before the devices file has none */
	facts_err = -dev_facts_read(&facts);
	for (size_t i = 0; i < xs.n; i++)
		xs.d[i].facts = dev_facts_find(&facts, xs.d[i].s->name);
	policy_attr("state", state, sizeof(state));
	policy_attr("name", name, sizeof(name));
	seq = policy_attr_ll("enable_seq");
	if (json_output)
		explain_json(&xs, state, name, seq);
	else
		explain_text(&xs, state, name, seq, facts_err);
	dev_facts_free(&facts);
out:
	free(xs.d);
	iommu_devs_free(&devs);
	return ret;
}

int cmd_policy_explain(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &output_argp }, { &sysfs_root_argp }, {}
	};
	static const struct argp argp = { NULL, parse_arg, "[DEV]", doc, children };

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	return policy_explain();
}

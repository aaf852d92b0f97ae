// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl policy show: the policy's state, decision counters and how the
 * last policy went, from /sys/kernel/iommu_policy.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "json.h"
#include "output.h"
#include "policy_sysfs.h"
#include "sysfs.h"

static const char *pin = DEFAULT_PIN;

static const char doc[] =
"Show the policy's state, decision counters and how the last policy went.\n"
"\n"
"USAGE: iommuctl policy show [-P PIN] [-j|-p]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy show\n"
"    iommuctl policy show -p         # schema: iommuctl(8)\n";

static const struct argp_option opts[] = {
	{ "pin", 'P', "PIN", 0, "the pinned link (default " DEFAULT_PIN ")", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'P':
		pin = arg;
		break;
	case ARGP_KEY_ARG:
		p_usage("unexpected argument '%s'", arg);
		return EINVAL;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const char *const counters[] = {
	"decisions", "dev_trust", "dma_mode", "resv_direct", "pasid_attach", "dma_owner",
	"clamped", "invalid", "errors",
};

static int policy_show(void)
{
	char state[32], name[64], loosen[32], attr[64], kind[32], reason[64], msg[300];
	char hook[32], device[128];
	long long n[sizeof(counters) / sizeof(counters[0])], seq;
	bool pinned;
	int ret;

	ret = policy_check_kernel(false);
	if (ret)
		return ret;
	policy_attr("state", state, sizeof(state));
	policy_attr("name", name, sizeof(name));
	policy_attr("allow_loosen", loosen, sizeof(loosen));
	seq = policy_attr_ll("enable_seq");
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		snprintf(attr, sizeof(attr), "nr_%s", counters[i]);
		n[i] = policy_attr_ll(attr);
	}
	policy_attr("last_exit_kind", kind, sizeof(kind));
	policy_attr("last_exit_reason", reason, sizeof(reason));
	policy_attr("last_exit_msg", msg, sizeof(msg));
	policy_attr("last_exit_hook", hook, sizeof(hook));
	policy_attr("last_exit_device", device, sizeof(device));
	pinned = !access(pin, F_OK);

	if (json_output) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_str(&j, "state", state);
		if (name[0])
			json_str(&j, "name", name);
		else
			json_null(&j, "name");
		json_i64(&j, "enable_seq", seq);
		if (pinned)
			json_str(&j, "pinned", pin);
		else
			json_null(&j, "pinned");
		json_str(&j, "allow_loosen", loosen);
		json_begin_object(&j, "counters");
		for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
			json_i64(&j, counters[i], n[i]);
		json_end_object(&j);
		json_begin_object(&j, "last_exit");
		json_str(&j, "kind", kind);
		json_str(&j, "reason", reason);
		json_str(&j, "msg", msg);
		if (hook[0])
			json_str(&j, "hook", hook);
		else
			json_null(&j, "hook");
		if (device[0])
			json_str(&j, "device", device);
		else
			json_null(&j, "device");
		json_end_object(&j);
		json_end_object(&j);
		json_line(&j);
		return 0;
	}
	printf("%-13s %s\n", "policy", name[0] ? name : "-");
	printf("%-13s %s (enable_seq %lld)\n", "state", state, seq);
	printf("%-13s %s\n", "pinned", pinned ? pin : "-");
	if (!strcmp(loosen, "applied"))
		printf("%-13s allowed (iommu_policy.allow_loosen=1, no lockdown)\n", "loosening");
	else if (!strcmp(loosen, "lockdown"))
		printf("%-13s clamped: the kernel is locked down\n", "loosening");
	else
		printf("%-13s clamped: boot with iommu_policy.allow_loosen=1 to allow it\n",
		       "loosening");
	printf("%-13s %lld: dev_trust %lld, dma_mode %lld, resv_direct %lld, pasid_attach "
	       "%lld, dma_owner %lld\n", "decisions", n[0], n[1], n[2], n[3], n[4], n[5]);
	printf("%-13s %lld clamped, %lld invalid, %lld errors\n", "overruled", n[6], n[7],
	       n[8]);
	if (!strcmp(kind, "none") || !kind[0])
		printf("%-13s none\n", "last exit");
	else
		printf("%-13s %s (%s): %s\n", "last exit", kind, reason, msg);
	return 0;
}

int cmd_policy_show(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &output_argp }, { &sysfs_root_argp }, {}
	};
	static const struct argp argp = { opts, parse_arg, NULL, doc, children };

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	return policy_show();
}

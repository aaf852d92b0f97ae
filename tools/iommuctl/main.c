// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl: see what the IOMMU costs, per device, and decide it by policy.
 *
 * bpftool's model: iommuctl [GLOBAL OPTIONS] OBJECT COMMAND [OPTIONS], any
 * unambiguous prefix of a word accepted.  This file only dispatches; each
 * command parses its own options with argp and has --help with examples.
 */
#include <argp.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "bpf_log.h"
#include "commands.h"
#include "json.h"
#include "output.h"

#ifndef IOMMUCTL_VERSION
#define IOMMUCTL_VERSION "unknown"
#endif
/* Bumped when a JSON field is renamed or removed (never for additions). */
#define SCHEMA_VERSION 1

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);	/* a command */
	const struct cmd *sub;			/* or a word with commands of its own */
	const char *help;
};

static const struct cmd trace_cmds[] = {
	{ "latency", cmd_trace_latency, NULL, "DMA and domain map/unmap latency histograms" },
	{ "flush", cmd_trace_flush, NULL, "IOTLB flushes per domain, and lazy mode's "
	  "exposure window" },
	{ "events", cmd_trace_events, NULL, "attach/detach, default-domain, DMA ownership, "
	  "PASID, I/O page fault and policy decision events as they happen" },
	{},
};

static const struct cmd policy_cmds[] = {
	{ "load", cmd_policy_load, NULL, "attach a BPF IOMMU policy (rules file or BPF "
	  "object), pinned" },
	{ "replace", cmd_policy_replace, NULL, "swap the attached policy for another, "
	  "atomically" },
	{ "sync", cmd_policy_sync, NULL, "attach, replace or keep: whichever makes it the "
	  "one given" },
	{ "unload", cmd_policy_unload, NULL, "detach the pinned policy" },
	{ "show", cmd_policy_show, NULL, "the policy's state, decision counters and last exit" },
	{ "explain", cmd_policy_explain, NULL, "per device: group, trust, what each policy "
	  "hook decided" },
	{ "test", cmd_policy_test, NULL, "what a rules file would decide per device, "
	  "loading nothing" },
	{ "apply", cmd_policy_apply, NULL, "let the attached policy decide devices probed "
	  "before it" },
	{},
};

static const struct cmd top_cmds[] = {
	{ "devices", cmd_devices, NULL, "every device behind an IOMMU: group, domain type, "
	  "trust, reserved regions, PASID, IOMMU" },
	{ "top", cmd_top, NULL, "a live per-device view: DMA mode, map/unmap rates and "
	  "latency, IOTLB flushes, the policy's verdict" },
	{ "metrics", cmd_metrics, NULL, "Prometheus metrics for node_exporter's textfile "
	  "collector: latency, flushes, the policy's counters" },
	{ "trace", NULL, trace_cmds, "live tracing: latency, flush, events" },
	{ "policy", NULL, policy_cmds, "the BPF IOMMU policy: load, replace, sync, unload, "
	  "show, explain, test, apply" },
	{},
};

/* "  name    help", the help wrapped at 80 columns under itself */
static void print_cmd(FILE *f, const char *name, const char *help)
{
	int col = fprintf(f, "  %-16s", name);

	while (*help) {
		int len = strlen(help), cut = len;

		if (col + len > 79) {
			for (cut = 79 - col; cut > 0 && help[cut] != ' '; cut--)
				;
			if (!cut)
				cut = len;
		}
		fprintf(f, " %.*s\n", cut, help);
		help += cut;
		while (*help == ' ')
			help++;
		if (*help)
			col = fprintf(f, "%18s", "");
	}
}

static void usage(FILE *f, const char *prog, const struct cmd *cmds)
{
	fprintf(f, "Usage: %s%s COMMAND [OPTIONS]\n\nCommands:\n", prog,
		cmds == top_cmds ? " [-j|-p] [-v] [-V]" : "");
	for (const struct cmd *c = cmds; c->name; c++) {
		if (c->sub) {
			for (const struct cmd *s = c->sub; s->name; s++) {
				char name[64];

				snprintf(name, sizeof(name), "%s %s", c->name, s->name);
				print_cmd(f, name, s->help);
			}
			continue;
		}
		print_cmd(f, c->name, c->help);
	}
	if (cmds == top_cmds)
		fprintf(f, "\nGlobal options (-j, -p, -v also after the command):\n"
			"  -j, --json       JSON output; errors too, as an object on stdout\n"
			"  -p, --pretty     indented JSON (implies -j)\n"
			"  -v, --verbose    libbpf debug output; verifier log on load errors\n"
			"  -V, --version    iommuctl's and libbpf's versions\n"
			"  -h, --help       this text\n");
	fprintf(f, "\n'%s COMMAND --help' describes a command, with examples.\n"
		"Any unambiguous prefix of a command works ('iommuctl tr l' is trace latency).\n"
		"Exit status: 0 success, 1 failure, 2 bad usage, bad input (rules, objects)\n"
		"or unknown device.\n", prog);
}

static int version(void)
{
	if (json_output) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_str(&j, "version", IOMMUCTL_VERSION);
		json_str(&j, "libbpf", libbpf_version_string());
		json_end_object(&j);
		json_line(&j);
		return 0;
	}
	printf("iommuctl %s\nlibbpf %s\nJSON schema %d\n", IOMMUCTL_VERSION,
	       libbpf_version_string(), SCHEMA_VERSION);
	return 0;
}

/* The command a word names: exact, else the one it is a prefix of. */
static const struct cmd *lookup(const struct cmd *cmds, const char *word, int *ambiguous)
{
	const struct cmd *found = NULL;
	size_t len = strlen(word);

	*ambiguous = 0;
	for (const struct cmd *c = cmds; c->name; c++) {
		if (!strcmp(c->name, word))
			return c;
		if (len && !strncmp(c->name, word, len)) {
			if (found)
				*ambiguous = 1;
			found = c;
		}
	}
	return *ambiguous ? NULL : found;
}

static int dispatch(const char *prog, const struct cmd *cmds, int argc, char **argv)
{
	const struct cmd *c;
	char name[128];
	int ambiguous;

	if (argc < 1) {
		usage(stderr, prog, cmds);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		usage(stdout, prog, cmds);
		return 0;
	}
	c = lookup(cmds, argv[0], &ambiguous);
	if (!c) {
		usage(stderr, prog, cmds);
		return p_usage("%s command '%s' for %s", ambiguous ? "ambiguous" : "unknown",
			       argv[0], prog);
	}
	snprintf(name, sizeof(name), "%s %s", prog, c->name);
	argv[0] = name;
	if (c->sub)
		return dispatch(name, c->sub, argc - 1, argv + 1);
	return c->fn(argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	bool want_version = false;
	int c;

	argp_err_exit_status = EXIT_USAGE;
	json_schema_version = SCHEMA_VERSION;
	bpf_log_setup();
	/* '+': global options end at the command */
	while ((c = getopt_long(argc, argv, "+jpvVh", opts, NULL)) != -1) {
		if (output_option(c))
			continue;
		switch (c) {
		case 'V':
			want_version = true;
			break;
		case 'h':
			usage(stdout, "iommuctl", top_cmds);
			return 0;
		default:
			usage(stderr, "iommuctl", top_cmds);
			return EXIT_USAGE;
		}
	}
	/*
	 * -j after the command is parsed with the command's options, possibly
	 * after the one in error: look for it now, so that every error of a
	 * -j run is a JSON object.
	 */
	for (int i = optind; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			output_option('j');
		else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--pretty"))
			output_option('p');
	}
	if (want_version)
		return version();
	return dispatch("iommuctl", top_cmds, argc - optind, argv + optind);
}

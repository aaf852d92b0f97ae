// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl policy load, replace, sync, unload: attach a BPF IOMMU attach
 * policy (struct iommu_policy_ops) through a pinned BPF link, replace it
 * atomically, detach it.
 *
 * The kernel allows one policy at a time, attached only through a link and
 * only with CAP_SYS_ADMIN.  The link is pinned (default
 * /sys/fs/bpf/iommu_policy) so that the policy outlives iommuctl; the pin is
 * how replace and unload find it again.
 */
#include <argp.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "caps.h"
#include "commands.h"
#include "json.h"
#include "output.h"
#include "policy_eval.h"
#include "policy_obj.h"
#include "policy_rules.h"
#include "policy_sysfs.h"
#include "policy_table.skel.h"
#include "sha256.h"

enum policy_cmd { CMD_LOAD, CMD_REPLACE, CMD_UNLOAD, CMD_SYNC };

static struct {
	enum policy_cmd cmd;
	const char *rules, *name, *obj, *pin;
	bool check, why_einval;
} opt = { .pin = DEFAULT_PIN };

enum { OPT_WHY_EINVAL = 0x100 };

static const char load_doc[] =
"Attach a BPF IOMMU policy and pin its link, so that it stays attached after\n"
"iommuctl exits.\n"
"\n"
"USAGE: iommuctl policy load [-r RULES [-c] | OBJ.bpf.o] [-N NAME] [-P PIN] [-j|-p] [-v]\n"
"\n"
"With -r, the built-in table policy, its verdicts taken from the rules file\n"
"RULES (one 'CONDITIONS HOOK VERDICT' per line, see iommu-policy.rules(5));\n"
"malformed rules exit 2 and load nothing.  With OBJ, any BPF object with one\n"
"struct iommu_policy_ops.  Only one policy can be attached: replace swaps it.\n"
"Needs CAP_SYS_ADMIN, CAP_BPF and CAP_PERFMON.\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy load -r /etc/iommu-policy.rules\n"
"    iommuctl policy load -c -r rules     # check the rules, print the table\n"
"    iommuctl policy load /usr/lib/iommu-bpf/policy/untrusted_strict.bpf.o\n";

static const char replace_doc[] =
"Replace the pinned policy atomically (BPF_LINK_UPDATE): no decision is made\n"
"without a policy, none by both.\n"
"\n"
"USAGE: iommuctl policy replace [-r RULES [-c] | OBJ.bpf.o] [-N NAME] [-P PIN] [-j|-p] [-v]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy replace -r /etc/iommu-policy.rules\n"
"    iommuctl policy replace /usr/lib/iommu-bpf/policy/untrusted_strict.bpf.o\n";

static const char sync_doc[] =
"Make the pinned policy the one given, doing as little as possible: attach\n"
"it if no policy is attached, replace the attached one (atomically) if it was\n"
"made from anything else, and do nothing if it was made from the same rules\n"
"or object, name and iommuctl.  For boot scripts and iommu-policy.service.\n"
"\n"
"USAGE: iommuctl policy sync [-r RULES [-c] | OBJ.bpf.o] [-N NAME] [-P PIN] [-j|-p] [-v]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy sync -r /etc/iommu-policy.rules\n";

static const char unload_doc[] =
"Detach the pinned policy and remove its pin.  Decisions already made stay.\n"
"\n"
"USAGE: iommuctl policy unload [-P PIN] [-j|-p]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy unload\n";

static const struct argp_option load_opts[] = {
	{ "rules", 'r', "RULES", 0, "the table policy with these rules", 0 },
	{ "name", 'N', "NAME", 0, "the policy's name (sysfs, logs); default: the object's", 0 },
	{ "check", 'c', NULL, 0, "with -r: check the rules, print the table, load nothing", 0 },
	{ "pin", 'P', "PIN", 0, "pin the link here (default " DEFAULT_PIN ")", 0 },
	{ "why-einval", OPT_WHY_EINVAL, NULL, OPTION_HIDDEN, "open the policy and say what "
	  "an EINVAL of the kernel would be blamed on; load nothing (tests)", 0 },
	{},
};

static const struct argp_option unload_opts[] = {
	{ "pin", 'P', "PIN", 0, "the pinned link (default " DEFAULT_PIN ")", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'r':
		opt.rules = arg;
		break;
	case 'N':
		opt.name = arg;
		break;
	case 'c':
		opt.check = true;
		break;
	case 'P':
		opt.pin = arg;
		break;
	case OPT_WHY_EINVAL:
		opt.why_einval = true;
		break;
	case ARGP_KEY_ARG:
		if (opt.cmd == CMD_UNLOAD || opt.obj) {
			p_usage("unexpected argument '%s'", arg);
			return EINVAL;
		}
		opt.obj = arg;
		break;
	case ARGP_KEY_END:
		if (opt.cmd == CMD_UNLOAD)
			break;
		if (!!opt.rules == !!opt.obj) {
			p_usage("want either -r RULES (the table policy) or a BPF object "
				"OBJ.bpf.o");
			return EINVAL;
		}
		if (opt.check && !opt.rules) {
			p_usage("-c checks a rules file: it needs -r RULES");
			return EINVAL;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* EBUSY: say who holds the IOMMU policy and what to do */
static int report_busy(void)
{
	char name[64];

	policy_attr("name", name, sizeof(name));
	if (access(opt.pin, F_OK))
		return p_err("policy '%s' is already attached, and only one can be: 'iommuctl "
			     "policy replace' swaps it atomically, 'iommuctl policy unload' "
			     "detaches it (it is not pinned at %s: whoever attached it must "
			     "detach it, or give its pin with -P)", name, opt.pin);
	return p_err("policy '%s' is already attached, and only one can be: 'iommuctl policy "
		     "replace' swaps it atomically, 'iommuctl policy unload' detaches it", name);
}

/* The pinned policy was detached (by the kernel, after an error) */
static int report_gone(void)
{
	char last[400];

	policy_last_exit_str(last, sizeof(last));
	return p_err("the policy pinned at %s is no longer attached (last exit: %s): "
		     "'iommuctl policy unload' removes the pin, then 'iommuctl policy load' "
		     "attaches a new one", opt.pin, last);
}

/* Why the kernel refused to attach (err < 0) or swap in (replace) a policy */
/* Why the kernel refused to attach (err < 0) or swap in (replace) a policy */
static int report_attach_error(int err, const struct policy_obj *p,
				const struct policy_exit_snap *before, bool replace)
{
	struct policy_exit_snap now;
	const char *name = p->name;
	char msg[300], last[400];

	policy_exit_snap_read(&now);
	if (policy_init_failed(before, &now, err, msg, sizeof(msg)))
		return p_err("policy '%s' refused to start: %s%s", name, msg,
			     replace ? "; the old policy stays attached" : "");
	switch (-err) {
	case EBUSY:
		return report_busy();
	case EPERM:
	case EACCES:
		return p_err("the kernel refused policy '%s': attaching an IOMMU policy needs "
			     "CAP_SYS_ADMIN", name);
	case EOPNOTSUPP:
		return p_err("the kernel attaches IOMMU policies only through a BPF link: "
			     "declare the struct iommu_policy_ops in SEC(\".struct_ops.link\")");
	case EINVAL:
		return policy_obj_report_einval(p);
	case ENOENT:	/* BPF_LINK_UPDATE: the link's policy is not the attached one */
	case ENOLINK:	/* BPF_LINK_UPDATE: the link was detached */
		if (replace)
			return report_gone();
		/* fallthrough */
	default:
		policy_last_exit_str(last, sizeof(last));
		return p_err("attaching policy '%s' failed: %s (last exit: %s)", name,
			     strerror(-err), last);
	}
}

/* Pins need a BPF filesystem; mount the usual one if it is missing */
static int ensure_bpffs(const char *pin)
{
	char buf[PATH_MAX], *dir;
	struct statfs st;

	snprintf(buf, sizeof(buf), "%s", pin);
	dir = dirname(buf);
	if (!statfs(dir, &st)) {
		if (st.f_type == BPF_FS_MAGIC)
			return 0;
	} else if (errno != ENOENT) {
		/* Not root: a directory on the way that this user cannot search */
		return p_err("cannot reach %s to pin the policy there: %s", dir, strerror(errno));
	}
	if (strcmp(dir, BPFFS_DIR))
		return p_err("%s is not on a BPF filesystem, so the policy cannot be pinned "
			     "there: pin it below " BPFFS_DIR " (-P)", pin);
	if (mount("bpf", BPFFS_DIR, "bpf", 0, "mode=0700"))
		return p_err("cannot mount a BPF filesystem on " BPFFS_DIR " to pin the policy: "
			     "%s", strerror(errno));
	return 0;
}

static void print_result(const char *verb, const char *name, const char *old,
			 const struct policy_rules *rs)
{
	long long seq = policy_attr_ll("enable_seq");

	if (json_output) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_str(&j, "action", verb);
		json_str(&j, "name", name);
		if (old)
			json_str(&j, "replaced", old);
		json_i64(&j, "enable_seq", seq);
		json_str(&j, "pin", opt.pin);
		if (rs)
			json_u64(&j, "rules", rs->lines);
		else
			json_null(&j, "rules");
		json_end_object(&j);
		json_line(&j);
		return;
	}
	printf("policy '%s' %s", name, verb);
	if (old)
		printf(" '%s'", old);
	printf(", enable_seq %lld, pinned at %s", seq, opt.pin);
	if (rs)
		printf(", %zu rule%s", rs->lines, rs->lines == 1 ? "" : "s");
	printf("\n");
}

/* A pin whose policy is gone (the kernel detached it after an error) */
static void drop_stale_pin(void)
{
	char last[400];

	if (access(opt.pin, F_OK) || policy_enabled())
		return;
	policy_last_exit_str(last, sizeof(last));
	fprintf(stderr, "iommuctl: removing %s: its policy is no longer attached (last "
		"exit: %s)\n", opt.pin, last);
	unlink(opt.pin);
}

/* Everything load and replace check before touching the kernel */
static int prepare(struct policy_rules *rs)
{
	char err[512];
	int ret;

	if (opt.rules && policy_rules_read(opt.rules, rs, err, sizeof(err)))
		return p_input("%s", err);
	if (opt.name && !policy_name_valid(opt.name, IOMMU_POLICY_NAME_LEN, NULL, 0))
		return p_usage("invalid policy name '%s' (expected 1 to %d letters, digits, '_' "
			       "or '.')", opt.name, IOMMU_POLICY_NAME_LEN - 1);
	ret = caps_check(NEED_TRACE | NEED_ADMIN, opt.cmd == CMD_REPLACE ?
			 "replacing a policy" : "loading a policy");
	if (!ret)
		ret = policy_check_kernel(true);
	return ret;
}

/* -c: check the rules and print the table; load nothing */
static int check_rules(void)
{
	struct policy_rules rs = {};
	char err[512];

	if (policy_rules_read(opt.rules, &rs, err, sizeof(err)))
		return p_input("%s", err);
	policy_rules_print(&rs, stdout);
	policy_warn_clamped(&rs, opt.rules);
	policy_rules_free(&rs);
	return 0;
}

/* --why-einval (tests): report_einval() of the policy as opened, no kernel */
static int policy_why_einval(void)
{
	struct policy_obj p;
	int ret;

	ret = policy_obj_open(&p, opt.obj, opt.name);
	if (!ret)
		ret = policy_obj_report_einval(&p);
	policy_obj_free(&p);
	return ret;
}

/*
 * What the attached policy was made from, in a BPF array map pinned beside
 * its link (PIN_source: bpffs refuses names with a dot), so that sync can
 * tell whether the policy asked for is attached already.  The digest covers iommuctl's own table program (a
 * newer iommuctl may compile the same rules differently), the rules file or
 * the object, and the name.  enable_seq ties the record to the attach it
 * describes: a policy swapped in by anyone else has another.
 */
struct policy_source {
	__u8 digest[SHA256_LEN];
	__s64 enable_seq;
	char path[256];		/* the rules file or object, for people */
};

static void source_pin(char *buf, size_t len)
{
	snprintf(buf, len, "%s_source", opt.pin);
}

static int hash_file(struct sha256 *h, const char *path)
{
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sha256_update(h, buf, n);
	n = ferror(f);
	fclose(f);
	return n ? -EIO : 0;
}

/* The digest of what -r/OBJ and -n make; -errno if a file cannot be read */
static int source_digest(__u8 digest[SHA256_LEN])
{
	static const char tag[] = "iommuctl policy source 1";
	const char *name = opt.name ? opt.name : "";
	struct sha256 h;
	size_t len = 0;
	const void *elf;
	int err;

	sha256_init(&h);
	sha256_update(&h, tag, sizeof(tag));
	if (opt.rules) {
		elf = table_bpf__elf_bytes(&len);
		sha256_update(&h, "rules", 6);
		sha256_update(&h, &len, sizeof(len));
		sha256_update(&h, elf, len);
	} else {
		sha256_update(&h, "object", 7);
	}
	err = hash_file(&h, opt.rules ? opt.rules : opt.obj);
	if (err)
		return err;
	sha256_update(&h, name, strlen(name) + 1);
	sha256_final(&h, digest);
	return 0;
}

/* After a load or replace: remember what the policy was made from */
static void record_source(void)
{
	struct policy_source src = { .enable_seq = policy_attr_ll("enable_seq") };
	char pin[PATH_MAX];
	__u32 zero = 0;
	int fd, err;

	source_pin(pin, sizeof(pin));
	unlink(pin);
	err = source_digest(src.digest);
	if (err)
		goto warn;
	snprintf(src.path, sizeof(src.path), "%s", opt.rules ? opt.rules : opt.obj);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "iommu_pol_src", sizeof(zero), sizeof(src), 1,
			    NULL);
	if (fd < 0) {
		err = -errno;
		goto warn;
	}
	err = bpf_map_update_elem(fd, &zero, &src, BPF_ANY) ? -errno : 0;
	if (!err && bpf_obj_pin(fd, pin))
		err = -errno;
	close(fd);
	if (!err)
		return;
warn:
	p_warn("cannot record what the policy was made from at %s (%s): the next 'policy "
	       "sync' will replace it", pin, strerror(-err));
}

/* Was the attached policy made from what -r/OBJ and -n say now? */
static bool source_unchanged(void)
{
	struct policy_source src;
	__u8 digest[SHA256_LEN];
	char pin[PATH_MAX];
	__u32 zero = 0;
	int fd, err;

	source_pin(pin, sizeof(pin));
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return false;
	err = bpf_map_lookup_elem(fd, &zero, &src);
	close(fd);
	if (err || src.enable_seq != policy_attr_ll("enable_seq"))
		return false;
	return !source_digest(digest) && !memcmp(digest, src.digest, sizeof(digest));
}

/*
 * Load the policy, fill its table, and try to attach it: *link, or NULL
 * with errno saying why (replace expects EBUSY).  before: sysfs just
 * before the attach, to tell an init() failure apart.
 */
static int load_and_attach(struct policy_obj *p, const struct policy_rules *rs,
			   struct policy_exit_snap *before, struct bpf_link **link)
{
	int ret;

	*link = NULL;
	ret = policy_obj_load(p, opt.obj, opt.name);
	if (ret)
		return ret;
	/* Rules first: a device probed right after the attach sees them all */
	if (p->table) {
		ret = policy_obj_fill_table(p, rs);
		if (ret)
			return ret;
	}
	policy_exit_snap_read(before);
	*link = bpf_map__attach_struct_ops(p->map);
	return 0;
}

/* Pin a new link and close ours: the pin keeps the policy attached, and if
 * the pin fails, closing the link detaches it. */
static int pin_link(struct bpf_link *link)
{
	int ret = 0;

	if (bpf_link__pin(link, opt.pin))
		ret = p_err("pinning the policy at %s failed: %s; detaching it", opt.pin,
			    strerror(errno));
	bpf_link__destroy(link);
	return ret;
}

static int policy_load(void);
static int policy_replace(void);

/*
 * Attach, replace or leave alone, whichever makes the pinned policy the one
 * asked for.  A policy attached by someone else (not through the pin) is
 * left alone: load reports it.
 */
static int policy_sync(void)
{
	struct policy_rules rs = {};
	char name[64];
	bool pinned;
	int ret, fd;

	if (opt.check)
		return check_rules();
	ret = prepare(&rs);
	policy_rules_free(&rs);
	if (ret)
		return ret;
	fd = bpf_obj_get(opt.pin);
	pinned = fd >= 0;
	if (pinned)
		close(fd);
	if (!pinned || !policy_enabled())
		return policy_load();
	if (!source_unchanged())
		return policy_replace();
	policy_attr("name", name, sizeof(name));
	print_result("unchanged", name, NULL, NULL);
	return 0;
}

static int policy_load(void)
{
	struct policy_rules rs = {};
	struct policy_exit_snap before;
	struct policy_obj p = {};
	struct bpf_link *link;
	int ret;

	if (opt.why_einval)
		return policy_why_einval();
	if (opt.check)
		return check_rules();
	ret = prepare(&rs);
	if (ret)
		goto out_rules;
	if (policy_enabled()) {
		ret = report_busy();
		goto out_rules;
	}
	drop_stale_pin();
	if (!access(opt.pin, F_OK)) {
		ret = p_err("%s already exists: pin elsewhere with -P", opt.pin);
		goto out_rules;
	}
	ret = ensure_bpffs(opt.pin);
	if (ret)
		goto out_rules;
	ret = load_and_attach(&p, &rs, &before, &link);
	if (ret)
		goto out;
	if (!link) {
		ret = report_attach_error(-errno, &p, &before, false);
		goto out;
	}
	ret = pin_link(link);
	if (ret)
		goto out;
	record_source();
	print_result("attached", p.name, NULL, p.table ? &rs : NULL);
out:
	policy_obj_free(&p);
out_rules:
	policy_rules_free(&rs);
	return ret;
}

/*
 * libbpf can write a struct_ops map's value into the kernel only on the way
 * to a link: bpf_map__attach_struct_ops() writes it, then creates a link,
 * which the kernel refuses with EBUSY while the old policy is attached.  The
 * map is then ready for BPF_LINK_UPDATE on the pinned link.  If nothing was
 * attached any more, the new link simply is the policy: pin it instead.
 */
static int policy_replace(void)
{
	char old[64];
	struct policy_rules rs = {};
	struct policy_exit_snap before;
	struct policy_obj p = {};
	struct bpf_link *link;
	int ret, fd = -1;

	if (opt.check)
		return check_rules();
	ret = prepare(&rs);
	if (ret)
		goto out_rules;
	fd = bpf_obj_get(opt.pin);
	if (fd < 0) {
		if (errno == ENOENT)
			ret = p_err("no policy is pinned at %s: nothing to replace ('iommuctl "
				    "policy load' attaches one)", opt.pin);
		else
			ret = p_err("cannot open the pinned policy %s: %s", opt.pin,
				    strerror(errno));
		goto out_rules;
	}
	if (!policy_enabled()) {
		ret = report_gone();
		goto out_rules;
	}
	policy_attr("name", old, sizeof(old));
	ret = load_and_attach(&p, &rs, &before, &link);
	if (ret)
		goto out;
	if (link) {
		unlink(opt.pin);
		ret = pin_link(link);
		if (ret)
			goto out;
		fprintf(stderr, "iommuctl: policy '%s' went away meanwhile: '%s' attached "
			"as a new policy\n", old, p.name);
		record_source();
		print_result("attached", p.name, NULL, p.table ? &rs : NULL);
		goto out;
	}
	if (errno != EBUSY) {
		ret = report_attach_error(-errno, &p, &before, true);
		goto out;
	}
	if (bpf_link_update(fd, bpf_map__fd(p.map), NULL)) {
		ret = report_attach_error(-errno, &p, &before, true);
		goto out;
	}
	record_source();
	print_result("replaced", p.name, old, p.table ? &rs : NULL);
out:
	policy_obj_free(&p);
out_rules:
	if (fd >= 0)
		close(fd);
	policy_rules_free(&rs);
	return ret;
}

static int policy_unload(void)
{
	char name[64], now[64], last[400], src_pin[PATH_MAX], text[PATH_MAX + 600];
	const char *result;
	bool was_enabled;
	int ret, fd;

	ret = caps_check(NEED_TRACE | NEED_ADMIN, "unloading a policy");
	if (!ret)
		ret = policy_check_kernel(false);
	if (ret)
		return ret;
	fd = bpf_obj_get(opt.pin);
	if (fd < 0) {
		if (errno != ENOENT)
			return p_err("cannot open the pinned policy %s: %s", opt.pin,
				     strerror(errno));
		if (policy_enabled()) {
			policy_attr("name", name, sizeof(name));
			return p_err("no policy is pinned at %s: nothing to unload (policy '%s' is "
				     "attached, but not through this pin: whoever attached it must "
				     "detach it)", opt.pin, name);
		}
		return p_err("no policy is pinned at %s: nothing to unload", opt.pin);
	}
	policy_attr("name", name, sizeof(name));
	was_enabled = policy_enabled();
	if (bpf_link_detach(fd)) {
		ret = p_err("detaching the policy pinned at %s failed: %s", opt.pin,
			    strerror(errno));
		close(fd);
		return ret;
	}
	close(fd);
	if (unlink(opt.pin))
		p_warn("removing %s: %s", opt.pin, strerror(errno));
	source_pin(src_pin, sizeof(src_pin));
	unlink(src_pin);
	policy_last_exit_str(last, sizeof(last));
	if (policy_enabled()) {
		policy_attr("name", now, sizeof(now));
		result = "pin_removed";
		snprintf(text, sizeof(text), "pin %s removed; its policy had already gone; "
			 "policy '%s' is attached, but not through it", opt.pin, now);
	} else if (was_enabled) {
		result = "detached";
		snprintf(text, sizeof(text), "policy '%s' detached; last exit: %s", name, last);
	} else {
		result = "pin_removed";
		snprintf(text, sizeof(text), "pin %s removed; its policy had already been "
			 "detached (last exit: %s)", opt.pin, last);
	}
	if (json_output) {
		struct json j;

		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_str(&j, "action", result);
		json_str(&j, "name", was_enabled ? name : "");
		json_str(&j, "pin", opt.pin);
		json_str(&j, "last_exit", last);
		json_end_object(&j);
		json_line(&j);
	} else {
		printf("%s\n", text);
	}
	return 0;
}

static int run(enum policy_cmd cmd, const char *doc, const struct argp_option *opts,
	       int (*fn)(void), int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	const struct argp argp = { opts, parse_arg, cmd == CMD_UNLOAD ? NULL : "[OBJ.bpf.o]",
				   doc, children };

	opt.cmd = cmd;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	return fn();
}

int cmd_policy_load(int argc, char **argv)
{
	return run(CMD_LOAD, load_doc, load_opts, policy_load, argc, argv);
}

int cmd_policy_replace(int argc, char **argv)
{
	return run(CMD_REPLACE, replace_doc, load_opts, policy_replace, argc, argv);
}

int cmd_policy_sync(int argc, char **argv)
{
	return run(CMD_SYNC, sync_doc, load_opts, policy_sync, argc, argv);
}

int cmd_policy_unload(int argc, char **argv)
{
	return run(CMD_UNLOAD, unload_doc, unload_opts, policy_unload, argc, argv);
}

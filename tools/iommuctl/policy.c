// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl policy: attach a BPF IOMMU attach policy (struct iommu_policy_ops)
 * through a pinned BPF link, replace it atomically, detach it, show its state
 * and explain, per device, what it decided.
 *
 * The kernel allows one policy at a time, attached only through a link and
 * only with CAP_SYS_ADMIN.  The link is pinned (default
 * /sys/fs/bpf/iommu_policy) so that the policy outlives iommuctl; the pin is
 * how replace and unload find it again.  Everything shown comes from the
 * kernel: /sys/kernel/iommu_policy/ and debugfs iommu_policy/verdicts and
 * iommu_policy/devices.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "iommuctl.h"
#include "devfacts.h"
#include "json.h"
#include "policy_rules.h"
#include "policy_table.skel.h"
#include "sha256.h"
#include "verdicts.h"
#include "policy_eval.h"

#define POLICY_SYSFS	"/sys/kernel/iommu_policy"
#define DEFAULT_PIN	"/sys/fs/bpf/iommu_policy"
#define BPFFS_DIR	"/sys/fs/bpf"
/* policy_view() reads the callbacks from libbpf's shadow struct_ops type */
#if LIBBPF_MAJOR_VERSION < 1 || (LIBBPF_MAJOR_VERSION == 1 && LIBBPF_MINOR_VERSION < 4)
#error "iommuctl needs libbpf 1.4 or later"
#endif
/* BPF_F_LINK of <linux/bpf.h> 6.4+; the system's header may be older */
#define MAP_F_LINK	(1U << 13)

enum policy_cmd { CMD_LOAD, CMD_REPLACE, CMD_UNLOAD, CMD_SHOW, CMD_EXPLAIN, CMD_TEST, CMD_SYNC };

static struct {
	enum policy_cmd cmd;
	const char *rules, *name, *obj, *pin, *dev;
	bool json, verbose, check, why_einval;
} opt = { .pin = DEFAULT_PIN };

enum { OPT_WHY_EINVAL = 0x100 };

/* ------------------------------------------------------------ options */

static const char load_doc[] =
"Attach a BPF IOMMU policy and pin its link, so that it stays attached after\n"
"iommuctl exits.\n"
"\n"
"USAGE: iommuctl policy load [-r RULES] [-n NAME] [-p PIN] [-j] [-v] [OBJ.bpf.o]\n"
"\n"
"With -r, the built-in table policy, its verdicts taken from the rules file\n"
"RULES (one 'CONDITIONS HOOK VERDICT' per line, see tools/iommuctl/README.md);\n"
"malformed rules exit 2 and load nothing.  With OBJ, any BPF object with one\n"
"struct iommu_policy_ops.  Only one policy can be attached: replace swaps it.\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy load -r /etc/iommu-policy.rules\n"
"    iommuctl policy load -c -r rules     # check the rules, print the table\n"
"    iommuctl policy load build/iommuctl/policy/untrusted_strict.bpf.o\n";

static const char replace_doc[] =
"Replace the pinned policy atomically (BPF_LINK_UPDATE): no decision is made\n"
"without a policy, none by both.\n"
"\n"
"USAGE: iommuctl policy replace [-r RULES | OBJ.bpf.o] [-n NAME] [-p PIN] [-j] [-v]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy replace -r /etc/iommu-policy.rules\n"
"    iommuctl policy replace build/iommuctl/policy/untrusted_strict.bpf.o\n";

static const char sync_doc[] =
"Make the pinned policy the one given, doing as little as possible: attach\n"
"it if no policy is attached, replace the attached one (atomically) if it was\n"
"made from anything else, and do nothing if it was made from the same rules\n"
"or object, name and iommuctl.  For boot scripts and iommu-policy.service.\n"
"\n"
"USAGE: iommuctl policy sync [-r RULES | OBJ.bpf.o] [-n NAME] [-p PIN] [-j] [-v]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy sync -r /etc/iommu-policy.rules\n";

static const char unload_doc[] =
"Detach the pinned policy and remove its pin.  Decisions already made stay.\n"
"\n"
"USAGE: iommuctl policy unload [-p PIN]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy unload\n";

static const char show_doc[] =
"Show the policy's state, decision counters and how the last policy went.\n"
"\n"
"USAGE: iommuctl policy show [-j] [-p PIN]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy show\n"
"    iommuctl policy show -j         # schema: tools/iommuctl/README.md\n";

static const char explain_doc[] =
"For each device behind an IOMMU (or DEV), its group, the group's domain\n"
"type, its trust, and the last decision of each policy hook: what the\n"
"kernel proposed, what the policy said, what was applied and why.\n"
"\n"
"USAGE: iommuctl policy explain [-j] [DEV]\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy explain\n"
"    iommuctl policy explain -j 0000:00:03.0\n";

static const struct argp_option load_opts[] = {
	{ "rules", 'r', "RULES", 0, "the table policy with these rules", 0 },
	{ "name", 'n', "NAME", 0, "the policy's name (sysfs, logs); default: the object's", 0 },
	{ "check", 'c', NULL, 0, "with -r: check the rules, print the table, load nothing", 0 },
	{ "pin", 'p', "PIN", 0, "pin the link here (default " DEFAULT_PIN ")", 0 },
	{ "json", 'j', NULL, 0, "JSON output", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output; verifier log on load errors", 0 },
	{ "why-einval", OPT_WHY_EINVAL, NULL, OPTION_HIDDEN, "open the policy and say what "
	  "an EINVAL of the kernel would be blamed on; load nothing (tests)", 0 },
	{},
};

static const struct argp_option unload_opts[] = {
	{ "pin", 'p', "PIN", 0, "the pinned link (default " DEFAULT_PIN ")", 0 },
	{},
};

static const struct argp_option show_opts[] = {
	{ "json", 'j', NULL, 0, "JSON output", 0 },
	{ "pin", 'p', "PIN", 0, "the pinned link (default " DEFAULT_PIN ")", 0 },
	{ "sysfs-root", 'R', "DIR", OPTION_HIDDEN, "read sysfs below DIR (tests)", 0 },
	{},
};

static const struct argp_option test_opts[] = {
	{ "rules", 'r', "RULES", 0, "the rules file to evaluate", 0 },
	{ "json", 'j', NULL, 0, "JSON output", 0 },
	{ "sysfs-root", 'R', "DIR", OPTION_HIDDEN, "read sysfs and debugfs below DIR (tests)", 0 },
	{},
};

static const struct argp_option explain_opts[] = {
	{ "json", 'j', NULL, 0, "JSON output", 0 },
	{ "sysfs-root", 'R', "DIR", OPTION_HIDDEN, "read sysfs and debugfs below DIR (tests)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'r':
		opt.rules = arg;
		break;
	case 'n':
		opt.name = arg;
		break;
	case 'c':
		opt.check = true;
		break;
	case 'p':
		opt.pin = arg;
		break;
	case 'j':
		opt.json = true;
		break;
	case 'v':
		opt.verbose = true;
		break;
	case 'R':
		sysfs_root = arg;
		break;
	case OPT_WHY_EINVAL:
		opt.why_einval = true;
		break;
	case ARGP_KEY_ARG:
		if ((opt.cmd == CMD_LOAD || opt.cmd == CMD_REPLACE || opt.cmd == CMD_SYNC) &&
		    !opt.obj)
			opt.obj = arg;
		else if ((opt.cmd == CMD_EXPLAIN || opt.cmd == CMD_TEST) && !opt.dev)
			opt.dev = arg;
		else
			argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (opt.cmd == CMD_TEST && !opt.rules)
			argp_error(state, "policy test needs -r RULES");
		if (opt.cmd != CMD_LOAD && opt.cmd != CMD_REPLACE && opt.cmd != CMD_SYNC)
			break;
		if (!!opt.rules == !!opt.obj)
			argp_error(state, "want either -r RULES (the table policy) or a BPF "
				   "object OBJ.bpf.o");
		if (opt.check && !opt.rules)
			argp_error(state, "-c checks a rules file: it needs -r RULES");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ------------------------------------------------------------ sysfs */

/* One line of /sys/kernel/iommu_policy/ATTR, without its newline */
int policy_attr(const char *attr, char *buf, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s%s/%s", sysfs_root, POLICY_SYSFS, attr);
	return read_line(path, buf, len);
}

long long policy_attr_ll(const char *attr)
{
	char buf[32];

	if (policy_attr(attr, buf, sizeof(buf)) || !buf[0])
		return -1;
	return strtoll(buf, NULL, 10);
}

/* "unreg (detached by user space): policy "table" detached" */
static void last_exit_str(char *buf, size_t len)
{
	char kind[32], reason[64], msg[300];

	policy_attr("last_exit_kind", kind, sizeof(kind));
	policy_attr("last_exit_reason", reason, sizeof(reason));
	policy_attr("last_exit_msg", msg, sizeof(msg));
	if (!strcmp(kind, "none") || !kind[0])
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s (%s): %s", kind, reason, msg);
}

static const char no_policy_support[] =
	"iommuctl: this kernel has no BPF IOMMU policy (%s): it needs the iommu-bpf "
	"kernel series built with CONFIG_IOMMU_BPF_POLICY=y\n";

/* Fail with a message a user can act on if the kernel has no policy support */
static int check_kernel(bool need_btf)
{
	char path[PATH_MAX];
	struct btf *vmlinux;
	int id;

	snprintf(path, sizeof(path), "%s%s", sysfs_root, POLICY_SYSFS);
	if (access(path, F_OK)) {
		fprintf(stderr, no_policy_support, "no " POLICY_SYSFS);
		return EXIT_FAILURE;
	}
	if (!need_btf)
		return 0;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		fprintf(stderr, "iommuctl: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
			"it needs CONFIG_DEBUG_INFO_BTF=y\n");
		return EXIT_FAILURE;
	}
	id = btf__find_by_name_kind(vmlinux, "iommu_policy_ops", BTF_KIND_STRUCT);
	btf__free(vmlinux);
	if (id < 0) {
		fprintf(stderr, no_policy_support, "no struct iommu_policy_ops in its BTF");
		return EXIT_FAILURE;
	}
	return 0;
}

static int check_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "iommuctl: %s a policy needs root (CAP_SYS_ADMIN): run it with sudo\n",
		what);
	return EXIT_FAILURE;
}

static bool policy_enabled(void)
{
	char state[32];

	policy_attr("state", state, sizeof(state));
	return !strcmp(state, "enabled");
}

/* EBUSY: say who holds the IOMMU policy and what to do */
static void report_busy(void)
{
	char name[64];

	policy_attr("name", name, sizeof(name));
	fprintf(stderr, "iommuctl: policy '%s' is already attached, and only one can be: "
		"'iommuctl policy replace' swaps it atomically, 'iommuctl policy unload' "
		"detaches it\n", name);
	if (access(opt.pin, F_OK))
		fprintf(stderr, "iommuctl: (it is not pinned at %s: whoever attached it "
			"must detach it, or give its pin with -p)\n", opt.pin);
}

/* ------------------------------------------------------------ loading */

struct policy_obj {
	struct table_bpf *table;	/* -r: the built-in table policy */
	struct bpf_object *obj;
	struct bpf_map *map;		/* its struct iommu_policy_ops */
	char name[IOMMU_POLICY_NAME_LEN];
};

/* The iommu_policy_ops type of a struct_ops map, or NULL */
static const struct btf_type *policy_type(struct bpf_object *obj, struct bpf_map *map)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t;
	int id;

	if (!btf || bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
		return NULL;
	id = btf__resolve_type(btf, bpf_map__btf_value_type_id(map));
	t = id < 0 ? NULL : btf__type_by_id(btf, id);
	if (!t || !btf_is_struct(t) ||
	    strcmp(btf__name_by_offset(btf, t->name_off), "iommu_policy_ops"))
		return NULL;
	return t;
}

/* The policy's name member in the map's initial value; set it if name */
static int policy_name(struct policy_obj *p, const char *name)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	const struct btf_type *t = policy_type(p->obj, p->map);
	const struct btf_member *m = btf_members(t);
	size_t size;
	char *data = bpf_map__initial_value(p->map, &size);

	for (int i = 0; data && i < btf_vlen(t); i++, m++) {
		size_t off = btf_member_bit_offset(t, i) / 8;

		if (strcmp(btf__name_by_offset(btf, m->name_off), "name") ||
		    off + IOMMU_POLICY_NAME_LEN > size)
			continue;
		if (name) {
			memset(data + off, 0, IOMMU_POLICY_NAME_LEN);
			memcpy(data + off, name, strnlen(name, IOMMU_POLICY_NAME_LEN));
		}
		snprintf(p->name, sizeof(p->name), "%.*s", IOMMU_POLICY_NAME_LEN - 1,
			 data + off);
		return 0;
	}
	fprintf(stderr, "iommuctl: the struct iommu_policy_ops of %s has no name\n",
		opt.obj ? opt.obj : "the table policy");
	return EXIT_USAGE;
}

/* An integer member of a policy (flags: a __u64); 0 for an odd size */
static __u64 member_uint(const char *p, size_t size)
{
	__u64 v8;
	__u32 v4;
	__u16 v2;

	switch (size) {
	case 1:
		return (__u8)*p;
	case 2:
		memcpy(&v2, p, 2);
		return v2;
	case 4:
		memcpy(&v4, p, 4);
		return v4;
	case 8:
		memcpy(&v8, p, 8);
		return v8;
	}
	return 0;
}

/*
 * What the kernel checks of the policy when libbpf writes it to its map
 * (iommu_policy_init_member(), iommu_policy_validate_ops()), as libbpf will
 * write it: the map's initial value.  Name and flags are the bytes libbpf
 * sends.  For the callbacks, libbpf (1.4+) keeps its "shadow type" there: in
 * each function pointer member, the struct bpf_program whose fd it sends for
 * that member, set from the object's .struct_ops relocations (or by whoever
 * opened the object), NULL for none.  That is the one public view of which
 * member a program fills: the programs alone do not say it, and libbpf's
 * struct_ops state (st_ops->progs) is private.
 */
static void policy_view(const struct policy_obj *p, struct policy_ops_view *v)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	const struct btf_type *t = policy_type(p->obj, p->map);
	const char *data = bpf_map__initial_value(p->map, NULL);
	const struct btf_member *m;

	memset(v, 0, sizeof(*v));
	if (!t || !data)
		return;
	m = btf_members(t);
	/* t->size, not the map's value size: after the load, that is the kernel's */
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		const struct btf_type *mt = btf__type_by_id(btf, m->type);
		long long rsize = btf__resolve_size(btf, m->type);
		size_t off = btf_member_bit_offset(t, i) / 8, size = rsize > 0 ? rsize : 0;

		if (!mname || !size || off + size > t->size)
			continue;
		if (!strcmp(mname, "name") && size == IOMMU_POLICY_NAME_LEN) {
			v->name = data + off;
			continue;
		}
		if (!strcmp(mname, "flags")) {
			v->flags = member_uint(data + off, size);
			continue;
		}
		while (mt && (btf_is_mod(mt) || btf_is_typedef(mt)))
			mt = btf__type_by_id(btf, mt->type);
		if (!mt || !btf_is_ptr(mt) || size != sizeof(void *))
			continue;
		for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++) {
			void *prog;

			if (strcmp(mname, policy_hook_name(h)))
				continue;
			memcpy(&prog, data + off, sizeof(prog));
			if (prog)
				v->callbacks |= 1U << h;
		}
	}
}

static int open_object(struct policy_obj *p, const char *path)
{
	struct bpf_map *m, *found = NULL;
	char err[128];
	int n = 0;

	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj) {
		libbpf_strerror(-errno, err, sizeof(err));
		fprintf(stderr, "iommuctl: cannot open the BPF object %s: %s\n", path, err);
		return EXIT_USAGE;
	}
	bpf_object__for_each_map(m, p->obj) {
		if (policy_type(p->obj, m)) {
			found = m;
			n++;
		} else if (bpf_map__type(m) == BPF_MAP_TYPE_STRUCT_OPS) {
			/* Some other struct_ops: not ours to register */
			bpf_map__set_autocreate(m, false);
		}
	}
	if (n != 1) {
		fprintf(stderr, "iommuctl: %s has %d struct iommu_policy_ops maps (expected "
			"exactly one, declared SEC(\".struct_ops.link\"))\n", path, n);
		return EXIT_USAGE;
	}
	p->map = found;
	/*
	 * The kernel attaches a policy only through a link (EOPNOTSUPP
	 * otherwise): make a map from SEC(".struct_ops") a link map too.
	 */
	bpf_map__set_map_flags(found, bpf_map__map_flags(found) | MAP_F_LINK);
	return 0;
}

/* Open the policy of -r or OBJ, with -n's name */
static int policy_open_obj(struct policy_obj *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	if (opt.rules) {
		p->table = table_bpf__open();
		if (!p->table) {
			fprintf(stderr, "iommuctl: opening the table policy failed: %s\n",
				strerror(errno));
			return EXIT_FAILURE;
		}
		p->obj = p->table->obj;
		p->map = p->table->maps.table;
	} else {
		err = open_object(p, opt.obj);
		if (err)
			return err;
	}
	return policy_name(p, opt.name);
}

/* Open and load the policy of -r or OBJ, with -n's name; not attached yet */
static int policy_load_obj(struct policy_obj *p)
{
	int err;

	err = policy_open_obj(p);
	if (err)
		return err;
	err = opt.rules ? table_bpf__load(p->table) : bpf_object__load(p->obj);
	if (err) {
		trace_report_load_error("policy", err);
		return EXIT_FAILURE;
	}
	return 0;
}

static void policy_obj_free(struct policy_obj *p)
{
	if (p->table)
		table_bpf__destroy(p->table);
	else
		bpf_object__close(p->obj);
}

static int fill_table(struct table_bpf *skel, const struct policy_rules *rs)
{
	struct policy_table_hook hooks[POLICY_TABLE_NR_HOOKS];
	struct policy_table_rule *t = calloc(rs->n ? rs->n : 1, sizeof(*t));
	int err = 0;

	if (!t) {
		perror("iommuctl");
		return EXIT_FAILURE;
	}
	/* Rules first: a hook's range points at nothing not yet stored */
	policy_rules_table(rs, t, hooks);
	for (__u32 i = 0; i < rs->n && !err; i++)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.rules), &i, &t[i], BPF_ANY);
	for (__u32 h = 0; h < POLICY_TABLE_NR_HOOKS && !err; h++)
		err = bpf_map_update_elem(bpf_map__fd(skel->maps.hooks), &h, &hooks[h], BPF_ANY);
	free(t);
	if (err) {
		fprintf(stderr, "iommuctl: storing the rules: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	return 0;
}

/*
 * What last_exit_* and nr_errors said before an attach, to tell an init()
 * failure apart: a failed attach records it as the last exit, a failed
 * replacement only counts it in nr_errors.
 */
static void exit_snap(struct policy_exit_snap *s)
{
	policy_attr("last_exit_kind", s->kind, sizeof(s->kind));
	policy_attr("last_exit_msg", s->msg, sizeof(s->msg));
	s->nr_errors = policy_attr_ll("nr_errors");
}

/*
 * EINVAL: the kernel refused the policy when libbpf wrote it to its map.
 * Say which of its checks fails, naming the value it refused.
 */
static void report_einval(const struct policy_obj *p)
{
	struct policy_ops_view v;
	char why[512], last[400];

	policy_view(p, &v);
	if (!policy_ops_invalid(&v, why, sizeof(why))) {
		last_exit_str(last, sizeof(last));
		fprintf(stderr, "iommuctl: the kernel refused policy '%s' with EINVAL (%s), "
			"though its name, flags and decision callbacks are valid (last exit: "
			"%s)\n", p->name, strerror(EINVAL), last);
	} else if (v.name && policy_name_valid(v.name, IOMMU_POLICY_NAME_LEN, NULL, 0)) {
		fprintf(stderr, "iommuctl: the kernel refused policy '%s' (%s): %s\n", p->name,
			strerror(EINVAL), why);
	} else {
		/* Its name is what is wrong: name it by where it comes from */
		fprintf(stderr, "iommuctl: the kernel refused %s%s (%s): %s\n",
			opt.obj ? "the policy in " : "the table policy", opt.obj ? opt.obj : "",
			strerror(EINVAL), why);
	}
}

/* Why the kernel refused to attach (err < 0) or swap in (replace) a policy */
static void report_attach_error(int err, const struct policy_obj *p,
				const struct policy_exit_snap *before, bool replace)
{
	struct policy_exit_snap now;
	const char *name = p->name;
	char msg[300], last[400];

	exit_snap(&now);
	if (policy_init_failed(before, &now, err, msg, sizeof(msg))) {
		fprintf(stderr, "iommuctl: policy '%s' refused to start: %s%s\n", name, msg,
			replace ? "; the old policy stays attached" : "");
		return;
	}
	switch (-err) {
	case EBUSY:
		report_busy();
		break;
	case EPERM:
	case EACCES:
		fprintf(stderr, "iommuctl: the kernel refused policy '%s': attaching an IOMMU "
			"policy needs CAP_SYS_ADMIN\n", name);
		break;
	case EOPNOTSUPP:
		fprintf(stderr, "iommuctl: the kernel attaches IOMMU policies only through a "
			"BPF link: declare the struct iommu_policy_ops in "
			"SEC(\".struct_ops.link\")\n");
		break;
	case EINVAL:
		report_einval(p);
		break;
	case ENOENT:	/* BPF_LINK_UPDATE: the link's policy is not the attached one */
	case ENOLINK:	/* BPF_LINK_UPDATE: the link was detached */
		if (replace) {
			last_exit_str(last, sizeof(last));
			fprintf(stderr, "iommuctl: the policy pinned at %s is no longer "
				"attached (last exit: %s): 'iommuctl policy unload' removes the "
				"pin, then 'iommuctl policy load' attaches a new one\n", opt.pin,
				last);
			break;
		}
		/* fallthrough */
	default:
		last_exit_str(last, sizeof(last));
		fprintf(stderr, "iommuctl: attaching policy '%s' failed: %s (last exit: %s)\n",
			name, strerror(-err), last);
		break;
	}
}

/* Pins need a BPF filesystem; mount the usual one if it is missing */
static int ensure_bpffs(const char *pin)
{
	char buf[PATH_MAX], *dir;
	struct statfs st;

	snprintf(buf, sizeof(buf), "%s", pin);
	dir = dirname(buf);
	if (!statfs(dir, &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (strcmp(dir, BPFFS_DIR)) {
		fprintf(stderr, "iommuctl: %s is not on a BPF filesystem, so the policy cannot "
			"be pinned there: pin it below " BPFFS_DIR " (-p)\n", pin);
		return EXIT_FAILURE;
	}
	if (mount("bpf", BPFFS_DIR, "bpf", 0, "mode=0700")) {
		fprintf(stderr, "iommuctl: cannot mount a BPF filesystem on " BPFFS_DIR
			" to pin the policy: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	return 0;
}

static void print_result(const char *verb, const char *name, const char *old,
			 const struct policy_rules *rs)
{
	long long seq = policy_attr_ll("enable_seq");

	if (opt.json) {
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
	last_exit_str(last, sizeof(last));
	fprintf(stderr, "iommuctl: removing %s: its policy is no longer attached (last "
		"exit: %s)\n", opt.pin, last);
	unlink(opt.pin);
}

/* Everything load and replace check before touching the kernel */
static int prepare(struct policy_rules *rs)
{
	char err[512];
	int ret;

	if (opt.rules && policy_rules_read(opt.rules, rs, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	if (opt.check) {
		policy_rules_print(rs, stdout);
		policy_warn_clamped(rs, opt.rules);
		return -1;
	}
	if (opt.name && !policy_name_valid(opt.name, IOMMU_POLICY_NAME_LEN, NULL, 0)) {
		fprintf(stderr, "iommuctl: invalid policy name '%s' (expected 1 to %d letters, "
			"digits, '_' or '.')\n", opt.name, IOMMU_POLICY_NAME_LEN - 1);
		return EXIT_USAGE;
	}
	ret = check_root(opt.cmd == CMD_REPLACE ? "replacing" : "loading");
	if (!ret)
		ret = check_kernel(true);
	if (!ret)
		trace_libbpf_setup(opt.verbose);
	return ret;
}

/* --why-einval (tests): report_einval() of the policy as opened, no kernel */
static int policy_why_einval(void)
{
	struct policy_obj p;
	int ret;

	trace_libbpf_setup(opt.verbose);
	ret = policy_open_obj(&p);
	if (!ret) {
		report_einval(&p);
		ret = EXIT_FAILURE;
	}
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
	fprintf(stderr, "iommuctl: warning: cannot record what the policy was made from at "
		"%s (%s): the next 'policy sync' will replace it\n", pin, strerror(-err));
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

	ret = prepare(&rs);
	policy_rules_free(&rs);
	if (ret)
		return ret < 0 ? 0 : ret;
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
	ret = prepare(&rs);
	if (ret)
		goto out_rules;
	if (policy_enabled()) {
		report_busy();
		ret = EXIT_FAILURE;
		goto out_rules;
	}
	drop_stale_pin();
	if (!access(opt.pin, F_OK)) {
		fprintf(stderr, "iommuctl: %s already exists: pin elsewhere with -p\n", opt.pin);
		ret = EXIT_FAILURE;
		goto out_rules;
	}
	ret = ensure_bpffs(opt.pin);
	if (ret)
		goto out_rules;
	ret = policy_load_obj(&p);
	if (ret)
		goto out;
	/* Rules first: a device probed right after the attach sees them all */
	if (p.table) {
		ret = fill_table(p.table, &rs);
		if (ret)
			goto out;
	}
	exit_snap(&before);
	link = bpf_map__attach_struct_ops(p.map);
	if (!link) {
		report_attach_error(-errno, &p, &before, false);
		ret = EXIT_FAILURE;
		goto out;
	}
	if (bpf_link__pin(link, opt.pin)) {
		fprintf(stderr, "iommuctl: pinning the policy at %s failed: %s; detaching it\n",
			opt.pin, strerror(errno));
		bpf_link__destroy(link);
		ret = EXIT_FAILURE;
		goto out;
	}
	/* The pin holds the link: closing ours leaves the policy attached. */
	bpf_link__destroy(link);
	record_source();
	print_result("attached", p.name, NULL, p.table ? &rs : NULL);
out:
	policy_obj_free(&p);
out_rules:
	policy_rules_free(&rs);
	return ret < 0 ? 0 : ret;
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
	char old[64], last[400];
	struct policy_rules rs = {};
	struct policy_exit_snap before;
	struct policy_obj p = {};
	struct bpf_link *link;
	int ret, fd = -1;

	ret = prepare(&rs);
	if (ret)
		goto out_rules;
	fd = bpf_obj_get(opt.pin);
	if (fd < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "iommuctl: no policy is pinned at %s: nothing to replace "
				"('iommuctl policy load' attaches one)\n", opt.pin);
		else
			fprintf(stderr, "iommuctl: cannot open the pinned policy %s: %s\n",
				opt.pin, strerror(errno));
		ret = EXIT_FAILURE;
		goto out_rules;
	}
	if (!policy_enabled()) {
		last_exit_str(last, sizeof(last));
		fprintf(stderr, "iommuctl: the policy pinned at %s is no longer attached (last "
			"exit: %s): 'iommuctl policy unload' removes the pin, then 'iommuctl "
			"policy load' attaches a new one\n", opt.pin, last);
		ret = EXIT_FAILURE;
		goto out_rules;
	}
	policy_attr("name", old, sizeof(old));
	ret = policy_load_obj(&p);
	if (ret)
		goto out;
	if (p.table) {
		ret = fill_table(p.table, &rs);
		if (ret)
			goto out;
	}
	exit_snap(&before);
	link = bpf_map__attach_struct_ops(p.map);
	if (link) {
		unlink(opt.pin);
		if (bpf_link__pin(link, opt.pin)) {
			fprintf(stderr, "iommuctl: pinning the policy at %s failed: %s; "
				"detaching it\n", opt.pin, strerror(errno));
			bpf_link__destroy(link);
			ret = EXIT_FAILURE;
			goto out;
		}
		bpf_link__destroy(link);
		fprintf(stderr, "iommuctl: policy '%s' went away meanwhile: '%s' attached "
			"as a new policy\n", old, p.name);
		record_source();
		print_result("attached", p.name, NULL, p.table ? &rs : NULL);
		goto out;
	}
	if (errno != EBUSY) {
		report_attach_error(-errno, &p, &before, true);
		ret = EXIT_FAILURE;
		goto out;
	}
	if (bpf_link_update(fd, bpf_map__fd(p.map), NULL)) {
		report_attach_error(-errno, &p, &before, true);
		ret = EXIT_FAILURE;
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
	return ret < 0 ? 0 : ret;
}

static int policy_unload(void)
{
	char name[64], last[400], src_pin[PATH_MAX];
	bool was_enabled;
	int ret, fd;

	ret = check_root("unloading");
	if (!ret)
		ret = check_kernel(false);
	if (ret)
		return ret;
	fd = bpf_obj_get(opt.pin);
	if (fd < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "iommuctl: cannot open the pinned policy %s: %s\n",
				opt.pin, strerror(errno));
			return EXIT_FAILURE;
		}
		fprintf(stderr, "iommuctl: no policy is pinned at %s: nothing to unload\n",
			opt.pin);
		if (policy_enabled()) {
			policy_attr("name", name, sizeof(name));
			fprintf(stderr, "iommuctl: (policy '%s' is attached, but not through "
				"this pin: whoever attached it must detach it)\n", name);
		}
		return EXIT_FAILURE;
	}
	policy_attr("name", name, sizeof(name));
	was_enabled = policy_enabled();
	if (bpf_link_detach(fd)) {
		fprintf(stderr, "iommuctl: detaching the policy pinned at %s failed: %s\n",
			opt.pin, strerror(errno));
		close(fd);
		return EXIT_FAILURE;
	}
	close(fd);
	if (unlink(opt.pin))
		fprintf(stderr, "iommuctl: warning: removing %s: %s\n", opt.pin, strerror(errno));
	source_pin(src_pin, sizeof(src_pin));
	unlink(src_pin);
	last_exit_str(last, sizeof(last));
	if (policy_enabled()) {
		policy_attr("name", name, sizeof(name));
		printf("pin %s removed; its policy had already gone; policy '%s' is attached, "
		       "but not through it\n", opt.pin, name);
	} else if (was_enabled) {
		printf("policy '%s' detached; last exit: %s\n", name, last);
	} else {
		printf("pin %s removed; its policy had already been detached (last exit: %s)\n",
		       opt.pin, last);
	}
	return 0;
}

/* ------------------------------------------------------------ show */

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

	ret = check_kernel(false);
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
	pinned = !access(opt.pin, F_OK);

	if (opt.json) {
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
			json_str(&j, "pinned", opt.pin);
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
	printf("%-13s %s\n", "pinned", pinned ? opt.pin : "-");
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

/* ------------------------------------------------------------ explain */

struct record {
	bool set, by_policy;
	int proposed, verdict, applied, reason;
	unsigned long long seq;
};

struct xdev {
	char name[128];
	int group;
	char type[32];
	bool removable;
	const struct dev_facts *facts;	/* debugfs iommu_policy/devices; NULL: unknown */
	struct record rec[IOMMU_POLICY_NR_HOOKS];
};

struct xdevs {
	struct xdev *d;
	size_t n, cap;
};

/* iommu_groups_for_each_dev() callback */
static int add_xdev(void *ctx, int group, const char *gdir, const char *name)
{
	struct xdevs *xs = ctx;
	char path[PATH_MAX + 300], removable[32];
	struct xdev *d;

	if (xs->n == xs->cap) {
		size_t cap = xs->cap ? xs->cap * 2 : 32;
		struct xdev *p = realloc(xs->d, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		xs->d = p;
		xs->cap = cap;
	}
	d = &xs->d[xs->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->group = group;
	snprintf(path, sizeof(path), "%s/type", gdir);
	read_line(path, d->type, sizeof(d->type));
	snprintf(path, sizeof(path), "%s/devices/%s/removable", gdir, name);
	read_line(path, removable, sizeof(removable));
	d->removable = !strcmp(removable, "removable");
	return 0;
}

static int collect_devices(struct xdevs *xs)
{
	int ret = iommu_groups_for_each_dev(add_xdev, xs);

	/* No IOMMU groups: nothing to explain */
	return ret == -ENOMEM ? ret : 0;
}

static int cmp_xdev(const void *a, const void *b)
{
	const struct xdev *x = a, *y = b;

	return x->group != y->group ? x->group - y->group : strcmp(x->name, y->name);
}

/* The last decision of each hook for each device, from debugfs */
static int read_verdicts(struct xdevs *xs)
{
	struct policy_records recs = {};
	int err = -policy_records_read(&recs);

	if (err) {
		policy_records_error(err, "explaining decisions");
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < recs.n; i++) {
		const struct policy_record *pr = &recs.r[i];
		struct record r = {
			.set = true, .by_policy = pr->by_policy, .proposed = pr->proposed,
			.verdict = pr->verdict, .applied = pr->applied, .reason = pr->reason,
			.seq = pr->seq,
		};

		for (size_t k = 0; k < xs->n; k++)
			if (!strcmp(xs->d[k].name, pr->dev))
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
	return !d->removable;
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
		json_str(&j, "device", d->name);
		json_i64(&j, "group", d->group);
		json_str(&j, "domain_type", d->type);
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

		printf("\n%s: group %d, %s, %s%s\n", d->name, d->group, d->type,
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
	struct xdevs xs = {};
	long long seq;
	int ret, facts_err;

	ret = check_kernel(false);
	if (ret)
		return ret;
	if (collect_devices(&xs)) {
		perror("iommuctl");
		return EXIT_FAILURE;
	}
	if (opt.dev) {
		size_t k = 0;

		for (size_t i = 0; i < xs.n; i++)
			if (!strcmp(xs.d[i].name, opt.dev))
				xs.d[k++] = xs.d[i];
		if (!k) {
			fprintf(stderr, "iommuctl: no device '%s' behind an IOMMU%s (see "
				"'iommuctl devices')\n", opt.dev,
				device_exists(opt.dev) ? " (it exists, but has no IOMMU group)" : "");
			free(xs.d);
			return EXIT_USAGE;
		}
		xs.n = k;
	}
	ret = read_verdicts(&xs);
	if (ret) {
		free(xs.d);
		return ret;
	}
	/* Optional: a kernel of the series before the devices file has none */
	facts_err = -dev_facts_read(&facts);
	for (size_t i = 0; i < xs.n; i++)
		xs.d[i].facts = dev_facts_find(&facts, xs.d[i].name);
	qsort(xs.d, xs.n, sizeof(*xs.d), cmp_xdev);
	policy_attr("state", state, sizeof(state));
	policy_attr("name", name, sizeof(name));
	seq = policy_attr_ll("enable_seq");
	if (opt.json)
		explain_json(&xs, state, name, seq);
	else
		explain_text(&xs, state, name, seq, facts_err);
	dev_facts_free(&facts);
	free(xs.d);
	return 0;
}

/* policy test: in policy_eval.c, with this command line's options */
static int policy_test_cmd(void)
{
	return policy_test(opt.rules, opt.dev, opt.json);
}

/* ------------------------------------------------------------ dispatch */

int cmd_policy(int argc, char **argv)
{
	static const struct {
		const char *name, *prog, *doc;
		const struct argp_option *opts;
		enum policy_cmd cmd;
		int (*fn)(void);
	} cmds[] = {
		{ "load", "iommuctl policy load", load_doc, load_opts, CMD_LOAD, policy_load },
		{ "replace", "iommuctl policy replace", replace_doc, load_opts, CMD_REPLACE,
		  policy_replace },
		{ "sync", "iommuctl policy sync", sync_doc, load_opts, CMD_SYNC, policy_sync },
		{ "unload", "iommuctl policy unload", unload_doc, unload_opts, CMD_UNLOAD,
		  policy_unload },
		{ "show", "iommuctl policy show", show_doc, show_opts, CMD_SHOW, policy_show },
		{ "explain", "iommuctl policy explain", explain_doc, explain_opts, CMD_EXPLAIN,
		  policy_explain },
		{ "test", "iommuctl policy test", policy_test_doc, test_opts, CMD_TEST,
		  policy_test_cmd },
	};

	/* apply has options of its own (policy_apply.c) */
	if (argc >= 2 && !strcmp(argv[1], "apply"))
		return cmd_policy_apply(argc - 1, argv + 1);
	for (size_t i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct argp argp = { cmds[i].opts, parse_arg, NULL, cmds[i].doc };

		if (strcmp(argv[1], cmds[i].name))
			continue;
		opt.cmd = cmds[i].cmd;
		argv[1] = (char *)cmds[i].prog;
		if (argp_parse(&argp, argc - 1, argv + 1, 0, NULL, NULL))
			return EXIT_USAGE;
		return cmds[i].fn();
	}
	fprintf(stderr, "Usage: iommuctl policy {load|replace|sync|unload|show|explain|test|apply} "
		"[OPTIONS]\n");
	return EXIT_USAGE;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl policy apply: let the attached policy decide the devices that
 * were probed before it was loaded.
 *
 * Linux picks a device's default domain when its IOMMU probes it, at boot
 * long before user space.  A group with no bound driver can be decided
 * again through the kernel's own path: writing "auto" to its sysfs `type`
 * re-runs the default-domain choice, which asks the policy's dma_mode()
 * with IOMMU_POLICY_DMA_F_REEVAL.  A group with a bound driver cannot (the
 * kernel refuses while a driver uses the domain); --rebind unbinds its
 * drivers, re-evaluates and binds them again, unless a device backs a
 * mounted filesystem, swap or the console.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/types.h>
#include "caps.h"
#include "commands.h"
#include "json.h"
#include "output.h"
#include "policy_names.h"
#include "policy_sysfs.h"
#include "sysfs.h"
#include "verdicts.h"

#define GROUPS_DIR	"/sys/kernel/iommu_groups"
/* A larger group is refused whole: unbinding part of it would leave the
 * kernel refusing the re-evaluation (EBUSY) with drivers unbound. */
#define MAX_GROUP_DEVS	32
_Static_assert(MAX_GROUP_DEVS == 32, "apply_doc and iommuctl(8) say 32");

static struct {
	bool dry_run, force;
	const char *rebind;
} opt;

static const char apply_doc[] =
"Let the attached policy decide the devices probed before it was loaded.\n"
"\n"
"Every IOMMU group with no bound driver is re-evaluated by the kernel (its\n"
"sysfs type set to auto), which asks the policy's dma_mode() again; for\n"
"each group the report gives its domain type before and after and the\n"
"decisions that made it.  A group with a bound driver is left alone and\n"
"reported with the policy's last decision for it; --rebind DEV unbinds the\n"
"drivers of DEV's group, re-evaluates it and binds them again.  A device\n"
"that backs a mounted filesystem, swap or the console is not unbound\n"
"unless --force.  --rebind refuses a group of more than 32 devices, untouched.\n"
"Needs CAP_SYS_ADMIN; --dry-run changes nothing.\n"
"\n"
"EXAMPLES:\n"
"    iommuctl policy apply                  # every group without a driver\n"
"    iommuctl policy apply --dry-run -j     # what it would do, as JSON\n"
"    iommuctl policy apply --rebind 0000:00:04.0\n";

enum { OPT_REBIND = 0x100, OPT_FORCE, OPT_DRY_RUN };

static const struct argp_option apply_opts[] = {
	{ "dry-run", OPT_DRY_RUN, NULL, 0, "say what would be done, change nothing", 0 },
	{ "rebind", OPT_REBIND, "DEV", 0, "unbind DEV's group, re-evaluate it, bind it again", 0 },
	{ "force", OPT_FORCE, NULL, 0, "with --rebind: even a device that backs a mount, "
	  "swap or the console", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_DRY_RUN:
		opt.dry_run = true;
		break;
	case OPT_REBIND:
		opt.rebind = arg;
		break;
	case OPT_FORCE:
		opt.force = true;
		break;
	case ARGP_KEY_ARG:
		p_usage("unexpected argument '%s'", arg);
		return EINVAL;
	case ARGP_KEY_END:
		if (opt.force && !opt.rebind) {
			p_usage("--force goes with --rebind DEV");
			return EINVAL;
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ------------------------------------------------------------ groups */

struct gdev {
	char name[128];
	char driver[64];	/* "" when none is bound */
	char bus[32];
	char path[PATH_MAX];	/* its /sys/devices path */
};

struct group {
	int id;
	char before[32], after[32];
	struct gdev dev[MAX_GROUP_DEVS];
	int ndev;		/* read into dev[] */
	int ndev_all;		/* in the group (more than ndev: too many) */
	bool bound;		/* some device has a driver */
	const char *action;	/* reevaluated, would_reevaluate, bound, rebound, failed */
	char error[256];
};

/* The last path component of a symlink's target: a driver's or bus's name */
static void link_name(const char *path, char *buf, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	buf[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	snprintf(buf, len, "%s", basename(target));
}

/* 0, -ENOENT, -errno, or -E2BIG if the group has more devices than
 * MAX_GROUP_DEVS (the first ones read, ndev_all counted; bound says
 * whether any of all of them has a driver) */
static int read_group(int id, struct group *g)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *e;
	DIR *d;

	memset(g, 0, sizeof(*g));
	g->id = id;
	snprintf(dir, sizeof(dir), "%s" GROUPS_DIR "/%d", sysfs_root, id);
	snprintf(path, sizeof(path), "%s/type", dir);
	if (read_line(path, g->before, sizeof(g->before)))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/devices", dir);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct gdev *gd = &g->dev[g->ndev];
		char *real;

		if (e->d_name[0] == '.')
			continue;
		if (++g->ndev_all > MAX_GROUP_DEVS) {
			/* Not kept, but whether the group is bound counts */
			char drv[64];

			snprintf(path, sizeof(path), "%s/devices/%s/driver", dir, e->d_name);
			link_name(path, drv, sizeof(drv));
			g->bound |= drv[0] != '\0';
			continue;
		}
		snprintf(gd->name, sizeof(gd->name), "%s", e->d_name);
		snprintf(path, sizeof(path), "%s/devices/%s/driver", dir, e->d_name);
		link_name(path, gd->driver, sizeof(gd->driver));
		snprintf(path, sizeof(path), "%s/devices/%s/subsystem", dir, e->d_name);
		link_name(path, gd->bus, sizeof(gd->bus));
		snprintf(path, sizeof(path), "%s/devices/%s", dir, e->d_name);
		real = realpath(path, NULL);
		snprintf(gd->path, sizeof(gd->path), "%s", real ? real : path);
		free(real);
		g->bound |= gd->driver[0] != '\0';
		g->ndev++;
	}
	closedir(d);
	return g->ndev_all > MAX_GROUP_DEVS ? -E2BIG : 0;
}

static void too_many(const struct group *g, char *buf, size_t len)
{
	snprintf(buf, len, "group %d has %d devices, more than the %d policy apply "
		 "handles: nothing of it was unbound or re-evaluated (by hand: unbind its "
		 "drivers, write 'auto' to " GROUPS_DIR "/%d/type, bind them again)", g->id,
		 g->ndev_all, MAX_GROUP_DEVS, g->id);
}

/* The ids of the groups that have devices, sorted; *n of them */
static int *group_ids(size_t *n)
{
	struct iommu_devs devs;
	int *id;

	*n = 0;
	if (iommu_devs_read(&devs, false))
		return NULL;
	id = calloc(devs.n ?: 1, sizeof(*id));
	/* Sorted by group: a group's devices are consecutive */
	for (size_t i = 0; id && i < devs.n; i++)
		if (!*n || id[*n - 1] != devs.d[i].group)
			id[(*n)++] = devs.d[i].group;
	iommu_devs_free(&devs);
	return id;
}

/* Write val to a sysfs file; -errno */
static int write_attr(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Ask the kernel to choose the group's default domain again ("auto") */
static int reevaluate(struct group *g)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s" GROUPS_DIR "/%d/type", sysfs_root, g->id);
	err = write_attr(path, "auto");
	read_line(path, g->after, sizeof(g->after));
	if (!err)
		return 0;
	if (err == -EPERM || err == -EBUSY)
		snprintf(g->error, sizeof(g->error), "the kernel refused (%s): a driver bound "
			 "to the group meanwhile, or the group is in use", strerror(-err));
	else
		snprintf(g->error, sizeof(g->error), "writing 'auto' to %s: %s", path,
			 strerror(-err));
	return err;
}

/* ------------------------------------------------------------ what a device backs */

/* Is the block device major:minor, or one it is built on, below devpath? */
static bool blockdev_below(unsigned int major, unsigned int minor, const char *devpath,
			   int depth)
{
	char path[PATH_MAX], *real;
	size_t len = strlen(devpath);
	bool below;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sys/dev/block/%u:%u", sysfs_root, major, minor);
	real = realpath(path, NULL);
	if (!real)
		return false;
	below = !strncmp(real, devpath, len) && real[len] == '/';
	free(real);
	if (below || depth > 8)
		return below;
	/* device-mapper, md: the devices it is made of */
	snprintf(path, sizeof(path), "%s/sys/dev/block/%u:%u/slaves", sysfs_root, major, minor);
	d = opendir(path);
	if (!d)
		return false;
	while (!below && (e = readdir(d))) {
		char dev[PATH_MAX + 300], num[32];
		unsigned int ma, mi;

		if (e->d_name[0] == '.')
			continue;
		snprintf(dev, sizeof(dev), "%s/%s/dev", path, e->d_name);
		if (!read_line(dev, num, sizeof(num)) && sscanf(num, "%u:%u", &ma, &mi) == 2)
			below = blockdev_below(ma, mi, devpath, depth + 1);
	}
	closedir(d);
	return below;
}

/*
 * Why unbinding the device at devpath would pull something out from under
 * the running system: "/ is on it", "swap /dev/nvme0n1p2 is on it", "it is
 * the console (ttyS1)".  false if nothing.
 */
static bool device_in_use(const char *devpath, char *why, size_t len)
{
	char line[4096], path[PATH_MAX];
	bool used = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "r");
	while (f && !used && fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX];
		unsigned int ma, mi;

		/* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT ... */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi, mnt) == 3 && ma &&
		    blockdev_below(ma, mi, devpath, 0)) {
			snprintf(why, len, "the filesystem mounted on %s is on it", mnt);
			used = true;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/swaps", "r");
	while (f && !used && fgets(line, sizeof(line), f)) {
		char name[PATH_MAX];
		struct stat st;
		dev_t dev;

		if (sscanf(line, "%4095s", name) != 1 || name[0] != '/' || stat(name, &st))
			continue;
		dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
		if (blockdev_below(major(dev), minor(dev), devpath, 0)) {
			snprintf(why, len, "swap %s is on it", name);
			used = true;
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/consoles", "r");
	while (f && !used && fgets(line, sizeof(line), f)) {
		char name[64], *real;
		size_t n = strlen(devpath);

		if (sscanf(line, "%63s", name) != 1)
			continue;
		snprintf(path, sizeof(path), "%s/sys/class/tty/%s/device", sysfs_root, name);
		real = realpath(path, NULL);
		if (real && !strncmp(real, devpath, n) && (real[n] == '/' || !real[n])) {
			snprintf(why, len, "it is the console (%s)", name);
			used = true;
		}
		free(real);
	}
	if (f)
		fclose(f);
	return used;
}

/* ------------------------------------------------------------ report */

static void decisions_json(struct json *j, const struct group *g,
			   const struct policy_records *recs, long long seq)
{
	static const int hooks[] = { IOMMU_POLICY_HOOK_DMA_MODE, IOMMU_POLICY_HOOK_RESV_DIRECT };
	char text[256];

	json_begin_array(j, "decisions");
	for (int i = 0; i < g->ndev; i++)
		for (size_t h = 0; h < sizeof(hooks) / sizeof(hooks[0]); h++) {
			const struct policy_record *r =
				policy_records_find(recs, g->dev[i].name, hooks[h]);
			const char *v;

			if (!r)
				continue;
			json_begin_object(j, NULL);
			json_str(j, "device", r->dev);
			json_str(j, "hook", policy_hook_name(r->hook));
			json_str(j, "by", r->by_policy ? "policy" : "kernel");
			v = policy_verdict_name(r->hook, r->proposed);
			json_str(j, "proposed", v ? v : "?");
			v = policy_verdict_name(r->hook, r->verdict);
			json_str(j, "verdict", v ? v : "?");
			v = policy_verdict_name(r->hook, r->applied);
			json_str(j, "applied", v ? v : "?");
			json_str(j, "reason", policy_reason_name(r->reason));
			json_u64(j, "seq", r->seq);
			json_bool(j, "current", (long long)r->seq == seq);
			policy_describe(text, sizeof(text), r->hook, r->proposed, r->verdict,
					r->applied, r->reason);
			json_str(j, "text", text);
			json_end_object(j);
		}
	json_end_array(j);
}

static void group_json(struct json *j, const struct group *g,
		       const struct policy_records *recs, long long seq)
{
	json_begin_object(j, NULL);
	json_i64(j, "group", g->id);
	json_begin_array(j, "devices");
	for (int i = 0; i < g->ndev; i++) {
		json_begin_object(j, NULL);
		json_str(j, "device", g->dev[i].name);
		if (g->dev[i].driver[0])
			json_str(j, "driver", g->dev[i].driver);
		else
			json_null(j, "driver");
		json_end_object(j);
	}
	json_end_array(j);
	json_str(j, "before", g->before);
	if (g->after[0])
		json_str(j, "after", g->after);
	else
		json_null(j, "after");
	json_str(j, "action", g->action);
	if (g->error[0])
		json_str(j, "error", g->error);
	else
		json_null(j, "error");
	decisions_json(j, g, recs, seq);
	json_end_object(j);
}

static void group_text(const struct group *g, const struct policy_records *recs,
		       long long seq)
{
	static const int hooks[] = { IOMMU_POLICY_HOOK_DMA_MODE, IOMMU_POLICY_HOOK_RESV_DIRECT };
	char text[256];

	printf("group %d: ", g->id);
	if (!strcmp(g->action, "reevaluated") || !strcmp(g->action, "rebound"))
		printf("%s -> %s (%s)\n", g->before, g->after,
		       !strcmp(g->action, "rebound") ? "re-evaluated, drivers bound again" :
		       "re-evaluated");
	else if (!strcmp(g->action, "would_reevaluate"))
		printf("%s, would be re-evaluated (dry run)\n", g->before);
	else if (!strcmp(g->action, "bound"))
		printf("%s, kept: a driver is bound (iommuctl policy apply --rebind %s)\n",
		       g->before, g->dev[0].name);
	else
		printf("%s, failed: %s\n", g->before, g->error);
	for (int i = 0; i < g->ndev; i++) {
		const struct gdev *d = &g->dev[i];
		bool any = false;

		for (size_t h = 0; h < sizeof(hooks) / sizeof(hooks[0]); h++) {
			const struct policy_record *r = policy_records_find(recs, d->name, hooks[h]);

			if (!r)
				continue;
			policy_describe(text, sizeof(text), r->hook, r->proposed, r->verdict,
					r->applied, r->reason);
			printf("  %-14s %-12s %s%s%s\n", d->name, policy_hook_name(r->hook), text,
			       d->driver[0] && !any ? ", driver " : "",
			       d->driver[0] && !any ? d->driver : "");
			if ((long long)r->seq != seq)
				printf("  %-14s %-12s [enable_seq %llu: an earlier policy]\n", "", "",
				       r->seq);
			any = true;
		}
		if (!any)
			printf("  %-14s %s%s\n", d->name, d->driver[0] ? "driver " : "no decision recorded",
			       d->driver[0] ? d->driver : "");
	}
}

/* ------------------------------------------------------------ rebind */

static int bind_attr(const struct gdev *d, const char *what)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/sys/bus/%s/drivers/%s/%s", sysfs_root, d->bus,
		 d->driver, what);
	return write_attr(path, d->name);
}

/* Unbind every driver of g, re-evaluate it, bind them again */
static int rebind_group(struct group *g)
{
	int err = 0, ret;

	for (int i = 0; i < g->ndev; i++) {
		if (!g->dev[i].driver[0])
			continue;
		ret = bind_attr(&g->dev[i], "unbind");
		if (ret) {
			snprintf(g->error, sizeof(g->error), "unbinding %s from %s: %s",
				 g->dev[i].name, g->dev[i].driver, strerror(-ret));
			err = ret;
			break;
		}
	}
	if (!err)
		err = reevaluate(g);
	/* Bind again whatever happened: the devices must not stay driverless */
	for (int i = 0; i < g->ndev; i++) {
		char path[PATH_MAX + 300], now[64];

		if (!g->dev[i].driver[0])
			continue;
		snprintf(path, sizeof(path), "%s/sys/bus/%s/devices/%s/driver", sysfs_root,
			 g->dev[i].bus, g->dev[i].name);
		link_name(path, now, sizeof(now));
		if (now[0])
			continue;
		ret = bind_attr(&g->dev[i], "bind");
		if (ret) {
			char probe[PATH_MAX];

			snprintf(probe, sizeof(probe), "%s/sys/bus/%s/drivers_probe", sysfs_root,
				 g->dev[i].bus);
			if (write_attr(probe, g->dev[i].name) && !err) {
				snprintf(g->error, sizeof(g->error), "binding %s to %s again: %s",
					 g->dev[i].name, g->dev[i].driver, strerror(-ret));
				err = ret;
			}
		}
	}
	return err;
}

/* ------------------------------------------------------------ command */

static int apply(void)
{
	struct policy_records recs = {};
	struct group *groups = NULL;
	char state[32], name[64];
	size_t nids = 0, ng = 0;
	int *ids, ret = 0, err, only = -1;
	unsigned int changed = 0, kept = 0, failed = 0, done = 0;
	long long seq;
	struct json j;

	if (!sysfs_root[0]) {
		ret = policy_check_kernel(false);
		if (ret)
			return ret;
	}
	if (!opt.dry_run) {
		ret = caps_check(NEED_ADMIN, "re-evaluating IOMMU groups (--dry-run does not)");
		if (ret)
			return ret;
	}
	policy_attr("state", state, sizeof(state));
	policy_attr("name", name, sizeof(name));
	seq = policy_attr_ll("enable_seq");
	if (strcmp(state, "enabled"))
		return p_err("no policy is attached (%s): there is nothing to apply ('iommuctl "
			     "policy load' attaches one)", state[0] ? state : "unknown");
	if (opt.rebind) {
		only = device_group(opt.rebind);
		if (only < 0)
			return p_no_iommu_device(opt.rebind);
	}
	ids = group_ids(&nids);
	groups = calloc(nids ? nids : 1, sizeof(*groups));
	if (!groups) {
		free(ids);
		return p_err("out of memory");
	}
	for (size_t i = 0; i < nids; i++) {
		struct group *g = &groups[ng];

		if (only >= 0 && ids[i] != only)
			continue;
		err = read_group(ids[i], g);
		if (err && err != -E2BIG)
			continue;
		if (err && opt.rebind) {
			too_many(g, g->error, sizeof(g->error));
			ret = p_err("%s", g->error);
			goto out;
		}
		ng++;
		/* Without --rebind a group too large is handled as any other: kept
		 * if a driver is bound (nothing is done to it), else re-evaluated
		 * (which writes its type, never its devices' drivers). */
		err = 0;
		if (opt.rebind) {
			char why[PATH_MAX + 64];

			for (int k = 0; k < g->ndev && !opt.force; k++)
				if (g->dev[k].driver[0] && device_in_use(g->dev[k].path, why,
									 sizeof(why))) {
					ret = p_err("not unbinding %s (driver %s): %s; --force to "
						    "do it anyway", g->dev[k].name,
						    g->dev[k].driver, why);
				}
			if (ret)
				goto out;
			if (opt.dry_run) {
				g->action = "would_reevaluate";
				continue;
			}
			err = rebind_group(g);
			g->action = err ? "failed" : "rebound";
		} else if (g->bound) {
			g->action = "bound";
			kept++;
			continue;
		} else if (opt.dry_run) {
			g->action = "would_reevaluate";
			continue;
		} else {
			err = reevaluate(g);
			g->action = err ? "failed" : "reevaluated";
		}
		if (err) {
			failed++;
		} else {
			done++;
			changed += strcmp(g->before, g->after) != 0;
		}
	}
	err = -policy_records_read(&recs);
	if (err)
		p_warn("cannot read debugfs iommu_policy/verdicts (%s): the report lacks the "
		       "policy's decisions", strerror(err));
	if (json_output) {
		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_begin_object(&j, "policy");
		json_str(&j, "name", name);
		json_i64(&j, "enable_seq", seq);
		json_end_object(&j);
		json_bool(&j, "dry_run", opt.dry_run);
		json_begin_array(&j, "groups");
		for (size_t i = 0; i < ng; i++)
			group_json(&j, &groups[i], &recs, seq);
		json_end_array(&j);
		json_end_object(&j);
		json_line(&j);
	} else {
		printf("policy '%s' (enable_seq %lld)%s\n", name, seq,
		       opt.dry_run ? ": dry run, nothing changed" : "");
		for (size_t i = 0; i < ng; i++)
			group_text(&groups[i], &recs, seq);
		if (!opt.dry_run)
			printf("%u group%s re-evaluated (%u changed), %u kept (driver bound), "
			       "%u failed\n", done, done == 1 ? "" : "s", changed, kept, failed);
	}
	if (failed)
		ret = p_err("%u group%s could not be re-evaluated", failed, failed == 1 ? "" : "s");
out:
	policy_records_free(&recs);
	free(groups);
	free(ids);
	return ret;
}

int cmd_policy_apply(int argc, char **argv)
{
	/* --sysfs-root (hidden): tests apply to a fixture tree */
	static const struct argp_child children[] = {
		{ &output_argp }, { &sysfs_root_argp }, {}
	};
	const struct argp argp = { apply_opts, parse_arg, NULL, apply_doc, children };

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	return apply();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of device names (devname.c, sysfs.c): the one check of -d that
 * trace latency, trace flush and trace events share, the buses a device is
 * looked up on, and which device a name the BPF programs cut short is.  A
 * fixture sysfs tree is made in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "devname.h"
#include "output.h"
#include "sysfs.h"

#define TAP_SUITE "devname"
/* Checks made: the runner fails the test if fewer are printed */
#define TAP_PLAN 16
#include "tap.h"

static char err_text[2048];
static char detail[4096];

/* Run check_device_filter() with stderr captured into err_text */
static int check(const char *dev, bool may_appear)
{
	char path[] = "/tmp/test_devname.XXXXXX";
	int fd = mkstemp(path), saved = dup(2), ret;
	ssize_t n;

	fflush(stderr);
	dup2(fd, 2);
	ret = check_device_filter(dev, may_appear);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, err_text, sizeof(err_text) - 1, 0);
	err_text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	snprintf(detail, sizeof(detail), "returned %d, stderr: %s", ret, err_text);
	return ret;
}

static void mkdirs(const char *path)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

/* A device on bus, in IOMMU group group, as sysfs lays it out */
static void add_device(const char *root, const char *bus, const char *name, int group)
{
	char dir[4096], link[4096], target[256];

	snprintf(dir, sizeof(dir), "%s/sys/bus/%s/devices/%s", root, bus, name);
	mkdirs(dir);
	snprintf(dir, sizeof(dir), "%s/sys/kernel/iommu_groups/%d", root, group);
	mkdirs(dir);
	snprintf(link, sizeof(link), "%s/sys/bus/%s/devices/%s/iommu_group", root, bus, name);
	snprintf(target, sizeof(target), "../../../../kernel/iommu_groups/%d", group);
	if (symlink(target, link))
		perror(link);
}

int main(void)
{
	static const char *const buses[] = { "pci", "platform", "amba", "fsl-mc", "cdx" };
	static const char *const names[] = { "0000:00:03.0", "fe800000.iommu-client",
					     "fff00000.amba-dev", "dprc.1", "cdx-00:00" };
	char root[] = "/tmp/test_devname_root.XXXXXX", want[1024];
	const char *l31 = "soc@0:bus@30800000:mmc@30b40000";	/* 31 characters */
	const char *l32 = "soc@0:bus@30800000:mmc@30b40000x";
	int ret, all = 1, groups = 1;

	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	sysfs_root = root;
	for (int i = 0; i < 5; i++)
		add_device(root, buses[i], names[i], 10 + i);
	add_device(root, "platform", l31, 20);

	t("no -d: nothing to check", check(NULL, false) == 0 && !err_text[0], detail);

	ret = check("", false);
	t("an empty name is refused (2), saying what -d needs",
	  ret == EXIT_USAGE && strstr(err_text, "-d needs a device name"), detail);

	snprintf(want, sizeof(want), "iommuctl: device name '%s' is 32 characters long: -d takes "
		 "at most 31, all the tracer keeps of a name; leave out -d and look for its first "
		 "31 characters ('trace latency -D' and 'top' show every device)\n", l32);
	ret = check(l32, false);
	t("a name of 32 characters is refused (2) with what is wrong and what to do",
	  ret == EXIT_USAGE && !strcmp(err_text, want), detail);
	ret = check(l32, true);
	t("and the same when the device may appear later (trace events)",
	  ret == EXIT_USAGE && !strcmp(err_text, want), detail);

	ret = check(l31, false);
	t("a name of 31 characters is taken", ret == 0 && !err_text[0], detail);

	for (int i = 0; i < 5; i++) {
		char name[64];

		snprintf(name, sizeof(name), "a device on the %s bus is found", buses[i]);
		ret = check(names[i], false);
		t(name, ret == 0 && !err_text[0], detail);
		all &= device_exists(names[i]);
		groups &= device_group(names[i]) == 10 + i;
	}
	t("device_exists() knows every bus", all, NULL);
	t("device_group() knows the same buses", groups, NULL);

	ret = check("0000:99:99.9", false);
	t("a device sysfs does not know is refused (2)",
	  ret == EXIT_USAGE && strstr(err_text, "no device '0000:99:99.9' in sysfs"), detail);
	ret = check("0000:99:99.9", true);
	t("unless it may appear later: taken, with a note on stderr",
	  ret == 0 && strstr(err_text, "no device '0000:99:99.9' in sysfs yet: its events show "
			     "when it appears"), detail);

	t("a recorded name is its device's", traced_name_is("0000:00:03.0", "0000:00:03.0") &&
	  !traced_name_is("0000:00:03.0", "0000:00:03.1") &&
	  !traced_name_is("0000:00:03", "0000:00:03.0"), NULL);
	t("a name cut to 31 characters is the device whose name begins so",
	  traced_name_is(l31, l32) && traced_name_is(l31, l31) &&
	  !traced_name_is("oc@0:bus@30800000:mmc@30b40000x", l32), NULL);

	snprintf(want, sizeof(want), "rm -rf '%s'", root);
	if (system(want))
		fprintf(stderr, "cannot remove %s\n", root);
	return failed ? 1 : 0;
}

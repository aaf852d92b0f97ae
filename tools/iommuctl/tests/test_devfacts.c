// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the parser of debugfs iommu_policy/devices, the one reader
 * of `devices` and `policy explain`: the kernel's lines give their facts,
 * malformed lines are skipped (and never crash), a missing file is an
 * error the callers show as unknown.  Prints one "ok - / not ok - " line per
 * check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "devfacts.h"

#define TAP_SUITE "devfacts"
/* Checks made: the runner fails the test if fewer are printed */
#define TAP_PLAN 39
#include "tap.h"

const char *sysfs_root = "";

static int parse(const char *text, struct dev_facts_list *l)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f) {
		perror("fmemopen");
		exit(1);
	}
	ret = dev_facts_parse(f, l);
	fclose(f);
	return ret;
}

static bool same(const struct dev_facts *f, bool untrusted, unsigned int fw_flags,
		 bool coherent, unsigned int resv_direct, unsigned int max_pasids)
{
	return f && f->untrusted == untrusted && f->fw_flags == fw_flags &&
	       f->coherent == coherent && f->resv_direct == resv_direct &&
	       f->max_pasids == max_pasids;
}

static void good_lines(void)
{
	static const char text[] =
		"0000:00:10.0 untrusted=0 fw_flags=0x8 coherent=0 resv_direct=1 max_pasids=0\n"
		"pt-o1 untrusted=0 fw_flags=0 coherent=1 resv_direct=0 max_pasids=0\n"
		"pu1 untrusted=1 fw_flags=0xb coherent=1 resv_direct=2 max_pasids=1048576\n"
		/* a fact a later kernel may add, and no newline at the end */
		"pn1 untrusted=0 fw_flags=0x2 coherent=0 resv_direct=0 max_pasids=16 ats=1";
	struct dev_facts_list l = {};
	char detail[256];
	int n = parse(text, &l);

	snprintf(detail, sizeof(detail), "parsed %d, kept %zu", n, l.n);
	t("the kernel's lines parse", n == 4 && l.n == 4, detail);
	t("PCI device: fw_flags 0x8, not coherent, one direct region",
	  same(dev_facts_find(&l, "0000:00:10.0"), false, 0x8, false, 1, 0), NULL);
	t("fw_flags 0 (\"%#x\" prints no 0x), coherent",
	  same(dev_facts_find(&l, "pt-o1"), false, 0, true, 0, 0), NULL);
	t("untrusted, several fw_flags, max_pasids",
	  same(dev_facts_find(&l, "pu1"), true, 0xb, true, 2, 1048576), NULL);
	t("an unknown key=value is ignored; a last line without newline counts",
	  same(dev_facts_find(&l, "pn1"), false, 0x2, false, 0, 16), NULL);
	t("an unknown device is not found", !dev_facts_find(&l, "pt-o2") &&
	  !dev_facts_find(&l, "pt-o"), NULL);
	dev_facts_free(&l);
	t("free empties the list", !l.d && !l.n && !l.cap, NULL);
}

static void malformed_lines(void)
{
	static const char *const bad[] = {
		"\n",
		"   \n",
		"nofacts\n",
		"m1 untrusted=0 fw_flags=0 coherent=1 resv_direct=0\n",		/* one missing */
		"m1 untrusted=0 fw_flags=0 coherent=1 resv_direct=0 max_pasids=0 coherent=0\n",
		"untrusted=0 fw_flags=0 coherent=1 resv_direct=0 max_pasids=0\n",	/* no name */
		"m1 untrusted=2 fw_flags=0 coherent=1 resv_direct=0 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0 coherent=yes resv_direct=0 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0 coherent= resv_direct=0 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0x coherent=1 resv_direct=0 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=zz coherent=1 resv_direct=0 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=-1 coherent=1 resv_direct=0 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0x1ffffffff coherent=1 resv_direct=0 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0 coherent=1 resv_direct=-1 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0 coherent=1 resv_direct=0x1 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0 coherent=1 resv_direct=1a max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0 coherent=1 resv_direct=0 max_pasids=99999999999\n",
		"m1 untrusted=0 fw_flags=0 coherent=1 resv_direct=0 max_pasids=+1\n",
		"m1 untrusted=0 fw_flags=0 coherent=1 stray resv_direct=0 max_pasids=0\n",
		"m1 untrusted=0 fw_flags=0 coherent=1 =1 resv_direct=0 max_pasids=0\n",
		"m1 dma_mode policy proposed=2 verdict=3 applied=3 reason=applied seq=3\n",
	};
	struct dev_facts_list l = {};
	char detail[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = parse(bad[i], &l);

		snprintf(detail, sizeof(detail), "kept %d from '%s'", n, bad[i]);
		t("a malformed line is skipped", n == 0 && l.n == 0, detail);
	}

	/* A name too long for the buffer and bytes that are not text, between
	 * good lines, one of them far longer than a line buffer would hold. */
	{
		static const char good[] =
			" untrusted=0 fw_flags=0 coherent=1 resv_direct=0 max_pasids=0";
		size_t len = 2 * 8192 + 4 * sizeof(good) + 512;
		char *text = calloc(1, len), *p = text;

		p += sprintf(p, "g1%s\n", good);
		memset(p, 'n', 200);
		p += 200;
		p += sprintf(p, "%s\n", good);
		p += sprintf(p, "long%s pad=", good);
		memset(p, 'x', 8000);
		p += 8000;
		p += sprintf(p, " max_pasids=1\n");	/* after the pad: a duplicate */
		p += sprintf(p, "long2%s pad=", good);
		memset(p, 'x', 8000);
		p += 8000;
		p += sprintf(p, "\n");
		p += sprintf(p, "\x01\xff\x7f untrusted=\x80 \xc3\xa9\n");
		sprintf(p, "g2%s\n", good);
		t("a long name, a long line's tail and binary bytes are skipped, a long line "
		  "is one line", parse(text, &l) == 3 && l.n == 3 && dev_facts_find(&l, "g1") &&
		  dev_facts_find(&l, "g2") && dev_facts_find(&l, "long2") &&
		  !dev_facts_find(&l, "long"), NULL);
		free(text);
		dev_facts_free(&l);
	}
}

static void files(void)
{
	char dir[] = "/tmp/test_devfacts.XXXXXX", path[256];
	struct dev_facts_list l = {};
	FILE *f;
	int ret;

	if (!mkdtemp(dir)) {
		t("a temporary directory", 0, strerror(errno));
		return;
	}
	sysfs_root = dir;
	ret = dev_facts_read(&l);
	t("a missing devices file is -ENOENT, no devices", ret == -ENOENT && l.n == 0, NULL);

	snprintf(path, sizeof(path), "%s/sys/kernel/debug/iommu_policy", dir);
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0700);
		*s = '/';
	}
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s%s", dir, POLICY_DEBUGFS_DEVICES);
	f = fopen(path, "w");
	if (f) {
		fputs("pm1 untrusted=0 fw_flags=0 coherent=1 resv_direct=0 max_pasids=0\n"
		      "garbage\n", f);
		fclose(f);
	}
	ret = dev_facts_read(&l);
	t("the devices file below the sysfs root is read",
	  ret == 0 && l.n == 1 && same(dev_facts_find(&l, "pm1"), false, 0, true, 0, 0), NULL);
	dev_facts_free(&l);
	unlink(path);
	ret = dev_facts_read(&l);
	t("a file that went away is -ENOENT again", ret == -ENOENT && l.n == 0, NULL);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path))
		fprintf(stderr, "warning: could not remove %s\n", dir);
	sysfs_root = "";
}

static void flag_names(void)
{
	static const struct {
		unsigned int flags;
		const char *want;
	} cases[] = {
		{ 0, "none" },
		{ 0x8, "pci" },
		{ 0x9, "untrusted|pci" },
		{ 0xf, "untrusted|removable|external_facing|pci" },
		{ 0x12, "removable|0x10" },
		{ 0x80000000, "0x80000000" },
	};
	char buf[128], detail[256], tiny[8];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fw_flags_str(cases[i].flags, buf, sizeof(buf));
		snprintf(detail, sizeof(detail), "%#x: got '%s', want '%s'", cases[i].flags, buf,
			 cases[i].want);
		t("fw_flags in words", !strcmp(buf, cases[i].want), detail);
	}
	memset(tiny, 'z', sizeof(tiny));
	fw_flags_str(0xf, tiny, 5);
	t("fw_flags in words: truncated, not overflowed", !strcmp(tiny, "untr") && tiny[5] == 'z',
	  tiny);
}

int main(void)
{
	good_lines();
	malformed_lines();
	files();
	flag_names();
	return failed ? 1 : 0;
}

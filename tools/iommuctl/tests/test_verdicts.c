// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of what reads the kernel's decisions and tells policy inputs
 * apart: the parser of debugfs iommu_policy/verdicts (with and without the
 * flags= a later kernel added; malformed lines skipped) and the SHA-256 that
 * 'policy sync' compares (FIPS 180-4 vectors, and hashing in pieces).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "policy_rules.h"
#include "sha256.h"
#include "verdicts.h"

#define TAP_SUITE "verdicts"
/* Checks made: the runner fails the test if fewer are printed */
#define TAP_PLAN 9
#include "tap.h"

const char *sysfs_root = "";

static int parse(const char *text, struct policy_records *l)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	if (!f) {
		perror("fmemopen");
		exit(1);
	}
	ret = policy_records_parse(f, l);
	fclose(f);
	return ret;
}

static void hex(const unsigned char *d, char *out)
{
	for (int i = 0; i < SHA256_LEN; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha_vector(const char *name, const char *msg, size_t repeat, size_t piece,
		       const char *want)
{
	unsigned char d[SHA256_LEN];
	char got[2 * SHA256_LEN + 1], detail[200];
	struct sha256 s;
	size_t len = strlen(msg);

	sha256_init(&s);
	for (size_t r = 0; r < repeat; r++)
		for (size_t off = 0; off < len; off += piece)
			sha256_update(&s, msg + off, len - off < piece ? len - off : piece);
	sha256_final(&s, d);
	hex(d, got);
	snprintf(detail, sizeof(detail), "got %s, want %s", got, want);
	t(name, !strcmp(got, want), detail);
}

int main(void)
{
	struct policy_records l = {};
	const struct policy_record *r;
	int n;

	n = parse("m1 dma_mode policy proposed=2 verdict=3 applied=3 reason=applied seq=4 "
		  "flags=0x8\n"
		  "m1 dev_trust kernel proposed=1 verdict=0 applied=1 reason=default seq=4 "
		  "flags=0x9\n"
		  "m2 dma_mode kernel proposed=2 verdict=1 applied=2 reason=no_optin seq=3\n"
		  "m3 dma_mode policy proposed=2 verdict=3 applied=3 reason=bogus seq=1\n"
		  "m4 nosuchhook policy proposed=2 verdict=3 applied=3 reason=applied seq=1\n"
		  "m5 dma_mode policy proposed=2\n"
		  "\n", &l);
	t("well-formed lines are read, others skipped", n == 3, NULL);
	r = policy_records_find(&l, "m1", IOMMU_POLICY_HOOK_DMA_MODE);
	t("a record gives its fields and flags", r && r->by_policy && r->proposed == 2 &&
	  r->verdict == 3 && r->applied == 3 && r->reason == IOMMU_POLICY_REASON_APPLIED &&
	  r->seq == 4 && r->flags == IOMMU_POLICY_DMA_F_REEVAL, NULL);
	r = policy_records_find(&l, "m2", IOMMU_POLICY_HOOK_DMA_MODE);
	t("a line without flags= (an earlier kernel) is read, flags 0",
	  r && !r->by_policy && r->reason == IOMMU_POLICY_REASON_NO_OPTIN && r->flags == 0,
	  NULL);
	t("an unknown reason or hook is not a record",
	  !policy_records_find(&l, "m3", IOMMU_POLICY_HOOK_DMA_MODE) &&
	  !policy_records_find(&l, "m4", IOMMU_POLICY_HOOK_DMA_MODE), NULL);
	t("records are per hook", policy_records_find(&l, "m1", IOMMU_POLICY_HOOK_DEV_TRUST) &&
	  !policy_records_find(&l, "m1", IOMMU_POLICY_HOOK_RESV_DIRECT), NULL);
	policy_records_free(&l);

	sha_vector("sha256 of the empty string", "", 1, 1,
		   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha_vector("sha256 of 'abc'", "abc", 1, 3,
		   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha_vector("sha256 of the 448-bit vector, one byte at a time",
		   "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, 1,
		   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	sha_vector("sha256 of a million 'a', in pieces of 7", "aaaaaaaaaa", 100000, 7,
		   "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	return failed ? 1 : 0;
}

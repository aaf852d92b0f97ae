// SPDX-License-Identifier: GPL-2.0
/*
 * The attach policy's life cycle, many times over, for the stress test
 * (selftests/vm/test_policy_stress.py): attach policy A, replace it with B
 * through BPF_LINK_UPDATE, detach B. Both are the test policy's skeleton
 * with strict verdicts for the mock's "pt-*" devices; both are loaded
 * (verified) again every --reload cycles. Every cycle checks what each
 * program's exit() was told.
 *
 *   policy_cycles [-r RELOAD] CYCLES
 *
 * Prints "cycles=N busy=N seconds=S" on success; exits 1 at the first
 * cycle that went wrong, saying which and how.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/iommu_policy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "test_policy.h"
#include "test_policy.skel.h"

static struct test_policy *load(const char *name)
{
	struct test_policy *skel = test_policy__open();
	const struct btf_type *t;
	const struct btf_member *m;
	const struct btf *btf;
	char *data;
	size_t size;
	int id;

	if (!skel)
		return NULL;
	/* the name is in the map's initial value: rename through BTF */
	btf = bpf_object__btf(skel->obj);
	id = btf__find_by_name_kind(btf, "iommu_policy_ops", BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	data = bpf_map__initial_value(skel->maps.test_ops, &size);
	m = t ? btf_members(t) : NULL;
	for (int i = 0; t && data && i < btf_vlen(t); i++, m++) {
		if (!strcmp(btf__name_by_offset(btf, m->name_off), "name")) {
			strncpy(data + m->offset / 8, name,
				IOMMU_POLICY_NAME_LEN - 1);
			break;
		}
	}
	skel->bss->def.dma = IOMMU_POLICY_DMA_STRICT;
	if (test_policy__load(skel)) {
		test_policy__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Attach @skel; a detach still releasing the last link makes it busy */
static struct bpf_link *attach(struct test_policy *skel, long *busy)
{
	for (int i = 0; i < 1000; i++) {
		struct bpf_link *link;

		link = bpf_map__attach_struct_ops(skel->maps.test_ops);
		if (link || errno != EBUSY)
			return link;
		(*busy)++;
		usleep(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct test_policy *a = NULL, *b = NULL;
	long cycles, reload = 100, busy = 0;
	struct timespec t0, t1;
	int opt;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt != 'r')
			goto usage;
		reload = atol(optarg);
	}
	if (optind != argc - 1 || (cycles = atol(argv[optind])) <= 0 ||
	    reload <= 0)
		goto usage;
	libbpf_set_print(NULL);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < cycles; i++) {
		struct bpf_link *link;
		int err;

		if (i % reload == 0) {
			test_policy__destroy(a);
			test_policy__destroy(b);
			a = load("cycle_a");
			b = load("cycle_b");
			if (!a || !b) {
				fprintf(stderr, "cycle %ld: load: %s\n", i,
					strerror(errno));
				return 1;
			}
		}
		a->bss->exit_kind = b->bss->exit_kind = -1;
		link = attach(a, &busy);
		if (!link) {
			fprintf(stderr, "cycle %ld: attach: %s\n", i,
				strerror(errno));
			return 1;
		}
		err = bpf_link__update_map(link, b->maps.test_ops);
		if (err) {
			fprintf(stderr, "cycle %ld: replace: %s\n", i,
				strerror(-err));
			return 1;
		}
		if (a->bss->exit_kind != IOMMU_POLICY_EXIT_REPLACED) {
			fprintf(stderr, "cycle %ld: A's exit() got kind %d, not replaced\n",
				i, a->bss->exit_kind);
			return 1;
		}
		err = bpf_link__destroy(link);
		if (err) {
			fprintf(stderr, "cycle %ld: detach: %s\n", i,
				strerror(-err));
			return 1;
		}
		/* unreg() runs when the link's last reference goes */
		for (int j = 0; j < 5000 && b->bss->exit_kind == -1; j++)
			usleep(1000);
		if (b->bss->exit_kind != IOMMU_POLICY_EXIT_UNREG) {
			fprintf(stderr, "cycle %ld: B's exit() got kind %d, not unreg\n",
				i, b->bss->exit_kind);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("cycles=%ld busy=%ld seconds=%.1f\n", cycles, busy,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	test_policy__destroy(a);
	test_policy__destroy(b);
	return 0;

usage:
	fprintf(stderr, "usage: %s [-r RELOAD] CYCLES\n", argv[0]);
	return 2;
}

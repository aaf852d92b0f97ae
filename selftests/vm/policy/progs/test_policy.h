/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by test_policy.bpf.c and the runner: per-device test verdicts */
#ifndef TEST_POLICY_H
#define TEST_POLICY_H

struct verdicts {
	int trust, dma, resv, pasid, owner;
};

#endif

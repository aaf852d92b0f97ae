/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps of the table policy (bpf/policy/table.bpf.c), shared with
 * iommuctl, which compiles them from a rules file, and the part of the
 * matcher both sides run, so that `iommuctl policy test` decides exactly as
 * the BPF program does.  Stable only within one build of iommuctl.
 *
 * One struct policy_table_rule per rule line.  The rules of each hook are
 * consecutive in the rules map, most specific first (the sum of their
 * conditions' weights, below), equals in file order: a hook's verdict is
 * that of its first rule whose conditions all hold; with none, DEFAULT (0).
 *
 * Include after vmlinux.h (BPF) or <linux/types.h> (C).
 */
#ifndef IOMMUCTL_POLICY_TABLE_H
#define IOMMUCTL_POLICY_TABLE_H

#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif

/* = IOMMU_POLICY_NR_HOOKS; iommuctl checks that at build time */
#define POLICY_TABLE_NR_HOOKS	5
/* Longest device or IOMMU name a rule can match, with its NUL */
#define POLICY_TABLE_NAME_LEN	32
/* Rule lines in a table (entries of the rules map) */
#define POLICY_TABLE_MAX_RULES	4096
/* Steps of the glob matcher: more than a 31-character pattern against a
 * 31-character name can take (one '*' restart per name position) */
#define POLICY_GLOB_STEPS	(POLICY_TABLE_NAME_LEN * (POLICY_TABLE_NAME_LEN + 2))

/* The conditions a rule has (policy_table_rule.conds) */
enum {
	POLICY_COND_DEV		= 1 << 0,	/* dev=NAME: name equal */
	POLICY_COND_DEV_GLOB	= 1 << 1,	/* dev=GLOB: '*', '?' */
	POLICY_COND_PCI		= 1 << 2,	/* pci=: (ids & pci_mask) == pci */
	POLICY_COND_CLASS	= 1 << 3,	/* class=: (class & class_mask) == class */
	POLICY_COND_FW		= 1 << 4,	/* fw=: fw_set all set, fw_clear all clear */
	POLICY_COND_RESV_DIRECT	= 1 << 5,	/* resv=direct: >= 1 RESV_DIRECT region */
	POLICY_COND_RESV_NONE	= 1 << 6,	/* resv=none: no RESV_DIRECT region */
	POLICY_COND_BDF		= 1 << 7,	/* bdf=: each field in its range */
	POLICY_COND_IOMMU	= 1 << 8,	/* iommu=NAME: its IOMMU's name equal */
	POLICY_COND_OWNER	= 1 << 9,	/* owner=: dma_owner() flags & owner */
};

/* Specificity of a rule: the sum of its conditions' weights */
#define POLICY_WEIGHT_DEVICE	16	/* dev=NAME, bdf= of one function */
#define POLICY_WEIGHT_MODEL	4	/* pci=VVVV:DDDD */
#define POLICY_WEIGHT_HALF	2	/* pci=VVVV:*, pci=*:DDDD */
#define POLICY_WEIGHT_OTHER	1	/* any other condition; '*' has none */

struct policy_table_rule {
	__u32 conds;		/* POLICY_COND_* */
	__s32 verdict;		/* in the hook's verdict enum */
	__u32 line;		/* of the rules file, for policy test; not matched */
	__u32 pci, pci_mask;	/* vendor << 16 | device */
	__u32 class, class_mask;	/* class << 16 | subclass << 8 | prog-if */
	__u32 fw_set, fw_clear;	/* enum iommu_policy_fw_flags */
	__u32 owner;		/* IOMMU_POLICY_OWNER_F_GROUP or _F_DEVICE */
	__u16 seg_lo, seg_hi;	/* bdf=, inclusive ranges */
	__u8 bus_lo, bus_hi, dev_lo, dev_hi, fn_lo, fn_hi;
	__u16 pad;
	union {			/* NUL padded: compared by words */
		char name[POLICY_TABLE_NAME_LEN];
		__u64 name_w[POLICY_TABLE_NAME_LEN / 8];
	};
	union {
		char iommu[POLICY_TABLE_NAME_LEN];
		__u64 iommu_w[POLICY_TABLE_NAME_LEN / 8];
	};
};

/* hooks map, by enum iommu_policy_hook: where its rules are in the rules map */
struct policy_table_hook {
	__u32 first, count;
};

/* What the matcher knows of the device being decided (facts.have) */
enum {
	POLICY_FACT_NAME	= 1 << 0,	/* bpf_iommu_dev_name() */
	POLICY_FACT_PCI		= 1 << 1,	/* bpf_iommu_pci_ids(), _class(), _bdf() */
	POLICY_FACT_RESV	= 1 << 2,	/* bpf_iommu_dev_resv_regions(): not in dev_trust */
	POLICY_FACT_IOMMU	= 1 << 3,	/* bpf_iommu_dev_iommu_name(): not in dev_trust */
	POLICY_FACT_OWNER	= 1 << 4,	/* dma_owner()'s flags */
};

struct policy_table_facts {
	__u32 have;		/* POLICY_FACT_*: a condition on a fact not had fails */
	__u32 ids, class, bdf;	/* bdf: segment << 16 | bus << 8 | devfn */
	__u32 fw;		/* bpf_iommu_dev_fw_flags(): always known */
	__u32 resv_direct;	/* regions */
	__u32 owner;		/* dma_owner() flags */
	__u32 pad;
	union {
		char name[POLICY_TABLE_NAME_LEN];
		__u64 name_w[POLICY_TABLE_NAME_LEN / 8];
	};
	union {
		char iommu[POLICY_TABLE_NAME_LEN];
		__u64 iommu_w[POLICY_TABLE_NAME_LEN / 8];
	};
};

/*
 * Every condition of r but a dev= glob holds for f.  Both the BPF program
 * and iommuctl's matcher call this; each matches globs with its own loop
 * (policy_glob_step() below).
 */
static __always_inline bool policy_rule_holds(const struct policy_table_rule *r,
					      const struct policy_table_facts *f)
{
	__u32 c = r->conds, seg, bus, dev, fn;

	if ((c & (POLICY_COND_DEV | POLICY_COND_DEV_GLOB)) && !(f->have & POLICY_FACT_NAME))
		return false;
	if ((c & POLICY_COND_DEV) &&
	    (r->name_w[0] != f->name_w[0] || r->name_w[1] != f->name_w[1] ||
	     r->name_w[2] != f->name_w[2] || r->name_w[3] != f->name_w[3]))
		return false;
	if ((c & (POLICY_COND_PCI | POLICY_COND_CLASS | POLICY_COND_BDF)) &&
	    !(f->have & POLICY_FACT_PCI))
		return false;
	if ((c & POLICY_COND_PCI) && (f->ids & r->pci_mask) != r->pci)
		return false;
	if ((c & POLICY_COND_CLASS) && (f->class & r->class_mask) != r->class)
		return false;
	if ((c & POLICY_COND_FW) &&
	    ((f->fw & r->fw_set) != r->fw_set || (f->fw & r->fw_clear)))
		return false;
	if ((c & (POLICY_COND_RESV_DIRECT | POLICY_COND_RESV_NONE)) &&
	    (!(f->have & POLICY_FACT_RESV) ||
	     !!(c & POLICY_COND_RESV_DIRECT) != !!f->resv_direct))
		return false;
	if (c & POLICY_COND_BDF) {
		seg = f->bdf >> 16;
		bus = (f->bdf >> 8) & 0xff;
		dev = (f->bdf >> 3) & 0x1f;
		fn = f->bdf & 7;
		if (seg < r->seg_lo || seg > r->seg_hi || bus < r->bus_lo || bus > r->bus_hi ||
		    dev < r->dev_lo || dev > r->dev_hi || fn < r->fn_lo || fn > r->fn_hi)
			return false;
	}
	if ((c & POLICY_COND_IOMMU) &&
	    (!(f->have & POLICY_FACT_IOMMU) ||
	     r->iommu_w[0] != f->iommu_w[0] || r->iommu_w[1] != f->iommu_w[1] ||
	     r->iommu_w[2] != f->iommu_w[2] || r->iommu_w[3] != f->iommu_w[3]))
		return false;
	if ((c & POLICY_COND_OWNER) &&
	    (!(f->have & POLICY_FACT_OWNER) || !(f->owner & r->owner)))
		return false;
	return true;
}

/*
 * The glob matcher ('*': any characters, '?': one), one step at a time so
 * that BPF can run it from bpf_loop(): the classic backtracking to the
 * last '*', at most POLICY_GLOB_STEPS steps.  Start with p = s = 0 and
 * star = -1; repeat while it returns 0: 1 is a match, -1 none.
 */
struct policy_glob {
	__s32 p, s, star, mark;
};

static __always_inline int policy_glob_step(struct policy_glob *g, const char *pat,
					    const char *str)
{
	__u32 p = g->p & (POLICY_TABLE_NAME_LEN - 1), s = g->s & (POLICY_TABLE_NAME_LEN - 1);
	char pc = g->p < POLICY_TABLE_NAME_LEN ? pat[p] : 0;
	char sc = g->s < POLICY_TABLE_NAME_LEN ? str[s] : 0;

	if (g->p < 0 || g->s < 0 || g->p >= POLICY_TABLE_NAME_LEN ||
	    g->s >= POLICY_TABLE_NAME_LEN)
		return -1;
	if (!sc) {
		/* The name is done: only '*'s may be left of the pattern */
		if (pc == '*') {
			g->p++;
			return 0;
		}
		return pc ? -1 : 1;
	}
	if (pc && pc != '*' && (pc == '?' || pc == sc)) {
		g->p++;
		g->s++;
		return 0;
	}
	if (pc == '*') {
		g->star = g->p++;
		g->mark = g->s;
		return 0;
	}
	if (g->star < 0)
		return -1;
	g->p = g->star + 1;
	g->s = ++g->mark;
	return 0;
}

#endif /* IOMMUCTL_POLICY_TABLE_H */

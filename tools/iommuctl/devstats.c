// SPDX-License-Identifier: GPL-2.0
/* The per-device collector of top and metrics: see devstats.h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "devname.h"
#include "devstats.h"
#include "histo.h"
#include "output.h"
#include "policy_names.h"
#include "sysfs.h"
#include "trace_common.h"

int devstats_open(struct devstats *ds)
{
	const struct lat_params p = {
		.per_device = true,
		.ops = 1U << LAT_DMA_MAP | 1U << LAT_DMA_UNMAP_STRICT |
		       1U << LAT_DMA_UNMAP_QUEUED,
		.max_keys = LAT_MAX_KEYS,
	};
	const char *events[16];
	struct trace_env tenv = {};
	size_t n = 0;
	int err;

	memset(ds, 0, sizeof(*ds));
	for (const char *const *e = lat_prog_events; *e; e++)
		events[n++] = *e;
	for (const char *const *e = flush_prog_events; *e; e++)
		events[n++] = *e;
	events[n] = NULL;
	err = trace_env_check(&tenv, events, false);
	if (err)
		return err;
	ds->rows = calloc(FLUSH_MAX_KEYS, sizeof(*ds->rows));
	if (!ds->rows)
		return p_err("out of memory");
	err = lat_prog_open(&ds->lat, &p, tenv.use_raw_tp);
	if (err) {
		free(ds->rows);
		return err;
	}
	err = flush_prog_open(&ds->fl, false, tenv.use_raw_tp);
	if (err) {
		lat_prog_close(&ds->lat);
		free(ds->rows);
		return err;
	}
	ds->start = ds->last = monotonic_s();
	return 0;
}

void devstats_close(struct devstats *ds)
{
	flush_prog_close(&ds->fl);
	lat_prog_close(&ds->lat);
	free(ds->rows);
	free(ds->d);
	memset(ds, 0, sizeof(*ds));
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct ds_dev *)a)->name, ((const struct ds_dev *)b)->name);
}

/* The device by this name; added (group -1) if new.  Keeps ds->d unsorted:
 * the caller sorts. */
static struct ds_dev *dev_get(struct devstats *ds, const char *name)
{
	struct ds_dev *d;

	for (size_t i = 0; i < ds->n; i++)
		if (!strcmp(ds->d[i].name, name))
			return &ds->d[i];
	if (ds->n == ds->cap) {
		size_t cap = ds->cap ? 2 * ds->cap : 32;

		d = realloc(ds->d, cap * sizeof(*d));
		if (!d)
			return NULL;
		ds->d = d;
		ds->cap = cap;
	}
	d = &ds->d[ds->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->group = -1;
	return d;
}

/* The device a name the programs recorded is: one cut short is the device
 * whose name begins so (the first if several do); added if none. */
static struct ds_dev *dev_get_traced(struct devstats *ds, const char *traced)
{
	for (size_t i = 0; i < ds->n; i++)
		if (!strcmp(ds->d[i].name, traced))
			return &ds->d[i];
	for (size_t i = 0; i < ds->n; i++)
		if (traced_name_is(traced, ds->d[i].name))
			return &ds->d[i];
	return dev_get(ds, traced);
}

/* The devices behind an IOMMU now, with their DMA mode */
static int read_devices(struct devstats *ds)
{
	struct iommu_devs devs = {};
	int err = iommu_devs_read(&devs, false);

	if (err && err != -ENOENT)
		return 0;	/* keep what we knew */
	for (size_t i = 0; i < ds->n; i++) {
		ds->d[i].group = -1;
		ds->d[i].type[0] = '\0';
	}
	for (size_t i = 0; i < devs.n; i++) {
		struct ds_dev *d = dev_get(ds, devs.d[i].name);

		if (!d) {
			iommu_devs_free(&devs);
			return -ENOMEM;
		}
		d->group = devs.d[i].group;
		snprintf(d->type, sizeof(d->type), "%s", devs.d[i].type);
	}
	iommu_devs_free(&devs);
	return 0;
}

static void read_verdicts(struct devstats *ds)
{
	struct policy_records recs = {};

	ds->verdicts_err = -policy_records_read(&recs);
	for (size_t i = 0; i < ds->n; i++) {
		struct ds_dev *d = &ds->d[i];
		const struct policy_record *pick = NULL;

		for (size_t k = 0; k < recs.n; k++) {
			const struct policy_record *r = &recs.r[k];

			if (!r->by_policy || strcmp(r->dev, d->name))
				continue;
			if (!pick || pick->hook != IOMMU_POLICY_HOOK_DMA_MODE ||
			    r->hook == IOMMU_POLICY_HOOK_DMA_MODE)
				pick = r;
		}
		d->has_verdict = pick;
		if (pick)
			d->verdict = *pick;
	}
	policy_records_free(&recs);
}

static void losses_add(struct trace_losses *d, const struct trace_losses *s)
{
	d->map_full += s->map_full;
	d->ringbuf += s->ringbuf;
	d->too_deep += s->too_deep;
	d->pending += s->pending;
	d->recursion += s->recursion;
	d->kprobe += s->kprobe;
	d->has |= s->has;
}

static void read_losses(struct devstats *ds)
{
	struct trace_losses a, b, cur = {}, prev = ds->lost_total;

	lat_prog_losses(&ds->lat, &a);
	flush_prog_losses(&ds->fl, &b);
	losses_add(&cur, &a);
	losses_add(&cur, &b);
	trace_losses_delta(&ds->lost, &cur, &prev);
	ds->lost_total = cur;
}

int devstats_collect(struct devstats *ds)
{
	char name[DEV_NAME_LEN + 16];
	__u32 named_domain = 0;
	bool named = false;
	struct lat_entry *e;
	size_t n, nf;
	ssize_t got;
	double now;
	int err;

	err = lat_prog_read(&ds->lat, &e, &n);
	if (err)
		return err;
	got = flush_prog_read(&ds->fl, ds->rows, FLUSH_MAX_KEYS, NULL, FLUSH_MAX_HISTS, NULL);
	if (got < 0) {
		free(e);
		return got;
	}
	nf = got;
	now = monotonic_s();
	ds->interval_s = now - ds->last;
	ds->elapsed_s = now - ds->start;
	ds->last = now;
	read_losses(ds);

	for (size_t i = 0; i < ds->n; i++)
		memset(&ds->d[i].cur, 0, sizeof(ds->d[i].cur));
	err = read_devices(ds);
	for (size_t i = 0; !err && i < n; i++) {
		struct ds_dev *d;
		int op;

		switch (e[i].key.op) {
		case LAT_DMA_MAP:
			op = DS_MAP;
			break;
		case LAT_DMA_UNMAP_STRICT:
			op = DS_UNMAP_STRICT;
			break;
		case LAT_DMA_UNMAP_QUEUED:
			op = DS_UNMAP_QUEUED;
			break;
		default:
			continue;
		}
		if (!e[i].key.dev[0])
			continue;
		d = dev_get_traced(ds, e[i].key.dev);
		if (!d) {
			err = -ENOMEM;
			break;
		}
		hist_merge(&d->cur.op[op], &e[i].h);
	}
	free(e);
	/* Rows come sorted by domain: each domain's device is looked up once, so
	 * all its kinds go under one device, though flush.bpf.c may learn
	 * another meanwhile. */
	for (size_t i = 0; !err && i < nf; i++) {
		const struct flush_row *r = &ds->rows[i];
		struct ds_dev *d;

		if (r->key.kind >= FLUSH_NR_KINDS)
			continue;
		if (!named || r->key.domain != named_domain) {
			if (!flush_prog_domain_dev(&ds->fl, r->key.domain, name, sizeof(name)))
				snprintf(name, sizeof(name), "domain:%u", r->key.domain);
			named = true;
			named_domain = r->key.domain;
		}
		d = dev_get_traced(ds, name);
		if (!d) {
			err = -ENOMEM;
			break;
		}
		d->cur.flush[r->key.kind].count += r->v.count;
		d->cur.flush[r->key.kind].ns += r->v.ns;
		if (r->key.kind >= FLUSH_FQ_TIMER)
			d->cur.fq_released += r->v.released;
	}
	if (err)
		return err;
	for (size_t i = 0; i < ds->n; i++) {
		struct ds_counts *c = &ds->d[i].cur, *t = &ds->d[i].total;

		for (int op = 0; op < DS_NR_OPS; op++)
			hist_merge(&t->op[op], &c->op[op]);
		for (int k = 0; k < FLUSH_NR_KINDS; k++) {
			t->flush[k].count += c->flush[k].count;
			t->flush[k].ns += c->flush[k].ns;
		}
		t->fq_released += c->fq_released;
	}
	qsort(ds->d, ds->n, sizeof(*ds->d), cmp_dev);
	read_verdicts(ds);
	return 0;
}

void ds_unmaps(const struct ds_counts *c, struct hist *out)
{
	memset(out, 0, sizeof(*out));
	hist_merge(out, &c->op[DS_UNMAP_STRICT]);
	hist_merge(out, &c->op[DS_UNMAP_QUEUED]);
}

__u64 ds_flushes(const struct ds_counts *c)
{
	__u64 n = 0;

	for (int k = 0; k < FLUSH_NR_KINDS; k++)
		n += c->flush[k].count;
	return n;
}

static const char *verdict_name(int hook, int v, char *buf, size_t len)
{
	const char *name = policy_verdict_name(hook, v);

	if (name)
		return name;
	snprintf(buf, len, "%d", v);
	return buf;
}

void ds_verdict_str(const struct ds_dev *d, char *buf, size_t len)
{
	const struct policy_record *r = &d->verdict;
	char a[16], b[16];

	if (!d->has_verdict) {
		snprintf(buf, len, "-");
		return;
	}
	if (r->verdict == r->applied)
		snprintf(buf, len, "%s=%s", policy_hook_name(r->hook),
			 verdict_name(r->hook, r->verdict, a, sizeof(a)));
	else
		snprintf(buf, len, "%s=%s>%s", policy_hook_name(r->hook),
			 verdict_name(r->hook, r->verdict, a, sizeof(a)),
			 verdict_name(r->hook, r->applied, b, sizeof(b)));
}

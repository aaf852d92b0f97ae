// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl metrics: what iommuctl measures and what the policy counts, as
 * Prometheus metrics for node_exporter's textfile collector.
 *
 * The shape: a long-running process (a service next to node_exporter) that
 * rewrites DIR/iommu.prom every interval.  Not an HTTP endpoint: fleets
 * already scrape node_exporter, and a file needs no port, TLS or
 * authentication of its own.  Not a one-shot run from cron either: the BPF
 * maps live as long as the process that loaded them, and devstats keeps
 * the totals of what they counted (since attach; keys pruned from an
 * overfull map stay counted), so only a process that keeps running keeps
 * the counters and histograms cumulative, which Prometheus needs (rate()
 * and histogram_quantile() over counters that only grow, and a restart of
 * iommuctl is a counter reset Prometheus handles).
 *
 * The format is the Prometheus text format (0.0.4), what the textfile
 * collector reads, with OpenMetrics' conventions: base units (seconds),
 * _total counters, cumulative _bucket{le} with _sum and _count, a state set
 * as one gauge per state.  The file is written as iommu.prom.PID beside it
 * (ignored by the collector: not *.prom), synced, then renamed over
 * iommu.prom: a scrape sees the old file or the new one, never part of one.
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "devstats.h"
#include "histo.h"
#include "output.h"
#include "policy_names.h"
#include "policy_sysfs.h"
#include "prom.h"
#include "sysfs.h"
#include "trace_common.h"

#define PROM_FILE	"iommu.prom"
/* Histogram buckets: le = 2^k ns, k from LE_MIN to LE_MAX (64 ns to 16.8 ms) */
#define LE_MIN		6
#define LE_MAX		24

static struct {
	const char *dir;	/* -t DIR; NULL: stdout */
	int interval, count, nargs;
} env = {
	.interval = 15,
	.count = -1,
};

static const char doc[] =
"Prometheus metrics of the IOMMU per device and of the BPF policy, for\n"
"node_exporter's textfile collector (--collector.textfile.directory).\n"
"\n"
"USAGE: iommuctl metrics [-t DIR | --stdout] [-v] [interval [count]]\n"
"\n"
"With -t, runs until Ctrl-C (or count intervals) and every interval\n"
"(default 15 s) replaces DIR/" PROM_FILE " atomically (written as\n"
PROM_FILE ".PID, then renamed); the first file, all zeros, right after the\n"
"programs attach.  Run it as a service: the counters are what the kernel\n"
"counted since iommuctl attached its programs (they go with the process),\n"
"so they count from its start, and a restart is a counter reset.  With\n"
"--stdout (or -t -), prints the metrics once after the interval (count\n"
"times if given).\n"
"\n"
"Metrics, per device behind an IOMMU (device=\"0000:00:03.0\"):\n"
"  iommu_dma_map_duration_seconds{device}        histogram: DMA API maps\n"
"  iommu_dma_unmap_duration_seconds{device,mode} histogram: unmaps, mode\n"
"                       strict (flushed at once) or queued (flush queue)\n"
"  iommu_iotlb_flushes_total{device,kind}        counter, kind as in 'trace\n"
"                       flush': flush_all, range, sync_map, fq_timer, fq_full\n"
"  iommu_iotlb_flush_duration_seconds_total{device,kind}  time in the driver\n"
"  iommu_dma_fq_released_iovas_total{device}     freed by flush-queue flushes\n"
"  iommu_device_info{device,group,dma_mode}      1 per device behind an IOMMU\n"
"and of the policy (/sys/kernel/iommu_policy), if the kernel has it:\n"
"  iommu_policy_state{state}                     1 for the current state\n"
"  iommu_policy_info{name,allow_loosen}          1 while a policy is attached\n"
"  iommu_policy_enables_total                    attaches and replacements\n"
"  iommu_policy_decisions_total{hook}            calls into the policy\n"
"  iommu_policy_clamped_total, iommu_policy_invalid_verdicts_total,\n"
"  iommu_policy_errors_total\n"
"and iommuctl's own: iommu_trace_lost_samples_total{reason}.\n"
"Histograms have buckets le=2^k ns (64 ns .. 16.8 ms, in seconds); a series\n"
"appears with its first sample (idle devices cost no histogram series).\n"
"\n"
"EXAMPLES:\n"
"    iommuctl metrics -t /var/lib/prometheus/node-exporter\n"
"    iommuctl metrics --stdout 5      # once, after 5 s\n"
"    iommuctl metrics -t /run/metrics 60\n";

enum { OPT_STDOUT = 0x100 };

static const struct argp_option opts[] = {
	{ "textfile", 't', "DIR", 0, "write DIR/" PROM_FILE " every interval (- : stdout)", 0 },
	{ "stdout", OPT_STDOUT, NULL, 0, "print to stdout, once unless a count is given", 0 },
	{},
};

static bool to_stdout;

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 't':
		if (strcmp(arg, "-"))
			env.dir = arg;
		else
			to_stdout = true;
		break;
	case OPT_STDOUT:
		to_stdout = true;
		break;
	case ARGP_KEY_ARG:
		if (parse_interval_arg(arg, false, &env.nargs, &env.interval, &env.count))
			return EINVAL;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ns as seconds, exactly */
static void seconds(FILE *f, __u64 ns)
{
	fprintf(f, "%llu.%09llu", (unsigned long long)(ns / 1000000000),
		(unsigned long long)(ns % 1000000000));
}

/*
 * One histogram series.  Bucket le=2^k ns counts the samples below 2^k ns:
 * powers of two are bucket boundaries of the BPF histograms (hist.h), so
 * this is exact, except that a sample of exactly 2^k ns (durations are whole
 * nanoseconds) is counted in the next bucket.  +Inf and _count are the sum
 * of the buckets, so no bucket is ever above them.
 */
static void histogram(FILE *f, const char *name, const struct hist *h, const char *dev,
		      const char *mode)
{
	__u64 below = 0, count = hist_slots_total(h);
	int s = 0;

	for (int k = LE_MIN; k <= LE_MAX; k++) {
		for (; s < HIST_SLOTS && hist_slot_low(s) < 1ULL << k; s++)
			below += h->slots[s];
		fprintf(f, "%s_bucket{", name);
		prom_label(f, "device", dev, true);
		if (mode)
			prom_label(f, "mode", mode, false);
		fprintf(f, ",le=\"%.10g\"} %llu\n", (double)(1ULL << k) / 1e9,
			(unsigned long long)below);
	}
	fprintf(f, "%s_bucket{", name);
	prom_label(f, "device", dev, true);
	if (mode)
		prom_label(f, "mode", mode, false);
	fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)count);
	fprintf(f, "%s_sum{", name);
	prom_label(f, "device", dev, true);
	if (mode)
		prom_label(f, "mode", mode, false);
	fputs("} ", f);
	seconds(f, h->sum);
	fprintf(f, "\n%s_count{", name);
	prom_label(f, "device", dev, true);
	if (mode)
		prom_label(f, "mode", mode, false);
	fprintf(f, "} %llu\n", (unsigned long long)count);
}

static void device_metrics(FILE *f, const struct devstats *ds)
{
	static const char *const mode[DS_NR_OPS] = {
		[DS_UNMAP_STRICT] = "strict", [DS_UNMAP_QUEUED] = "queued",
	};

	family(f, "iommu_device_info", "gauge", "A device behind an IOMMU: its group and "
	       "the group's default domain type (DMA mode), always 1.");
	for (size_t i = 0; i < ds->n; i++) {
		const struct ds_dev *d = &ds->d[i];
		char group[16];

		if (d->group < 0)
			continue;
		snprintf(group, sizeof(group), "%d", d->group);
		fputs("iommu_device_info{", f);
		prom_label(f, "device", d->name, true);
		prom_label(f, "group", group, false);
		prom_label(f, "dma_mode", d->type, false);
		fputs("} 1\n", f);
	}
	family(f, "iommu_dma_map_duration_seconds", "histogram", "Time dma-iommu took to "
	       "map a DMA buffer for the device (iommu:iommu_dma_map).");
	for (size_t i = 0; i < ds->n; i++)
		if (ds->d[i].total.op[DS_MAP].count)
			histogram(f, "iommu_dma_map_duration_seconds", &ds->d[i].total.op[DS_MAP],
				  ds->d[i].name, NULL);
	family(f, "iommu_dma_unmap_duration_seconds", "histogram", "Time dma-iommu took to "
	       "unmap a DMA buffer of the device (iommu:iommu_dma_unmap); mode strict: the "
	       "IOTLB was flushed before returning, queued: the flush was left to the flush "
	       "queue.");
	for (size_t i = 0; i < ds->n; i++)
		for (int op = DS_UNMAP_STRICT; op <= DS_UNMAP_QUEUED; op++)
			if (ds->d[i].total.op[op].count)
				histogram(f, "iommu_dma_unmap_duration_seconds",
					  &ds->d[i].total.op[op], ds->d[i].name, mode[op]);
	family(f, "iommu_iotlb_flushes_total", "counter", "IOTLB flushes in the device's DMA "
	       "domain, by kind: flush_all, range (after unmap), sync_map (after map), "
	       "fq_timer and fq_full (flush queue).");
	for (size_t i = 0; i < ds->n; i++)
		for (int k = 0; k < FLUSH_NR_KINDS; k++) {
			if (!ds->d[i].total.flush[k].count)
				continue;
			fputs("iommu_iotlb_flushes_total{", f);
			prom_label(f, "device", ds->d[i].name, true);
			prom_label(f, "kind", flush_kind_names[k], false);
			fprintf(f, "} %llu\n", (unsigned long long)ds->d[i].total.flush[k].count);
		}
	family(f, "iommu_iotlb_flush_duration_seconds_total", "counter", "Time the IOMMU "
	       "driver spent in those flushes.");
	for (size_t i = 0; i < ds->n; i++)
		for (int k = 0; k < FLUSH_NR_KINDS; k++) {
			if (!ds->d[i].total.flush[k].count)
				continue;
			fputs("iommu_iotlb_flush_duration_seconds_total{", f);
			prom_label(f, "device", ds->d[i].name, true);
			prom_label(f, "kind", flush_kind_names[k], false);
			fputs("} ", f);
			seconds(f, ds->d[i].total.flush[k].ns);
			fputc('\n', f);
		}
	family(f, "iommu_dma_fq_released_iovas_total", "counter", "IOVAs the flush queue "
	       "released after its flushes (lazy mode's deferred unmaps).");
	for (size_t i = 0; i < ds->n; i++) {
		const struct ds_counts *t = &ds->d[i].total;

		if (!t->flush[FLUSH_FQ_TIMER].count && !t->flush[FLUSH_FQ_FULL].count)
			continue;
		fputs("iommu_dma_fq_released_iovas_total{", f);
		prom_label(f, "device", ds->d[i].name, true);
		fprintf(f, "} %llu\n", (unsigned long long)t->fq_released);
	}
}

static void counter(FILE *f, const char *name, const char *help, long long v)
{
	if (v < 0)
		return;
	family(f, name, "counter", help);
	fprintf(f, "%s %lld\n", name, v);
}

static void policy_metrics(FILE *f)
{
	static const char *const states[] = { "disabled", "enabling", "enabled", "disabling" };
	char state[32], name[64], loosen[32], attr[32];

	if (policy_attr("state", state, sizeof(state)))
		return;		/* no BPF policy in this kernel */
	policy_attr("name", name, sizeof(name));
	policy_attr("allow_loosen", loosen, sizeof(loosen));
	family(f, "iommu_policy_state", "gauge", "The BPF IOMMU policy's state: 1 for the "
	       "current one (/sys/kernel/iommu_policy/state).");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		fprintf(f, "iommu_policy_state{state=\"%s\"} %d\n", states[i],
			!strcmp(state, states[i]));
	family(f, "iommu_policy_info", "gauge", "The attached policy's name, and whether "
	       "loosening verdicts are applied; 1 while a policy is attached.");
	if (name[0]) {
		fputs("iommu_policy_info{", f);
		prom_label(f, "name", name, true);
		prom_label(f, "allow_loosen", loosen, false);
		fputs("} 1\n", f);
	}
	counter(f, "iommu_policy_enables_total", "Policies attached, and replaced, since "
		"boot (enable_seq).", policy_attr_ll("enable_seq"));
	family(f, "iommu_policy_decisions_total", "counter", "Calls into a policy since "
	       "boot, by hook.");
	for (int h = 0; h < IOMMU_POLICY_NR_HOOKS; h++) {
		long long v;

		snprintf(attr, sizeof(attr), "nr_%s", policy_hook_name(h));
		v = policy_attr_ll(attr);
		if (v >= 0)
			fprintf(f, "iommu_policy_decisions_total{hook=\"%s\"} %lld\n",
				policy_hook_name(h), v);
	}
	counter(f, "iommu_policy_clamped_total", "Policy verdicts not applied (no opt-in, "
		"lockdown, driver) or found not in effect (group), since boot.",
		policy_attr_ll("nr_clamped"));
	counter(f, "iommu_policy_invalid_verdicts_total", "Policy verdicts outside their "
		"hook's enum, since boot.", policy_attr_ll("nr_invalid"));
	counter(f, "iommu_policy_errors_total", "Policy errors (an invalid verdict that "
		"detached it, a failed init), since boot.", policy_attr_ll("nr_errors"));
}

static void loss_metrics(FILE *f, const struct devstats *ds)
{
	const struct trace_losses *l = &ds->lost_total;

	family(f, "iommu_trace_lost_samples_total", "counter", "Samples iommuctl's BPF "
	       "programs could not record: map_full (no room for a new device), recursion "
	       "(runs the kernel skipped).");
	fprintf(f, "iommu_trace_lost_samples_total{reason=\"map_full\"} %llu\n",
		(unsigned long long)l->map_full);
	fprintf(f, "iommu_trace_lost_samples_total{reason=\"recursion\"} %llu\n",
		(unsigned long long)l->recursion);
}

static void write_metrics(FILE *f, const struct devstats *ds)
{
	device_metrics(f, ds);
	policy_metrics(f);
	loss_metrics(f, ds);
}

/* DIR/iommu.prom, replaced atomically: 0 or -errno */
static int write_textfile(const struct devstats *ds)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", env.dir, PROM_FILE);
	snprintf(tmp, sizeof(tmp), "%s/%s.%d", env.dir, PROM_FILE, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	write_metrics(f, ds);
	if (fflush(f) || fsync(fileno(f)))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int cmd_metrics(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children };
	struct devstats ds;
	int err, written = 0;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (json_output)
		return p_usage("metrics writes the Prometheus text format: -j and -p do not "
			       "apply");
	if (env.dir && to_stdout)
		return p_usage("-t DIR and --stdout: choose one");
	if (!env.dir)
		to_stdout = true;
	if (to_stdout && env.count < 0)
		env.count = 1;
	if (env.dir && access(env.dir, W_OK | X_OK))
		return p_err("cannot write in %s: %s", env.dir, strerror(errno));
	err = devstats_open(&ds);
	if (err)
		return err;
	trace_handle_signals();
	if (env.dir) {
		/* Every series from zero: the first increment is then a rate */
		err = devstats_collect(&ds);
		if (!err)
			err = write_textfile(&ds);
		if (err) {
			err = p_err("writing %s/%s: %s", env.dir, PROM_FILE, strerror(-err));
			goto out;
		}
	}
	fprintf(stderr, "Tracing IOMMU activity for metrics%s%s, every %d s... %s\n",
		env.dir ? " in " : "", env.dir ? env.dir : "", env.interval,
		env.count < 0 ? "Hit Ctrl-C to end." : "");
	/* The counts up to a Ctrl-C or SIGTERM are still written (see
	 * trace_loop_run) */
	while (env.count < 0 || written < env.count) {
		bool final;

		if (!exiting)
			sleep(env.interval);	/* a signal ends the sleep early */
		final = exiting;
		err = devstats_collect(&ds);
		if (err) {
			err = p_err("out of memory");
			break;
		}
		written++;
		if (to_stdout) {
			write_metrics(stdout, &ds);
			fflush(stdout);
		} else {
			err = write_textfile(&ds);
			if (err) {
				/* A full disk may clear: the counters carry on */
				p_warn("writing %s/%s: %s", env.dir, PROM_FILE, strerror(-err));
				err = 0;
			}
		}
		if (final)
			break;
	}
out:
	devstats_close(&ds);
	return err;
}

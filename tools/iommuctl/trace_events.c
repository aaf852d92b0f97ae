// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl trace events: a stream of IOMMU control-path events, one line
 * each (NDJSON with -j): attach/detach, default-domain decisions, DMA
 * ownership, PASID attach/detach, I/O page faults and the decisions of a
 * BPF IOMMU policy (on kernels that have the policy_decision event).
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "bpf_log.h"
#include "commands.h"
#include "devname.h"
#include "output.h"
#include "policy_names.h"
#include "sysfs.h"
#include "trace_common.h"
#include "json.h"
#include "policy_rules.h"
#include "iommuctl/trace.h"
#include "stats.h"
#include "events.skel.h"

static const char *const kind_names[EV_NR_KINDS] = {
	[EV_ATTACH_DEV] = "attach_dev",
	[EV_DETACH_DEV] = "detach_dev",
	[EV_ATTACH_PASID] = "attach_pasid",
	[EV_DETACH_PASID] = "detach_pasid",
	[EV_DEFAULT_DOMAIN] = "default_domain",
	[EV_DMA_OWNER] = "dma_owner",
	[EV_IO_PAGE_FAULT] = "io_page_fault",
	[EV_POLICY_DECISION] = "policy_decision",
};

static long seen;
static struct trace_opts *const o = &trace_opts;

static const char doc[] =
"Stream IOMMU control-path events as they happen.\n"
"\n"
"USAGE: iommuctl trace events [-d DEV] [-T] [-j|-p] [-S] [-v] [count]\n"
"\n"
"Events: attach_dev, detach_dev (a device changes domain or leaves the\n"
"IOMMU), attach_pasid, detach_pasid, default_domain (a group's DMA mode was\n"
"decided), dma_owner (VFIO/iommufd claimed or released a group),\n"
"io_page_fault and policy_decision (a BPF IOMMU policy hook decided: what\n"
"the kernel proposed, the policy said and was applied, and why).  Domain\n"
"types: blocked, identity, unmanaged, DMA, DMA-FQ, sva, platform, nested;\n"
"'none' where there is no domain.  With count, exits after that many events.\n"
"-d takes a device that is not plugged in yet (with a note): its events show\n"
"once it appears.\n"
"\n"
"EXAMPLES:\n"
"    iommuctl trace events                  # until Ctrl-C\n"
"    iommuctl trace events -j -d 0000:00:03.0\n"
"    iommuctl trace events -T 10            # the next 10 events, with times\n";


/* IOMMU_DOMAIN_* of <linux/iommu.h> in 6.12 */
static const char *domain_type(__u32 id, __u32 type)
{
	if (!id)
		return "none";
	switch (type) {
	case 0: return "blocked";
	case 1: return "unmanaged";
	case 3: return "DMA";
	case 4: return "identity";
	case 11: return "DMA-FQ";
	case 16: return "sva";
	case 32: return "platform";
	case 64: return "nested";
	default: return "unknown";
	}
}

static const char *req_type(__u32 type, const char *zero)
{
	return type ? domain_type(1, type) : zero;
}

/* A verdict of the hook's enum by name; its number if out of range */
static const char *verdict_name(const struct ev_record *e, int v, char *buf, size_t len)
{
	const char *name = policy_verdict_name(e->hook, v);

	if (name)
		return name;
	snprintf(buf, len, "%d", v);
	return buf;
}

static void print_json(const struct ev_record *e)
{
	struct json j;

	json_init(&j, stdout);
	json_begin_object(&j, NULL);
	json_u64(&j, "ts_ns", e->ts_ns);
	json_str(&j, "event", kind_names[e->kind]);
	if (e->dev[0])
		json_str(&j, "device", e->dev);
	else
		json_null(&j, "device");
	switch (e->kind) {
	case EV_ATTACH_DEV:
	case EV_DETACH_DEV:
	case EV_ATTACH_PASID:
	case EV_DETACH_PASID:
		json_i64(&j, "group", e->group);
		json_u64(&j, "pasid", e->pasid);
		json_u64(&j, "old_domain", e->old_domain);
		json_str(&j, "old_type", domain_type(e->old_domain, e->old_type));
		json_u64(&j, "new_domain", e->new_domain);
		json_str(&j, "new_type", domain_type(e->new_domain, e->new_type));
		json_i64(&j, "ret", e->ret);
		break;
	case EV_DEFAULT_DOMAIN:
		json_i64(&j, "group", e->group);
		json_str(&j, "driver_type", req_type(e->driver_type, "none"));
		json_str(&j, "req_type", req_type(e->req_type, "auto"));
		json_u64(&j, "domain", e->new_domain);
		json_str(&j, "type", domain_type(e->new_domain, e->new_type));
		json_i64(&j, "ret", e->ret);
		break;
	case EV_DMA_OWNER:
		json_i64(&j, "group", e->group);
		json_str(&j, "op", e->claim ? "claim" : "release");
		json_u64(&j, "owner_cnt", e->owner_cnt);
		json_i64(&j, "ret", e->ret);
		break;
	case EV_IO_PAGE_FAULT:
		json_u64(&j, "iova", e->iova);
		json_i64(&j, "flags", e->flags);
		break;
	case EV_POLICY_DECISION: {
		const char *hook = policy_hook_name(e->hook);
		const char *reason = policy_reason_name(e->reason);
		char num[16];

		if (hook)
			json_str(&j, "hook", hook);
		else
			json_u64(&j, "hook", e->hook);
		json_str(&j, "proposed", verdict_name(e, e->proposed, num, sizeof(num)));
		json_str(&j, "verdict", verdict_name(e, e->verdict, num, sizeof(num)));
		json_str(&j, "applied", verdict_name(e, e->applied, num, sizeof(num)));
		if (reason)
			json_str(&j, "reason", reason);
		else
			json_u64(&j, "reason", e->reason);
		json_u64(&j, "flags", (__u32)e->flags);
		break;
	}
	}
	json_end_object(&j);
	json_line(&j);
}

/*
 * The wall clock when the event happened, not when it is printed (the ring
 * buffer may hold it for a while): its bpf_ktime_get_ns() stamp is
 * CLOCK_MONOTONIC, moved onto CLOCK_REALTIME by the clocks' offset now.
 */
static struct timespec event_wall_time(__u64 ts_ns)
{
	struct timespec mono, real;
	__s64 wall;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	wall = (__s64)real.tv_sec * 1000000000 + real.tv_nsec -
	       ((__s64)mono.tv_sec * 1000000000 + mono.tv_nsec - (__s64)ts_ns);
	return (struct timespec){ .tv_sec = wall / 1000000000, .tv_nsec = wall % 1000000000 };
}

static void print_text(const struct ev_record *e)
{
	struct timespec at;
	char when[16];

	if (o->timestamp) {
		at = event_wall_time(e->ts_ns);
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&at.tv_sec));
		printf("%s.%03ld ", when, at.tv_nsec / 1000000);
	}
	printf("%-15s %-16s ", kind_names[e->kind], e->dev[0] ? e->dev : "-");
	switch (e->kind) {
	case EV_ATTACH_DEV:
	case EV_DETACH_DEV:
	case EV_ATTACH_PASID:
	case EV_DETACH_PASID:
		printf("group %d", e->group);
		if (e->pasid)
			printf(" pasid %u", e->pasid);
		printf(": domain %u (%s) -> %u (%s)", e->old_domain,
		       domain_type(e->old_domain, e->old_type), e->new_domain,
		       domain_type(e->new_domain, e->new_type));
		break;
	case EV_DEFAULT_DOMAIN:
		printf("group %d: driver wants %s, sysfs asks %s: domain %u (%s)", e->group,
		       req_type(e->driver_type, "none"), req_type(e->req_type, "auto"),
		       e->new_domain, domain_type(e->new_domain, e->new_type));
		break;
	case EV_DMA_OWNER:
		printf("group %d: %s, %u claims held", e->group, e->claim ? "claim" : "release",
		       e->owner_cnt);
		break;
	case EV_IO_PAGE_FAULT:
		printf("iova 0x%llx flags 0x%x", (unsigned long long)e->iova, e->flags);
		break;
	case EV_POLICY_DECISION: {
		char text[256];

		policy_describe(text, sizeof(text), e->hook, e->proposed, e->verdict,
				e->applied, e->reason);
		printf("%s: %s", policy_hook_name(e->hook) ?: "?", text);
		if (e->hook == IOMMU_POLICY_HOOK_DMA_MODE &&
		    (e->flags & IOMMU_POLICY_DMA_F_REEVAL))
			printf(", re-evaluated");
		break;
	}
	}
	if (e->kind != EV_IO_PAGE_FAULT && e->kind != EV_POLICY_DECISION && e->ret)
		printf(" ret %d (%s)", e->ret, strerror(-e->ret));
	printf("\n");
	fflush(stdout);
}

static void read_losses(struct events_bpf *skel, struct trace_losses *l)
{
	memset(l, 0, sizeof(*l));
	l->has = LOSS_RINGBUF;
	l->ringbuf = skel->bss->lost_ringbuf;
	trace_losses_read(skel->skeleton, l);
}

/*
 * Events lost since the last report, in the stream where they were lost:
 * {"event": "lost", ...} with -j, a "(not recorded: ...)" line without.
 */
static void report_losses(struct events_bpf *skel, struct trace_losses *prev)
{
	struct trace_losses cur, d;
	struct timespec ts;

	read_losses(skel, &cur);
	trace_losses_delta(&d, &cur, prev);
	*prev = cur;
	if (!trace_losses_total(&d))
		return;
	if (json_output) {
		struct json j;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		json_init(&j, stdout);
		json_begin_object(&j, NULL);
		json_u64(&j, "ts_ns", ts.tv_sec * 1000000000ULL + ts.tv_nsec);
		json_str(&j, "event", "lost");
		trace_losses_json(&j, &d);
		json_end_object(&j);
		json_line(&j);
	} else {
		trace_losses_print(stdout, &d);
	}
	fflush(stdout);
}

static int on_event(void *ctx, void *data, size_t len)
{
	const struct ev_record *e = data;

	if (o->nargs && seen >= o->count)
		return 0;
	if (len < sizeof(*e) || e->kind >= EV_NR_KINDS)
		return 0;
	if (o->dev && strcmp(e->dev, o->dev))
		return 0;
	if (json_output)
		print_json(e);
	else
		print_text(e);
	if (++seen >= o->count)
		exiting = true;
	return 0;
}

int cmd_trace_events(int argc, char **argv)
{
	static const struct argp_child children[] = {
		{ &trace_common_argp }, { &output_argp }, {}
	};
	static const struct argp argp = { NULL, NULL, "[count]", doc, children };
	/* policy_decision last: kernels without the BPF policy lack it */
	static const char *events[] = {
		"attach_dev", "detach_dev", "attach_pasid", "detach_pasid",
		"default_domain", "dma_owner", "io_page_fault", "policy_decision", NULL
	};
	struct trace_losses lost;
	struct trace_stats ts;
	struct trace_env tenv = {};
	double start;
	bool policy;
	struct ring_buffer *rb = NULL;
	struct events_bpf *skel;
	int err;

	o->count_only = true;
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	/* A device not plugged in yet: its attach is what -d waits for */
	err = check_device_filter(o->dev, true);
	if (err)
		return err;
	policy = trace_event_exists("policy_decision");
	if (!policy)
		events[7] = NULL;
	err = trace_env_check(&tenv, events, false);
	if (err)
		return err;

	skel = events_bpf__open();
	if (!skel)
		return p_err("opening the BPF skeleton failed: %s", strerror(errno));
	trace_select_programs(skel->obj, tenv.use_raw_tp);
	if (!policy) {
		bpf_program__set_autoload(skel->progs.tp_btf_policy_decision, false);
		bpf_program__set_autoload(skel->progs.raw_tp_policy_decision, false);
	}
	err = events_bpf__load(skel);
	if (err) {
		bpf_log_load_error("events", err);
		goto out;
	}
	err = events_bpf__attach(skel);
	if (err) {
		p_err("attaching to the iommu tracepoints failed: %s", strerror(-err));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
	if (!rb) {
		err = -errno;
		p_err("ring buffer: %s", strerror(errno));
		goto out;
	}
	read_losses(skel, &lost);
	if (o->stats)
		trace_stats_begin(&ts, skel->obj);
	start = monotonic_s();
	trace_handle_signals();
	fprintf(stderr, "Tracing IOMMU events... Hit Ctrl-C to end.\n");
	while (!exiting) {
		err = ring_buffer__poll(rb, 200);
		if (err == -EINTR) {
			err = 0;
			break;
		}
		if (err < 0) {
			p_err("polling the ring buffer: %s", strerror(-err));
			break;
		}
		err = 0;
		report_losses(skel, &lost);
	}
	ring_buffer__consume(rb);
	report_losses(skel, &lost);
	if (o->stats) {
		ts.events = seen;
		trace_stats_end(&ts, skel->obj, monotonic_s() - start, &lost);
	} else if (trace_losses_total(&lost)) {
		fprintf(stderr, "iommuctl: in all ");
		trace_losses_print(stderr, &lost);
	}
out:
	ring_buffer__free(rb);
	events_bpf__destroy(skel);
	return err ? EXIT_FAILURE : 0;
}

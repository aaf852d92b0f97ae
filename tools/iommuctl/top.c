// SPDX-License-Identifier: GPL-2.0
/*
 * iommuctl top: a live per-device view of what the IOMMU does, like top or
 * iotop: DMA mode, map and unmap rates and latency, IOTLB flushes by kind
 * and the policy's last verdict, refreshed every interval, sortable by any
 * column.  The screen is drawn with plain ANSI escapes (no curses: no
 * runtime dependency); -b prints frames as text or JSON for scripts.
 */
#include <argp.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "commands.h"
#include "devstats.h"
#include "histo.h"
#include "json.h"
#include "output.h"
#include "policy_names.h"
#include "trace_common.h"

enum col_kind { TEXT, RATE, LAT };

enum col_id {
	C_DEVICE, C_MODE, C_MAP, C_UNMAP, C_MAP_P50, C_MAP_P99, C_UNMAP_P50, C_UNMAP_P99,
	C_FLUSH_ALL, C_RANGE, C_SYNC_MAP, C_FQ_TIMER, C_FQ_FULL, C_VERDICT, NR_COLS,
};

static const struct col {
	const char *name;	/* -s, JSON "sort" */
	const char *head;
	int width;
	enum col_kind kind;
} cols[NR_COLS] = {
	[C_DEVICE] = { "device", "DEVICE", 14, TEXT },
	[C_MODE] = { "mode", "MODE", 9, TEXT },
	[C_MAP] = { "map", "MAP/s", 9, RATE },
	[C_UNMAP] = { "unmap", "UNMAP/s", 9, RATE },
	[C_MAP_P50] = { "map_p50", "MAP_P50", 8, LAT },
	[C_MAP_P99] = { "map_p99", "MAP_P99", 8, LAT },
	[C_UNMAP_P50] = { "unmap_p50", "UNM_P50", 8, LAT },
	[C_UNMAP_P99] = { "unmap_p99", "UNM_P99", 8, LAT },
	[C_FLUSH_ALL] = { "flush_all", "FALL/s", 8, RATE },
	[C_RANGE] = { "range", "RANGE/s", 8, RATE },
	[C_SYNC_MAP] = { "sync_map", "SMAP/s", 8, RATE },
	[C_FQ_TIMER] = { "fq_timer", "FQTIM/s", 8, RATE },
	[C_FQ_FULL] = { "fq_full", "FQFUL/s", 8, RATE },
	[C_VERDICT] = { "verdict", "VERDICT", 0, TEXT },
};

static const int col_flush_kind[NR_COLS] = {
	[C_FLUSH_ALL] = FLUSH_ALL, [C_RANGE] = FLUSH_RANGE, [C_SYNC_MAP] = FLUSH_SYNC_MAP,
	[C_FQ_TIMER] = FLUSH_FQ_TIMER, [C_FQ_FULL] = FLUSH_FQ_FULL,
};

static struct {
	bool batch;
	int sort;
	bool reverse;
	int interval, count, nargs;
} env = {
	.sort = C_MAP,
	.interval = 1,
	.count = -1,
};

static const char doc[] =
"A live view of the IOMMU per device, like top: for each device behind an\n"
"IOMMU, its group's DMA mode, DMA API maps and unmaps per second with their\n"
"p50 and p99 latency (us), IOTLB flushes per second by kind, and the\n"
"policy's last verdict for it (the dma_mode hook's, else the last hook's;\n"
"said>applied when the kernel applied something else).  Refreshed every\n"
"interval (default 1 s), count times (default: until q or Ctrl-C).\n"
"\n"
"USAGE: iommuctl top [-b] [-s COLUMN] [-R] [-j|-p] [-v] [interval [count]]\n"
"\n"
"Keys: < and > (or the left and right arrows) move the sort column, r\n"
"reverses the order, q quits.  Numbers sort largest first, text A to Z.\n"
"Columns (-s): device, mode, map, unmap, map_p50, map_p99, unmap_p50,\n"
"unmap_p99, flush_all, range, sync_map, fq_timer, fq_full, verdict.\n"
"Flush kinds: see 'iommuctl trace flush --help'; flushes are counted per\n"
"domain and shown under the device last seen unmapping in it (a domain\n"
"without any, e.g. VFIO's, shows as domain:N).\n"
"\n"
"Batch mode (-b; also when stdout is not a terminal, and with -j): one frame\n"
"per interval on stdout, as text, or as one JSON object per line with -j\n"
"(with counts as well as rates).\n"
"\n"
"EXAMPLES:\n"
"    iommuctl top                   # until q\n"
"    iommuctl top -s unmap_p99 2    # slowest unmaps first, every 2 s\n"
"    iommuctl top -b 1 5            # five text frames\n"
"    iommuctl top -j 5 1            # one JSON frame after 5 s\n";

static const struct argp_option opts[] = {
	{ "batch", 'b', NULL, 0, "print frames on stdout instead of drawing a screen", 0 },
	{ "sort", 's', "COLUMN", 0, "sort by COLUMN (default map)", 0 },
	{ "reverse", 'R', NULL, 0, "reverse the sort order", 0 },
	{},
};

static int col_by_name(const char *name)
{
	for (int c = 0; c < NR_COLS; c++)
		if (!strcmp(cols[c].name, name))
			return c;
	return -1;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'b':
		env.batch = true;
		break;
	case 's':
		env.sort = col_by_name(arg);
		if (env.sort < 0) {
			p_usage("unknown column '%s' (want device, mode, map, unmap, map_p50, "
				"map_p99, unmap_p50, unmap_p99, flush_all, range, sync_map, "
				"fq_timer, fq_full or verdict)", arg);
			return EINVAL;
		}
		break;
	case 'R':
		env.reverse = true;
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

/* One device as shown: numbers for sorting (-1: no value) */
struct row {
	const struct ds_dev *d;
	double v[NR_COLS];
	const char *text[NR_COLS];
	char verdict[64];
};

static double rate(__u64 n, double secs)
{
	return secs > 0.001 ? n / secs : n / 0.001;
}

/* ns, or -1 without samples */
static double quantile(const struct hist *h, double q)
{
	return h->count ? (double)hist_quantile(h, q) : -1;
}

static void make_row(struct row *r, const struct ds_dev *d, double secs)
{
	struct hist un;

	memset(r, 0, sizeof(*r));
	r->d = d;
	ds_unmaps(&d->cur, &un);
	ds_verdict_str(d, r->verdict, sizeof(r->verdict));
	r->text[C_DEVICE] = d->name;
	r->text[C_MODE] = d->type[0] ? d->type : "-";
	r->text[C_VERDICT] = r->verdict;
	r->v[C_MAP] = rate(d->cur.op[DS_MAP].count, secs);
	r->v[C_UNMAP] = rate(un.count, secs);
	r->v[C_MAP_P50] = quantile(&d->cur.op[DS_MAP], 0.5);
	r->v[C_MAP_P99] = quantile(&d->cur.op[DS_MAP], 0.99);
	r->v[C_UNMAP_P50] = quantile(&un, 0.5);
	r->v[C_UNMAP_P99] = quantile(&un, 0.99);
	for (int c = C_FLUSH_ALL; c <= C_FQ_FULL; c++)
		r->v[c] = rate(d->cur.flush[col_flush_kind[c]].count, secs);
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = env.sort, res;

	if (cols[c].kind == TEXT) {
		/* "-" (nothing) after everything, either way */
		bool nx = !strcmp(x->text[c], "-"), ny = !strcmp(y->text[c], "-");

		if (nx != ny)
			return nx ? 1 : -1;
		res = strcmp(x->text[c], y->text[c]);
	} else {
		res = x->v[c] > y->v[c] ? -1 : x->v[c] < y->v[c] ? 1 : 0;
	}
	if (env.reverse)
		res = -res;
	return res ? res : strcmp(x->d->name, y->d->name);
}

static struct row *make_rows(const struct devstats *ds)
{
	struct row *rows = calloc(ds->n ? ds->n : 1, sizeof(*rows));

	if (!rows)
		return NULL;
	for (size_t i = 0; i < ds->n; i++)
		make_row(&rows[i], &ds->d[i], ds->interval_s);
	qsort(rows, ds->n, sizeof(*rows), cmp_row);
	return rows;
}

/* A cell's text: rates, latencies in us, "-" for none */
static void cell(const struct row *r, int c, char *buf, size_t len)
{
	double v = r->v[c];

	switch (cols[c].kind) {
	case TEXT:
		snprintf(buf, len, "%s", r->text[c]);
		break;
	case RATE:
		snprintf(buf, len, v >= 99999.5 ? "%.0f" : v ? "%.1f" : "0", v);
		break;
	case LAT:
		if (v < 0)
			snprintf(buf, len, "-");
		else
			snprintf(buf, len, v >= 99999500 ? "%.0f" : "%.1f", v / 1000);
		break;
	}
}

/* The header, or a row (r): fixed-width columns, the last one free */
static int format_line(char *buf, size_t len, const struct row *r)
{
	size_t off = 0;

	for (int c = 0; c < NR_COLS && off < len; c++) {
		char text[96];
		int w = cols[c].width;

		if (r)
			cell(r, c, text, sizeof(text));
		else
			snprintf(text, sizeof(text), "%s", cols[c].head);
		if (c == C_VERDICT)
			off += snprintf(buf + off, len - off, " %s", text);
		else if (cols[c].kind == TEXT)
			off += snprintf(buf + off, len - off, "%s%-*s", c ? " " : "", w, text);
		else
			off += snprintf(buf + off, len - off, " %*s", w, text);
	}
	return off < len ? (int)off : (int)len - 1;
}

static void status_line(char *buf, size_t len, const struct devstats *ds)
{
	char when[32], lost[32] = "";
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	if (trace_losses_total(&ds->lost))
		snprintf(lost, sizeof(lost), ", %llu not recorded",
			 (unsigned long long)trace_losses_total(&ds->lost));
	snprintf(buf, len, "iommuctl top - %s, %zu devices, interval %.2f s%s, sort %s%s",
		 when, ds->n, ds->interval_s, lost, cols[env.sort].head,
		 env.reverse ? " (reversed)" : "");
}

static void print_text_frame(const struct devstats *ds)
{
	struct row *rows = make_rows(ds);
	char line[512];

	if (!rows)
		return;
	status_line(line, sizeof(line), ds);
	printf("%s\n", line);
	format_line(line, sizeof(line), NULL);
	printf("%s\n", line);
	for (size_t i = 0; i < ds->n; i++) {
		format_line(line, sizeof(line), &rows[i]);
		printf("%s\n", line);
	}
	if (trace_losses_total(&ds->lost))
		trace_losses_print(stdout, &ds->lost);
	printf("\n");
	fflush(stdout);
	free(rows);
}

static void lat_json(struct json *j, const char *key, const struct hist *h, double secs)
{
	json_begin_object(j, key);
	json_u64(j, "count", h->count);
	json_f64(j, "per_s", rate(h->count, secs));
	if (h->count) {
		json_u64(j, "sum_ns", h->sum);
		json_u64(j, "p50_ns", hist_quantile(h, 0.5));
		json_u64(j, "p99_ns", hist_quantile(h, 0.99));
		json_u64(j, "max_ns", h->max);
	} else {
		json_null(j, "sum_ns");
		json_null(j, "p50_ns");
		json_null(j, "p99_ns");
		json_null(j, "max_ns");
	}
}

static void print_json_frame(const struct devstats *ds)
{
	struct row *rows = make_rows(ds);
	double secs = ds->interval_s;
	struct json j;

	if (!rows)
		return;
	json_init(&j, stdout);
	json_begin_object(&j, NULL);
	json_i64(&j, "time", time(NULL));
	json_f64(&j, "interval_s", secs);
	json_str(&j, "sort", cols[env.sort].name);
	json_bool(&j, "reverse", env.reverse);
	trace_losses_json(&j, &ds->lost);
	json_begin_array(&j, "devices");
	for (size_t i = 0; i < ds->n; i++) {
		const struct ds_dev *d = rows[i].d;
		struct hist un;

		ds_unmaps(&d->cur, &un);
		json_begin_object(&j, NULL);
		json_str(&j, "device", d->name);
		if (d->group >= 0)
			json_i64(&j, "group", d->group);
		else
			json_null(&j, "group");
		if (d->type[0])
			json_str(&j, "dma_mode", d->type);
		else
			json_null(&j, "dma_mode");
		lat_json(&j, "map", &d->cur.op[DS_MAP], secs);
		json_end_object(&j);
		lat_json(&j, "unmap", &un, secs);
		json_u64(&j, "queued", d->cur.op[DS_UNMAP_QUEUED].count);
		json_end_object(&j);
		json_begin_object(&j, "flushes");
		for (int k = 0; k < FLUSH_NR_KINDS; k++) {
			json_begin_object(&j, flush_kind_names[k]);
			json_u64(&j, "count", d->cur.flush[k].count);
			json_f64(&j, "per_s", rate(d->cur.flush[k].count, secs));
			json_end_object(&j);
		}
		json_end_object(&j);
		if (d->has_verdict) {
			const struct policy_record *r = &d->verdict;
			const char *v = policy_verdict_name(r->hook, r->verdict);
			const char *a = policy_verdict_name(r->hook, r->applied);

			json_begin_object(&j, "verdict");
			json_str(&j, "hook", policy_hook_name(r->hook));
			if (v)
				json_str(&j, "verdict", v);
			else
				json_i64(&j, "verdict", r->verdict);
			if (a)
				json_str(&j, "applied", a);
			else
				json_i64(&j, "applied", r->applied);
			json_str(&j, "reason", policy_reason_name(r->reason) ?: "?");
			json_end_object(&j);
		} else {
			json_null(&j, "verdict");
		}
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	json_line(&j);
	fflush(stdout);
	free(rows);
}

/* The interactive screen */
static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t resized;

static void on_winch(int sig)
{
	resized = 1;
}

static void screen_enter(void)
{
	struct sigaction sa = { .sa_handler = on_winch };

	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &saved_tio)) {
		struct termios raw = saved_tio;

		/* Keys as they are typed, not echoed; Ctrl-C still signals */
		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		tio_saved = true;
	}
	sigaction(SIGWINCH, &sa, NULL);	/* no SA_RESTART: poll() returns */
	/* The alternate screen, cursor hidden */
	fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
	fflush(stdout);
}

static void screen_leave(void)
{
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

static void term_size(int *rows, int *cols_)
{
	struct winsize ws;

	*rows = 24;
	*cols_ = 80;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols_ = ws.ws_col;
	}
}

/* A line at most width columns wide (all ASCII), cleared to its end */
static void put_line(const char *s, int width, const char *attr)
{
	printf("%s%.*s\033[K%s\n", attr, width, s, attr[0] ? "\033[0m" : "");
}

static void draw(const struct devstats *ds, bool have_data)
{
	int height, width, shown = 0;
	char line[512];
	struct row *rows = NULL;

	term_size(&height, &width);
	fputs("\033[H", stdout);
	if (have_data) {
		status_line(line, sizeof(line), ds);
		rows = make_rows(ds);
	} else {
		snprintf(line, sizeof(line), "iommuctl top - collecting the first %d s...",
			 env.interval);
	}
	put_line(line, width, "");
	put_line("keys: < > sort column, r reverse, q quit", width, "");
	/* The header in reverse video, the sort column's name underlined */
	{
		char head[512];
		int n = format_line(head, sizeof(head), NULL);
		const char *name = cols[env.sort].head;
		char *at = strstr(head, name);

		/* column names are unique words: find the sort column's */
		while (at && at != head && at[-1] != ' ')
			at = strstr(at + 1, name);
		if (n > width)
			n = width;
		if (at && at - head < n) {
			int pre = at - head, len = strlen(name);

			if (pre + len > n)
				len = n - pre;
			printf("\033[7m%.*s\033[4;1m%.*s\033[24;22m%.*s\033[K\033[0m\n", pre, head,
			       len, at, n - pre - len, at + len);
		} else {
			put_line(head, width, "\033[7m");
		}
	}
	for (size_t i = 0; rows && i < ds->n && shown < height - 4; i++, shown++) {
		format_line(line, sizeof(line), &rows[i]);
		put_line(line, width, "");
	}
	/* clear below; no newline after the last line (the screen would scroll) */
	fputs("\033[J", stdout);
	fflush(stdout);
	free(rows);
}

/* A key, or -1 after timeout_ms (or a signal) */
static int read_key(int timeout_ms)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	unsigned char buf[8];
	ssize_t n;

	if (timeout_ms < 0)
		timeout_ms = 0;
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n <= 0)
		return n == 0 ? 'q' : -1;	/* end of input: as q */
	if (n >= 3 && buf[0] == 033 && buf[1] == '[')
		return buf[2] == 'C' ? '>' : buf[2] == 'D' ? '<' : -1;
	return buf[0];
}

static bool handle_key(int key)
{
	switch (key) {
	case '<':
		env.sort = (env.sort + NR_COLS - 1) % NR_COLS;
		break;
	case '>':
		env.sort = (env.sort + 1) % NR_COLS;
		break;
	case 'r':
		env.reverse = !env.reverse;
		break;
	case 'q':
	case 'Q':
		exiting = true;
		break;
	default:
		return false;
	}
	return true;
}

static int run_screen(struct devstats *ds)
{
	double next = monotonic_s() + env.interval;
	bool have_data = false;
	int frames = 0, err = 0;

	screen_enter();
	draw(ds, false);
	while (!exiting && (env.count < 0 || frames < env.count)) {
		int key = read_key((int)((next - monotonic_s()) * 1000));

		if (exiting)
			break;
		if (key >= 0) {
			if (handle_key(key) && !exiting)
				draw(ds, have_data);
			continue;
		}
		if (resized) {
			resized = 0;
			draw(ds, have_data);
		}
		if (monotonic_s() < next)
			continue;
		err = devstats_collect(ds);
		if (err)
			break;
		next += env.interval;
		have_data = true;
		frames++;
		draw(ds, true);
	}
	screen_leave();
	return err ? p_err("out of memory") : 0;
}

static int run_batch(struct devstats *ds)
{
	int frames = 0;

	fprintf(stderr, "Tracing IOMMU activity per device... %s\n",
		env.count < 0 ? "Hit Ctrl-C to end." : "");
	/* Ctrl-C ends the frame under way, which is still printed (see
	 * trace_loop_run) */
	while (env.count < 0 || frames < env.count) {
		bool final;

		if (!exiting)
			sleep(env.interval);	/* a signal ends the sleep early */
		final = exiting;
		if (devstats_collect(ds))
			return p_err("out of memory");
		if (json_output)
			print_json_frame(ds);
		else
			print_text_frame(ds);
		frames++;
		if (final)
			break;
	}
	return 0;
}

int cmd_top(int argc, char **argv)
{
	static const struct argp_child children[] = { { &output_argp }, {} };
	static const struct argp argp = { opts, parse_arg, NULL, doc, children };
	struct devstats ds;
	int err;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (!env.batch && !json_output && !isatty(STDOUT_FILENO))
		env.batch = true;
	err = devstats_open(&ds);
	if (err)
		return err;
	trace_handle_signals();
	err = env.batch || json_output ? run_batch(&ds) : run_screen(&ds);
	devstats_close(&ds);
	return err;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * insn_count: a QEMU TCG plugin (plugin API version 1, QEMU 7.2) that
 * counts the guest's instructions and atomics between marker instructions
 * (bench/insn_mark.h), for make bench.
 *
 *   qemu-system-x86_64 -accel tcg,thread=single -icount shift=0,sleep=off \
 *	-plugin build/bench/insn_count.so[,count=NAME:ADDR]... -d plugin -D LOG
 *
 * What it counts, system-wide (every vCPU, kernel and user):
 *
 *   insns    every instruction executed, each attempt: one that faults and
 *	      is restarted counts again, and a REP string instruction counts
 *	      once per iteration, and once more (QEMU runs each iteration as
 *	      an instruction, then the REP again to find the count 0): n + 1
 *	      for a count n, 1 for 0.  Markers themselves are never counted,
 *	      in any window.
 *   atomics  instructions that make a locked read-modify-write: a LOCK
 *	      prefix (0xf0) on one of the instructions that take it (SDM's
 *	      list: ADD OR ADC SBB AND SUB XOR, group 1 80-83, NOT NEG, INC
 *	      DEC, BTS BTR BTC, XADD, CMPXCHG, CMPXCHG8B/16B, XCHG) with a
 *	      memory operand, and XCHG 86/87 with a memory operand, which is
 *	      locked without the prefix.  A LOCK anywhere else raises #UD and
 *	      is not counted; CMPXCHG and XADD without LOCK are not atomic.
 *   NAME     with count=NAME:ADDR (up to MAX_PCS of them): executions of the
 *	      instruction at guest virtual address ADDR, e.g. a kernel
 *	      function's entry from System.map, so that a window can be divided
 *	      by the number of operations in it without a probe in the guest.
 *
 * Counting is an inline add on one global counter before each instruction:
 * exact with one vCPU or -accel tcg,thread=single (one host thread runs
 * every vCPU), racy under multi-threaded TCG; -icount forbids that, and
 * the plugin warns when markers run on more than one host thread.
 *
 * Windows: a start marker of id ID opens window ID, a stop marker of the
 * same id closes it and prints, at once,
 *
 *	window ID insns N atomics M [NAME K]...
 *
 * for that occurrence: a window repeated (a bench's rounds) is one line per
 * occurrence, in execution order.  Windows of different ids may nest or
 * overlap.  At exit it prints a total per id and the whole run:
 *
 *	total ID windows W insns N atomics M [NAME K]...
 *	all insns N atomics M [NAME K]...
 *
 * Nothing is silently ignored: a stop without a start prints
 * "unmatched stop ID", a start on an open window "unmatched start ID"
 * (the new start replaces it), a window still open at exit
 * "unmatched start ID", a marker with reserved bits set
 * "bad marker 0xDISP".
 *
 * Debian ships no qemu-plugin.h: the few version-1 declarations this uses
 * are below, as QEMU 7.2's header has them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "insn_mark.h"

/* --- QEMU plugin API, version 1 (QEMU 7.2's include/qemu/qemu-plugin.h) */
#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

typedef struct {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
	QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
						enum qemu_plugin_op op, void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
				    void *userdata);
void qemu_plugin_outs(const char *string);

EXPORT extern int qemu_plugin_version;
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			       int argc, char **argv);
/* --- end of the API */

EXPORT int qemu_plugin_version = 1;

#define MAX_PCS		8
#define NAME_LEN	16

/* What the inline adds count: one set of counters for the whole machine */
struct counts {
	uint64_t insns;
	uint64_t atomics;
	uint64_t pc[MAX_PCS];
};

struct window {
	bool open;
	uint64_t occurrences;
	struct counts at_start;
	struct counts total;
};

static struct counts now;
static struct window windows[INSN_MARK_ID_MAX + 1];
static unsigned int npcs;
static uint64_t pc_addr[MAX_PCS];
static char pc_name[MAX_PCS][NAME_LEN];

/* Marker callbacks only, which are rare: the inline adds take no lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t marker_tid;
static bool warned_threads;

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	qemu_plugin_outs(buf);
}

/* " insns N atomics M NAME K..." of c, for the end of a line */
static void fmt_counts(char *buf, size_t size, const struct counts *c)
{
	size_t n;
	unsigned int i;

	n = snprintf(buf, size, " insns %" PRIu64 " atomics %" PRIu64, c->insns, c->atomics);
	for (i = 0; i < npcs && n < size; i++)
		n += snprintf(buf + n, size - n, " %s %" PRIu64, pc_name[i], c->pc[i]);
}

static void sub_counts(struct counts *d, const struct counts *a, const struct counts *b)
{
	unsigned int i;

	d->insns = a->insns - b->insns;
	d->atomics = a->atomics - b->atomics;
	for (i = 0; i < npcs; i++)
		d->pc[i] = a->pc[i] - b->pc[i];
}

static void add_counts(struct counts *d, const struct counts *a)
{
	unsigned int i;

	d->insns += a->insns;
	d->atomics += a->atomics;
	for (i = 0; i < npcs; i++)
		d->pc[i] += a->pc[i];
}

/*
 * Exactness rests on one host thread running every vCPU: say so when
 * markers come from two (multi-threaded TCG), once.
 */
static void check_thread(void)
{
	pid_t tid = syscall(SYS_gettid);

	if (!marker_tid)
		marker_tid = tid;
	else if (tid != marker_tid && !warned_threads) {
		warned_threads = true;
		outf("warning: markers ran on two host threads (multi-threaded TCG?): "
		     "counts are not exact; use -accel tcg,thread=single\n");
	}
}

static void on_marker(unsigned int vcpu, void *udata)
{
	uint32_t disp = (uintptr_t)udata;
	struct window *w;
	struct counts d;
	unsigned int id;
	char buf[400];
	int stop;

	pthread_mutex_lock(&lock);
	check_thread();
	if (insn_mark_decode(disp, &id, &stop)) {
		outf("bad marker 0x%08" PRIx32 "\n", disp);
		goto out;
	}
	w = &windows[id];
	if (!stop) {
		if (w->open)
			outf("unmatched start %u\n", id);
		w->open = true;
		w->at_start = now;
		goto out;
	}
	if (!w->open) {
		outf("unmatched stop %u\n", id);
		goto out;
	}
	w->open = false;
	sub_counts(&d, &now, &w->at_start);
	add_counts(&w->total, &d);
	w->occurrences++;
	fmt_counts(buf, sizeof(buf), &d);
	outf("window %u%s\n", id, buf);
out:
	pthread_mutex_unlock(&lock);
}

static bool is_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:	/* segment */
	case 0x66: case 0x67:				/* operand, address size */
	case 0xf0: case 0xf2: case 0xf3:		/* LOCK, REPNE, REP */
		return true;
	}
	return false;
}

/* Does opcode op (0x0f00 | b for the two-byte map) take LOCK with reg field reg? */
static bool lockable(unsigned int op, unsigned int reg)
{
	if (op <= 0x31 && (op & 7) < 2)		/* ADD OR ADC SBB AND SUB XOR r/m, r */
		return true;
	switch (op) {
	case 0x80: case 0x81: case 0x82: case 0x83:	/* group 1, but CMP (/7) */
		return reg != 7;
	case 0x86: case 0x87:				/* XCHG */
		return true;
	case 0xf6: case 0xf7:				/* NOT, NEG */
		return reg == 2 || reg == 3;
	case 0xfe: case 0xff:				/* INC, DEC */
		return reg <= 1;
	case 0x0fab: case 0x0fb3: case 0x0fbb:		/* BTS BTR BTC r/m, r */
	case 0x0fb0: case 0x0fb1:			/* CMPXCHG */
	case 0x0fc0: case 0x0fc1:			/* XADD */
		return true;
	case 0x0fba:					/* BTS BTR BTC r/m, imm8 */
		return reg >= 5;
	case 0x0fc7:					/* CMPXCHG8B, CMPXCHG16B */
		return reg == 1;
	}
	return false;
}

/*
 * Is the instruction in b[0..len) a locked read-modify-write?  QEMU has
 * decoded it already and gives its exact length, so only the prefixes and
 * the opcode need looking at.  Legacy prefixes come in any order (QEMU
 * takes them so).  A REX (40-4f) is a prefix in 64-bit code only, where it
 * precedes the opcode; in 16/32-bit code 40-4f is INC/DEC, a whole
 * one-byte instruction, so "40-4f with more bytes after it" is a REX in
 * either mode, without knowing the mode.  VEX/EVEX encodings take no LOCK.
 */
static bool is_atomic(const uint8_t *b, size_t len)
{
	bool locked = false;
	unsigned int op, reg, mod;
	size_t i = 0;

	while (i < len && (is_prefix(b[i]) || ((b[i] & 0xf0) == 0x40 && i + 1 < len))) {
		if (b[i] == 0xf0)
			locked = true;
		i++;
	}
	if (i >= len)
		return false;
	op = b[i++];
	if (op == 0x0f) {
		if (i >= len)
			return false;
		op = 0x0f00 | b[i++];
	}
	if (i >= len)		/* no ModRM: no memory operand */
		return false;
	mod = b[i] >> 6;
	reg = (b[i] >> 3) & 7;
	if (mod == 3)
		return false;
	if (op == 0x86 || op == 0x87)
		return true;
	return locked && lockable(op, reg);
}

static bool is_marker(const uint8_t *b, size_t len, uint32_t *disp)
{
	if (len != INSN_MARK_LEN || memcmp(b, INSN_MARK_PREFIX, INSN_MARK_PREFIX_LEN))
		return false;
	*disp = (uint32_t)b[5] | (uint32_t)b[6] << 8 | (uint32_t)b[7] << 16 |
		(uint32_t)b[8] << 24;
	return insn_mark_is_marker(*disp);
}

/*
 * At translation: an inline add per instruction (not per block: a block
 * left early by a fault would count what it did not run), one more for an
 * atomic or a counted address, and a callback for a marker, which counts
 * nothing itself.
 */
static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *b = qemu_plugin_insn_data(insn);
		size_t len = qemu_plugin_insn_size(insn);
		unsigned int j;
		uint32_t disp;
		uint64_t va;

		if (is_marker(b, len, &disp)) {
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_marker,
							       QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)disp);
			continue;
		}
		qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
							   &now.insns, 1);
		if (is_atomic(b, len))
			qemu_plugin_register_vcpu_insn_exec_inline(insn,
								   QEMU_PLUGIN_INLINE_ADD_U64,
								   &now.atomics, 1);
		if (!npcs)
			continue;
		va = qemu_plugin_insn_vaddr(insn);
		for (j = 0; j < npcs; j++)
			if (va == pc_addr[j])
				qemu_plugin_register_vcpu_insn_exec_inline(insn,
									   QEMU_PLUGIN_INLINE_ADD_U64,
									   &now.pc[j], 1);
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	char buf[400];
	unsigned int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i <= INSN_MARK_ID_MAX; i++) {
		struct window *w = &windows[i];

		if (w->open)
			outf("unmatched start %u\n", i);
		if (!w->occurrences)
			continue;
		fmt_counts(buf, sizeof(buf), &w->total);
		outf("total %u windows %" PRIu64 "%s\n", i, w->occurrences, buf);
	}
	fmt_counts(buf, sizeof(buf), &now);
	outf("all%s\n", buf);
	pthread_mutex_unlock(&lock);
}

/* count=NAME:ADDR */
static int parse_count(const char *v)
{
	const char *colon = strchr(v, ':');
	size_t len = colon ? (size_t)(colon - v) : 0;
	unsigned int i;
	char *end;

	if (!colon || !len || len >= NAME_LEN) {
		fprintf(stderr, "insn_count: count=NAME:ADDR, NAME of 1 to %d characters: '%s'\n",
			NAME_LEN - 1, v);
		return -1;
	}
	for (i = 0; i < len; i++)
		if (!(v[i] == '_' || (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9'))) {
			fprintf(stderr, "insn_count: count NAME of [a-z0-9_] only: '%s'\n", v);
			return -1;
		}
	if ((len == 5 && !strncmp(v, "insns", 5)) || (len == 7 && !strncmp(v, "atomics", 7))) {
		fprintf(stderr, "insn_count: count NAME '%.*s' is taken\n", (int)len, v);
		return -1;
	}
	if (npcs == MAX_PCS) {
		fprintf(stderr, "insn_count: at most %d count= options\n", MAX_PCS);
		return -1;
	}
	pc_addr[npcs] = strtoull(colon + 1, &end, 0);
	if (end == colon + 1 || *end) {
		fprintf(stderr, "insn_count: count=%s: ADDR is not a number\n", v);
		return -1;
	}
	memcpy(pc_name[npcs], v, len);
	pc_name[npcs][len] = '\0';
	npcs++;
	return 0;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
			       int argc, char **argv)
{
	int i;

	/* The decoder above is x86's */
	if (strcmp(info->target_name, "x86_64") && strcmp(info->target_name, "i386")) {
		fprintf(stderr, "insn_count: x86 guests only, not %s\n", info->target_name);
		return -1;
	}
	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "count=", 6)) {
			if (parse_count(argv[i] + 6))
				return -1;
		} else {
			fprintf(stderr, "insn_count: unknown option '%s' (count=NAME:ADDR)\n",
				argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * insn_mark: execute make bench's marker instruction (bench/insn_mark.h)
 * in the guest, for the insn_count plugin on the host.
 *
 *   insn_mark start ID
 *   insn_mark stop ID
 *   insn_mark run ID -- COMMAND [ARGS...]
 *
 * run starts window ID, forks and execs COMMAND, waits for it and stops the
 * window: the window holds the fork, COMMAND's whole life and the wait, and
 * whatever else the machine ran meanwhile (the count is system-wide:
 * kernel threads, interrupts, other tasks).  It exits with COMMAND's
 * status (128 + the signal that killed it).
 *
 * The ID is only known at run time, and a marker carries it in its
 * displacement: both markers are written into a page of their own, which
 * is then made executable, before the window opens.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "insn_mark.h"

typedef void (*marker_fn)(void);

static void usage(void)
{
	fprintf(stderr, "usage: insn_mark start|stop ID\n"
		"       insn_mark run ID -- COMMAND [ARGS...]\n"
		"ID: 0..%d\n", INSN_MARK_ID_MAX);
	exit(2);
}

/* The marker, then RET, at p */
static void emit(uint8_t *p, unsigned int id, int stop)
{
	uint32_t disp = INSN_MARK_DISP(id, stop);

	memcpy(p, INSN_MARK_PREFIX, INSN_MARK_PREFIX_LEN);
	p[5] = disp;
	p[6] = disp >> 8;
	p[7] = disp >> 16;
	p[8] = disp >> 24;
	p[9] = 0xc3;
}

int main(int argc, char **argv)
{
	marker_fn start, stop;
	unsigned long id;
	int status, run;
	uint8_t *page;
	char *end;
	pid_t pid;

	if (argc < 3)
		usage();
	run = !strcmp(argv[1], "run");
	if (!run && strcmp(argv[1], "start") && strcmp(argv[1], "stop"))
		usage();
	errno = 0;
	id = strtoul(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || id > INSN_MARK_ID_MAX)
		usage();
	if (run ? argc < 5 || strcmp(argv[3], "--") : argc != 3)
		usage();

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("insn_mark: mmap");
		return 1;
	}
	emit(page, id, INSN_MARK_START);
	emit(page + 16, id, INSN_MARK_STOP);
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC)) {
		perror("insn_mark: mprotect");
		return 1;
	}
	start = (marker_fn)page;
	stop = (marker_fn)(page + 16);

	if (!run) {
		(strcmp(argv[1], "start") ? stop : start)();
		return 0;
	}

	start();
	pid = fork();
	if (pid < 0) {
		stop();
		perror("insn_mark: fork");
		return 1;
	}
	if (!pid) {
		execvp(argv[4], argv + 4);
		fprintf(stderr, "insn_mark: %s: %s\n", argv[4], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			stop();
			perror("insn_mark: waitpid");
			return 1;
		}
	}
	stop();
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

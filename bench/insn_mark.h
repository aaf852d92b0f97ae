/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The marker instruction of make bench's counted windows, shared by the
 * QEMU plugin (insn_count.c), the guest's marker (insn_mark.c,
 * insn_mark.py) and the host test's guest (selftests/host/test_insn_count.S).
 *
 * A marker is the 9-byte NOP
 *
 *	nopw DISP32(%rax,%rax,1)	66 0f 1f 84 00 d0 d1 d2 d3
 *
 * with the little-endian displacement
 *
 *	bits 31..16	INSN_MARK_MAGIC
 *	bits 15..13	zero (a marker with any of them set is reported as bad)
 *	bits 12..1	the window's id, 0..INSN_MARK_ID_MAX
 *	bit 0		0: start, 1: stop
 *
 * It is a NOP in every mode that decodes it with 32-bit addressing (32- and
 * 64-bit code, user and kernel): it touches neither memory nor flags.
 * Compilers pad with the same instruction, but with displacement 0.
 */
#ifndef INSN_MARK_H
#define INSN_MARK_H

#define INSN_MARK_MAGIC		0x4943		/* "IC" */
#define INSN_MARK_ID_MAX	4095
#define INSN_MARK_LEN		9

#define INSN_MARK_START		0
#define INSN_MARK_STOP		1

#define INSN_MARK_DISP(id, stop)	((INSN_MARK_MAGIC << 16) | ((id) << 1) | (stop))

#ifdef __ASSEMBLER__
/* The marker in assembly: INSN_MARK id, INSN_MARK_START|INSN_MARK_STOP */
.macro INSN_MARK id:req, stop:req
	.byte 0x66, 0x0f, 0x1f, 0x84, 0x00
	.long INSN_MARK_DISP(\id, \stop)
.endm
#else
#include <stdint.h>

/* The instruction's first five bytes; the displacement follows */
#define INSN_MARK_PREFIX	"\x66\x0f\x1f\x84\x00"
#define INSN_MARK_PREFIX_LEN	5

static inline int insn_mark_is_marker(uint32_t disp)
{
	return (disp >> 16) == INSN_MARK_MAGIC;
}

/* 0 for a well-formed marker, -1 for one with the reserved bits set */
static inline int insn_mark_decode(uint32_t disp, unsigned int *id, int *stop)
{
	if (disp & 0xe000)
		return -1;
	*id = (disp >> 1) & INSN_MARK_ID_MAX;
	*stop = disp & 1;
	return 0;
}
#endif

#endif /* INSN_MARK_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest of selftests/host/test_insn_count.sh: a multiboot kernel that
 * QEMU loads with -kernel, whose marked windows have counts known by
 * construction.  Every instruction inside a window goes through
 * "expect WIN, ATOMIC, INSN", which adds one to WIN's instructions and
 * ATOMIC (0 or 1) to its atomics; the totals the plugin must report are
 * the absolute symbols exp_wID_insns and exp_wID_atomics (nm), and
 * w1_loop and w2_lock are addresses for the plugin's count= option.  No
 * interrupt can land in a window: interrupts stay off, nothing faults.
 *
 * Keep K1 small (thousands): QEMU 7.2's CMPXCHG8B/16B helpers compute
 * EFLAGS from a stale cc_op, and the garbage reaches EFLAGS (TF, IF...) when
 * the CPU loop is left right after one; with K1 = 2,000,000 under -icount
 * this guest single-steps into a triple fault at the PIT's first tick
 * (55 ms of guest time).  It is over long before, and the PIC is masked.
 *
 * Build: gcc -m32 -c -I bench -DK1=N; ld -m elf_i386 -N -Ttext=0x100000.
 * It ends through isa-debug-exit at port 0xf4, QEMU's exit status 33.
 */
#include "insn_mark.h"

#ifndef K1
#define K1 1000
#endif
#define REP_N 5

	.macro expect win:req, atomic:req, insn:vararg
	\insn
	.set \win\()_insns, \win\()_insns + 1
	.set \win\()_atomics, \win\()_atomics + \atomic
	.endm

	.irp w, w1s, w1, w2, w3s, w3, w4, w5, w7
	.set \w\()_insns, 0
	.set \w\()_atomics, 0
	.endr

	.text
	.code32
	.align 4
	.long 0x1badb002		/* multiboot: magic, flags, checksum */
	.long 0
	.long -0x1badb002

	.globl _start
_start:
	cli
	mov $0xff, %al				/* and no interrupt pending: see above */
	out %al, $0x21
	out %al, $0xa1
	mov $stack_top, %esp
	mov $scratch, %edi

	/* 4: 32-bit code, where 40-4f are INC/DEC, not REX */
	INSN_MARK 4, INSN_MARK_START
	expect w4, 0, inc %eax			/* 40 */
	expect w4, 0, .byte 0x66, 0x40		/* inc %ax */
	expect w4, 0, .byte 0x48		/* dec %eax */
	expect w4, 1, lock incl (%edi)
	expect w4, 1, xchg %eax, (%edi)
	expect w4, 1, lock cmpxchg8b (%edi)
	expect w4, 0, cmpxchg8b (%edi)
	expect w4, 1, .byte 0xf0, 0x66, 0x0f, 0xc1, 0x07	/* lock xadd %ax, (%edi) */
	expect w4, 0, xchg %eax, %ebx
	INSN_MARK 4, INSN_MARK_STOP

	/* Long mode: the first 2 MiB identity-mapped by one large page */
	movl $pdpt + 3, pml4
	movl $pd + 3, pdpt
	movl $0x83, pd
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax				/* PAE */
	mov %eax, %cr4
	mov $0xc0000080, %ecx			/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax			/* PG, PE */
	mov %eax, %cr0
	lgdt gdt_desc
	ljmp $8, $long_mode

	.code64
long_mode:
	mov $16, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $scratch, %edi
	mov $scratch16, %esi
	mov $scratch, %r8d
	mov $3, %r9d

	/* 1: K1 rounds of prefixes and opcodes, atomic or not */
	INSN_MARK 1, INSN_MARK_START
	expect w1s, 0, mov $K1, %ecx
1:
w1_loop:					/* count=loop: K1 in 1 */
	expect w1, 1, lock incl (%rdi)
	expect w1, 1, lock addq $1, 8(%rdi)		/* LOCK, then REX.W */
	expect w1, 1, xchg %eax, (%rdi)		/* 87 /r: locked without LOCK */
	expect w1, 1, xchg %rax, 8(%rdi)		/* REX.W 87 */
	expect w1, 1, xchg %bl, (%rdi)			/* 86 */
	expect w1, 1, xchg %eax, scratch(%rip)		/* RIP-relative */
	expect w1, 1, .byte 0x67, 0x87, 0x07		/* xchg %eax, (%edi) */
	expect w1, 0, .byte 0x87, 0xd8			/* xchg %ebx, %eax: mod 3 */
	expect w1, 0, xchg %eax, %edx			/* 92 */
	expect w1, 0, .byte 0x48, 0x87, 0xd3		/* xchg %rdx, %rbx */
	expect w1, 1, lock cmpxchg %edx, (%rdi)
	expect w1, 0, cmpxchg %edx, (%rdi)
	expect w1, 1, lock cmpxchg %rdx, 8(%rdi)
	expect w1, 1, lock cmpxchg8b (%rdi)
	expect w1, 0, cmpxchg8b (%rdi)
	expect w1, 1, lock cmpxchg16b (%rsi)
	expect w1, 0, cmpxchg16b (%rsi)
	expect w1, 1, lock xadd %eax, (%rdi)
	expect w1, 0, xadd %eax, (%rdi)
	expect w1, 1, .byte 0x66, 0xf0, 0x0f, 0xc1, 0x07	/* 66 before LOCK */
	expect w1, 1, .byte 0x2e, 0xf0, 0xff, 0x07	/* cs lock incl */
	expect w1, 1, .byte 0xf0, 0x2e, 0xff, 0x07	/* lock cs incl */
	expect w1, 1, .byte 0x48, 0xf0, 0xff, 0x07	/* REX before LOCK (REX ignored) */
	expect w1, 1, .byte 0xf0, 0x3e, 0x66, 0x41, 0xff, 0x00	/* lock ds 66 REX.B incw (%r8) */
	expect w1, 1, xacquire lock incl (%rdi)	/* f2 f0 */
	expect w1, 1, xrelease lock decl (%rdi)	/* f3 f0 */
	expect w1, 1, lock btsl $3, (%rdi)		/* 0f ba /5 */
	expect w1, 0, btsl $3, (%rdi)
	expect w1, 1, lock btrq %r9, 8(%rdi)		/* 0f b3 */
	expect w1, 1, lock negl (%rdi)
	expect w1, 1, lock notl (%rdi)
	expect w1, 1, lock orb $1, (%rdi)		/* 80 /1 */
	expect w1, 1, lock andl %eax, (%rdi)		/* 21 */
	expect w1, 1, lock subl $1, 8(%rdi)		/* 83 /5 */
	expect w1, 0, cmpl $0, (%rdi)			/* 83 /7 */
	expect w1, 0, incl (%rdi)
	expect w1, 0, mov $0xf0, %al			/* b0 f0: f0 as an immediate */
	expect w1, 0, movl $0xf0f0f0f0, 8(%rdi)
	expect w1, 0, .byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0	/* padding, not a marker */
	expect w1, 0, .byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x78, 0x56, 0x34, 0x12
	expect w1, 0, pause				/* f3 90 */
	expect w1, 0, nop
	expect w1, 0, dec %ecx
	expect w1, 0, jnz 1b
	INSN_MARK 1, INSN_MARK_STOP

	/* 3 around two occurrences of 2: markers count in no window */
	INSN_MARK 3, INSN_MARK_START
	expect w3s, 0, mov $2, %ecx
2:
	INSN_MARK 2, INSN_MARK_START
w2_lock:					/* count=lock: 1 in 2, 2 in 3 */
	expect w2, 1, lock incq (%rdi)
	expect w2, 0, nop
	expect w2, 0, add $1, %rax
	expect w2, 1, xchg %rdx, (%rdi)
	INSN_MARK 2, INSN_MARK_STOP
	expect w3, 0, dec %ecx
	expect w3, 0, jnz 2b
	INSN_MARK 3, INSN_MARK_STOP

	/* 5: a REP string instruction counts once per iteration, and once more */
	INSN_MARK 5, INSN_MARK_START
	expect w5, 0, mov $REP_N, %ecx
	expect w5, 0, rep stosb
	INSN_MARK 5, INSN_MARK_STOP

	/* What the plugin must report rather than ignore */
	INSN_MARK 6, INSN_MARK_STOP			/* unmatched stop 6 */
	INSN_MARK 7, INSN_MARK_START			/* unmatched start 7 ... */
	INSN_MARK 7, INSN_MARK_START			/* ... replaced by this one */
	expect w7, 0, nop
	INSN_MARK 7, INSN_MARK_STOP
	INSN_MARK 8, INSN_MARK_START			/* unmatched start 8, at exit */
	.byte 0x66, 0x0f, 0x1f, 0x84, 0x00		/* bad marker 0x49432000 */
	.long INSN_MARK_DISP(0x1000, 0)

	mov $0x10, %al					/* exit status 0x10 << 1 | 1 */
	out %al, $0xf4
3:	hlt
	jmp 3b

	.align 8
gdt:
	.quad 0
	.quad 0x00af9a000000ffff			/* 8: 64-bit code */
	.quad 0x00cf92000000ffff			/* 16: data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt

	.bss
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096
	.align 16
scratch16:
	.skip 16
scratch:
	.skip 64
	.skip 4096
stack_top:

	/* What the plugin must report, window by window */
	.irp s, exp_w1_insns, exp_w1_atomics, exp_w2_insns, exp_w2_atomics, \
		exp_w3_insns, exp_w3_atomics, exp_w4_insns, exp_w4_atomics, \
		exp_w5_insns, exp_w5_atomics, exp_w7_insns, exp_w7_atomics
	.globl \s
	.endr
	.globl w1_loop, w2_lock
	.set exp_w1_insns, w1s_insns + K1 * w1_insns
	.set exp_w1_atomics, w1s_atomics + K1 * w1_atomics
	.set exp_w2_insns, w2_insns
	.set exp_w2_atomics, w2_atomics
	.set exp_w3_insns, w3s_insns + 2 * (w2_insns + w3_insns)
	.set exp_w3_atomics, w3s_atomics + 2 * (w2_atomics + w3_atomics)
	.set exp_w4_insns, w4_insns
	.set exp_w4_atomics, w4_atomics
	/* the REP runs REP_N times, then once more to find ECX 0 */
	.set exp_w5_insns, w5_insns + REP_N
	.set exp_w5_atomics, w5_atomics
	.set exp_w7_insns, w7_insns
	.set exp_w7_atomics, w7_atomics

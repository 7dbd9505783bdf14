#include "textflag.h"

// func prefetch(addrs []uintptr)
//
// Four addresses a turn: for the 80–90 addresses an alert, the loop's
// counting and branching one at a time cost about 130 instructions an
// alert more (docs/benchmarks.md, session 15).
TEXT ·prefetch(SB), NOSPLIT, $0-24
	MOVQ	addrs_base+0(FP), SI
	MOVQ	addrs_len+8(FP), CX
	CMPQ	CX, $4
	JLT	tail
loop4:
	MOVQ	(SI), AX
	MOVQ	8(SI), BX
	MOVQ	16(SI), DX
	MOVQ	24(SI), DI
	PREFETCHT0	(AX)
	PREFETCHT0	(BX)
	PREFETCHT0	(DX)
	PREFETCHT0	(DI)
	ADDQ	$32, SI
	SUBQ	$4, CX
	CMPQ	CX, $4
	JGE	loop4
tail:
	TESTQ	CX, CX
	JEQ	done
loop1:
	MOVQ	(SI), AX
	PREFETCHT0	(AX)
	ADDQ	$8, SI
	DECQ	CX
	JNZ	loop1
done:
	RET

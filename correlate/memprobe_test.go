package correlate

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// The benchmarks in this file measure the machine, not the engine: what a
// load from memory costs when its cache line, or its page's translation,
// is not in the processor's caches, and what prefetching (prefetch, as the
// read-ahead issues it) saves. docs/benchmarks.md (session 13) reads the
// engine's figures against them.

// BenchmarkMemoryChase reports the time of one load that depends on the
// one before (ns/load), over lines cache lines placed stride bytes apart
// in a random cycle: with stride 64 the lines are contiguous, with a
// stride just over a page each line is on a page of its own (and in a
// different cache set), so that the same number of lines needs as many
// address translations as lines.
func BenchmarkMemoryChase(b *testing.B) {
	for _, c := range []struct{ lines, stride int }{
		{512, 64}, {8192, 64}, {65536, 64}, {1 << 20, 64},
		{512, 4160}, {2048, 4160}, {8192, 4160}, {16384, 4160},
	} {
		b.Run(fmt.Sprintf("lines=%d/stride=%d", c.lines, c.stride), func(b *testing.B) {
			buf, order := probeLines(c.lines, c.stride)
			for i, at := range order {
				*(*uint64)(unsafe.Pointer(&buf[at])) = uint64(order[(i+1)%len(order)])
			}
			p := uint64(order[0])
			for range len(order) { // once round, untimed
				p = *(*uint64)(unsafe.Pointer(&buf[p]))
			}
			b.ResetTimer()
			for range b.N {
				p = *(*uint64)(unsafe.Pointer(&buf[p]))
			}
			b.StopTimer()
			probeSink += p
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/load")
		})
	}
}

// BenchmarkMemoryPrefetched reports what k cache lines, each on a page of
// its own among 16,384 (68 MB), cost a round in which they are prefetched
// at its start, about a microsecond of arithmetic follows that needs no
// memory, and then they are loaded, each load depending on the one before
// (ns/round). The lines of one round are prefetched a round before they are
// loaded, as the read-ahead prefetches an alert's state a placement before
// it is read. With every prefetch done in time and overlapped with the
// arithmetic, ns/round would not grow with k; ns/line is the growth over
// k=0, a line. spread issues the prefetches in eight parts through the
// arithmetic instead of at once.
func BenchmarkMemoryPrefetched(b *testing.B) {
	const lines, stride, work = 16384, 4160, 800
	buf, _ := probeLines(lines, stride)
	var none float64 // ns/round at k=0, for ns/line
	for _, c := range []struct {
		k      int
		spread bool
	}{{0, false}, {16, false}, {32, false}, {64, false}, {96, false}, {64, true}} {
		b.Run(fmt.Sprintf("k=%d/spread=%v", c.k, c.spread), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			const rounds = 1024 // rounds of addresses, used in turn
			offs := make([]int, (rounds+1)*max(c.k, 1))
			addrs := make([]uintptr, len(offs)) // the same lines' addresses, for prefetch
			for i := range offs {
				offs[i] = rng.IntN(lines) * stride
				addrs[i] = uintptr(unsafe.Pointer(&buf[offs[i]]))
			}
			span := func(r int) (int, int) { r %= rounds; return r * c.k, (r + 1) * c.k }
			x, v, zero := uint64(1), uint64(0), probeZero
			parts := 1
			if c.spread {
				parts = 8
			}
			b.ResetTimer()
			for r := range b.N {
				from, to := span(r + 1)
				next := addrs[from:to]
				for p := range parts {
					prefetch(next[p*c.k/parts : (p+1)*c.k/parts])
					for range work / parts { // about 4 cycles each: a multiply and an add that depend on the last
						x = x*6364136223846793005 + 1
					}
				}
				from, to = span(r)
				for _, off := range offs[from:to] {
					v += *(*uint64)(unsafe.Pointer(&buf[off+int(v&zero)])) // each load waits for the one before
				}
			}
			b.StopTimer()
			probeSink += x + v
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns, "ns/round")
			if c.k == 0 {
				none = ns
			} else if none > 0 {
				b.ReportMetric((ns-none)/float64(c.k), "ns/line")
			}
		})
	}
}

// probeSink keeps the probes' loads from being optimized away; probeZero
// is a zero the compiler cannot see, with which a load's address is made
// to depend on the load before.
var probeSink, probeZero uint64

// probeLines returns a buffer of lines cache lines stride bytes apart,
// aligned to a page, written so that its pages are mapped, and the lines'
// offsets in a random order.
func probeLines(lines, stride int) ([]byte, []int) {
	buf := make([]byte, lines*stride+4096)
	off := int(4096 - uintptr(unsafe.Pointer(&buf[0]))%4096)
	buf = buf[off : off+lines*stride]
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	order := make([]int, lines)
	for i, j := range rand.New(rand.NewPCG(1, 2)).Perm(lines) {
		order[i] = j * stride
	}
	return buf, order
}

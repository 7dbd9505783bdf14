package correlate

import (
	"math/rand/v2"
	"testing"
)

// TestPrincipalSetActsAsAMap holds principalSet to the map it replaced: the
// same principals, spans and hub counts through adds, merges and prunes,
// with and without the index a large set keeps. In odd rounds time moves
// on as in a stream, with late alerts among the rest, so that the hub
// guard's counts split the set again and again (principalSet.old).
func TestPrincipalSetActsAsAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	splits := 0 // steps after which the set was split
	for round := 0; round < 200; round++ {
		var got, other principalSet
		want, wantOther := map[IdentityID]span{}, map[IdentityID]span{}
		ids := 1 + rng.IntN(3*maxSmallPrincipals)
		for step := 0; step < 300; step++ {
			base := int64(0)
			if round%2 == 1 {
				base = int64(10 * step)
			}
			p := IdentityID(1 + rng.IntN(ids))
			at := base + int64(rng.IntN(1000))
			switch rng.IntN(10) {
			case 0:
				cutoff := base + int64(rng.IntN(500)) - 500
				got.prune(cutoff)
				for q, s := range want {
					if s.last < cutoff {
						delete(want, q)
					}
				}
			case 1:
				other.add(p, span{at, at})
				wantOther[p] = wantOther[p].union(span{at, at})
			case 2:
				got.merge(&other)
				for q, s := range wantOther {
					want[q] = s.union(want[q])
				}
			default:
				got.add(p, span{at, at})
				want[p] = want[p].union(span{at, at})
			}
			if got.len() != len(want) {
				t.Fatalf("round %d step %d: len %d, want %d", round, step, got.len(), len(want))
			}
			lo, hi, limit := base+int64(rng.IntN(1000)), base+int64(rng.IntN(1000)), rng.IntN(2*maxSmallPrincipals)
			n := 0
			for _, s := range want {
				if s.overlaps(lo, hi) {
					n++
				}
			}
			if got.countOver(lo, hi, limit) != (n > limit) {
				t.Fatalf("round %d step %d: countOver(%d, %d, %d) = %v with %d in range", round, step, lo, hi, limit, !(n > limit), n)
			}
			for i, x := range got.list[:got.old] {
				if x.seen.last >= got.cut {
					t.Fatalf("round %d step %d: principal %d (at %d, last seen %d) is before the split at %d, cut %d", round, step, x.id, i, x.seen.last, got.old, got.cut)
				}
			}
			splits += min(got.old, 1)
		}
		seen := map[IdentityID]span{}
		for i, x := range got.list {
			if _, dup := seen[x.id]; dup {
				t.Fatalf("round %d: principal %d listed twice", round, x.id)
			}
			if got.at != nil {
				if v := got.at[got.at.slot(x.id)]; v != uint64(x.id)<<32|uint64(i) {
					t.Fatalf("round %d: principal %d indexed as %#x, at %d in the list", round, x.id, v, i)
				}
			}
			seen[x.id] = x.seen
		}
		for p, s := range want {
			if seen[p] != s {
				t.Fatalf("round %d: principal %d seen %v, want %v", round, p, seen[p], s)
			}
		}
	}
	if splits < 1000 {
		t.Errorf("the set was split after %d steps only: the test does not exercise the split", splits)
	}
}

// TestPrincipalSetKeepsSmallArray holds prune to keeping the array of a
// small set it empties, so that the identity's next principal costs no
// allocation, and to dropping a large one.
func TestPrincipalSetKeepsSmallArray(t *testing.T) {
	var ps principalSet
	ps.add(1, span{10, 10})
	ps.add(2, span{20, 20})
	ps.prune(100)
	if ps.len() != 0 || ps.list == nil {
		t.Fatalf("after prune: %d principals, array kept %v; want 0 and kept", ps.len(), ps.list != nil)
	}
	if n := testing.AllocsPerRun(10, func() {
		ps.add(3, span{200, 200})
		ps.prune(300)
	}); n != 0 {
		t.Errorf("a principal added to an emptied small set: %v allocations, want 0", n)
	}
	for p := range IdentityID(maxSparePrincipals + 1) {
		ps.add(p+1, span{400, 400})
	}
	ps.prune(500)
	if ps.list != nil || ps.at != nil {
		t.Errorf("an emptied large set keeps its array (cap %d)", cap(ps.list))
	}
}

// TestPrincipalSetHoldsTwoInItself holds a set of up to two principals to
// keeping them in the set itself, where its entry's cache lines bring them,
// and a third to moving them all to an array of their own.
func TestPrincipalSetHoldsTwoInItself(t *testing.T) {
	en := new(entry)
	ps := &en.principals
	ps.add(1, span{10, 10})
	ps.add(2, span{20, 20})
	ps.add(1, span{30, 30})
	if ps.len() != 2 || &ps.list[0] != &ps.small[0] {
		t.Fatalf("two principals: %d, in the set %v; want 2 in the set", ps.len(), &ps.list[0] == &ps.small[0])
	}
	ps.add(3, span{40, 40})
	if ps.len() != 3 || &ps.list[0] == &ps.small[0] {
		t.Fatalf("three principals: %d, in the set %v; want 3 in an array of their own", ps.len(), &ps.list[0] == &ps.small[0])
	}
	if got := []principalSpan{ps.list[0], ps.list[1], ps.list[2]}; got[0] != (principalSpan{1, span{10, 30}}) ||
		got[1] != (principalSpan{2, span{20, 20}}) || got[2] != (principalSpan{3, span{40, 40}}) {
		t.Fatalf("principals %v", got)
	}
}

package correlate

import (
	"math/rand/v2"
	"testing"
)

// TestIncidentTableActsAsAMap runs random puts, gets, deletes, filters and
// marks against a Go map, with ids as the engine meets them (mostly
// increasing, in runs, some far apart, so that probe runs wrap and collide),
// and checks every lookup and the contents after each step.
func TestIncidentTableActsAsAMap(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		var x incidentTable
		m := map[int64]*incidentState{}
		next := int64(1)
		newID := func() int64 {
			switch r.IntN(10) {
			case 0:
				return r.Int64N(1 << 40) // far away
			case 1:
				return next + int64(r.IntN(4096))*1024 // the same home, many table sizes
			default:
				next += int64(1 + r.IntN(3))
				return next
			}
		}
		anyID := func() int64 {
			if len(m) > 0 && r.IntN(3) > 0 {
				for id := range m {
					return id
				}
			}
			return newID()
		}
		for step := range 3000 {
			switch op := r.IntN(10); {
			case op < 5:
				id := newID()
				inc := &incidentState{id: id}
				x.put(id, inc)
				m[id] = inc
			case op < 7:
				id := anyID()
				x.delete(id)
				delete(m, id)
			case op < 8:
				id := anyID()
				if got := x.get(id); got != m[id] {
					t.Fatalf("seed %d step %d: get(%d) = %p, want %p", seed, step, id, got, m[id])
				}
			default:
				// A prune: mark some, drop the others.
				x.clearMarks()
				want := map[int64]bool{}
				for id := range m {
					if r.IntN(4) > 0 {
						want[id] = true
						if newly, held := x.mark(id); !newly || !held {
							t.Fatalf("seed %d step %d: mark(%d) = %v, %v", seed, step, id, newly, held)
						}
						if newly, _ := x.mark(id); newly {
							t.Fatalf("seed %d step %d: marked twice as new", seed, step)
						}
					}
				}
				if _, held := x.mark(-5); held {
					t.Fatalf("seed %d step %d: an absent id is held", seed, step)
				}
				for id := range m {
					if x.marked(id) != want[id] {
						t.Fatalf("seed %d step %d: marked(%d) = %v", seed, step, id, !want[id])
					}
				}
				x.filter(func(id int64, inc *incidentState, marked bool) bool {
					if marked != want[id] || m[id] != inc {
						t.Fatalf("seed %d step %d: filter saw %d marked %v", seed, step, id, marked)
					}
					return marked
				})
				for id := range m {
					if !want[id] {
						delete(m, id)
					}
				}
			}
			if x.len() != len(m) || 2*x.len() > len(x.slots) {
				t.Fatalf("seed %d step %d: %d held in %d slots, want %d", seed, step, x.len(), len(x.slots), len(m))
			}
			if step%97 == 0 {
				n := 0
				x.each(func(id int64, inc *incidentState) {
					n++
					if m[id] != inc {
						t.Fatalf("seed %d step %d: holds %d, which it should not", seed, step, id)
					}
				})
				for id, inc := range m {
					if x.get(id) != inc {
						t.Fatalf("seed %d step %d: lost %d", seed, step, id)
					}
				}
				if n != len(m) {
					t.Fatalf("seed %d step %d: each saw %d, want %d", seed, step, n, len(m))
				}
			}
		}
	}
}

// TestRepeatTableActsAsAMap does the same for repeat groups: puts that add
// and update, lookups, changes in place and filters.
func TestRepeatTableActsAsAMap(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 11))
		var x repeatTable
		m := map[repeatKey]repeatGroup{}
		key := func() repeatKey {
			return repeatKey{detectorID(r.IntN(40)), IdentityID(1 + r.IntN(3000))}
		}
		for step := range 4000 {
			switch op := r.IntN(10); {
			case op < 6:
				k, g := key(), repeatGroup{id: int64(step), start: r.Int64N(1000), incident: r.Int64N(100), alert: "a"}
				x.put(k, g)
				m[k] = g
			case op < 8:
				k := key()
				got, ok := x.get(k)
				want, has := m[k]
				if ok != has || got != want {
					t.Fatalf("seed %d step %d: get(%v) = %v, %v; want %v, %v", seed, step, k, got, ok, want, has)
				}
			case op < 9:
				x.each(func(k repeatKey, g *repeatGroup) {
					if g.incident%7 == 0 {
						g.incident++
						mg := m[k]
						mg.incident++
						m[k] = mg
					}
				})
			default:
				cut := r.Int64N(1000)
				x.filter(func(k repeatKey, g *repeatGroup) bool { return g.start >= cut })
				for k, g := range m {
					if g.start < cut {
						delete(m, k)
					}
				}
			}
			if x.len() != len(m) || 2*x.len() > len(x.slots) {
				t.Fatalf("seed %d step %d: %d held in %d slots, want %d", seed, step, x.len(), len(x.slots), len(m))
			}
			if step%101 == 0 {
				for k, want := range m {
					if got, ok := x.get(k); !ok || got != want {
						t.Fatalf("seed %d step %d: %v is %v, %v; want %v", seed, step, k, got, ok, want)
					}
				}
			}
		}
	}
}

// TestTableFilterMendsProbeRuns fills small tables with long probe runs
// (keys whose homes crowd into a few slots around the end of the table, so
// that runs wrap), drops a random part with filter and checks that every
// key kept is still found: a lookup stops at the first empty slot, so the
// gaps the drops leave must be filled from behind.
func TestTableFilterMendsProbeRuns(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 3))
		x := incidentTable{slots: make([]incidentSlot, minIncidentSlots)}
		rt := repeatTable{slots: make([]repeatSlot, minRepeatSlots)}
		crowded := func(home int) bool { return home >= minIncidentSlots-6 || home < 3 }
		var ids []int64
		var keys []repeatKey
		for id := int64(1); len(ids) < minIncidentSlots/2-1; id++ {
			if crowded(x.home(id)) || r.IntN(8) == 0 {
				x.put(id, &incidentState{id: id})
				ids = append(ids, id)
			}
		}
		for a := IdentityID(1); len(keys) < minRepeatSlots/2-1; a++ {
			k := repeatKey{detectorID(seed % 5), a}
			if crowded(rt.home(k)) || r.IntN(8) == 0 {
				rt.put(k, repeatGroup{id: int64(a)})
				keys = append(keys, k)
			}
		}
		if len(x.slots) != minIncidentSlots || len(rt.slots) != minRepeatSlots {
			t.Fatal("the tables grew: the test needs them full to half")
		}
		keepID := map[int64]bool{}
		x.filter(func(id int64, _ *incidentState, _ bool) bool {
			keepID[id] = r.IntN(3) > 0
			return keepID[id]
		})
		for _, id := range ids {
			if got := x.get(id); (got != nil) != keepID[id] || got != nil && got.id != id {
				t.Fatalf("seed %d: incident %d (kept %v) found as %v", seed, id, keepID[id], got)
			}
		}
		keepKey := map[repeatKey]bool{}
		rt.filter(func(k repeatKey, _ *repeatGroup) bool {
			keepKey[k] = r.IntN(3) > 0
			return keepKey[k]
		})
		for _, k := range keys {
			if g, ok := rt.get(k); ok != keepKey[k] || ok && g.id != int64(k.anchor) {
				t.Fatalf("seed %d: group %v (kept %v) found as %v, %v", seed, k, keepKey[k], g, ok)
			}
		}
	}
}

package correlate

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/gen"
)

// TestEntryNewestBoundsItsState holds what prune relies on to forget an
// entry without reading it: an entry's newest is at least the last activity
// of each of its sightings and the last time each of its principals was
// seen, through placements, identity merges and prunes. It also checks
// that prunes ran and forgot entries so, and that the entries they kept
// still hold state within the windows.
func TestEntryNewestBoundsItsState(t *testing.T) {
	src, e, alloc := pruneScenario(t)
	checked, prunes, unread := 0, 0, 0
	for j, a := range twoRounds(src) {
		i := j % len(src) // the alert's place in its round
		ts := e.tenants[a.TenantID]
		var stale int // entries the next prune, if it runs now, forgets unread
		if ts != nil {
			cutoff := ts.watermark - ts.pol.cfg.maxWindow().Nanoseconds()
			for _, id := range ts.index.live {
				if ts.index.get(id).newest < cutoff {
					stale++
				}
			}
		}
		e.Place(a, alloc)
		ts = e.tenants[a.TenantID]
		if ts.placed == 0 { // this placement pruned
			prunes++
			unread += stale
		}
		if i%25 != 0 && ts.placed != 0 {
			continue
		}
		for _, id := range ts.index.live {
			en := ts.index.get(id)
			for _, s := range en.sightings {
				if s.last > en.newest {
					t.Fatalf("alert %s: identity %d holds a sighting ending at %d, after its newest %d", a.ID, id, s.last, en.newest)
				}
			}
			for _, p := range en.principals.list {
				if p.seen.last > en.newest {
					t.Fatalf("alert %s: identity %d saw principal %d at %d, after its newest %d", a.ID, id, p.id, p.seen.last, en.newest)
				}
			}
			if len(en.sightings) == 0 && en.principals.len() == 0 {
				t.Fatalf("alert %s: identity %d has an empty entry", a.ID, id)
			}
			checked++
		}
	}
	if prunes == 0 || unread == 0 || checked == 0 {
		t.Fatalf("%d prunes forgot %d entries unread; %d entries checked: the test does not exercise prune", prunes, unread, checked)
	}
	t.Logf("%d entries checked; %d prunes forgot %d entries unread", checked, prunes, unread)
}

// pruneScenario returns the alerts of a small scenario (6 attacks, 3,000
// noise alerts, 400 users and devices), in which prune runs and forgets,
// an engine with the default policy, and an incident id allocator for it.
func pruneScenario(t *testing.T) ([]*weft.Alert, *Engine, func() int64) {
	t.Helper()
	opts := gen.DefaultOptions()
	opts.Attacks, opts.NoiseAlerts, opts.Users, opts.Devices = 6, 3000, 400, 400
	src, _ := scenario(t, opts)
	var n int64
	return src, newTestEngine(t, DefaultConfig()).Engine, func() int64 { n++; return n }
}

// TestMergedEntryKeepsNewest checks that an identity merge carries the
// merged-in entry's newest over: a late alert that reveals two device ids
// to be one device must not let prune forget the newer device's sightings
// before their time.
func TestMergedEntryKeepsNewest(t *testing.T) {
	e := newEngine(t, nil)
	mde := weft.Evidence{EntityType: weft.EntityDevice, MdeDeviceID: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"}
	e.Place(alertAt("", 10*time.Hour, mde))
	e.Place(alertAt("", 30*time.Hour, device("ws-merge")))
	// A late alert, hours before both, names the device by both ids.
	both := device("ws-merge")
	both.MdeDeviceID = mde.MdeDeviceID
	e.Place(alertAt("", 5*time.Hour, both))
	ts := e.tenants[weft.DefaultTenantID]
	id, ok := e.ids.Resolve(weft.DefaultTenantID, mde.Identifiers()[0])
	if !ok {
		t.Fatal("the device is not known")
	}
	en := ts.index.get(e.ids.Canonical(weft.DefaultTenantID, id))
	if en == nil || len(en.sightings) != 3 {
		t.Fatalf("got entry %+v; want the merged device's three sightings", en)
	}
	if want := t0.Add(30 * time.Hour).UnixNano(); en.newest < want {
		t.Fatalf("newest %d after the merge; want at least %d, the newer device's last sighting", en.newest, want)
	}
}

// TestSightingArraysAreNotShared holds the pool of sighting arrays
// (sightingPool) and the arrays kept for entries at maxSightings
// (entry.hub) to giving each array to one holder (checkSightingArrays):
// through two rounds of a scenario, with its prunes and merges, and the
// pool gives arrays back.
func TestSightingArraysAreNotShared(t *testing.T) {
	src, e, alloc := pruneScenario(t)
	reused := 0
	for j, a := range twoRounds(src) {
		ts := e.tenants[a.TenantID]
		var pooled int
		if ts != nil {
			for _, c := range *ts.sightings {
				pooled += len(c)
			}
		}
		e.Place(a, alloc)
		ts = e.tenants[a.TenantID]
		after := 0
		for _, c := range *ts.sightings {
			after += len(c)
		}
		if after < pooled {
			reused += pooled - after
		}
		if j%50 == 0 || ts.placed == 0 {
			checkSightingArrays(t, fmt.Sprint("alert ", j), ts)
		}
	}
	if reused == 0 {
		t.Error("no array came back from the pool")
	}
}

// TestHubArrayMovesBack holds an identity at maxSightings (a public
// address in 700 alerts a minute apart) to keeping its whole array
// (entry.hub, hubArray), moving its sightings back to the array's start when the cut
// from the front reaches the end rather than taking a new array, and
// giving the array to the pool when prune forgets it (after three days of
// other alerts), with no array held twice at any step
// (checkSightingArrays).
func TestHubArrayMovesBack(t *testing.T) {
	e := newEngine(t, nil)
	var whole []sighting
	moves := 0
	for i := range 700 {
		e.Place(alertAt("", time.Duration(i)*time.Minute, ip("203.0.113.7"), user(fmt.Sprint("u", i))))
		ts := e.tenants[weft.DefaultTenantID]
		hubs := hubEntries(ts)
		if len(hubs) > 1 {
			t.Fatalf("alert %d: %d whole arrays kept, for one identity at the bound", i, len(hubs))
		}
		for _, en := range hubs {
			w := hubArray(en.sightings)
			if whole != nil && unsafe.SliceData(w) != unsafe.SliceData(whole) {
				t.Fatalf("alert %d: the identity's whole array changed", i)
			}
			whole = w
			if i > maxSightings+1 && len(en.sightings) > 0 && unsafe.SliceData(en.sightings) == unsafe.SliceData(w) {
				// Each alert past the bound cuts one from the front, so
				// the sightings start at the array's start only when this
				// alert moved them back.
				moves++
			}
		}
		if i%25 == 0 {
			checkSightingArrays(t, fmt.Sprint("alert ", i), ts)
		}
	}
	if whole == nil || moves == 0 {
		t.Fatalf("the address's sightings were cut (%v) and moved back (%v): want both", whole != nil, moves > 0)
	}
	// One move back per maxSightings alerts past the bound, not one per
	// alert (which an array of maxSightings kept whole had made).
	if limit := (700 - maxSightings) / maxSightings; moves > limit {
		t.Errorf("the sightings moved back %d times in %d alerts past the bound, want at most %d", moves, 700-maxSightings, limit)
	}
	for i := range 9000 {
		e.Place(alertAt("", 72*time.Hour+time.Duration(i)*time.Second, user(fmt.Sprint("v", i))))
		ts := e.tenants[weft.DefaultTenantID]
		if i%100 == 0 || ts.placed == 0 {
			checkSightingArrays(t, fmt.Sprint("later alert ", i), ts)
		}
	}
	ts := e.tenants[weft.DefaultTenantID]
	if n := len(hubEntries(ts)); n != 0 {
		t.Fatalf("%d whole arrays kept after the address left the windows", n)
	}
	k, _ := sightingClass(cap(whole))
	if !slices.ContainsFunc((*ts.sightings)[k], func(ss []sighting) bool { return unsafe.SliceData(ss[:1]) == unsafe.SliceData(whole[:1]) }) {
		t.Error("the forgotten identity's whole array is not in the pool")
	}
}

// hubEntries returns ts's indexed entries at maxSightings whose whole
// array is kept (entry.hub).
func hubEntries(ts *tenantState) []*entry {
	var out []*entry
	for _, id := range ts.index.live {
		if en := ts.index.get(id); en.hub {
			out = append(out, en)
		}
	}
	return out
}

// checkSightingArrays fails the test if two holders of ts share an array
// of sightings: the entries indexed (for an entry at maxSightings, the
// whole array its sightings were cut from, hubArray), the spare entries and
// the pool; if an entry at the bound holds sightings whose capacity
// hubArray cannot find the array from, or a spare entry says it is at the
// bound; or if the pool holds more than its bound or arrays that are not
// empty or not of their class.
func checkSightingArrays(t *testing.T, at string, ts *tenantState) {
	t.Helper()
	type span struct {
		lo, hi uintptr
		who    string
	}
	var spans []span
	size := unsafe.Sizeof(sighting{})
	hold := func(ss []sighting, who string) {
		if cap(ss) == 0 {
			return
		}
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(ss[:1])))
		spans = append(spans, span{lo, lo + uintptr(cap(ss))*size, who})
	}
	for _, id := range ts.index.live {
		en := ts.index.get(id)
		if !en.hub {
			hold(en.sightings, fmt.Sprint("identity ", id))
			continue
		}
		// hubArray finds the whole array from the sightings' capacity,
		// which must stay within what it relies on.
		if c := cap(en.sightings); c < maxSightings-1 || c > 2*maxSightings || len(en.sightings) > maxSightings {
			t.Fatalf("%s: identity %d at the bound holds %d/%d sightings", at, id, len(en.sightings), c)
		}
		hold(hubArray(en.sightings), fmt.Sprint("identity ", id, " (whole array)"))
	}
	for k, en := range ts.spare {
		if en.hub {
			t.Fatalf("%s: spare entry %d says it has a whole array kept", at, k)
		}
		hold(en.sightings, fmt.Sprint("spare entry ", k))
	}
	for k, c := range *ts.sightings {
		if bytes := len(c) * (2 << k) * int(size); bytes > maxPooledBytes {
			t.Fatalf("%s: the pool's class %d holds %d bytes", at, k, bytes)
		}
		for i, ss := range c {
			if cap(ss) != 2<<k || len(ss) != 0 {
				t.Fatalf("%s: the pool's class %d holds an array of %d/%d", at, k, len(ss), cap(ss))
			}
			hold(ss, fmt.Sprintf("pool %d/%d", k, i))
		}
	}
	slices.SortFunc(spans, func(x, y span) int { return cmp.Compare(x.lo, y.lo) })
	for i := 1; i < len(spans); i++ {
		if spans[i].lo < spans[i-1].hi {
			t.Fatalf("%s: %s and %s share an array", at, spans[i-1].who, spans[i].who)
		}
	}
}

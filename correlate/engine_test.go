package correlate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

var t0 = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// testEngine is an Engine with its own incident id allocator.
type testEngine struct {
	*Engine
	n int64
}

func (e *testEngine) Place(a *weft.Alert) Placement {
	return e.Engine.Place(a, func() int64 { e.n++; return e.n })
}

// newTestEngine returns an engine with the policy cfg and its own allocator.
func newTestEngine(t testing.TB, cfg Config) *testEngine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testEngine{Engine: e}
}

func newEngine(t *testing.T, mod func(*Config)) *testEngine {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	return newTestEngine(t, cfg)
}

func device(name string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityDevice, DeviceDNSName: name + ".contoso.com"}
}

func user(sam string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: sam, DomainName: "CONTOSO"}}
}

func ip(addr string) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityIP, IPAddress: addr}
}

var testAlertSeq int

func alertAt(tenant string, at time.Duration, ev ...weft.Evidence) *weft.Alert {
	testAlertSeq++
	id := fmt.Sprintf("a%d", testAlertSeq)
	if tenant == "" {
		tenant = weft.DefaultTenantID
	}
	return &weft.Alert{ID: id, ProviderAlertID: id, TenantID: tenant, Title: id,
		FirstActivityDateTime: t0.Add(at), LastActivityDateTime: t0.Add(at), Evidence: ev}
}

func TestPlace(t *testing.T) {
	t.Run("OK_SharedDeviceWithinWindowLinks", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("", 0, device("ws-1")))
		p2 := e.Place(alertAt("", 3*time.Hour, device("ws-1"), user("jdoe")))
		if !p1.New || p2.New || p2.IncidentID != p1.IncidentID {
			t.Fatalf("got %+v then %+v, want the second in the first's incident", p1, p2)
		}
		if p2.Reasons[0] != "sameAsset" || p2.LinkedAlert != p1.AlertID || p2.Explanation == "" {
			t.Fatalf("reasons %v, linked %q, %q", p2.Reasons, p2.LinkedAlert, p2.Explanation)
		}
	})

	t.Run("OK_OutsideWindowDoesNotLink", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("", 0, device("ws-2")))
		p2 := e.Place(alertAt("", 25*time.Hour, device("ws-2")))
		if p2.IncidentID == p1.IncidentID {
			t.Fatal("alerts 25 h apart linked through a device (window 24 h)")
		}
	})

	t.Run("OK_LateAlertLinksBackward", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("", 10*time.Hour, device("ws-3")))
		p2 := e.Place(alertAt("", time.Hour, device("ws-3")))
		if p2.IncidentID != p1.IncidentID || p2.Explanation == "" {
			t.Fatalf("a late alert 9 h before did not link: %+v", p2)
		}
	})

	t.Run("OK_LinkMergesTwoIncidents", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("", 0, device("ws-4")))
		p2 := e.Place(alertAt("", time.Hour, user("alice")))
		p3 := e.Place(alertAt("", 2*time.Hour, device("ws-4"), user("alice")))
		if p1.IncidentID == p2.IncidentID || p3.IncidentID != p1.IncidentID || len(p3.Merged) != 1 || p3.Merged[0] != p2.IncidentID {
			t.Fatalf("got %+v, %+v, %+v; want the third to merge the second's incident into the first's", p1, p2, p3)
		}
	})

	t.Run("OK_UserOnAnotherDeviceIsLateralMovement", func(t *testing.T) {
		e := newEngine(t, nil)
		e.Place(alertAt("", 0, device("ws-5"), user("bob")))
		p := e.Place(alertAt("", time.Hour, device("srv-5"), user("bob")))
		if !contains(p.Reasons, "lateralMovementPath") {
			t.Fatalf("reasons %v lack lateralMovementPath", p.Reasons)
		}
	})

	t.Run("OK_HubStopsLinking", func(t *testing.T) {
		e := newEngine(t, func(c *Config) { c.HubThreshold = 3 })
		var ids []int64
		for i := range 6 {
			p := e.Place(alertAt("", time.Duration(i)*time.Minute, device(fmt.Sprintf("dc-%d", 0)), user(fmt.Sprintf("u%d", i))))
			ids = append(ids, p.IncidentID)
		}
		// The DC links the first alerts; once it has been seen with more
		// than 3 users it is a hub and the later alerts stand alone.
		if ids[5] == ids[0] {
			t.Fatalf("incidents %v: the hub kept linking", ids)
		}
	})

	t.Run("OK_PrivateIPNeverLinksAlone", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("", 0, ip("10.0.0.5")))
		p2 := e.Place(alertAt("", time.Minute, ip("10.0.0.5")))
		if p1.IncidentID == p2.IncidentID {
			t.Fatal("a private address linked two alerts by itself")
		}
		p3 := e.Place(alertAt("", 0, ip("203.0.113.9")))
		p4 := e.Place(alertAt("", time.Minute, ip("203.0.113.9")))
		if p3.IncidentID != p4.IncidentID {
			t.Fatal("a rare public address did not link")
		}
	})

	t.Run("OK_ResolvedIncidentIsRelatedNotReopened", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("", 0, device("ws-6")))
		e.SetIncident(weft.DefaultTenantID, IncidentState{ID: p1.IncidentID, Status: weft.IncidentStatusResolved})
		p2 := e.Place(alertAt("", time.Hour, device("ws-6")))
		if p2.IncidentID == p1.IncidentID || !p2.New || len(p2.Related) != 1 || p2.Related[0] != p1.IncidentID {
			t.Fatalf("got %+v; want a new incident related to the resolved one", p2)
		}
	})

	t.Run("OK_DifferentAssigneesBlockMerge", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("", 0, device("ws-7")))
		p2 := e.Place(alertAt("", time.Hour, user("carol")))
		e.SetIncident(weft.DefaultTenantID, IncidentState{ID: p1.IncidentID, Status: weft.IncidentStatusActive, AssignedTo: "ann"})
		e.SetIncident(weft.DefaultTenantID, IncidentState{ID: p2.IncidentID, Status: weft.IncidentStatusActive, AssignedTo: "ben"})
		p3 := e.Place(alertAt("", 2*time.Hour, device("ws-7"), user("carol")))
		if len(p3.Merged) != 0 || len(p3.Related) != 1 {
			t.Fatalf("got %+v; want no merge and one related incident", p3)
		}
	})

	t.Run("OK_CapOverflowsIntoContinuation", func(t *testing.T) {
		e := newEngine(t, func(c *Config) { c.MaxIncidentAlerts = 3 })
		var ps []Placement
		for i := range 7 {
			ps = append(ps, e.Place(alertAt("", time.Duration(i)*time.Minute, device("ws-8"))))
		}
		sizes := map[int64]int{}
		for _, p := range ps {
			sizes[p.IncidentID]++
		}
		for id, n := range sizes {
			if n > 3 {
				t.Fatalf("incident %d has %d alerts; the cap is 3", id, n)
			}
		}
		if ps[3].Continues != ps[0].IncidentID || !ps[3].New || ps[6].Continues != ps[3].IncidentID {
			t.Fatalf("placements %+v: want continuation incidents chained from the first", ps)
		}
	})

	t.Run("OK_TenantsNeverLink", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("t1", 0, device("ws-9")))
		p2 := e.Place(alertAt("t2", time.Minute, device("ws-9")))
		if p2.IncidentID == p1.IncidentID || !p2.New {
			t.Fatal("alerts of two tenants linked")
		}
	})
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestBenignPairs(t *testing.T) {
	low := func(at time.Duration, detector string, ev ...weft.Evidence) *weft.Alert {
		a := alertAt("", at, ev...)
		a.Severity, a.DetectorID = weft.SeverityLow, detector
		return a
	}
	t.Run("OK_RepeatOfOneDetectorLinks", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(low(0, "pua", device("ws-20")))
		p2 := e.Place(low(30*time.Minute, "pua", device("ws-20")))
		if p2.IncidentID != p1.IncidentID {
			t.Fatal("a repeat of one detector 30 min later did not link")
		}
	})
	t.Run("OK_DifferentDetectorsDoNotLink", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(low(0, "pua", device("ws-21")))
		p2 := e.Place(low(30*time.Minute, "travel", device("ws-21")))
		if p2.IncidentID == p1.IncidentID {
			t.Fatal("two unrelated low-severity alerts linked by co-location")
		}
	})
	t.Run("OK_SevereLinksToBenignThroughTwoIdentities", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(low(0, "signin", device("ws-22"), user("dave")))
		a := alertAt("", time.Hour, device("ws-22"), user("dave"))
		a.Severity = weft.SeverityHigh
		if p2 := e.Place(a); p2.IncidentID != p1.IncidentID {
			t.Fatal("a high-severity alert with the same user on the same device did not link")
		}
	})
	t.Run("OK_SevereDoesNotLinkToBenignThroughOneIdentity", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(low(0, "pua", device("ws-23")))
		a := alertAt("", time.Hour, device("ws-23"), user("erin"))
		a.Severity = weft.SeverityHigh
		if p2 := e.Place(a); p2.IncidentID == p1.IncidentID {
			t.Fatal("a high-severity alert linked to benign noise through the device alone")
		}
	})
}

func TestMergeIntoFullIncident(t *testing.T) {
	// Two incidents of 2 alerts each and a cap of 4: an alert linking both
	// merges them (4 alerts) and, the result being full, goes on to a
	// continuation; the merge target is said apart from the alert's
	// incident.
	e := newEngine(t, func(c *Config) { c.MaxIncidentAlerts = 4 })
	p1 := e.Place(alertAt("", 0, device("ws-30")))
	e.Place(alertAt("", time.Minute, device("ws-30")))
	p3 := e.Place(alertAt("", 2*time.Minute, user("frank")))
	e.Place(alertAt("", 3*time.Minute, user("frank")))
	p := e.Place(alertAt("", 4*time.Minute, device("ws-30"), user("frank")))
	if len(p.Merged) != 1 || p.Merged[0] != p3.IncidentID || p.MergedInto != p1.IncidentID {
		t.Fatalf("got %+v; want incident %d merged into %d", p, p3.IncidentID, p1.IncidentID)
	}
	if !p.New || p.Continues != p1.IncidentID || p.IncidentID == p1.IncidentID {
		t.Fatalf("got %+v; want the alert in a continuation of the full incident %d", p, p1.IncidentID)
	}
}

func TestExplanationNamesTheClosestAlert(t *testing.T) {
	e := newEngine(t, nil)
	e.Place(alertAt("", 0, device("ws-40")))
	near := e.Place(alertAt("", 19*time.Hour+59*time.Minute, device("ws-40")))
	p := e.Place(alertAt("", 20*time.Hour, device("ws-40")))
	if p.LinkedAlert != near.AlertID {
		t.Fatalf("linked to %s (%q), want the alert a minute earlier, %s", p.LinkedAlert, p.Explanation, near.AlertID)
	}
}

func TestCapHoldsAfterRestart(t *testing.T) {
	// Cap 3; alerts at 0, 20 and 40 h on one device fill incident 1. After a
	// restart that restores only the last alert (the window), the store says
	// the incident has 3 alerts, and a fourth goes to a continuation.
	cfg := func(c *Config) { c.MaxIncidentAlerts = 3 }
	e := newEngine(t, cfg)
	var last *weft.Alert
	var first Placement
	for i, h := range []time.Duration{0, 20 * time.Hour, 40 * time.Hour} {
		last = alertAt("", h, device("ws-50"))
		p := e.Place(last)
		if i == 0 {
			first = p
		}
	}
	r := newEngine(t, cfg)
	r.n = e.n
	r.Restore(last, first.IncidentID)
	r.SetIncident(weft.DefaultTenantID, IncidentState{ID: first.IncidentID, Status: weft.IncidentStatusActive, AlertCount: 3})
	p := r.Place(alertAt("", 41*time.Hour, device("ws-50")))
	if p.IncidentID == first.IncidentID || p.Continues != first.IncidentID {
		t.Fatalf("got %+v; want a continuation of the full incident %d", p, first.IncidentID)
	}
}

func TestStateStaysBounded(t *testing.T) {
	// Alerts on ever new devices, one a minute for 20 days: the windows hold
	// about a day of them, and so must the engine's incidents.
	e := newEngine(t, nil)
	for i := range 20 * 24 * 60 {
		e.Place(alertAt("", time.Duration(i)*time.Minute, device(fmt.Sprintf("dev-%d", i))))
	}
	ts := e.tenants[weft.DefaultTenantID]
	if n := ts.incidents.len(); n > 2*24*60+pruneEvery {
		t.Fatalf("%d incidents held after 20 days; the windows need about %d", n, 24*60)
	}
	if n := ts.index.len(); n > 2*24*60+pruneEvery {
		t.Fatalf("%d identities indexed after 20 days", n)
	}
	// Every alert has its own title and no detector id, so each is a
	// detector of its own: the names and alert ids held must follow the
	// windows too.
	if n := len(ts.detectors); n > 2*24*60+pruneEvery {
		t.Fatalf("%d detector names held after 20 days", n)
	}
	if n := ts.alerts.held(); n > 2*24*60+pruneEvery {
		t.Fatalf("%d alert ids held after 20 days", n)
	}
}

// TestRecycledStateStartsClean checks that the incidents prune forgets,
// whose memory later incidents reuse, pass nothing on: an analyst's
// assignee or split of a forgotten incident must not block a merge of new
// ones.
func TestRecycledStateStartsClean(t *testing.T) {
	e := newEngine(t, nil)
	var old []int64
	for i := range 50 {
		p := e.Place(alertAt("", time.Duration(i)*time.Minute, device(fmt.Sprintf("old-%d", i))))
		old = append(old, p.IncidentID)
	}
	for i, id := range old {
		e.SetIncident(weft.DefaultTenantID, IncidentState{ID: id, Status: weft.IncidentStatusActive,
			AssignedTo: fmt.Sprintf("analyst-%d", i), Apart: []int64{old[(i+1)%len(old)]}})
	}
	// Three days later, enough alerts for prunes to forget the old
	// incidents and new ones to take their place.
	for i := range 2 * pruneEvery {
		e.Place(alertAt("", 72*time.Hour+time.Duration(i)*time.Second, device(fmt.Sprintf("new-%d", i))))
	}
	ts := e.tenants[weft.DefaultTenantID]
	for _, id := range old {
		if ts.incidents.get(id) != nil {
			t.Fatalf("incident %d of three days ago is still held", id)
		}
	}
	ts.incidents.each(func(id int64, inc *incidentState) {
		if inc.id != id || inc.assignedTo != "" || inc.apart != nil || inc.status != weft.IncidentStatusActive {
			t.Fatalf("incident %d holds %+v", id, *inc)
		}
	})
	a := e.Place(alertAt("", 80*time.Hour, device("x1")))
	b := e.Place(alertAt("", 80*time.Hour+time.Minute, device("x2")))
	c := e.Place(alertAt("", 80*time.Hour+2*time.Minute, device("x1"), device("x2")))
	if len(c.Merged) != 1 || c.IncidentID != min(a.IncidentID, b.IncidentID) {
		t.Fatalf("got %+v; want incidents %d and %d merged", c, a.IncidentID, b.IncidentID)
	}
}

// TestPruneSightings holds pruneSightings to slices.DeleteFunc.
func TestPruneSightings(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		n := rng.IntN(12)
		ss := make([]sighting, n)
		for i := range ss {
			ss[i] = sighting{last: int64(rng.IntN(10)), alert: alertSeq(i)}
		}
		cutoff := int64(rng.IntN(11))
		want := slices.DeleteFunc(slices.Clone(ss), func(s sighting) bool { return s.last < cutoff })
		if got := pruneSightings(ss, cutoff); !slices.Equal(got, want) {
			t.Fatalf("cutoff %d: got %v, want %v", cutoff, got, want)
		}
	}
}

// TestContinuationOutlivesPrune checks that a prune keeps the continuation
// of a full incident it keeps, even when no alert links to the
// continuation: repeats of one detector on an excluded device link through
// nothing but their repeat group, whose incident is the full one, and the
// engine used to forget the continuation and then fail on the next repeat.
func TestContinuationOutlivesPrune(t *testing.T) {
	e := newEngine(t, func(c *Config) {
		c.MaxIncidentAlerts = 2
		c.Exclusions = append(c.Exclusions, "device:scan*")
	})
	repeat := func(at time.Duration) Placement {
		a := alertAt("", at, device("scan01"))
		a.Severity, a.DetectorID = weft.SeverityHigh, "port-scan"
		return e.Place(a)
	}
	first := repeat(0)
	repeat(time.Minute)
	third := repeat(2 * time.Minute)
	if third.Continues != first.IncidentID {
		t.Fatalf("third repeat: %+v; want a continuation of %d", third, first.IncidentID)
	}
	for i := range pruneEvery + 1 { // a prune, within the repeat window
		e.Place(alertAt("", 3*time.Minute+time.Duration(i)*time.Millisecond, device(fmt.Sprintf("ws-%d", i))))
	}
	if p := repeat(10 * time.Minute); p.IncidentID != third.IncidentID {
		t.Fatalf("fourth repeat: %+v; want it in the continuation %d", p, third.IncidentID)
	}
}

// TestAlertTableActsAsASlice holds alertTable, its chunks reused, to a
// slice of ids that is appended to and cut from the front: random adds and
// forgets over many chunks, each id checked after every step; then a steady
// stream, held to a few chunks, that makes no chunk once it has them.
func TestAlertTableActsAsASlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var at alertTable
	var model []string // the ids not forgotten
	lo := alertSeq(0)  // the seq of model[0]
	made := 0          // chunks made rather than reused
	add := func(step int) {
		id := "a" + strconv.Itoa(int(lo)+len(model))
		if n := len(at.chunks); (n == 0 || len(at.chunks[n-1]) == alertChunk) && len(at.spare) == 0 {
			made++
		}
		if seq := at.add(id); seq != lo+alertSeq(len(model)) {
			t.Fatalf("step %d: add gave %d, want %d", step, seq, lo+alertSeq(len(model)))
		}
		model = append(model, id)
	}
	forget := func(k int) {
		at.forgetBefore(lo + alertSeq(k))
		model, lo = model[k:], lo+alertSeq(k)
	}
	check := func(step int) {
		if at.next() != lo+alertSeq(len(model)) || at.held() != len(model) {
			t.Fatalf("step %d: next %d, held %d; want %d, %d", step, at.next(), at.held(), lo+alertSeq(len(model)), len(model))
		}
		for k, id := range model {
			if got := at.id(lo + alertSeq(k)); got != id {
				t.Fatalf("step %d: id(%d) = %q, want %q", step, lo+alertSeq(k), got, id)
			}
		}
	}
	for step := range 2000 {
		for range rng.IntN(2 * alertChunk / 3) {
			add(step)
		}
		if rng.IntN(3) > 0 {
			forget(rng.IntN(len(model) + 1))
		}
		check(step)
	}
	forget(len(model))
	check(-1)
	made = 0
	for step := range 1000 {
		for range 1000 {
			add(step)
		}
		if n := len(model) - 2*alertChunk; n > 0 {
			forget(n)
		}
		check(step)
	}
	if made > 0 {
		t.Errorf("the steady stream made %d chunks, holding at most %d ids", made, 2*alertChunk+1000)
	}
}

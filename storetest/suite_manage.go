package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// RunManageTests runs the conformance suite of a store's manage and
// restructure operations (weft.IncidentManager, weft.IncidentRestructurer)
// with the real correlation engine: versions and If-Match, comments,
// resolving, moving alerts, merging, splitting, and "analysts win" — the
// engine follows what an analyst did, before and after a restart. The
// stores open must implement both interfaces. newEngine and open are as
// for RunCorrelationTests.
func RunManageTests(t *testing.T, newEngine func() weft.Correlator, open CorrelationOpener) {
	e := func(*testing.T) weft.Correlator { return newEngine() }
	t.Run("Update", func(t *testing.T) { testManageUpdate(t, e, open) })
	t.Run("Comment", func(t *testing.T) { testManageComment(t, e, open) })
	t.Run("ResolveKeepsCorrelationOut", func(t *testing.T) { testManageResolve(t, e, open) })
	t.Run("Move", func(t *testing.T) { testManageMove(t, e, open) })
	t.Run("Merge", func(t *testing.T) { testManageMerge(t, e, open) })
	t.Run("Split", func(t *testing.T) { testManageSplit(t, e, open) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testManageConcurrent(t, e, open) })
}

// managers returns s as the manage interfaces, failing when it lacks one.
func managers(t *testing.T, s weft.Store) (weft.IncidentManager, weft.IncidentRestructurer) {
	t.Helper()
	m, ok := s.(weft.IncidentManager)
	if !ok {
		t.Fatalf("%T does not implement weft.IncidentManager", s)
	}
	r, ok := s.(weft.IncidentRestructurer)
	if !ok {
		t.Fatalf("%T does not implement weft.IncidentRestructurer", s)
	}
	return m, r
}

const analyst = "analyst@contoso.com"

func testManageUpdate(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	ctx := context.Background()
	s, _ := open(t, newEngine(t))
	m, _ := managers(t, s)
	id := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "u1", Base, weft.SeverityHigh, 1))[0].IncidentID
	v := mustFindIncident(t, s, weft.DefaultTenantID, id, false).Version
	status := weft.IncidentStatusInProgress
	inc, err := m.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{Status: &status, AssignedTo: ptr(analyst)}, analyst, v)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Version != v+1 || inc.Status != status || inc.AssignedTo != analyst || inc.LastModifiedBy != analyst {
		t.Fatalf("got version %d, status %s, assignee %q, modified by %q", inc.Version, inc.Status, inc.AssignedTo, inc.LastModifiedBy)
	}
	// The same If-Match again is stale: nothing changes, the error carries
	// the current incident.
	_, err = m.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{AssignedTo: ptr("other@contoso.com")}, "other", v)
	wantCode(t, err, weft.EPRECONDITION)
	if stale, ok := err.(*weft.StaleVersionError); !ok || stale.Current == nil || stale.Current.Version != v+1 {
		t.Fatalf("got %T %v, want a *weft.StaleVersionError with version %d", err, err, v+1)
	}
	// A change that changes nothing changes neither the version nor the log.
	same, err := m.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{Status: &status}, analyst, 0)
	if err != nil || same.Version != v+1 {
		t.Fatalf("a no-op update: version %d, err %v", same.Version, err)
	}
	var updates []string
	for _, a := range mustActivities(t, s, weft.DefaultTenantID, id) {
		if a.Type == weft.ActivityIncidentUpdated {
			updates = append(updates, a.After)
			if a.Actor != analyst {
				t.Errorf("update logged by %q", a.Actor)
			}
		}
	}
	if want := []string{`{"status":"inProgress"}`, `{"assignedTo":"analyst@contoso.com"}`}; !slices.Equal(updates, want) {
		t.Fatalf("got update entries %q, want %q", updates, want)
	}
	// A determination that does not fit the classification is refused.
	tp, dt := weft.ClassificationFalsePositive, weft.DeterminationMalware
	_, err = m.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{Classification: &tp, Determination: &dt}, analyst, 0)
	wantCode(t, err, weft.EINVALID)
	_, err = m.UpdateIncident(ctx, weft.DefaultTenantID, 999999, weft.IncidentPatch{Status: &status}, analyst, 0)
	wantCode(t, err, weft.ENOTFOUND)
}

func testManageComment(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	ctx := context.Background()
	s, _ := open(t, newEngine(t))
	m, _ := managers(t, s)
	id := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "c1", Base, weft.SeverityHigh, 1))[0].IncidentID
	v := mustFindIncident(t, s, weft.DefaultTenantID, id, false).Version
	c, nv, err := m.AddIncidentComment(ctx, weft.DefaultTenantID, id, "  Looking into it.  ", analyst, v)
	if err != nil {
		t.Fatal(err)
	}
	if c.Comment != "Looking into it." || c.CreatedByDisplayName != analyst || nv != v+1 {
		t.Fatalf("got %+v, version %d", c, nv)
	}
	inc := mustFindIncident(t, s, weft.DefaultTenantID, id, false)
	if len(inc.Comments) != 1 || inc.Comments[0].Comment != c.Comment || inc.Version != nv {
		t.Fatalf("incident comments %+v, version %d", inc.Comments, inc.Version)
	}
	_, _, err = m.AddIncidentComment(ctx, weft.DefaultTenantID, id, "late", analyst, v)
	wantCode(t, err, weft.EPRECONDITION)
	_, _, err = m.AddIncidentComment(ctx, weft.DefaultTenantID, id, "   ", analyst, 0)
	wantCode(t, err, weft.EINVALID)
}

func testManageResolve(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	ctx := context.Background()
	s, _ := open(t, newEngine(t))
	m, _ := managers(t, s)
	res := mustStore(t, s,
		correlatedAlert(weft.DefaultTenantID, "r1", Base, weft.SeverityHigh, 1),
		correlatedAlert(weft.DefaultTenantID, "r2", Base.Add(time.Minute), weft.SeverityHigh, 1))
	id := res[0].IncidentID
	resolved := weft.IncidentStatusResolved
	if _, err := m.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{Status: &resolved}, analyst, 0); err != nil {
		t.Fatal(err)
	}
	for _, a := range mustListAlerts(t, s, weft.AlertQuery{TenantID: weft.DefaultTenantID, IncidentID: id}).Alerts {
		if a.Status != weft.AlertStatusResolved {
			t.Errorf("alert %s is %s after its incident was resolved", a.ID, a.Status)
		}
	}
	// Correlation never reopens it: the next alert on the device starts an
	// incident of its own.
	next := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "r3", Base.Add(2*time.Minute), weft.SeverityHigh, 1))
	if next[0].IncidentID == id {
		t.Fatalf("a new alert joined resolved incident %d", id)
	}
	if inc := mustFindIncident(t, s, weft.DefaultTenantID, id, false); inc.Status != weft.IncidentStatusResolved || inc.AlertCount != 2 {
		t.Fatalf("the resolved incident is now %s with %d alerts", inc.Status, inc.AlertCount)
	}
}

// testManageMove: alerts a1 (devices 1, 2) and a2 (device 1) are one
// incident; a1 is moved to a new incident. From then on an alert on device
// 2 (only a1's) joins a1's new incident, and one on devices 1 and 2 does
// not merge the two — also after a restart.
func testManageMove(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	ctx := context.Background()
	s, reopen := open(t, newEngine(t))
	_, r := managers(t, s)
	a1 := correlatedAlert(weft.DefaultTenantID, "mv1", Base, weft.SeverityHigh, 1, 2)
	a2 := correlatedAlert(weft.DefaultTenantID, "mv2", Base.Add(5*time.Minute), weft.SeverityHigh, 1)
	res := mustStore(t, s, a1, a2)
	from := res[0].IncidentID
	if res[1].IncidentID != from {
		t.Fatalf("setup: incidents %d and %d, want one", from, res[1].IncidentID)
	}
	v := mustFindIncident(t, s, weft.DefaultTenantID, from, false).Version
	to, err := r.MoveAlerts(ctx, weft.DefaultTenantID, weft.MoveAlertsRequest{AlertIDs: []string{a1.ID}, Comment: "different actor", Reasons: []string{"sameAsset"}}, analyst)
	if err != nil {
		t.Fatal(err)
	}
	if to == from || to == 0 {
		t.Fatalf("moved to incident %d (from %d)", to, from)
	}
	moved := mustFindAlert(t, s, weft.DefaultTenantID, a1.ID)
	if moved.IncidentID != to || !slices.Equal(moved.CorrelationReasons, []string{"sameAsset"}) {
		t.Fatalf("moved alert: incident %d, reasons %q", moved.IncidentID, moved.CorrelationReasons)
	}
	src := mustFindIncident(t, s, weft.DefaultTenantID, from, false)
	dst := mustFindIncident(t, s, weft.DefaultTenantID, to, false)
	if src.AlertCount != 1 || dst.AlertCount != 1 || src.Version != v+1 || src.Status != weft.IncidentStatusActive {
		t.Fatalf("source %d alerts version %d (was %d) %s; target %d alerts", src.AlertCount, src.Version, v, src.Status, dst.AlertCount)
	}
	for _, id := range []int64{from, to} {
		acts := activityTypes(mustActivities(t, s, weft.DefaultTenantID, id))
		if !slices.Contains(acts, weft.ActivityAlertsMoved) && !slices.Contains(acts, weft.ActivityIncidentCreated) {
			t.Errorf("incident %d logs %v: the move is not on it", id, acts)
		}
	}
	if got := activityTypes(mustActivities(t, s, weft.DefaultTenantID, from)); !slices.Contains(got, weft.ActivityAlertsMoved) {
		t.Errorf("the source logs %v, want %s", got, weft.ActivityAlertsMoved)
	}
	// Refusals change nothing.
	_, err = r.MoveAlerts(ctx, weft.DefaultTenantID, weft.MoveAlertsRequest{AlertIDs: []string{a2.ID, "no-such-alert"}, IncidentID: to, Comment: "x"}, analyst)
	wantCode(t, err, weft.ENOTFOUND)
	_, err = r.MoveAlerts(ctx, weft.DefaultTenantID, weft.MoveAlertsRequest{AlertIDs: []string{a1.ID}, IncidentID: to, Comment: "x"}, analyst)
	wantCode(t, err, weft.EINVALID)
	if got := mustFindAlert(t, s, weft.DefaultTenantID, a2.ID).IncidentID; got != from {
		t.Fatalf("a refused move moved alert %s to %d", a2.ID, got)
	}

	check := func(s weft.Store, id string, at time.Duration) {
		t.Helper()
		b := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, id+"-dev2", Base.Add(at), weft.SeverityHigh, 2))
		if b[0].IncidentID != to {
			t.Fatalf("%s: an alert on a1's own device went to incident %d, want %d (where a1 was moved)", id, b[0].IncidentID, to)
		}
		both := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, id+"-both", Base.Add(at+time.Minute), weft.SeverityHigh, 1, 2))
		if both[0].IncidentID != from && both[0].IncidentID != to {
			t.Fatalf("%s: an alert on both devices went to incident %d, want %d or %d", id, both[0].IncidentID, from, to)
		}
		for _, inc := range []int64{from, to} {
			if got := mustFindIncident(t, s, weft.DefaultTenantID, inc, false); got.Status == weft.IncidentStatusRedirected {
				t.Fatalf("%s: incident %d was merged into %d: correlation undid the analyst's move", id, inc, got.RedirectIncidentID)
			}
		}
	}
	check(s, "live", 10*time.Minute)
	s = reopen(newEngine(t))
	check(s, "restarted", 20*time.Minute)
}

func testManageMerge(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	ctx := context.Background()
	s, reopen := open(t, newEngine(t))
	m, r := managers(t, s)
	x := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "g1", Base, weft.SeverityHigh, 1))[0].IncidentID
	y := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "g2", Base.Add(time.Minute), weft.SeverityHigh, 2))[0].IncidentID
	z := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "g3", Base.Add(2*time.Minute), weft.SeverityHigh, 3))[0].IncidentID
	if x == y || y == z {
		t.Fatalf("setup: incidents %d %d %d, want three", x, y, z)
	}
	// Blocked: different assignees.
	for id, who := range map[int64]string{y: "alice@contoso.com", z: "bob@contoso.com"} {
		if _, err := m.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{AssignedTo: ptr(who)}, analyst, 0); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.MergeIncidents(ctx, weft.DefaultTenantID, weft.MergeIncidentsRequest{IncidentIDs: []int64{x, y, z}, Comment: "one campaign"}, analyst)
	wantCode(t, err, weft.ECONFLICT)
	for _, id := range []int64{x, y, z} {
		if inc := mustFindIncident(t, s, weft.DefaultTenantID, id, false); inc.Status == weft.IncidentStatusRedirected || inc.AlertCount != 1 {
			t.Fatalf("a refused merge changed incident %d: %s, %d alerts", id, inc.Status, inc.AlertCount)
		}
	}
	// Unassigned and assigned merge; the target is the one asked for.
	target, err := r.MergeIncidents(ctx, weft.DefaultTenantID, weft.MergeIncidentsRequest{IncidentIDs: []int64{x, y}, TargetIncidentID: y, Comment: "one campaign"}, analyst)
	if err != nil {
		t.Fatal(err)
	}
	if target != y {
		t.Fatalf("merged into %d, want %d", target, y)
	}
	gone := mustFindIncident(t, s, weft.DefaultTenantID, x, false)
	kept := mustFindIncident(t, s, weft.DefaultTenantID, y, true)
	if gone.Status != weft.IncidentStatusRedirected || gone.RedirectIncidentID != y || kept.AlertCount != 2 || len(kept.Alerts) != 2 || kept.AssignedTo != "alice@contoso.com" {
		t.Fatalf("after the merge: source %s → %d; target %d alerts, assignee %q", gone.Status, gone.RedirectIncidentID, kept.AlertCount, kept.AssignedTo)
	}
	if !slices.Contains(activityTypes(mustActivities(t, s, weft.DefaultTenantID, y)), weft.ActivityIncidentMerged) ||
		!slices.Contains(activityTypes(mustActivities(t, s, weft.DefaultTenantID, x)), weft.ActivityIncidentRedirected) {
		t.Fatal("the merge is not on both logs")
	}
	// An alert on the merged incident's device joins the target, also
	// after a restart.
	if got := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "g4", Base.Add(3*time.Minute), weft.SeverityHigh, 1))[0].IncidentID; got != y {
		t.Fatalf("a later alert on device 1 went to %d, want %d", got, y)
	}
	s = reopen(newEngine(t))
	if got := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "g5", Base.Add(4*time.Minute), weft.SeverityHigh, 1))[0].IncidentID; got != y {
		t.Fatalf("after a restart, a later alert on device 1 went to %d, want %d", got, y)
	}
}

func testManageSplit(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	ctx := context.Background()
	s, _ := open(t, newEngine(t))
	_, r := managers(t, s)
	a1 := correlatedAlert(weft.DefaultTenantID, "s1", Base, weft.SeverityHigh, 1)
	a2 := correlatedAlert(weft.DefaultTenantID, "s2", Base.Add(time.Minute), weft.SeverityHigh, 1)
	a3 := correlatedAlert(weft.DefaultTenantID, "s3", Base.Add(2*time.Minute), weft.SeverityHigh, 1)
	id := mustStore(t, s, a1, a2, a3)[0].IncidentID
	_, err := r.SplitIncident(ctx, weft.DefaultTenantID, id, []string{a1.ID, a2.ID, a3.ID}, "all of them", analyst)
	wantCode(t, err, weft.EINVALID)
	n, err := r.SplitIncident(ctx, weft.DefaultTenantID, id, []string{a2.ID, a3.ID}, "second wave", analyst)
	if err != nil {
		t.Fatal(err)
	}
	if n == id || mustFindIncident(t, s, weft.DefaultTenantID, n, false).AlertCount != 2 || mustFindIncident(t, s, weft.DefaultTenantID, id, false).AlertCount != 1 {
		t.Fatalf("split into %d: counts wrong", n)
	}
	if !slices.Contains(activityTypes(mustActivities(t, s, weft.DefaultTenantID, id)), weft.ActivityIncidentSplit) {
		t.Fatal("the split is not on the source's log")
	}
}

// testManageConcurrent: two analysts change one incident with the same
// If-Match at once, many times over: each time exactly one wins and the
// other gets EPRECONDITION.
func testManageConcurrent(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	ctx := context.Background()
	s, _ := open(t, newEngine(t))
	m, _ := managers(t, s)
	id := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "k1", Base, weft.SeverityHigh, 1))[0].IncidentID
	for round := range 20 {
		v := mustFindIncident(t, s, weft.DefaultTenantID, id, false).Version
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Values new in every round: a change that changes
				// nothing would not take a version.
				tags := []string{fmt.Sprintf("round-%d-%c", round, 'a'+i)}
				_, errs[i] = m.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{CustomTags: &tags}, analyst, v)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else if weft.ErrorCode(err) != weft.EPRECONDITION {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d updates won, want exactly 1 (%v)", round, won, errs)
		}
		if got := mustFindIncident(t, s, weft.DefaultTenantID, id, false).Version; got != v+1 {
			t.Fatalf("round %d: version %d, want %d", round, got, v+1)
		}
	}
}

package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// TestManagePropertyConcurrent runs random manage and restructure operations
// — updates with current and stale versions, comments, alert updates, moves,
// merges, splits — from several analysts at once, while new alerts keep
// arriving, and then checks the invariants that must hold whatever the
// interleaving:
//
//   - no alert is lost, and every alert is in exactly one incident, which is
//     not redirected and whose alert count says so;
//   - a redirected incident holds no alerts and leads, through its
//     redirects, to one that is not redirected;
//   - the logs are complete: every comment an operation reported stored is
//     on the log, once, by its author; each incident's status and assignee
//     are what its incidentUpdated entries, replayed in order, end with;
//   - no operation fails for any reason but a rule (EINVALID, ENOTFOUND,
//     ECONFLICT, EPRECONDITION): nothing internal;
//   - all of it still holds after the store is closed and opened again, and
//     the correlator rebuilt from it places a new alert.
func TestManagePropertyConcurrent(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { runManageProperty(t, seed) })
	}
}

type propOutcome struct {
	comments map[int64]int // comments stored, by incident
	ops      map[string]int
	ingested int
}

func runManageProperty(t *testing.T, seed uint64) {
	ctx := context.Background()
	path := t.TempDir() + "/weft.db"
	opts := sqlite.Options{Now: func() time.Time { return manageNow }, Correlator: newEngine(t)}
	s, err := sqlite.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	seeded := 0
	for i := range 24 {
		storeOne(t, s, onDevices(t, fmt.Sprintf("seed-%d", i), i, fmt.Sprintf("ws-%d.contoso.com", i%8)))
		seeded++
	}

	const workers, steps = 4, 50
	outcomes := make([]propOutcome, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := &outcomes[w]
			out.comments, out.ops = map[int64]int{}, map[string]int{}
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			actor := fmt.Sprintf("analyst-%d@contoso.com", w)
			for step := range steps {
				op, err := randomOp(ctx, s, rng, actor, w, step, out)
				if err != nil {
					switch weft.ErrorCode(err) {
					case weft.EINVALID, weft.ENOTFOUND, weft.ECONFLICT, weft.EPRECONDITION:
						out.ops[op+" refused"]++
					default:
						errs <- fmt.Errorf("worker %d step %d: %s: %w", w, step, op, err)
						return
					}
				} else {
					out.ops[op]++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := map[string]int{}
	ingested := 0
	for _, o := range outcomes {
		for k, v := range o.ops {
			total[k] += v
		}
		ingested += o.ingested
	}
	t.Logf("operations: %v", total)
	for _, op := range []string{"update", "comment", "move", "merge", "split"} {
		if total[op] == 0 {
			t.Errorf("no %s succeeded: the test did not exercise it (%v)", op, total)
		}
	}
	checkManageInvariants(t, s, seeded+ingested, outcomes)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	opts.Correlator = newEngine(t)
	s = mustOpen(t, path, opts)
	checkManageInvariants(t, s, seeded+ingested, outcomes)
	if id := storeOne(t, s, onDevices(t, "after-reopen", 59, "ws-1.contoso.com")); id == 0 {
		t.Fatal("no incident for an alert after reopening")
	}
	checkManageInvariants(t, s, seeded+ingested+1, outcomes)
}

// randomOp makes one random operation as actor and says which.
func randomOp(ctx context.Context, s *sqlite.Store, rng *rand.Rand, actor string, w, step int, out *propOutcome) (string, error) {
	const tenant = weft.DefaultTenantID
	page, err := s.ListIncidents(ctx, weft.IncidentQuery{TenantID: tenant, Top: weft.MaxPageSize,
		Status: []weft.IncidentStatus{weft.IncidentStatusActive, weft.IncidentStatusInProgress, weft.IncidentStatusResolved}})
	if err != nil {
		return "list", err
	}
	incs := page.Incidents
	if len(incs) == 0 {
		return "list", fmt.Errorf("no incidents")
	}
	pick := func() *weft.Incident { return incs[rng.IntN(len(incs))] }
	alertsOf := func(id int64) ([]string, error) {
		p, err := s.ListAlerts(ctx, weft.AlertQuery{TenantID: tenant, IncidentID: id, Top: weft.MaxPageSize})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(p.Alerts))
		for i, a := range p.Alerts {
			ids[i] = a.ID
		}
		return ids, nil
	}
	switch k := rng.IntN(10); k {
	case 0:
		a := &weft.Alert{Source: "microsoftDefenderForEndpoint", ProviderAlertID: fmt.Sprintf("w%d-%d", w, step),
			Title: "alert", Severity: weft.SeverityLow, DetectorID: "detector-w",
			FirstActivityDateTime: manageNow.Add(-time.Duration(rng.IntN(60)) * time.Minute),
			Evidence:              []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: fmt.Sprintf("ws-%d.contoso.com", rng.IntN(10))}}}
		if _, err := a.Normalize(manageNow); err != nil {
			return "ingest", err
		}
		if _, err := s.StoreAlerts(ctx, []*weft.Alert{a}); err != nil {
			return "ingest", err
		}
		out.ingested++
		return "ingest", nil
	case 1, 2:
		inc := pick()
		var p weft.IncidentPatch
		switch rng.IntN(4) {
		case 0:
			p.Status = ptr([]weft.IncidentStatus{weft.IncidentStatusActive, weft.IncidentStatusInProgress}[rng.IntN(2)])
		case 1:
			p.AssignedTo = ptr([]string{"", actor}[rng.IntN(2)])
		case 2:
			p.CustomTags = &[]string{fmt.Sprint("tag-", rng.IntN(3))}
		case 3:
			if rng.IntN(4) == 0 { // resolving is rare, so that most stay open
				p.Status = ptr(weft.IncidentStatusResolved)
			} else {
				p.Classification = ptr(weft.ClassificationTruePositive)
			}
		}
		ifMatch := int64(0)
		if rng.IntN(2) == 0 {
			ifMatch = inc.Version // current when read; maybe stale by now
		}
		_, err := s.UpdateIncident(ctx, tenant, inc.ID, p, actor, ifMatch)
		return "update", err
	case 3:
		inc := pick()
		ifMatch := int64(0)
		if rng.IntN(2) == 0 {
			ifMatch = inc.Version
		}
		_, _, err := s.AddIncidentComment(ctx, tenant, inc.ID, fmt.Sprintf("note %d/%d", w, step), actor, ifMatch)
		if err == nil {
			out.comments[inc.ID]++
		}
		return "comment", err
	case 4:
		ids, err := alertsOf(pick().ID)
		if err != nil || len(ids) == 0 {
			return "alert update", err
		}
		_, err = s.UpdateAlert(ctx, tenant, ids[rng.IntN(len(ids))], weft.AlertPatch{Status: ptr(weft.AlertStatusInProgress)}, actor)
		return "alert update", err
	case 5, 6:
		from := pick()
		ids, err := alertsOf(from.ID)
		if err != nil || len(ids) == 0 {
			return "move", err
		}
		req := weft.MoveAlertsRequest{AlertIDs: ids[:1+rng.IntN(len(ids))], Comment: "stray", Reasons: []string{"sameAsset"}}
		if rng.IntN(3) > 0 {
			req.IncidentID = pick().ID
		}
		_, err = s.MoveAlerts(ctx, tenant, req, actor)
		return "move", err
	case 7, 8:
		a, b := pick(), pick()
		_, err := s.MergeIncidents(ctx, tenant, weft.MergeIncidentsRequest{IncidentIDs: []int64{a.ID, b.ID}, Comment: "same attack"}, actor)
		return "merge", err
	default:
		inc := pick()
		ids, err := alertsOf(inc.ID)
		if err != nil || len(ids) == 0 {
			return "split", err
		}
		_, err = s.SplitIncident(ctx, tenant, inc.ID, ids[:1+rng.IntN(len(ids))], "not the same attack", actor)
		return "split", err
	}
}

func checkManageInvariants(t *testing.T, s *sqlite.Store, wantAlerts int, outcomes []propOutcome) {
	t.Helper()
	ctx := context.Background()
	const tenant = weft.DefaultTenantID
	all, err := s.ListAlerts(ctx, weft.AlertQuery{TenantID: tenant, Top: weft.MaxPageSize, Count: true})
	if err != nil {
		t.Fatal(err)
	}
	if all.More || int(all.Count) != wantAlerts || len(all.Alerts) != wantAlerts {
		t.Fatalf("%d alerts stored (%d listed), want %d", all.Count, len(all.Alerts), wantAlerts)
	}
	page, err := s.ListIncidents(ctx, weft.IncidentQuery{TenantID: tenant, Top: weft.MaxPageSize, Count: true})
	if err != nil {
		t.Fatal(err)
	}
	if page.More {
		t.Fatalf("more than %d incidents", weft.MaxPageSize)
	}
	byID := map[int64]*weft.Incident{}
	for _, inc := range page.Incidents {
		byID[inc.ID] = inc
	}
	perIncident := map[int64]int{}
	for _, a := range all.Alerts {
		inc := byID[a.IncidentID]
		switch {
		case inc == nil:
			t.Errorf("alert %s is in incident %d, which does not exist", a.ID, a.IncidentID)
			continue
		case inc.Status == weft.IncidentStatusRedirected:
			t.Errorf("alert %s is in incident %d, which is redirected to %d", a.ID, inc.ID, inc.RedirectIncidentID)
		}
		perIncident[a.IncidentID]++
	}
	byAuthor := map[string]int{}
	for _, inc := range page.Incidents {
		// A redirected incident keeps its count as a record of what it
		// was; the alert loop above checks that it holds none.
		if inc.Status != weft.IncidentStatusRedirected && inc.AlertCount != perIncident[inc.ID] {
			t.Errorf("incident %d: alert count %d, but %d alerts are in it", inc.ID, inc.AlertCount, perIncident[inc.ID])
		}
		full, err := s.FindIncident(ctx, tenant, inc.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Alerts) != perIncident[inc.ID] {
			t.Errorf("incident %d expands to %d alerts, want %d", inc.ID, len(full.Alerts), perIncident[inc.ID])
		}
		if inc.Status == weft.IncidentStatusRedirected {
			seen := map[int64]bool{inc.ID: true}
			to := inc
			for to != nil && to.Status == weft.IncidentStatusRedirected {
				next := byID[to.RedirectIncidentID]
				if next == nil || seen[next.ID] {
					t.Errorf("incident %d: redirects lead to %d, which is missing or a loop", inc.ID, to.RedirectIncidentID)
					break
				}
				seen[next.ID] = true
				to = next
			}
		}
		acts, err := s.ListActivities(ctx, tenant, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		status, assignee, comments := string(weft.IncidentStatusActive), "", 0
		for _, a := range acts {
			switch a.Type {
			case weft.ActivityCommentAdded:
				comments++
				byAuthor[a.Actor]++
			case weft.ActivityIncidentUpdated:
				var after map[string]any
				if err := json.Unmarshal([]byte(a.After), &after); err != nil {
					t.Fatalf("incident %d: activity %d: after %q: %v", inc.ID, a.ID, a.After, err)
				}
				if v, ok := after["status"].(string); ok {
					status = v
				}
				if v, ok := after["assignedTo"].(string); ok {
					assignee = v
				}
			}
		}
		if len(inc.Comments) != comments {
			t.Errorf("incident %d: %d comments, %d commentAdded entries", inc.ID, len(inc.Comments), comments)
		}
		if inc.Status != weft.IncidentStatusRedirected && (string(inc.Status) != status || inc.AssignedTo != assignee) {
			t.Errorf("incident %d: status %s assigned to %q, but its log ends with %s and %q", inc.ID, inc.Status, inc.AssignedTo, status, assignee)
		}
	}
	for w, o := range outcomes {
		actor := fmt.Sprintf("analyst-%d@contoso.com", w)
		want := 0
		for _, n := range o.comments {
			want += n
		}
		if byAuthor[actor] != want {
			t.Errorf("%s stored %d comments; the logs hold %d", actor, want, byAuthor[actor])
		}
		for id, n := range o.comments {
			if inc := byID[id]; inc == nil || len(inc.Comments) < n {
				t.Errorf("%s stored %d comments on incident %d, which has %v", actor, n, id, inc)
			}
		}
	}
}

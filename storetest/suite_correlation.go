package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// CorrelationOpener opens a new, empty store that places alerts with c, and
// closes it when t ends. reopen closes the store and opens the same database
// again with another Correlator, as a restart would.
type CorrelationOpener func(t *testing.T, c weft.Correlator) (s weft.Store, reopen func(c weft.Correlator) weft.Store)

// RunCorrelationTests runs the conformance suite of a store that places
// alerts with a Correlator: joins, merges, a restart, a failed batch,
// tenants, and the invariant that every alert is in exactly one incident that
// is not redirected. newEngine must return the real engine with its default
// policy (correlate.New(correlate.DefaultConfig())): the suite expects its
// decisions. (storetest cannot import correlate itself, whose tests import
// storetest.)
func RunCorrelationTests(t *testing.T, newEngine func() weft.Correlator, open CorrelationOpener) {
	e := func(*testing.T) weft.Correlator { return newEngine() }
	t.Run("Join", func(t *testing.T) { testCorrelationJoin(t, e, open) })
	t.Run("Merge", func(t *testing.T) { testCorrelationMerge(t, e, open) })
	t.Run("Restart", func(t *testing.T) { testCorrelationRestart(t, e, open) })
	t.Run("TenantsApart", func(t *testing.T) { testCorrelationTenants(t, e, open) })
	t.Run("OneOpenIncidentPerAlert", func(t *testing.T) { testCorrelationStream(t, e, open) })
}

// correlatedAlert returns a normalized endpoint alert of a tenant at time
// at, with one device evidence record per device.
func correlatedAlert(tenant, id string, at time.Time, sev weft.Severity, devices ...int) *weft.Alert {
	a := &weft.Alert{
		TenantID: tenant, Source: "microsoftDefenderForEndpoint", ServiceSource: "microsoftDefenderForEndpoint",
		DetectionSource: "antivirus", ProductName: "Microsoft Defender for Endpoint",
		ProviderAlertID: id, Title: "Suspicious activity " + id, Category: "Execution",
		Severity: sev, Status: weft.AlertStatusNew, DetectorID: "detector-" + id,
		FirstActivityDateTime: at, LastActivityDateTime: at.Add(time.Minute),
	}
	for _, d := range devices {
		a.Evidence = append(a.Evidence, device(d, at, "compromised"))
	}
	if _, err := a.Normalize(at.Add(2 * time.Minute)); err != nil {
		panic(fmt.Sprintf("storetest: alert %s: %v", id, err))
	}
	return a
}

func activityTypes(acts []*weft.Activity) []string {
	var types []string
	for _, a := range acts {
		types = append(types, a.Type)
	}
	return types
}

func testCorrelationJoin(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	t.Run("OK", func(t *testing.T) {
		s, _ := open(t, newEngine(t))
		a1 := correlatedAlert(weft.DefaultTenantID, "j1", Base, weft.SeverityMedium, 1)
		a2 := correlatedAlert(weft.DefaultTenantID, "j2", Base.Add(time.Hour), weft.SeverityHigh, 1)
		r1 := mustStore(t, s, a1)
		r2 := mustStore(t, s, a2)
		if r1[0].IncidentID != r2[0].IncidentID {
			t.Fatalf("got incidents %d and %d, want one", r1[0].IncidentID, r2[0].IncidentID)
		}
		inc := mustFindIncident(t, s, weft.DefaultTenantID, r1[0].IncidentID, false)
		if inc.AlertCount != 2 || inc.Severity != weft.SeverityHigh || inc.Version < 2 {
			t.Errorf("got alertCount %d, severity %s, version %d; want 2, high, ≥ 2", inc.AlertCount, inc.Severity, inc.Version)
		}
		if !inc.FirstActivityDateTime.Equal(a1.FirstActivityDateTime) || !inc.LastActivityDateTime.Equal(a2.LastActivityDateTime) {
			t.Errorf("got activity %v–%v, want %v–%v", inc.FirstActivityDateTime, inc.LastActivityDateTime,
				a1.FirstActivityDateTime, a2.LastActivityDateTime)
		}
		got := mustFindAlert(t, s, weft.DefaultTenantID, a2.ID)
		if !slices.Contains(got.CorrelationReasons, "sameAsset") || got.Correlation == "" {
			t.Errorf("got reasons %q, correlation %q; want sameAsset and an explanation", got.CorrelationReasons, got.Correlation)
		}
		page := mustListAlerts(t, s, weft.AlertQuery{TenantID: weft.DefaultTenantID, IncidentID: inc.ID})
		if len(page.Alerts) != 2 || !slices.Contains(page.Alerts[0].CorrelationReasons, "sameAsset") {
			t.Errorf("got %d alerts, the newest with reasons %q; want 2, sameAsset", len(page.Alerts), page.Alerts[0].CorrelationReasons)
		}
		acts := mustActivities(t, s, weft.DefaultTenantID, inc.ID)
		if want := []string{weft.ActivityIncidentCreated, weft.ActivityAlertAdded}; !slices.Equal(activityTypes(acts), want) {
			t.Fatalf("got activities %v, want %v", activityTypes(acts), want)
		}
		if acts[1].AlertID != a2.ID || acts[1].Message != got.Correlation {
			t.Errorf("got alertAdded for %q saying %q, want %q saying %q", acts[1].AlertID, acts[1].Message, a2.ID, got.Correlation)
		}
	})
	t.Run("OKOneBatch", func(t *testing.T) {
		s, _ := open(t, newEngine(t))
		res := mustStore(t, s,
			correlatedAlert(weft.DefaultTenantID, "b1", Base, weft.SeverityMedium, 1),
			correlatedAlert(weft.DefaultTenantID, "b2", Base.Add(time.Hour), weft.SeverityHigh, 1))
		if res[0].IncidentID != res[1].IncidentID {
			t.Fatalf("got incidents %d and %d, want one", res[0].IncidentID, res[1].IncidentID)
		}
		if inc := mustFindIncident(t, s, weft.DefaultTenantID, res[0].IncidentID, false); inc.AlertCount != 2 {
			t.Errorf("got alertCount %d, want 2", inc.AlertCount)
		}
	})
}

func testCorrelationMerge(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	for _, oneBatch := range []bool{false, true} {
		name := "OK"
		if oneBatch {
			name = "OKOneBatch"
		}
		t.Run(name, func(t *testing.T) {
			s, _ := open(t, newEngine(t))
			alerts := []*weft.Alert{
				correlatedAlert(weft.DefaultTenantID, "m1", Base, weft.SeverityMedium, 1),
				correlatedAlert(weft.DefaultTenantID, "m2", Base.Add(10*time.Minute), weft.SeverityMedium, 2),
				correlatedAlert(weft.DefaultTenantID, "m3", Base.Add(20*time.Minute), weft.SeverityHigh, 1, 2),
			}
			var res []weft.StoreResult
			if oneBatch {
				res = mustStore(t, s, alerts...)
			} else {
				for _, a := range alerts {
					res = append(res, mustStore(t, s, a)...)
				}
			}
			target := res[2].IncidentID
			for i, r := range res {
				if r.IncidentID != target && oneBatch {
					t.Errorf("alert %d: got incident %d in the result, want %d", i, r.IncidentID, target)
				}
				if got := mustFindAlert(t, s, weft.DefaultTenantID, r.AlertID).IncidentID; got != target {
					t.Errorf("alert %d: got incident %d, want %d", i, got, target)
				}
			}
			inc := mustFindIncident(t, s, weft.DefaultTenantID, target, true)
			if inc.AlertCount != 3 || len(inc.Alerts) != 3 || inc.Status != weft.IncidentStatusActive {
				t.Errorf("got alertCount %d, %d alerts, status %s; want 3, 3, active", inc.AlertCount, len(inc.Alerts), inc.Status)
			}
			page := mustListIncidents(t, s, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Status: []weft.IncidentStatus{weft.IncidentStatusRedirected}})
			if len(page.Incidents) != 1 {
				t.Fatalf("got %d redirected incidents, want 1", len(page.Incidents))
			}
			gone := page.Incidents[0]
			if gone.RedirectIncidentID != target {
				t.Errorf("got redirectIncidentId %d, want %d", gone.RedirectIncidentID, target)
			}
			if alerts := mustListAlerts(t, s, weft.AlertQuery{TenantID: weft.DefaultTenantID, IncidentID: gone.ID}); len(alerts.Alerts) != 0 {
				t.Errorf("got %d alerts left in the redirected incident, want 0", len(alerts.Alerts))
			}
			if got := activityTypes(mustActivities(t, s, weft.DefaultTenantID, target)); !slices.Contains(got, weft.ActivityIncidentMerged) {
				t.Errorf("got target activities %v, want %s", got, weft.ActivityIncidentMerged)
			}
			if got := activityTypes(mustActivities(t, s, weft.DefaultTenantID, gone.ID)); !slices.Contains(got, weft.ActivityIncidentRedirected) {
				t.Errorf("got redirected activities %v, want %s", got, weft.ActivityIncidentRedirected)
			}
		})
	}
}

func testCorrelationRestart(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	t.Run("OK", func(t *testing.T) {
		s, reopen := open(t, newEngine(t))
		a1 := correlatedAlert(weft.DefaultTenantID, "r1", Base, weft.SeverityMedium, 7)
		r1 := mustStore(t, s, a1)
		// An unrelated, later alert, so that the newest event time is not a1's.
		mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "r0", Base.Add(2*time.Hour), weft.SeverityMedium, 8))
		s = reopen(newEngine(t))
		r2 := mustStore(t, s, correlatedAlert(weft.DefaultTenantID, "r2", Base.Add(3*time.Hour), weft.SeverityHigh, 7))
		if r2[0].IncidentID != r1[0].IncidentID {
			t.Fatalf("got incident %d after the restart, want %d (of the alert before it)", r2[0].IncidentID, r1[0].IncidentID)
		}
		if inc := mustFindIncident(t, s, weft.DefaultTenantID, r1[0].IncidentID, false); inc.AlertCount != 2 {
			t.Errorf("got alertCount %d, want 2", inc.AlertCount)
		}
	})
	// A batch that fails after an alert was placed leaves the Correlator
	// with a placement that was not stored; the next batch must not see it.
	t.Run("OKAfterFailedBatch", func(t *testing.T) {
		s, _ := open(t, newEngine(t))
		bad := correlatedAlert(weft.DefaultTenantID, "f0", Base, weft.SeverityHigh, 4)
		bad.Severity = "extreme" // not normalized
		// The bad alert comes late enough in the batch that the alerts
		// before it are placed before it is found out (a store may check a
		// batch in chunks).
		batch := []*weft.Alert{correlatedAlert(weft.DefaultTenantID, "f1", Base, weft.SeverityHigh, 9)}
		for j := range 100 {
			batch = append(batch, correlatedAlert(weft.DefaultTenantID, fmt.Sprintf("f1-%d", j), Base, weft.SeverityHigh, 100+j))
		}
		_, err := s.StoreAlerts(context.Background(), append(batch, bad))
		wantCode(t, err, weft.EINVALID)
		a2 := correlatedAlert(weft.DefaultTenantID, "f2", Base.Add(time.Hour), weft.SeverityHigh, 9)
		res := mustStore(t, s, a2)
		inc := mustFindIncident(t, s, weft.DefaultTenantID, res[0].IncidentID, false)
		if inc.AlertCount != 1 {
			t.Errorf("got alertCount %d, want 1 (the first alert was not stored)", inc.AlertCount)
		}
	})
}

func testCorrelationTenants(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	t.Run("OK", func(t *testing.T) {
		s, _ := open(t, newEngine(t))
		a1 := correlatedAlert(weft.DefaultTenantID, "t1", Base, weft.SeverityHigh, 1)
		a2 := InTenant(correlatedAlert(weft.DefaultTenantID, "t2", Base.Add(time.Minute), weft.SeverityHigh, 1), "other")
		res := mustStore(t, s, a1, a2)
		if res[0].IncidentID == res[1].IncidentID {
			t.Fatalf("got one incident %d for two tenants", res[0].IncidentID)
		}
		inc := mustFindIncident(t, s, "other", res[1].IncidentID, false)
		if inc.AlertCount != 1 {
			t.Errorf("got alertCount %d, want 1", inc.AlertCount)
		}
		if got := mustFindAlert(t, s, "other", a2.ID); len(got.CorrelationReasons) != 0 {
			t.Errorf("got reasons %q, want none", got.CorrelationReasons)
		}
	})
}

// testCorrelationStream stores a stream of realistic alerts (NewAlert, which
// share devices, users and files) in batches of random sizes, with repeats,
// and checks that every alert is in exactly one incident that is not
// redirected, and that every such incident counts its alerts.
func testCorrelationStream(t *testing.T, newEngine func(*testing.T) weft.Correlator, open CorrelationOpener) {
	t.Run("OK", func(t *testing.T) {
		s, reopen := open(t, newEngine(t))
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 600
		ids := map[string]bool{}
		for i := 0; i < n; {
			size := 1 + rng.IntN(80)
			var batch []*weft.Alert
			for j := i; j < min(i+size, n); j++ {
				batch = append(batch, NewAlert(j))
				ids[batch[len(batch)-1].ID] = true
			}
			if i > 0 && rng.IntN(3) == 0 {
				batch = append(batch, NewAlert(rng.IntN(i))) // a repeat
			}
			rng.Shuffle(len(batch), func(x, y int) { batch[x], batch[y] = batch[y], batch[x] })
			mustStore(t, s, batch...)
			i += size
			if i > n/2 && i-size <= n/2 {
				s = reopen(newEngine(t))
			}
		}
		ctx := context.Background()
		var open []*weft.Incident
		for skip := 0; ; skip += weft.MaxPageSize {
			page, err := s.ListIncidents(ctx, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Top: weft.MaxPageSize, Skip: skip})
			if err != nil {
				t.Fatal(err)
			}
			for _, inc := range page.Incidents {
				if inc.Status == weft.IncidentStatusRedirected {
					if inc.RedirectIncidentID == 0 {
						t.Errorf("incident %d: redirected without redirectIncidentId", inc.ID)
					}
					continue
				}
				open = append(open, inc)
			}
			if !page.More {
				break
			}
		}
		seen := map[string]int64{}
		for _, inc := range open {
			page := mustListAlerts(t, s, weft.AlertQuery{TenantID: weft.DefaultTenantID, IncidentID: inc.ID, Top: weft.MaxPageSize})
			if len(page.Alerts) != inc.AlertCount {
				t.Errorf("incident %d: got %d alerts, alertCount %d", inc.ID, len(page.Alerts), inc.AlertCount)
			}
			for _, a := range page.Alerts {
				if other, ok := seen[a.ID]; ok {
					t.Errorf("alert %s: in incidents %d and %d", a.ID, other, inc.ID)
				}
				seen[a.ID] = inc.ID
			}
		}
		if len(seen) != len(ids) {
			t.Errorf("got %d alerts in open incidents, want %d", len(seen), len(ids))
		}
		if len(open) >= len(ids) {
			t.Errorf("got %d incidents for %d alerts, want fewer (they share entities)", len(open), len(ids))
		}
	})
}

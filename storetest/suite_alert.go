package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func testStoreAlerts(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		want := NewRichAlert()
		res := mustStore(t, s, NewRichAlert())
		if res[0].Outcome != weft.OutcomeStored || res[0].AlertID != want.ID || res[0].IncidentID == 0 {
			t.Fatalf("got %+v, want stored %s with an incident", res[0], want.ID)
		}
		want.IncidentID = res[0].IncidentID
		equalAlert(t, mustFindAlert(t, s, want.TenantID, want.ID), want)
		p := mustListAlerts(t, s, weft.AlertQuery{TenantID: want.TenantID})
		if len(p.Alerts) != 1 {
			t.Fatalf("ListAlerts: got %d alerts, want 1", len(p.Alerts))
		}
		equalAlert(t, p.Alerts[0], withoutRaw(want))
	})

	t.Run("RoundTripGenerated", func(t *testing.T) {
		s := open(t)
		var batch []*weft.Alert
		for i := range 30 {
			batch = append(batch, NewAlert(i))
		}
		res := mustStore(t, s, batch...)
		for i, r := range res {
			want := NewAlert(i)
			want.IncidentID = r.IncidentID
			equalAlert(t, mustFindAlert(t, s, want.TenantID, want.ID), want)
		}
	})

	t.Run("TimesInUTC", func(t *testing.T) {
		s := open(t)
		a := NewAlert(1)
		cet := time.FixedZone("CET", 3600)
		local := a.Evidence[0].CreatedDateTime.In(cet)
		a.Evidence[0].CreatedDateTime = &local
		a.Comments = []weft.Comment{{Comment: "c", CreatedByDisplayName: "x", CreatedDateTime: local}}
		mustStore(t, s, a)
		got := mustFindAlert(t, s, a.TenantID, a.ID)
		for name, tm := range map[string]time.Time{
			"evidence createdDateTime": *got.Evidence[0].CreatedDateTime,
			"comment createdDateTime":  got.Comments[0].CreatedDateTime,
		} {
			if !tm.Equal(local) || tm.Location() != time.UTC {
				t.Errorf("%s: got %v, want %v in UTC", name, tm, local.UTC())
			}
		}
	})

	t.Run("EmptyBatch", func(t *testing.T) {
		s := open(t)
		res, err := s.StoreAlerts(ctx, nil)
		if err != nil || len(res) != 0 {
			t.Fatalf("got %v, %v; want no results and no error", res, err)
		}
	})

	t.Run("ErrInvalidNothingStored", func(t *testing.T) {
		for name, spoil := range map[string]func(a *weft.Alert){
			"NoID":        func(a *weft.Alert) { a.ID = "" },
			"WrongID":     func(a *weft.Alert) { a.ID = "wa" + a.ID[2:len(a.ID)-1] + "x" },
			"NoTimes":     func(a *weft.Alert) { a.CreatedDateTime = time.Time{} },
			"BadSeverity": func(a *weft.Alert) { a.Severity = "catastrophic" },
		} {
			t.Run(name, func(t *testing.T) {
				s := open(t)
				bad := NewAlert(2)
				spoil(bad)
				_, err := s.StoreAlerts(ctx, []*weft.Alert{NewAlert(1), bad, NewAlert(3)})
				wantCode(t, err, weft.EINVALID)
				if p := mustListAlerts(t, s, weft.AlertQuery{TenantID: weft.DefaultTenantID, Count: true}); p.Count != 0 {
					t.Fatalf("got %d alerts stored, want 0", p.Count)
				}
			})
		}
	})

	t.Run("ErrCanceledNothingStored", func(t *testing.T) {
		s := open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		var batch []*weft.Alert
		for i := range 200 {
			batch = append(batch, NewAlert(i))
		}
		if _, err := s.StoreAlerts(cctx, batch); !isCanceled(err) {
			t.Fatalf("got error %v, want context.Canceled", err)
		}
		p := mustListAlerts(t, s, weft.AlertQuery{TenantID: weft.DefaultTenantID, Count: true})
		ip := mustListIncidents(t, s, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Count: true})
		if p.Count != 0 || ip.Count != 0 {
			t.Fatalf("got %d alerts and %d incidents stored, want none", p.Count, ip.Count)
		}
	})

	t.Run("DuplicatesInBatch", func(t *testing.T) {
		s := open(t)
		newer, older := NewAlert(5), NewAlert(5)
		newer.Title = "newer"
		nt := newer.ProviderLastUpdateDateTime.Add(time.Minute)
		newer.ProviderLastUpdateDateTime = &nt
		older.Title = "older"
		ot := older.ProviderLastUpdateDateTime.Add(-time.Minute)
		older.ProviderLastUpdateDateTime = &ot
		res := mustStore(t, s, NewAlert(5), NewAlert(5), newer, older, NewAlert(6))
		want := []weft.StoreOutcome{weft.OutcomeStored, weft.OutcomeDuplicate, weft.OutcomeUpdated, weft.OutcomeStale, weft.OutcomeStored}
		for i, r := range res {
			if r.Outcome != want[i] {
				t.Errorf("result %d: got %s, want %s", i, r.Outcome, want[i])
			}
		}
		for i := 1; i < 4; i++ {
			if res[i].IncidentID != res[0].IncidentID || res[i].AlertID != res[0].AlertID {
				t.Errorf("result %d: got %+v, want alert %s in incident %d", i, res[i], res[0].AlertID, res[0].IncidentID)
			}
		}
		if got := mustFindAlert(t, s, newer.TenantID, newer.ID); got.Title != "newer" {
			t.Errorf("got title %q, want %q", got.Title, "newer")
		}
		p := mustListAlerts(t, s, weft.AlertQuery{TenantID: weft.DefaultTenantID, Count: true})
		ip := mustListIncidents(t, s, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Count: true})
		if p.Count != 2 || ip.Count != 2 {
			t.Fatalf("got %d alerts and %d incidents, want 2 and 2", p.Count, ip.Count)
		}
	})
}

// testOutcomes stores a first version of an alert, then a repeat, and checks
// the outcome of the repeat and what is stored afterwards.
func testOutcomes(t *testing.T, open func(t *testing.T) weft.Store) {
	ver := func(a *weft.Alert, d time.Duration) *weft.Alert {
		v := Base.Add(time.Hour + d)
		a.ProviderLastUpdateDateTime = &v
		return a
	}
	noVer := func(a *weft.Alert) *weft.Alert { a.ProviderLastUpdateDateTime = nil; return a }
	retitle := func(a *weft.Alert) *weft.Alert { a.Title = "Changed title"; return a }
	reingest := func(a *weft.Alert) *weft.Alert { // the same content, ingested a day later
		a.CreatedDateTime = a.CreatedDateTime.Add(24 * time.Hour)
		a.LastUpdateDateTime = a.CreatedDateTime
		a.Raw = []byte(`{"sent":"again"}`)
		return a
	}
	for _, tc := range []struct {
		name          string
		first, repeat *weft.Alert
		want          weft.StoreOutcome
	}{
		{"DuplicateSameContent", ver(NewAlert(1), 0), ver(NewAlert(1), 0), weft.OutcomeDuplicate},
		{"DuplicateIngestTimesAndRawDiffer", ver(NewAlert(1), 0), reingest(ver(NewAlert(1), 0)), weft.OutcomeDuplicate},
		{"DuplicateSameVersionOtherContent", ver(NewAlert(1), 0), retitle(ver(NewAlert(1), 0)), weft.OutcomeDuplicate},
		{"UpdatedNewerVersion", ver(NewAlert(1), 0), retitle(ver(NewAlert(1), time.Nanosecond)), weft.OutcomeUpdated},
		{"StaleOlderVersion", ver(NewAlert(1), 0), retitle(ver(NewAlert(1), -time.Second)), weft.OutcomeStale},
		{"DuplicateNoVersion", noVer(NewAlert(1)), noVer(NewAlert(1)), weft.OutcomeDuplicate},
		{"UpdatedNoVersionOtherContent", noVer(NewAlert(1)), retitle(noVer(NewAlert(1))), weft.OutcomeUpdated},
		{"UpdatedGainedVersion", noVer(NewAlert(1)), retitle(ver(NewAlert(1), 0)), weft.OutcomeUpdated},
		{"StaleLostVersion", ver(NewAlert(1), 0), retitle(noVer(NewAlert(1))), weft.OutcomeStale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			first := mustStore(t, s, tc.first)[0]
			res := mustStore(t, s, tc.repeat)[0]
			if res.Outcome != tc.want || res.AlertID != tc.first.ID || res.IncidentID != first.IncidentID {
				t.Fatalf("got %+v, want %s of %s in incident %d", res, tc.want, tc.first.ID, first.IncidentID)
			}
			want := tc.first
			if tc.want == weft.OutcomeUpdated {
				want = tc.repeat
				want.CreatedDateTime = tc.first.CreatedDateTime // an update keeps the creation time
			}
			want.IncidentID = first.IncidentID
			equalAlert(t, mustFindAlert(t, s, want.TenantID, want.ID), want)
			if p := mustListAlerts(t, s, weft.AlertQuery{TenantID: want.TenantID, Count: true}); p.Count != 1 {
				t.Fatalf("got %d alerts, want 1", p.Count)
			}
		})
	}
}

func testFindAlert(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	t.Run("ErrNotFound", func(t *testing.T) {
		s := open(t)
		mustStore(t, s, NewAlert(1))
		_, err := s.FindAlert(ctx, weft.DefaultTenantID, NewAlert(2).ID)
		wantCode(t, err, weft.ENOTFOUND)
		_, err = s.FindAlert(ctx, "no-such-tenant", NewAlert(1).ID)
		wantCode(t, err, weft.ENOTFOUND)
	})
}

func testListAlerts(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	tenant := weft.DefaultTenantID

	t.Run("NewestFirstPaged", func(t *testing.T) {
		s := open(t)
		// Stored in two batches, out of order; NewAlert(i) is created later
		// for a larger i.
		mustStore(t, s, NewAlert(3), NewAlert(0), NewAlert(5))
		mustStore(t, s, NewAlert(6), NewAlert(1), NewAlert(4), NewAlert(2))
		for _, tc := range []struct {
			name      string
			top, skip int
			count     bool
			want      []int
			more      bool
			wantCount int64
		}{
			{"FirstPage", 3, 0, true, []int{6, 5, 4}, true, 7},
			{"MiddlePage", 3, 3, false, []int{3, 2, 1}, true, -1},
			{"LastPage", 3, 6, true, []int{0}, false, 7},
			{"PastTheEnd", 3, 9, true, nil, false, 7},
			{"DefaultTop", 0, 0, false, []int{6, 5, 4, 3, 2, 1, 0}, false, -1},
			{"ExactFit", 7, 0, false, []int{6, 5, 4, 3, 2, 1, 0}, false, -1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := mustListAlerts(t, s, weft.AlertQuery{TenantID: tenant, Top: tc.top, Skip: tc.skip, Count: tc.count})
				var want []string
				for _, i := range tc.want {
					want = append(want, NewAlert(i).ID)
				}
				if fmt.Sprint(alertIDs(p.Alerts)) != fmt.Sprint(want) || p.More != tc.more || p.Count != tc.wantCount {
					t.Fatalf("got %v more=%v count=%d, want %v more=%v count=%d",
						alertIDs(p.Alerts), p.More, p.Count, want, tc.more, tc.wantCount)
				}
				for _, a := range p.Alerts {
					if a.Raw != nil {
						t.Fatalf("alert %s: got a raw original in a list", a.ID)
					}
				}
			})
		}
	})

	t.Run("TopCappedAndDefault", func(t *testing.T) {
		s := open(t)
		var batch []*weft.Alert
		for i := range weft.DefaultPageSize + 1 {
			batch = append(batch, NewAlert(i))
		}
		mustStore(t, s, batch...)
		if p := mustListAlerts(t, s, weft.AlertQuery{TenantID: tenant}); len(p.Alerts) != weft.DefaultPageSize || !p.More {
			t.Fatalf("Top 0: got %d alerts more=%v, want %d more=true", len(p.Alerts), p.More, weft.DefaultPageSize)
		}
		if p := mustListAlerts(t, s, weft.AlertQuery{TenantID: tenant, Top: weft.MaxPageSize + 1}); len(p.Alerts) != len(batch) || p.More {
			t.Fatalf("Top above max: got %d alerts more=%v, want %d more=false", len(p.Alerts), p.More, len(batch))
		}
	})

	t.Run("IncidentFilter", func(t *testing.T) {
		s := open(t)
		res := mustStore(t, s, NewAlert(1), NewAlert(2), NewAlert(3))
		p := mustListAlerts(t, s, weft.AlertQuery{TenantID: tenant, IncidentID: res[1].IncidentID, Count: true})
		if len(p.Alerts) != 1 || p.Alerts[0].ID != res[1].AlertID || p.Count != 1 {
			t.Fatalf("got %v count=%d, want [%s] count=1", alertIDs(p.Alerts), p.Count, res[1].AlertID)
		}
	})

	t.Run("EmptyIsNotNil", func(t *testing.T) {
		s := open(t)
		p := mustListAlerts(t, s, weft.AlertQuery{TenantID: tenant, Count: true})
		if p.Alerts == nil || len(p.Alerts) != 0 || p.More || p.Count != 0 {
			t.Fatalf("got %+v, want an empty page with count 0", p)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s := open(t)
		_, err := s.ListAlerts(ctx, weft.AlertQuery{TenantID: tenant, Top: -1})
		wantCode(t, err, weft.EINVALID)
		_, err = s.ListAlerts(ctx, weft.AlertQuery{TenantID: tenant, Skip: -1})
		wantCode(t, err, weft.EINVALID)
	})
}

func testIsolation(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()

	t.Run("SameProviderIDTwoTenants", func(t *testing.T) {
		s := open(t)
		a, b := InTenant(NewAlert(1), "tenant-a"), InTenant(NewAlert(1), "tenant-b")
		res := mustStore(t, s, a, b)
		if res[0].Outcome != weft.OutcomeStored || res[1].Outcome != weft.OutcomeStored ||
			res[0].AlertID == res[1].AlertID || res[0].IncidentID == res[1].IncidentID {
			t.Fatalf("got %+v, want two stored alerts in two incidents", res)
		}
		for _, x := range []*weft.Alert{a, b} {
			got := mustFindAlert(t, s, x.TenantID, x.ID)
			if got.TenantID != x.TenantID {
				t.Fatalf("got tenant %q, want %q", got.TenantID, x.TenantID)
			}
		}
	})

	t.Run("OtherTenantSeesNothing", func(t *testing.T) {
		s := open(t)
		a := InTenant(NewAlert(1), "tenant-a")
		res := mustStore(t, s, a)
		if err := s.CreateTenant(ctx, &weft.Tenant{ID: "tenant-b"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.FindAlert(ctx, "tenant-b", a.ID)
		wantCode(t, err, weft.ENOTFOUND)
		_, err = s.FindIncident(ctx, "tenant-b", res[0].IncidentID, true)
		wantCode(t, err, weft.ENOTFOUND)
		_, err = s.ListActivities(ctx, "tenant-b", res[0].IncidentID)
		wantCode(t, err, weft.ENOTFOUND)
		if p := mustListAlerts(t, s, weft.AlertQuery{TenantID: "tenant-b", Count: true}); len(p.Alerts) != 0 || p.Count != 0 {
			t.Fatalf("ListAlerts: got %v count=%d, want none", alertIDs(p.Alerts), p.Count)
		}
		if p := mustListAlerts(t, s, weft.AlertQuery{TenantID: "tenant-b", IncidentID: res[0].IncidentID}); len(p.Alerts) != 0 {
			t.Fatalf("ListAlerts by incident: got %v, want none", alertIDs(p.Alerts))
		}
		if p := mustListIncidents(t, s, weft.IncidentQuery{TenantID: "tenant-b", Count: true}); len(p.Incidents) != 0 || p.Count != 0 {
			t.Fatalf("ListIncidents: got %v count=%d, want none", incidentIDs(p.Incidents), p.Count)
		}
		if p := mustListIncidents(t, s, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Count: true}); p.Count != 0 {
			t.Fatalf("ListIncidents of the default tenant: got count %d, want 0", p.Count)
		}
	})
}

// testConcurrency stores overlapping batches from several goroutines at
// once (run it with -race): every distinct alert must be stored exactly once.
func testConcurrency(t *testing.T, open func(t *testing.T) weft.Store) {
	t.Run("EachAlertStoredOnce", func(t *testing.T) {
		s := open(t)
		const workers, batches, size, distinct = 6, 4, 40, 300
		results := make([][]weft.StoreResult, workers*batches)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for b := range batches {
					batch := make([]*weft.Alert, size)
					for k := range batch {
						// Worker w's batches overlap worker w+1's.
						batch[k] = NewAlert((w*batches*size/2 + b*size + k) % distinct)
					}
					res, err := s.StoreAlerts(context.Background(), batch)
					if err != nil {
						errs <- err
						return
					}
					results[w*batches+b] = res
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		stored := map[string]int{}
		incidents := map[int64]string{}
		for _, res := range results {
			for _, r := range res {
				if r.Outcome == weft.OutcomeStored {
					stored[r.AlertID]++
				} else if r.Outcome != weft.OutcomeDuplicate {
					t.Errorf("alert %s: got %s, want stored or duplicate", r.AlertID, r.Outcome)
				}
				if other, ok := incidents[r.IncidentID]; ok && other != r.AlertID {
					t.Errorf("incident %d: holds %s and %s, want one alert", r.IncidentID, other, r.AlertID)
				}
				incidents[r.IncidentID] = r.AlertID
			}
		}
		for id, n := range stored {
			if n != 1 {
				t.Errorf("alert %s: stored %d times, want once", id, n)
			}
		}
		p := mustListAlerts(t, s, weft.AlertQuery{TenantID: weft.DefaultTenantID, Count: true})
		ip := mustListIncidents(t, s, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Count: true})
		if int(p.Count) != len(stored) || int(ip.Count) != len(stored) {
			t.Fatalf("got %d alerts and %d incidents, want %d of each", p.Count, ip.Count, len(stored))
		}
	})
}

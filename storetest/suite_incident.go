package storetest

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func testIncidents(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	tenant := weft.DefaultTenantID

	t.Run("NewAlertFormsIncident", func(t *testing.T) {
		s := open(t)
		alerts := []*weft.Alert{NewAlert(0), NewAlert(1), NewAlert(2), NewRichAlert()}
		res := mustStore(t, s, alerts...)
		seen := map[int64]bool{}
		for i, a := range alerts {
			id := res[i].IncidentID
			if id == 0 || seen[id] {
				t.Fatalf("alert %d: got incident %d, want a new incident of its own", i, id)
			}
			seen[id] = true
			inc := mustFindIncident(t, s, tenant, id, false)
			want := &weft.Incident{
				ID: id, TenantID: tenant, DisplayName: a.Title, Severity: a.Severity,
				Status: weft.IncidentStatusActive, Classification: weft.ClassificationUnknown,
				Determination: weft.DeterminationUnknown, CustomTags: []string{}, SystemTags: []string{},
				Comments: []weft.Comment{}, CreatedDateTime: inc.CreatedDateTime, LastUpdateDateTime: inc.CreatedDateTime,
				FirstActivityDateTime: a.FirstActivityDateTime, LastActivityDateTime: a.LastActivityDateTime,
				AlertCount: 1, Categories: []string{a.Category}, ServiceSources: []string{a.ServiceSource},
				DetectionSources: []string{a.DetectionSource}, ImpactedEntities: a.Entities(), Version: 1,
			}
			if !reflect.DeepEqual(inc, want) {
				t.Errorf("alert %d: incident:\n got %s\nwant %s", i, show(inc), show(want))
			}
			if inc.CreatedDateTime.IsZero() || inc.CreatedDateTime.Location() != time.UTC {
				t.Errorf("alert %d: got created %v, want a UTC time", i, inc.CreatedDateTime)
			}
			acts := mustActivities(t, s, tenant, id)
			if len(acts) != 1 {
				t.Fatalf("alert %d: got %d activities, want 1", i, len(acts))
			}
			act := acts[0]
			if act.Type != weft.ActivityIncidentCreated || act.Actor != weft.ActorCorrelation || act.AlertID != a.ID ||
				act.IncidentID != id || act.TenantID != tenant || act.ID == 0 || act.Time.IsZero() ||
				!strings.Contains(act.Message, a.ID) {
				t.Errorf("alert %d: got activity %+v, want incidentCreated by %q naming alert %s", i, act, weft.ActorCorrelation, a.ID)
			}
		}
	})

	t.Run("NoCategoryNoSources", func(t *testing.T) {
		s := open(t)
		a := NewAlert(1)
		a.Category, a.ServiceSource, a.DetectionSource, a.Evidence = "", "", "", nil
		res := mustStore(t, s, a)
		inc := mustFindIncident(t, s, tenant, res[0].IncidentID, false)
		if len(inc.Categories)+len(inc.ServiceSources)+len(inc.DetectionSources)+len(inc.ImpactedEntities) != 0 ||
			inc.Categories == nil || inc.ImpactedEntities == nil {
			t.Fatalf("got %s, want empty (not nil) categories, sources and entities", show(inc))
		}
	})

	t.Run("UpdateRefreshesIncident", func(t *testing.T) {
		s := open(t)
		a := NewAlert(4)
		a.Severity = weft.SeverityLow
		res := mustStore(t, s, a)
		before := mustFindIncident(t, s, tenant, res[0].IncidentID, false)

		b := NewAlert(4)
		b.Severity, b.Title, b.Category = weft.SeverityHigh, "Escalated: "+b.Title, "Impact"
		b.LastActivityDateTime = b.LastActivityDateTime.Add(time.Hour)
		b.Evidence = append(b.Evidence[:2:2], b.Evidence[3:]...) // the process is gone
		v := b.ProviderLastUpdateDateTime.Add(time.Hour)
		b.ProviderLastUpdateDateTime = &v
		if r := mustStore(t, s, b)[0]; r.Outcome != weft.OutcomeUpdated || r.IncidentID != res[0].IncidentID {
			t.Fatalf("got %+v, want updated in incident %d", r, res[0].IncidentID)
		}
		inc := mustFindIncident(t, s, tenant, res[0].IncidentID, true)
		if inc.Severity != weft.SeverityHigh || inc.DisplayName != b.Title || inc.Version != before.Version+1 ||
			!inc.LastActivityDateTime.Equal(b.LastActivityDateTime) || !slices.Equal(inc.Categories, []string{"Impact"}) ||
			!reflect.DeepEqual(inc.ImpactedEntities, b.Entities()) || inc.LastUpdateDateTime.Before(before.LastUpdateDateTime) ||
			inc.AlertCount != 1 || !inc.CreatedDateTime.Equal(before.CreatedDateTime) {
			t.Fatalf("got incident %s\nwant severity high, name %q, version %d, updated activity, category and entities",
				show(inc), b.Title, before.Version+1)
		}
		if len(inc.Alerts) != 1 || inc.Alerts[0].Title != b.Title {
			t.Fatalf("got alerts %v, want the updated alert", alertIDs(inc.Alerts))
		}
		acts := mustActivities(t, s, tenant, inc.ID)
		if len(acts) != 2 || acts[0].Type != weft.ActivityIncidentCreated || acts[1].Type != weft.ActivityAlertUpdated ||
			acts[1].AlertID != b.ID || acts[1].Actor != weft.ActorCorrelation || acts[1].ID <= acts[0].ID {
			t.Fatalf("got activities %s, want incidentCreated then alertUpdated", show(acts))
		}
	})

	t.Run("ExpandAlerts", func(t *testing.T) {
		s := open(t)
		want := NewRichAlert()
		res := mustStore(t, s, NewAlert(1), NewRichAlert())
		want.IncidentID = res[1].IncidentID
		inc := mustFindIncident(t, s, tenant, res[1].IncidentID, true)
		if len(inc.Alerts) != 1 {
			t.Fatalf("got %d alerts, want 1", len(inc.Alerts))
		}
		equalAlert(t, inc.Alerts[0], withoutRaw(want))
		if inc := mustFindIncident(t, s, tenant, res[1].IncidentID, false); inc.Alerts != nil {
			t.Fatalf("got alerts %v without expandAlerts, want none", alertIDs(inc.Alerts))
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		s := open(t)
		res := mustStore(t, s, NewAlert(1))
		_, err := s.FindIncident(ctx, tenant, res[0].IncidentID+1000, false)
		wantCode(t, err, weft.ENOTFOUND)
		_, err = s.ListActivities(ctx, tenant, res[0].IncidentID+1000)
		wantCode(t, err, weft.ENOTFOUND)
	})
}

func testListIncidents(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()
	tenant := weft.DefaultTenantID

	// setup stores alerts 0..n-1 in n batches, so each later incident was
	// updated later, and returns the incident ids in storing order.
	setup := func(t *testing.T, s weft.Store, n int) []int64 {
		var ids []int64
		for i := range n {
			ids = append(ids, mustStore(t, s, NewAlert(i))[0].IncidentID)
		}
		return ids
	}
	reversed := func(ids []int64) []int64 { r := slices.Clone(ids); slices.Reverse(r); return r }

	t.Run("MostRecentlyUpdatedFirst", func(t *testing.T) {
		s := open(t)
		ids := setup(t, s, 4)
		p := mustListIncidents(t, s, weft.IncidentQuery{TenantID: tenant})
		if want := reversed(ids); !slices.Equal(incidentIDs(p.Incidents), want) {
			t.Fatalf("got %v, want %v", incidentIDs(p.Incidents), want)
		}
		// Updating the oldest incident's alert moves the incident to the top.
		a := NewAlert(0)
		a.Title = "updated"
		v := a.ProviderLastUpdateDateTime.Add(time.Minute)
		a.ProviderLastUpdateDateTime = &v
		mustStore(t, s, a)
		p = mustListIncidents(t, s, weft.IncidentQuery{TenantID: tenant})
		if want := []int64{ids[0], ids[3], ids[2], ids[1]}; !slices.Equal(incidentIDs(p.Incidents), want) {
			t.Fatalf("after an update: got %v, want %v", incidentIDs(p.Incidents), want)
		}
	})

	t.Run("Paged", func(t *testing.T) {
		s := open(t)
		ids := reversed(setup(t, s, 5))
		for _, tc := range []struct {
			name      string
			top, skip int
			count     bool
			want      []int64
			more      bool
			wantCount int64
		}{
			{"FirstPage", 2, 0, true, ids[:2], true, 5},
			{"MiddlePage", 2, 2, false, ids[2:4], true, -1},
			{"LastPage", 2, 4, true, ids[4:], false, 5},
			{"PastTheEnd", 2, 5, true, []int64{}, false, 5},
			{"DefaultTop", 0, 0, false, ids, false, -1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := mustListIncidents(t, s, weft.IncidentQuery{TenantID: tenant, Top: tc.top, Skip: tc.skip, Count: tc.count})
				if !slices.Equal(incidentIDs(p.Incidents), tc.want) || p.More != tc.more || p.Count != tc.wantCount {
					t.Fatalf("got %v more=%v count=%d, want %v more=%v count=%d",
						incidentIDs(p.Incidents), p.More, p.Count, tc.want, tc.more, tc.wantCount)
				}
			})
		}
	})

	t.Run("StatusFilter", func(t *testing.T) {
		s := open(t)
		ids := reversed(setup(t, s, 3))
		for _, tc := range []struct {
			name   string
			status []weft.IncidentStatus
			want   []int64
		}{
			{"Any", nil, ids},
			{"Active", []weft.IncidentStatus{weft.IncidentStatusActive}, ids},
			{"Resolved", []weft.IncidentStatus{weft.IncidentStatusResolved}, []int64{}},
			{"ActiveOrResolved", []weft.IncidentStatus{weft.IncidentStatusResolved, weft.IncidentStatusActive}, ids},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := mustListIncidents(t, s, weft.IncidentQuery{TenantID: tenant, Status: tc.status, Count: true})
				if !slices.Equal(incidentIDs(p.Incidents), tc.want) || p.Count != int64(len(tc.want)) {
					t.Fatalf("got %v count=%d, want %v", incidentIDs(p.Incidents), p.Count, tc.want)
				}
			})
		}
		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := s.ListIncidents(ctx, weft.IncidentQuery{TenantID: tenant, Status: []weft.IncidentStatus{"closed"}})
			wantCode(t, err, weft.EINVALID)
		})
	})

	t.Run("ExpandAlerts", func(t *testing.T) {
		s := open(t)
		ids := setup(t, s, 3)
		p := mustListIncidents(t, s, weft.IncidentQuery{TenantID: tenant, ExpandAlerts: true})
		for _, inc := range p.Incidents {
			i := slices.Index(ids, inc.ID)
			if len(inc.Alerts) != 1 || inc.Alerts[0].ID != NewAlert(i).ID || inc.Alerts[0].Raw != nil {
				t.Fatalf("incident %d: got alerts %v, want [%s] without raw", inc.ID, alertIDs(inc.Alerts), NewAlert(i).ID)
			}
		}
		p = mustListIncidents(t, s, weft.IncidentQuery{TenantID: tenant})
		for _, inc := range p.Incidents {
			if inc.Alerts != nil {
				t.Fatalf("incident %d: got alerts without ExpandAlerts", inc.ID)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s := open(t)
		for _, q := range []weft.IncidentQuery{{TenantID: tenant, Top: -1}, {TenantID: tenant, Skip: -5}} {
			_, err := s.ListIncidents(ctx, q)
			wantCode(t, err, weft.EINVALID)
		}
	})

	t.Run("EmptyIsNotNil", func(t *testing.T) {
		s := open(t)
		p := mustListIncidents(t, s, weft.IncidentQuery{TenantID: tenant, Count: true})
		if p.Incidents == nil || p.More || p.Count != 0 {
			t.Fatalf("got %s, want an empty page with count 0", show(p))
		}
	})
}

package sqlite_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// TestInvestigate checks what the store reads for the investigation views:
// the incident's alerts in event-time order, criticality from the assets,
// related incidents in both directions and merged ones, and nothing of
// another tenant.
func TestInvestigate(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t)})
	if _, err := s.PutAssets(ctx, []*weft.Asset{deviceAsset("srv-9", 2, "srv-9.contoso.com", "6f1c2a")}); err != nil {
		t.Fatal(err)
	}

	// Two incidents, merged by a third alert that names both devices.
	a := mustStoreAlerts(t, s, aliasAlert(t, "m1", at, weft.Evidence{MdeDeviceID: "aa11"}))
	b := mustStoreAlerts(t, s, aliasAlert(t, "m2", at.Add(5*time.Minute), weft.Evidence{DeviceDNSName: "ws-2.contoso.com"}))
	m := mustStoreAlerts(t, s, aliasAlert(t, "m3", at.Add(10*time.Minute), weft.Evidence{MdeDeviceID: "aa11", DeviceDNSName: "ws-2.contoso.com"}))
	target := m[0].IncidentID
	gone := a[0].IncidentID
	if gone == target {
		gone = b[0].IncidentID
	}
	if gone == target {
		t.Fatalf("got no merge: incidents %d, %d, %d", a[0].IncidentID, b[0].IncidentID, target)
	}

	// A resolved incident, and a new one related to it.
	r1 := mustStoreAlerts(t, s, aliasAlert(t, "r1", at.Add(time.Hour), weft.Evidence{MdeDeviceID: "6f1c2a"}))
	resolved := weft.IncidentStatusResolved
	if _, err := s.UpdateIncident(ctx, weft.DefaultTenantID, r1[0].IncidentID, weft.IncidentPatch{Status: &resolved}, "test", 0); err != nil {
		t.Fatal(err)
	}
	r2 := mustStoreAlerts(t, s, aliasAlert(t, "r2", at.Add(2*time.Hour), weft.Evidence{DeviceDNSName: "srv-9.contoso.com", MdeDeviceID: "6f1c2a"}))
	if r2[0].IncidentID == r1[0].IncidentID {
		t.Fatalf("got r2 in the resolved incident %d, want a new one", r1[0].IncidentID)
	}

	relations := func(inv *weft.Investigation) []weft.RelatedIncident {
		out := []weft.RelatedIncident{}
		for _, r := range inv.Related {
			out = append(out, weft.RelatedIncident{ID: r.ID, Relation: r.Relation, Status: r.Status})
		}
		return out
	}

	t.Run("Merged", func(t *testing.T) {
		inv, err := s.Investigate(ctx, weft.DefaultTenantID, target)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, al := range inv.Incident.Alerts {
			ids = append(ids, al.ProviderAlertID)
		}
		if !slices.Equal(ids, []string{"m1", "m2", "m3"}) {
			t.Errorf("got alerts %v, want m1, m2, m3", ids)
		}
		want := []weft.RelatedIncident{{ID: gone, Relation: weft.RelationMerged, Status: weft.IncidentStatusRedirected}}
		if got := relations(inv); !slices.Equal(got, want) {
			t.Errorf("got related %+v, want %+v", got, want)
		}
	})
	t.Run("Redirected", func(t *testing.T) {
		inv, err := s.Investigate(ctx, weft.DefaultTenantID, gone)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Incident.Status != weft.IncidentStatusRedirected || inv.Incident.RedirectIncidentID != target || len(inv.Incident.Alerts) != 0 {
			t.Errorf("got status %s, redirect %d, %d alerts; want redirected to %d, none", inv.Incident.Status,
				inv.Incident.RedirectIncidentID, len(inv.Incident.Alerts), target)
		}
	})
	t.Run("RelatedBothWays", func(t *testing.T) {
		inv, err := s.Investigate(ctx, weft.DefaultTenantID, r2[0].IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		want := []weft.RelatedIncident{{ID: r1[0].IncidentID, Relation: weft.RelationRelated, Status: weft.IncidentStatusResolved}}
		if got := relations(inv); !slices.Equal(got, want) {
			t.Errorf("got related %+v, want %+v", got, want)
		}
		inv, err = s.Investigate(ctx, weft.DefaultTenantID, r1[0].IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		want = []weft.RelatedIncident{{ID: r2[0].IncidentID, Relation: weft.RelationRelated, Status: weft.IncidentStatusActive}}
		if got := relations(inv); !slices.Equal(got, want) {
			t.Errorf("got related %+v, want %+v", got, want)
		}
	})
	t.Run("Criticality", func(t *testing.T) {
		inv, err := s.Investigate(ctx, weft.DefaultTenantID, r2[0].IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		v := weft.BuildInvestigation(inv)
		if n := v.Story.Graph.Nodes; len(n) != 1 || n[0].Criticality != 2 {
			t.Errorf("got nodes %+v, want srv-9 with criticality 2", n)
		}
		inv, err = s.Investigate(ctx, weft.DefaultTenantID, target)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range weft.BuildInvestigation(inv).Story.Graph.Nodes {
			if n.Criticality != 0 {
				t.Errorf("got node %s criticality %d, want 0", n.Key, n.Criticality)
			}
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, c := range []struct {
			tenant string
			id     int64
		}{{"other", target}, {weft.DefaultTenantID, 9999}} {
			if _, err := s.Investigate(ctx, c.tenant, c.id); weft.ErrorCode(err) != weft.ENOTFOUND {
				t.Errorf("Investigate(%q, %d): got %v, want ENOTFOUND", c.tenant, c.id, err)
			}
		}
	})
}

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// TestListAlertsIncidentFilter checks that AlertQuery.IncidentFilter keeps
// the alerts whose incident matches it, in the page and in the count, and
// only in the query's tenant.
func TestListAlertsIncidentFilter(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ws1 := weft.Evidence{DeviceDNSName: "ws-1.contoso.com"}
	ws2 := weft.Evidence{DeviceDNSName: "ws-2.contoso.com"}
	if _, err := s.StoreAlerts(ctx, []*weft.Alert{
		entityAlert(t, weft.DefaultTenantID, "a1", at, dev(ws1)),
		entityAlert(t, weft.DefaultTenantID, "a2", at, dev(ws2)),
		entityAlert(t, "other", "o1", at, dev(ws1)),
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tenant, filter string
		want                 []string // provider alert ids
	}{
		{name: "OK_NoFilter", tenant: weft.DefaultTenantID, want: []string{"a1", "a2"}},
		{name: "OK_Entity", tenant: weft.DefaultTenantID, filter: "entities/any(e: e eq 'ws-1.contoso.com')", want: []string{"a1"}},
		{name: "OK_OtherTenant", tenant: "other", filter: "entities/any(e: e eq 'ws-1.contoso.com')", want: []string{"o1"}},
		{name: "OK_NoMatch", tenant: weft.DefaultTenantID, filter: "entities/any(e: e eq 'ws-9.contoso.com')", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := weft.AlertQuery{TenantID: tc.tenant, Count: true}
			if tc.filter != "" {
				if q.IncidentFilter, err = weft.ParseIncidentFilter(tc.filter); err != nil {
					t.Fatal(err)
				}
			}
			page, err := s.ListAlerts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, a := range page.Alerts {
				got[a.ProviderAlertID] = true
			}
			if len(got) != len(tc.want) || page.Count != int64(len(tc.want)) {
				t.Fatalf("got %v (count %d), want %v", got, page.Count, tc.want)
			}
			for _, id := range tc.want {
				if !got[id] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

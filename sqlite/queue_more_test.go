package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// openQueueMore returns openQueue's store with one more alert in "Phishing
// campaign" (queueFixture[1]): from a second service source, naming a user
// and a device known by its Defender id, whose key is therefore not its
// name.
func openQueueMore(t *testing.T) (*Store, []int64) {
	t.Helper()
	s, ids := openQueue(t)
	a := &weft.Alert{Source: "microsoftDefenderForEndpoint", ProviderAlertID: "more-1", Title: "Second source",
		Severity: weft.SeverityMedium, DetectorID: "detector-more", Category: "InitialAccess",
		ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "antivirus",
		FirstActivityDateTime: queueNow.Add(-23 * time.Hour),
		Evidence: []weft.Evidence{
			{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{UserPrincipalName: "Carol@Contoso.com", UserSid: "s-1-5-21-1-2-3-1001"}},
			{EntityType: weft.EntityDevice, MdeDeviceID: "ABC123DEF", DeviceDNSName: "Laptop-9.contoso.com"},
		},
		Import: &weft.IncidentImport{Source: "graph-incident", ID: "q1", DisplayName: "Phishing campaign", Status: weft.IncidentStatusInProgress}}
	if _, err := a.Normalize(queueNow); err != nil {
		t.Fatal(err)
	}
	res, err := s.StoreAlerts(context.Background(), []*weft.Alert{a})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].IncidentID != ids[1] {
		t.Fatalf("the alert went to incident %d, want %d", res[0].IncidentID, ids[1])
	}
	return s, ids
}

// queueAll lists every incident that q matches, in the tenant "default"
// unless q names another.
func queueAll(t *testing.T, s *Store, q weft.IncidentQuery) []string {
	t.Helper()
	if q.TenantID == "" {
		q.TenantID = weft.DefaultTenantID
	}
	q.Top, q.Count = weft.MaxPageSize, true
	page, err := s.ListIncidents(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if page.Count != int64(len(page.Incidents)) {
		t.Fatalf("count %d, listed %d", page.Count, len(page.Incidents))
	}
	names := queueNames(page.Incidents)
	slices.Sort(names)
	return names
}

func TestListIncidentsQueueMore(t *testing.T) {
	s, _ := openQueueMore(t)
	notPhishing := []string{"Atypical travel", "Informational noise", "Ransomware on ws-001", "Tie A 100% done_", "Unscored low"}
	for _, tc := range []struct {
		name, filter, search string
		want                 []string
	}{
		{"OK_MultipleSources", "multipleSources eq true", "", []string{"Phishing campaign"}},
		{"OK_MultipleSourcesNe", "multipleSources ne true", "", notPhishing},
		{"OK_SingleSource", "multipleSources eq false", "", notPhishing},
		{"OK_MultipleSourcesAnd", "multipleSources eq true and severity eq 'high'", "", nil},
		{"OK_EntityByKeyValue", "entities/any(e: e eq 'ws-2.contoso.com')", "", []string{"Informational noise"}},
		{"OK_EntityByNameCase", "entities/any(e: e eq 'LAPTOP-9.CONTOSO.COM')", "", []string{"Phishing campaign"}},
		{"OK_EntityByIdentifier", "entities/any(e: e eq 'abc123def')", "", []string{"Phishing campaign"}},
		{"OK_EntityByFullKey", "entities/any(e: e eq 'device.fqdn:ws-0.contoso.com')", "", []string{"Ransomware on ws-001"}},
		{"OK_EntityByFullKeyCase", "entities/any(e: e eq 'Device.MdeId:abc123DEF')", "", []string{"Phishing campaign"}},
		{"OK_EntityUPN", "entities/any(e: e eq 'carol@contoso.com')", "", []string{"Phishing campaign"}},
		{"OK_EntitySID", "entities/any(e: e eq 'S-1-5-21-1-2-3-1001')", "", []string{"Phishing campaign"}},
		{"OK_EntityIn", "entities/any(e: e in ('ws-0.contoso.com', 'ws-3.contoso.com'))", "", []string{"Atypical travel", "Ransomware on ws-001"}},
		{"OK_EntityAndStatus", "entities/any(e: e eq 'ws-3.contoso.com') and status eq 'active'", "", nil},
		{"OK_EntityNeverRedirected", "entities/any(e: e eq 'ws-6.contoso.com')", "", nil},
		{"OK_EntityOtherTenant", "entities/any(e: e eq 'ws-7.contoso.com')", "", nil},
		{"OK_EntityUnknown", "entities/any(e: e eq 'nowhere')", "", nil},
		{"OK_SearchByAsset", "status ne 'resolved'", "WS-4.contoso.com", []string{"Unscored low"}},
		{"OK_SearchByAssetOrName", "status ne 'resolved'", "phishing", []string{"Phishing campaign"}},
		{"OK_SearchByAssetNotPartial", "status ne 'resolved'", "contoso.com", nil},
		{"OK_SearchByAssetOtherTenant", "status ne 'resolved'", "ws-7.contoso.com", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := weft.ParseIncidentFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := queueAll(t, s, weft.IncidentQuery{Filter: f, Search: tc.search}); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestListIncidentsQueueMoreOtherTenant(t *testing.T) {
	s, _ := openQueueMore(t)
	f, err := weft.ParseIncidentFilter("entities/any(e: e in ('ws-7.contoso.com', 'ws-0.contoso.com'))")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := queueAll(t, s, weft.IncidentQuery{TenantID: "other", Filter: f}), []string{"Other tenant VIP"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got, want := queueAll(t, s, weft.IncidentQuery{TenantID: "other", Search: "ws-0.contoso.com"}), []string(nil); !slices.Equal(got, want) {
		t.Fatalf("search: got %q, want %q", got, want)
	}
}

// TestEntityMatchUsesIndexes checks the query plan of the entity filter:
// every table is searched by an index, none scanned.
func TestEntityMatchUsesIndexes(t *testing.T) {
	s, _ := openQueueMore(t)
	f, err := weft.ParseIncidentFilter("entities/any(e: e eq 'ws-1.contoso.com')")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []weft.IncidentQuery{{TenantID: "default", Filter: f}, {TenantID: "default", Search: "ws-1.contoso.com"}} {
		where, args, err := incidentWhere(q, false)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s, "SELECT id FROM incidents WHERE "+where, args)
		all := strings.Join(plan, "\n")
		for _, want := range []string{"entities_tenant_key (tenant_id=? AND entity_key=?)", "entities_tenant_name (tenant_id=? AND name=?)", "ae USING PRIMARY KEY (entity_id=?)"} {
			if !strings.Contains(all, want) {
				t.Errorf("plan lacks %q:\n%s", want, all)
			}
		}
		for _, p := range plan {
			// An FTS5 table's "SCAN … VIRTUAL TABLE INDEX" is its index
			// lookup (the $search name match), not a scan.
			if strings.HasPrefix(p, "SCAN") && !strings.Contains(p, "incidents") && !strings.Contains(p, "VIRTUAL TABLE INDEX") {
				t.Errorf("plan scans a table: %q", p)
			}
		}
	}
}

func TestEachIncident(t *testing.T) {
	s, _ := openQueueMore(t)
	ctx := context.Background()
	f, err := weft.ParseIncidentFilter("status ne 'resolved'")
	if err != nil {
		t.Fatal(err)
	}
	q := weft.IncidentQuery{TenantID: weft.DefaultTenantID, Filter: f, OrderBy: weft.DefaultIncidentOrder}
	var got []string
	collect := func(inc *weft.Incident) error { got = append(got, inc.DisplayName); return nil }
	if err := s.EachIncident(ctx, q, 0, collect); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Ransomware on ws-001", "Tie A 100% done_", "Phishing campaign", "Informational noise", "Unscored low"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	got = nil
	q.Skip = 1
	if err := s.EachIncident(ctx, q, 2, collect); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Tie A 100% done_", "Phishing campaign"}; !slices.Equal(got, want) {
		t.Fatalf("limit 2 skip 1: got %q, want %q", got, want)
	}
	stop := weft.Errorf(weft.ECONFLICT, "stop")
	if err := s.EachIncident(ctx, q, 0, func(*weft.Incident) error { return stop }); err != stop {
		t.Fatalf("got %v, want fn's error", err)
	}
}

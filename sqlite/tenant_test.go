package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

func ptr[T any](v T) *T { return &v }

// TestUpdateTenant checks that UpdateTenant changes what it is given, keeps
// the rest, and refuses what it must, naming the field.
func TestUpdateTenant(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "weft.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateTenant(ctx, &weft.Tenant{ID: "acme", DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		id           string
		displayName  *string
		disabled     *bool
		wantCode     string
		wantInMsg    string
		wantName     string
		wantDisabled bool
	}{
		{name: "OK_Nothing", id: "acme", wantName: "Acme"},
		{name: "OK_Rename", id: "acme", displayName: ptr("Acme Corp"), wantName: "Acme Corp"},
		{name: "OK_Disable", id: "acme", disabled: ptr(true), wantName: "Acme Corp", wantDisabled: true},
		{name: "OK_RenameDisabled", id: "acme", displayName: ptr("Acme Inc"), wantName: "Acme Inc", wantDisabled: true},
		{name: "OK_Enable", id: "acme", disabled: ptr(false), wantName: "Acme Inc"},
		{name: "OK_EnableDefault", id: weft.DefaultTenantID, disabled: ptr(false), wantName: "Default"},
		{name: "ErrNotFound", id: "nobody", disabled: ptr(true), wantCode: weft.ENOTFOUND, wantInMsg: `"nobody"`},
		{name: "ErrEmptyName", id: "acme", displayName: ptr(""), wantCode: weft.EINVALID, wantInMsg: "displayName"},
		{name: "ErrLongName", id: "acme", displayName: ptr(strings.Repeat("x", weft.MaxTenantDisplayName+1)), wantCode: weft.EINVALID, wantInMsg: "displayName"},
		{name: "ErrDisableDefault", id: weft.DefaultTenantID, disabled: ptr(true), wantCode: weft.EINVALID, wantInMsg: "disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.UpdateTenant(ctx, tc.id, tc.displayName, tc.disabled)
			if tc.wantCode != "" {
				if weft.ErrorCode(err) != tc.wantCode || !strings.Contains(weft.ErrorMessage(err), tc.wantInMsg) {
					t.Fatalf("got %v, want %s naming %s", err, tc.wantCode, tc.wantInMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := s.FindTenant(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range []*weft.Tenant{got, stored} {
				if x.ID != tc.id || x.DisplayName != tc.wantName || x.Disabled != tc.wantDisabled {
					t.Errorf("got %+v, want name %q disabled %v", x, tc.wantName, tc.wantDisabled)
				}
			}
		})
	}
}

// TestListIncidentsMergedTenants checks the merged queue
// (IncidentQuery.TenantIDs): the incidents of every tenant named, in one
// order, each labelled with its tenant, with every condition held to each
// incident's own tenant.
func TestListIncidentsMergedTenants(t *testing.T) {
	s, _ := openQueueMore(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, &weft.Tenant{ID: "empty"}); err != nil {
		t.Fatal(err)
	}
	// The other tenant's inventory puts ws-0 (named by an incident of the
	// default tenant) in Servers: it must not select that incident.
	if _, err := s.PutAssets(ctx, []*weft.Asset{
		{TenantID: "other", ID: "ws-0", Kind: weft.AssetDevice, DeviceDNSName: "ws-0.contoso.com", DeviceGroup: "Servers"},
		{TenantID: "other", ID: "ws-7", Kind: weft.AssetDevice, DeviceDNSName: "ws-7.contoso.com", DeviceGroup: "Servers"},
	}); err != nil {
		t.Fatal(err)
	}
	both := []string{weft.DefaultTenantID, "other", "empty"}
	defaultAll := queueAll(t, s, weft.IncidentQuery{})
	for _, tc := range []struct {
		name, filter, search string
		tenants              []string
		want                 []string
	}{
		{name: "OK_All", tenants: both, want: slices.Sorted(slices.Values(append(slices.Clone(defaultAll), "Other tenant VIP")))},
		{name: "OK_OneTenant", tenants: []string{"other"}, want: []string{"Other tenant VIP"}},
		{name: "OK_EmptyTenant", tenants: []string{"empty"}, want: nil},
		{name: "OK_Tag", tenants: both, filter: "customTags/any(t: t eq 'VIP')", want: []string{"Atypical travel", "Other tenant VIP", "Ransomware on ws-001"}},
		{name: "OK_EntityOfOther", tenants: both, filter: "entities/any(e: e eq 'ws-7.contoso.com')", want: []string{"Other tenant VIP"}},
		{name: "OK_EntityOfDefault", tenants: both, filter: "entities/any(e: e in ('ws-0.contoso.com', 'ws-7.contoso.com'))", want: []string{"Other tenant VIP", "Ransomware on ws-001"}},
		{name: "OK_SearchAsset", tenants: both, search: "ws-7.contoso.com", want: []string{"Other tenant VIP"}},
		{name: "OK_SearchName", tenants: both, search: "tenant VIP", want: []string{"Other tenant VIP"}},
		{name: "OK_DeviceGroupPerTenant", tenants: both, filter: "deviceGroups/any(g: g eq 'Servers')", want: []string{"Other tenant VIP"}},
		{name: "OK_Severity", tenants: both, filter: "severity eq 'high'", want: []string{"Other tenant VIP", "Ransomware on ws-001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f *weft.IncidentFilter
			if tc.filter != "" {
				var err error
				if f, err = weft.ParseIncidentFilter(tc.filter); err != nil {
					t.Fatal(err)
				}
			}
			if got := queueAll(t, s, weft.IncidentQuery{TenantIDs: tc.tenants, Filter: f, Search: tc.search}); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("OK_OrderPagingLabels", func(t *testing.T) {
		q := weft.IncidentQuery{TenantIDs: both, OrderBy: []weft.IncidentOrder{{Field: "priorityScore", Desc: true}}, Top: weft.MaxPageSize, ExpandAlerts: true}
		all, err := s.ListIncidents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Incidents) != len(defaultAll)+1 {
			t.Fatalf("got %d incidents, want %d", len(all.Incidents), len(defaultAll)+1)
		}
		for i, inc := range all.Incidents {
			want := weft.DefaultTenantID
			if inc.DisplayName == "Other tenant VIP" {
				want = "other"
			}
			if inc.TenantID != want {
				t.Errorf("%q is labelled %q, want %q", inc.DisplayName, inc.TenantID, want)
			}
			for _, a := range inc.Alerts {
				if a.TenantID != inc.TenantID {
					t.Errorf("%q (tenant %s) expanded with an alert of tenant %s", inc.DisplayName, inc.TenantID, a.TenantID)
				}
			}
			if inc.Status != weft.IncidentStatusRedirected && len(inc.Alerts) == 0 {
				t.Errorf("%q was not expanded", inc.DisplayName)
			}
			if i > 0 {
				prev := all.Incidents[i-1]
				if score(prev) < score(inc) || score(prev) == score(inc) && prev.ID < inc.ID {
					t.Errorf("%q (%d, id %d) after %q (%d, id %d): not in order", inc.DisplayName, score(inc), inc.ID, prev.DisplayName, score(prev), prev.ID)
				}
			}
		}
		// Pages of 3 are the slices of the whole list.
		q.ExpandAlerts, q.Top, q.Count = false, 3, true
		for q.Skip = 0; q.Skip < len(all.Incidents); q.Skip += q.Top {
			page, err := s.ListIncidents(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			end := min(q.Skip+q.Top, len(all.Incidents))
			if got, want := queueNames(page.Incidents), queueNames(all.Incidents[q.Skip:end]); !slices.Equal(got, want) {
				t.Errorf("$skip=%d: got %q, want %q", q.Skip, got, want)
			}
			if page.Count != int64(len(all.Incidents)) || page.More != (end < len(all.Incidents)) {
				t.Errorf("$skip=%d: count %d more %v, want %d %v", q.Skip, page.Count, page.More, len(all.Incidents), end < len(all.Incidents))
			}
		}
	})

	t.Run("ErrTooManyTenants", func(t *testing.T) {
		many := make([]string, weft.MaxQueueTenants+1)
		for i := range many {
			many[i] = "t" + strconv.Itoa(i)
		}
		_, err := s.ListIncidents(ctx, weft.IncidentQuery{TenantIDs: many, Top: 10})
		if weft.ErrorCode(err) != weft.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
	})
}

func score(inc *weft.Incident) int {
	if inc.PriorityScore == nil {
		return -1
	}
	return *inc.PriorityScore
}

// TestMergedQueueSQL checks that the single-tenant queue's SQL is what it
// was (tenant_id = ?, whose plans the queue tests pin) and that the merged
// queue's searches every table by an index, none scanned.
func TestMergedQueueSQL(t *testing.T) {
	s, _ := openQueueMore(t)
	f, err := weft.ParseIncidentFilter("entities/any(e: e eq 'ws-1.contoso.com') and customTags/any(t: t eq 'VIP')")
	if err != nil {
		t.Fatal(err)
	}
	one, _, err := incidentWhere(weft.IncidentQuery{TenantID: "default", Filter: f}, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(one, "tenant_id IN") || !strings.HasPrefix(one, "tenant_id = ?") {
		t.Errorf("single tenant WHERE %q: want tenant_id = ? throughout", one)
	}
	for _, q := range []weft.IncidentQuery{
		{TenantIDs: []string{"default", "other"}, Filter: f},
		{TenantIDs: []string{"default", "other"}, Search: "ws-1.contoso.com"},
	} {
		where, args, err := incidentWhere(q, false)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(where, "tenant_id IN (?, ?)") && !strings.HasPrefix(where, "tenant_id IN (?,?)") {
			t.Errorf("merged WHERE %q: want tenant_id IN (…) first", where)
		}
		plan := queryPlan(t, s, "SELECT id FROM incidents WHERE "+where+" ORDER BY last_update DESC, id DESC LIMIT 10", args)
		for _, p := range plan {
			if strings.HasPrefix(p, "SCAN") && !strings.Contains(p, "incidents") && !strings.Contains(p, "VIRTUAL TABLE INDEX") {
				t.Errorf("plan scans a table: %q\n%s", p, strings.Join(plan, "\n"))
			}
		}
	}
}

package http

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// tenantAlert is a weft-format alert of a tenant ("" names none), with its
// own device so that every alert is an incident of its own.
func tenantAlert(tenant, id, severity string) string {
	t := ""
	if tenant != "" {
		t = fmt.Sprintf(`"tenantId":%q,`, tenant)
	}
	return fmt.Sprintf(`{%s"source":"edr","providerAlertId":%q,"title":"Alert %s","severity":%q,"firstActivityDateTime":%q,"evidence":[{"entityType":"device","deviceDnsName":"%s.%s.example"}]}`,
		t, id, id, severity, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), id, strings.ToLower(tenant))
}

// ingestInto stores alerts as a "*" analyst, each naming its tenant.
func (s *authServer) ingestInto(t *testing.T, secret string, alerts ...string) ingestResponse {
	t.Helper()
	a := s.send(t, "POST", "/api/v1/alerts", "["+strings.Join(alerts, ",")+"]", bearer(secret)...)
	var resp ingestResponse
	if a.status != http.StatusOK || json.Unmarshal([]byte(a.body), &resp) != nil {
		t.Fatalf("ingest: got %d %s", a.status, a.body)
	}
	return resp
}

// readIncidentPage reads a page of incidents.
func readIncidentPage(t *testing.T, a answer) listResponse[*weft.Incident] {
	t.Helper()
	var page listResponse[*weft.Incident]
	if a.status != http.StatusOK {
		t.Fatalf("got %d %s, want 200", a.status, a.body)
	}
	if err := json.Unmarshal([]byte(a.body), &page, json.RejectUnknownMembers(false)); err != nil {
		t.Fatal(err)
	}
	return page
}

// labels are the "tenant/name" of each incident, in page order.
func labels(incs []*weft.Incident) []string {
	out := make([]string, len(incs))
	for i, inc := range incs {
		out[i] = inc.TenantID + "/" + inc.DisplayName
	}
	return out
}

// auditOf returns the audit entries of an action.
func (s *authServer) auditOf(t *testing.T, action string) []weft.AuditEntry {
	t.Helper()
	es, _, err := s.store.ListAudit(context.Background(), weft.AuditQuery{Action: action, Top: 100})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestTenantRoutes(t *testing.T) {
	s := newAuthServer(t, Options{})
	root := bearer(s.token(t, "root", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin}))
	localAdmin := bearer(s.token(t, "local-admin", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAdmin}))
	allAnalyst := bearer(s.token(t, "all-analyst", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAnalyst}))

	for _, tc := range []struct {
		name, method, path, body string
		who                      []string
		status                   int
		inBody                   string
	}{
		{"OK_Create", "POST", "/api/v1/tenants", `{"id":"acme","displayName":"Acme Corp"}`, root, 201, `"displayName":"Acme Corp"`},
		{"OK_CreateNameDefaultsToID", "POST", "/api/v1/tenants", `{"id":"globex"}`, root, 201, `"displayName":"globex"`},
		{"ErrTaken", "POST", "/api/v1/tenants", `{"id":"acme"}`, root, 409, `tenant \"acme\" already exists`},
		{"ErrBadID", "POST", "/api/v1/tenants", `{"id":"acme corp"}`, root, 400, `id: tenant id \"acme corp\" may contain only letters, digits`},
		{"ErrLongID", "POST", "/api/v1/tenants", `{"id":"` + strings.Repeat("a", 65) + `"}`, root, 400, "1 to 64 characters"},
		{"ErrStarID", "POST", "/api/v1/tenants", `{"id":"*"}`, root, 400, "cannot be a tenant's id"},
		{"ErrUnknownMember", "POST", "/api/v1/tenants", `{"id":"x","owner":"me"}`, root, 400, "owner"},
		{"ErrCreateLocalAdmin", "POST", "/api/v1/tenants", `{"id":"initech"}`, localAdmin, 403, `a \"*\" grant`},
		{"ErrCreateAllAnalyst", "POST", "/api/v1/tenants", `{"id":"initech"}`, allAnalyst, 403, "admin role in every tenant"},
		{"OK_Get", "GET", "/api/v1/tenants/acme", "", root, 200, `"id":"acme"`},
		{"ErrGetUnknown", "GET", "/api/v1/tenants/nobody", "", root, 404, `tenant \"nobody\" not found`},
		{"ErrGetLocalAdmin", "GET", "/api/v1/tenants/default", "", localAdmin, 403, "every tenant"},
		{"OK_Rename", "PATCH", "/api/v1/tenants/acme", `{"displayName":"Acme"}`, root, 200, `"displayName":"Acme","disabled":false`},
		{"OK_Disable", "PATCH", "/api/v1/tenants/acme", `{"disabled":true}`, root, 200, `"displayName":"Acme","disabled":true`},
		{"OK_Enable", "PATCH", "/api/v1/tenants/acme", `{"disabled":false}`, root, 200, `"disabled":false`},
		{"ErrDisableDefault", "PATCH", "/api/v1/tenants/default", `{"disabled":true}`, root, 400, "disabled: the \\\"default\\\" tenant cannot be disabled"},
		{"ErrEmptyName", "PATCH", "/api/v1/tenants/acme", `{"displayName":""}`, root, 400, "displayName"},
		{"ErrPatchUnknown", "PATCH", "/api/v1/tenants/nobody", `{"disabled":true}`, root, 404, "nobody"},
		{"ErrPatchLocalAdmin", "PATCH", "/api/v1/tenants/default", `{"displayName":"Mine"}`, localAdmin, 403, "every tenant"},
		{"ErrAnonymous", "POST", "/api/v1/tenants", `{"id":"initech"}`, nil, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.send(t, tc.method, tc.path, tc.body, tc.who...)
			if a.status != tc.status || !strings.Contains(a.body, tc.inBody) {
				t.Fatalf("got %d %s, want %d with %s", a.status, a.body, tc.status, tc.inBody)
			}
		})
	}

	t.Run("OK_ListShowsGrantedOnly", func(t *testing.T) {
		var all, local listResponse[*weft.Tenant]
		if err := json.Unmarshal([]byte(s.send(t, "GET", "/api/v1/tenants", "", root...).body), &all); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s.send(t, "GET", "/api/v1/tenants", "", localAdmin...).body), &local); err != nil {
			t.Fatal(err)
		}
		ids := func(ts []*weft.Tenant) (out []string) {
			for _, x := range ts {
				out = append(out, x.ID)
			}
			return out
		}
		if got, want := ids(all.Value), []string{"acme", "default", "globex"}; !slices.Equal(got, want) {
			t.Errorf("root lists %q, want %q", got, want)
		}
		if got, want := ids(local.Value), []string{"default"}; !slices.Equal(got, want) {
			t.Errorf("the default tenant's admin lists %q, want %q", got, want)
		}
	})

	t.Run("OK_AuditNamesTheTenant", func(t *testing.T) {
		created := s.auditOf(t, "tenant.create")
		if len(created) == 0 {
			t.Fatal("no tenant.create entry")
		}
		var ok, failed bool
		for _, e := range created {
			if e.TenantID != e.Target || e.Actor != "token:root" && e.Actor != "root" {
				t.Errorf("entry %+v: want the tenant as TenantID and Target, root as actor", e)
			}
			ok = ok || e.TenantID == "acme" && e.Outcome == "success"
			failed = failed || e.TenantID == "acme" && e.Outcome == "failure" && e.Detail == weft.ECONFLICT
		}
		if !ok || !failed {
			t.Errorf("tenant.create entries %+v: want acme's creation and its refused repeat", created)
		}
		var disabled bool
		for _, e := range s.auditOf(t, "tenant.update") {
			disabled = disabled || e.TenantID == "acme" && e.Detail == "disabled=true" && e.Outcome == "success"
		}
		if !disabled {
			t.Errorf("no tenant.update entry naming acme for its disabling: %+v", s.auditOf(t, "tenant.update"))
		}
		var request bool
		for _, e := range s.auditOf(t, "request") {
			request = request || e.Target == "PATCH /api/v1/tenants/acme"
		}
		if !request {
			t.Error("the middleware wrote no request entry for PATCH /api/v1/tenants/acme")
		}
	})
}

// TestDisabledTenant checks that nothing of a disabled tenant is read or
// changed but by an admin of every tenant, who may read it and enable it
// again, and that its alerts are refused at ingest.
func TestDisabledTenant(t *testing.T) {
	s := newAuthServer(t, Options{})
	root := bearer(s.token(t, "root", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin}))
	feed := bearer(s.token(t, "feed", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAnalyst}))
	acme := bearer(s.token(t, "acme-analyst", weft.Grant{TenantID: "acme", Role: weft.RoleAnalyst}))
	s.ingestInto(t, feed[1][len("Bearer "):], tenantAlert("acme", "a1", "high"))
	if a := s.send(t, "PATCH", "/api/v1/tenants/acme", `{"disabled":true}`, root...); a.status != 200 {
		t.Fatalf("disabling: got %d %s", a.status, a.body)
	}
	inAcme := func(who []string) []string { return append(slices.Clone(who), TenantHeader, "acme") }

	for _, tc := range []struct {
		name, method, path, body string
		who                      []string
		status                   int
	}{
		{"ErrAnalystReads", "GET", "/api/v1/incidents", "", inAcme(acme), 403},
		{"ErrAnalystReadsAlerts", "GET", "/api/v1/alerts", "", inAcme(acme), 403},
		{"ErrAnalystReadsIncident", "GET", "/api/v1/incidents/1", "", inAcme(acme), 403},
		{"ErrAnalystIngests", "POST", "/api/v1/alerts", tenantAlert("", "a2", "low"), inAcme(acme), 403},
		{"ErrAllAnalystReads", "GET", "/api/v1/incidents", "", inAcme(feed), 403},
		{"ErrRootChanges", "PATCH", "/api/v1/incidents/1", `{"status":"resolved"}`, inAcme(root), 403},
		{"ErrRootIngests", "POST", "/api/v1/alerts", tenantAlert("", "a3", "low"), inAcme(root), 403},
		{"OK_RootReads", "GET", "/api/v1/incidents", "", inAcme(root), 200},
		{"OK_RootReadsIncident", "GET", "/api/v1/incidents/1", "", inAcme(root), 200},
		{"OK_RootReadsAlerts", "GET", "/api/v1/alerts", "", inAcme(root), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.send(t, tc.method, tc.path, tc.body, tc.who...)
			if a.status != tc.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.status)
			}
			if tc.status == 403 && !strings.Contains(a.body, `tenant \"acme\" is disabled`) {
				t.Errorf("got %s, want a message naming the disabled tenant", a.body)
			}
		})
	}

	t.Run("ErrIngestRecordNamingIt", func(t *testing.T) {
		resp := s.ingestInto(t, feed[1][len("Bearer "):], tenantAlert("acme", "a4", "low"), tenantAlert("", "d1", "low"))
		if resp.Rejected != 1 || resp.Stored != 1 {
			t.Fatalf("got %+v, want acme's record rejected and the default tenant's stored", resp)
		}
		r := resp.Results[0]
		if r.Status != "rejected" || r.Error == nil || r.Error.Field != "tenantId" || !strings.Contains(r.Error.Message, `"acme", which is disabled`) {
			t.Errorf("record 0: got %+v, want rejected naming the disabled tenant", r)
		}
		page, err := s.store.ListAlerts(context.Background(), weft.AlertQuery{TenantID: "acme", Top: 10, Count: true})
		if err != nil {
			t.Fatal(err)
		}
		if page.Count != 1 {
			t.Errorf("acme holds %d alerts, want only the one stored before it was disabled", page.Count)
		}
	})

	t.Run("OK_MergedQueueLeavesItOut", func(t *testing.T) {
		got := labels(readIncidentPage(t, s.send(t, "GET", "/api/v1/incidents", "", append(slices.Clone(feed), TenantHeader, "*")...)).Value)
		if slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "acme/") }) || len(got) != 1 {
			t.Errorf("an analyst of every tenant sees %q in the merged queue, want only the default tenant's incident", got)
		}
		got = labels(readIncidentPage(t, s.send(t, "GET", "/api/v1/incidents", "", append(slices.Clone(root), TenantHeader, "*")...)).Value)
		if !slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "acme/") }) {
			t.Errorf("an admin of every tenant sees %q in the merged queue, want acme's incident too", got)
		}
	})

	t.Run("OK_EnabledAgain", func(t *testing.T) {
		if a := s.send(t, "PATCH", "/api/v1/tenants/acme", `{"disabled":false}`, root...); a.status != 200 {
			t.Fatalf("enabling: got %d %s", a.status, a.body)
		}
		if page := readIncidentPage(t, s.send(t, "GET", "/api/v1/incidents", "", inAcme(acme)...)); len(page.Value) != 1 {
			t.Errorf("acme's analyst sees %d incidents, want 1", len(page.Value))
		}
	})
}

// TestMergedQueue checks GET /api/v1/incidents with Weft-Tenant: *.
func TestMergedQueue(t *testing.T) {
	s := newAuthServer(t, Options{})
	feed := s.token(t, "feed", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAnalyst})
	res := s.ingestInto(t, feed,
		tenantAlert("acme", "a1", "high"), tenantAlert("acme", "a2", "low"),
		tenantAlert("globex", "g1", "medium"), tenantAlert("globex", "g2", "high"),
		tenantAlert("", "d1", "low"))
	if res.Stored != 5 {
		t.Fatalf("ingest: got %+v, want 5 stored", res)
	}
	both := bearer(s.token(t, "mssp", weft.Grant{TenantID: "acme", Role: weft.RoleViewer}, weft.Grant{TenantID: "globex", Role: weft.RoleAnalyst}))
	acmeOnly := bearer(s.token(t, "acme", weft.Grant{TenantID: "acme", Role: weft.RoleViewer}))
	limited := bearer(s.token(t, "limited", weft.Grant{TenantID: "acme", Role: weft.RoleViewer}, weft.Grant{TenantID: "globex", Role: weft.RoleViewer, DeviceGroups: []string{"Servers"}}))
	merged := func(who []string, query string) answer {
		return s.send(t, "GET", "/api/v1/incidents"+strings.ReplaceAll(query, " ", "%20"), "", append(slices.Clone(who), TenantHeader, "*")...)
	}

	t.Run("OK_TwoTenantsInOneOrder", func(t *testing.T) {
		page := readIncidentPage(t, merged(both, "?$orderby=severity desc&$count=true"))
		got := labels(page.Value)
		// high, high (the newer, globex's, first: ties by id descending),
		// medium, low.
		want := []string{"globex/Alert g2", "acme/Alert a1", "globex/Alert g1", "acme/Alert a2"}
		if !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if page.Count == nil || *page.Count != 4 {
			t.Errorf("@odata.count %v, want 4", page.Count)
		}
	})

	t.Run("OK_Paging", func(t *testing.T) {
		var got []string
		query := "?$orderby=severity desc&$top=3"
		for range 3 {
			page := readIncidentPage(t, merged(both, query))
			got = append(got, labels(page.Value)...)
			if page.NextLink == "" {
				break
			}
			_, query, _ = strings.Cut(page.NextLink, "/api/v1/incidents")
		}
		if want := []string{"globex/Alert g2", "acme/Alert a1", "globex/Alert g1", "acme/Alert a2"}; !slices.Equal(got, want) {
			t.Fatalf("pages: got %q, want %q", got, want)
		}
	})

	t.Run("OK_Filter", func(t *testing.T) {
		got := labels(readIncidentPage(t, merged(both, "?$filter=severity eq 'high'&$orderby=severity desc")).Value)
		if want := []string{"globex/Alert g2", "acme/Alert a1"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		got = labels(readIncidentPage(t, merged(both, "?$search=g1.globex.example")).Value)
		if want := []string{"globex/Alert g1"}; !slices.Equal(got, want) {
			t.Fatalf("$search: got %q, want %q", got, want)
		}
	})

	t.Run("OK_OnlyGrantedTenants", func(t *testing.T) {
		got := labels(readIncidentPage(t, merged(acmeOnly, "?$orderby=severity desc")).Value)
		if want := []string{"acme/Alert a1", "acme/Alert a2"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})

	t.Run("OK_EveryTenantForStarGrant", func(t *testing.T) {
		if got := labels(readIncidentPage(t, merged(bearer(feed), "")).Value); len(got) != 5 {
			t.Fatalf("got %q, want the 5 incidents of 3 tenants", got)
		}
	})

	t.Run("OK_NoTenantAtAll", func(t *testing.T) {
		none := bearer(s.token(t, "none", weft.Grant{TenantID: "initech", Role: weft.RoleViewer}))
		if got := readIncidentPage(t, merged(none, "?$count=true")); len(got.Value) != 0 || got.Count == nil || *got.Count != 0 {
			t.Fatalf("got %+v, want an empty page counted 0", got)
		}
	})

	t.Run("ErrDeviceGroupLimit", func(t *testing.T) {
		a := merged(limited, "")
		if a.status != 403 || !strings.Contains(a.body, `tenant \"globex\" is limited to Servers`) {
			t.Fatalf("got %d %s, want 403 naming the limited tenant", a.status, a.body)
		}
	})

	for _, tc := range []struct{ name, method, path, body string }{
		{"ErrStarOnAlerts", "GET", "/api/v1/alerts", ""},
		{"ErrStarOnIngest", "POST", "/api/v1/alerts", tenantAlert("", "x1", "low")},
		{"ErrStarOnIncident", "GET", "/api/v1/incidents/1", ""},
		{"ErrStarOnBulk", "PATCH", "/api/v1/incidents", `{"ids":["1"],"status":"resolved"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.send(t, tc.method, tc.path, tc.body, append(bearer(feed), TenantHeader, "*")...)
			if a.status != 400 || !strings.Contains(a.body, "accepted only by the merged queue") {
				t.Fatalf("got %d %s, want 400 saying \"*\" is for the merged queue", a.status, a.body)
			}
		})
	}
}

// TestEveryTenantHeaderMatrix calls every route of the route table with
// Weft-Tenant: *, as a viewer of the default tenant and as an admin of
// every tenant: the merged queue answers, every other tenant route refuses
// "*" with 400, and routes outside a tenant ignore the header (their
// usual answer, never that 400).
func TestEveryTenantHeaderMatrix(t *testing.T) {
	s := newAuthServer(t, Options{})
	principals := map[string]string{
		"viewer": s.token(t, "viewer", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer}),
		"*admin": s.token(t, "all-admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin}),
	}
	merged := 0
	for _, rt := range s.api.routeTable() {
		if rt.merged {
			merged++
		}
		for name, secret := range principals {
			method, path := matrixPath(rt.pattern)
			body := ""
			if stateChanging(method) {
				body = "{}"
			}
			a := s.send(t, method, path, body, append(bearer(secret), TenantHeader, weft.AllTenants)...)
			refused := a.status == http.StatusBadRequest && strings.Contains(a.body, "accepted only by the merged queue")
			switch {
			case rt.scope == scopeTenant && rt.merged:
				if a.status != http.StatusOK {
					t.Errorf("%s as %s with *: got %d %.200s, want 200", rt.pattern, name, a.status, a.body)
				}
			case rt.scope == scopeTenant:
				if !refused {
					t.Errorf("%s as %s with *: got %d %.200s, want 400 refusing *", rt.pattern, name, a.status, a.body)
				}
			case refused:
				t.Errorf("%s as %s with *: refused *, but the route does not act in a tenant", rt.pattern, name)
			}
		}
	}
	if merged != 2 {
		t.Errorf("%d routes serve the merged queue, want 2 (GET /api/v1/incidents and its CSV export)", merged)
	}
}

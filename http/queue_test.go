package http_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
)

type queueAnswer struct {
	Count    *int64 `json:"@odata.count"`
	NextLink string `json:"@odata.nextLink"`
	Value    []struct {
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	} `json:"value"`
}

func (a queueAnswer) names() []string {
	var names []string
	for _, v := range a.Value {
		names = append(names, v.DisplayName)
	}
	return names
}

// newQueueServer returns a server whose store holds one incident per entry,
// imported with its state; they are unscored, so the queue orders them by id,
// highest (newest) first.
func newQueueServer(t *testing.T) (*testServer, []string) {
	t.Helper()
	s := newTestServer(t, wefthttp.Options{})
	now := time.Now().UTC()
	fixture := []struct {
		name     string
		status   weft.IncidentStatus
		severity weft.Severity
		tags     []string
	}{
		{"Ransomware on ws-001", weft.IncidentStatusActive, weft.SeverityHigh, []string{"VIP"}},
		{"Phishing campaign", weft.IncidentStatusInProgress, weft.SeverityMedium, nil},
		{"Informational noise", weft.IncidentStatusActive, weft.SeverityInformational, nil},
		{"Atypical travel", weft.IncidentStatusResolved, weft.SeverityLow, []string{"VIP"}},
		{"Suspicious sign-in", weft.IncidentStatusActive, weft.SeverityLow, nil},
	}
	var alerts []*weft.Alert
	for i, f := range fixture {
		created := now.Add(time.Duration(i-10) * time.Minute)
		a := &weft.Alert{Source: "edr", ProviderAlertID: "q" + strconv.Itoa(i), Title: f.name, Severity: f.severity,
			FirstActivityDateTime: created,
			Evidence:              []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: "ws-" + strconv.Itoa(i) + ".contoso.com"}},
			Import: &weft.IncidentImport{Source: "graph-incident", ID: "q" + strconv.Itoa(i), DisplayName: f.name,
				Status: f.status, CustomTags: f.tags, CreatedDateTime: &created, LastUpdateDateTime: &created}}
		if _, err := a.Normalize(now); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	res, err := s.store.StoreAlerts(context.Background(), alerts)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		ids[i] = strconv.FormatInt(r.IncidentID, 10)
	}
	return s, ids
}

func queuePath(params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	return "/api/v1/incidents?" + v.Encode()
}

func TestQueue(t *testing.T) {
	s, ids := newQueueServer(t)
	for _, tc := range []struct {
		name   string
		params []string
		want   []string
	}{
		{"OK_DefaultView", nil, []string{"Suspicious sign-in", "Phishing campaign", "Ransomware on ws-001"}},
		{"OK_Resolved", []string{"$filter", "status eq 'resolved'"}, []string{"Atypical travel"}},
		{"OK_FilterReplacesDefault", []string{"$filter", "severity in ('informational', 'low')"}, []string{"Suspicious sign-in", "Atypical travel", "Informational noise"}},
		{"OK_Tags", []string{"$filter", "customTags/any(t: t eq 'VIP')"}, []string{"Atypical travel", "Ransomware on ws-001"}},
		{"OK_OrderBy", []string{"$orderby", "severity desc"}, []string{"Ransomware on ws-001", "Phishing campaign", "Suspicious sign-in"}},
		{"OK_OrderByCreatedAsc", []string{"$orderby", "createdDateTime asc"}, []string{"Ransomware on ws-001", "Phishing campaign", "Suspicious sign-in"}},
		{"OK_Search", []string{"$search", "PHISH"}, []string{"Phishing campaign"}},
		{"OK_SearchWithinFilter", []string{"$search", "travel", "$filter", "status in ('active', 'inProgress', 'resolved', 'awaitingAction')"}, []string{"Atypical travel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a queueAnswer
			resp := s.do(t, "GET", queuePath(tc.params...), "", nil, &a)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := a.names(); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("OK_SearchByID", func(t *testing.T) {
		var a queueAnswer
		s.do(t, "GET", queuePath("$search", ids[1]), "", nil, &a)
		if got := a.names(); !slices.Equal(got, []string{"Phishing campaign"}) {
			t.Fatalf("got %q", got)
		}
	})

	t.Run("OK_CountAndNextLink", func(t *testing.T) {
		var a queueAnswer
		s.do(t, "GET", queuePath("$filter", "severity ne 'high'", "$count", "true", "$top", "2"), "", nil, &a)
		if a.Count == nil || *a.Count != 4 || len(a.Value) != 2 || a.NextLink == "" {
			t.Fatalf("got %+v, want count 4, 2 values and a next link", a)
		}
		u, err := url.Parse(a.NextLink)
		if err != nil || u.Query().Get("$filter") != "severity ne 'high'" || u.Query().Get("$skip") != "2" {
			t.Fatalf("next link %q does not keep the filter and advance $skip", a.NextLink)
		}
		var b queueAnswer
		s.do(t, "GET", u.RequestURI(), "", nil, &b)
		all := append(a.names(), b.names()...)
		if want := []string{"Suspicious sign-in", "Atypical travel", "Informational noise", "Phishing campaign"}; !slices.Equal(all, want) || b.NextLink != "" {
			t.Fatalf("pages: got %q (next %q), want %q", all, b.NextLink, want)
		}
	})

	for _, tc := range []struct {
		name   string
		params []string
		msg    string
	}{
		{"ErrEnumValue", []string{"$filter", "status eq 'closed'"}, "status: 'closed' at position 11 is not a valid value; allowed: active, inProgress, resolved, awaitingAction"},
		{"ErrSeverityValue", []string{"$filter", "severity eq 'critical'"}, "allowed: unknown, informational, low, medium, high"},
		{"ErrFunction", []string{"$filter", "contains(displayName, 'x')"}, `function "contains" at position 1 is not supported`},
		{"ErrField", []string{"$filter", "title eq 'x'"}, `field "title" at position 1 is not filterable`},
		{"ErrOperator", []string{"$filter", "status gt 'active'"}, `operator "gt" at position 8 does not apply to status`},
		{"ErrSyntax", []string{"$filter", "status eq 'active' and"}, `expected a field name or "(" at position 23`},
		{"ErrEmptyFilter", []string{"$filter", ""}, "$filter is empty"},
		{"ErrOrderBy", []string{"$orderby", "displayName"}, `field "displayName" at position 1 is not sortable`},
		{"ErrSearchTooLong", []string{"$search", strings.Repeat("x", 300)}, "$search is 300 characters long"},
		{"ErrOtherOption", []string{"$select", "id"}, "query option $select is not supported on this endpoint (supported: $top, $skip, $count, $expand, $filter, $orderby, $search)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e errorAnswer
			resp := s.do(t, "GET", queuePath(tc.params...), "", nil, &e)
			if resp.StatusCode != 400 || !strings.Contains(e.Error.Message, tc.msg) {
				t.Fatalf("got %d %+v, want 400 with %q", resp.StatusCode, e, tc.msg)
			}
		})
	}

	t.Run("ErrFilterOnAlerts", func(t *testing.T) {
		var e errorAnswer
		resp := s.do(t, "GET", "/api/v1/alerts?"+url.Values{"$filter": {"severity eq 'high'"}}.Encode(), "", nil, &e)
		if resp.StatusCode != 400 || !strings.Contains(e.Error.Message, "$filter is not supported on this endpoint") {
			t.Fatalf("got %d %+v", resp.StatusCode, e)
		}
	})
}

func TestQueueOtherTenant(t *testing.T) {
	s, _ := newQueueServer(t)
	var a queueAnswer
	req := queuePath("$filter", "customTags/any(t: t eq 'VIP')", "$count", "true")
	resp := s.do(t, "GET", req, "", nil, &a)
	if resp.StatusCode != 200 || *a.Count != 2 {
		t.Fatalf("default tenant: %d %+v", resp.StatusCode, a)
	}
	if err := s.store.CreateTenant(context.Background(), &weft.Tenant{ID: "other", DisplayName: "Other"}); err != nil {
		t.Fatal(err)
	}
	hreq, _ := newRequestWithTenant(s, req, "other")
	r, err := s.Client().Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var b queueAnswer
	if err := decodeJSON(r, &b); err != nil || r.StatusCode != 200 || *b.Count != 0 || len(b.Value) != 0 {
		t.Fatalf("other tenant: %d %+v %v, want none", r.StatusCode, b, err)
	}
}

func newRequestWithTenant(s *testServer, path, tenant string) (*http.Request, error) {
	req, err := http.NewRequest("GET", s.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(wefthttp.TenantHeader, tenant)
	return req, nil
}

func decodeJSON(r *http.Response, v any) error {
	return json.UnmarshalRead(r.Body, v, json.RejectUnknownMembers(false))
}

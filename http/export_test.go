package http

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// exportNow is the clock of the export tests.
var exportNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// newExportServer returns a server whose store holds three incidents of the
// default tenant (two open, whose names and tags need quoting and defusing,
// and one resolved) and one of the tenant "other".
func newExportServer(t *testing.T) *Server {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal", Now: func() time.Time { return exportNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if err := store.CreateTenant(ctx, &weft.Tenant{ID: "other", DisplayName: "Other"}); err != nil {
		t.Fatal(err)
	}
	fixture := []struct {
		tenant, name string
		status       weft.IncidentStatus
		severity     weft.Severity
		assigned     string
		tags         []string
	}{
		{"", "Ransomware, \"big\" one\non ws-0", weft.IncidentStatusActive, weft.SeverityHigh, "alice@contoso.com", []string{"VIP", "Crown jewels"}},
		{"", `=HYPERLINK("http://evil.example","x")`, weft.IncidentStatusActive, weft.SeverityMedium, "+31 555 0100", []string{"-cmd|' /C calc'!A0", "@SUM(A1)"}},
		{"", "Phishing", weft.IncidentStatusResolved, weft.SeverityLow, "", nil},
		{"other", "Other tenant", weft.IncidentStatusActive, weft.SeverityHigh, "", nil},
	}
	var alerts []*weft.Alert
	for i, f := range fixture {
		created := exportNow.Add(time.Duration(i-10) * time.Minute)
		a := &weft.Alert{TenantID: f.tenant, Source: "edr", ProviderAlertID: "x" + strconv.Itoa(i), Title: f.name, Severity: f.severity,
			Category: "Execution", ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "antivirus",
			FirstActivityDateTime: created,
			Evidence:              []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: "ws-" + strconv.Itoa(i) + ".contoso.com"}},
			Import: &weft.IncidentImport{Source: "graph-incident", ID: "x" + strconv.Itoa(i), DisplayName: f.name,
				Status: f.status, AssignedTo: f.assigned, CustomTags: f.tags, CreatedDateTime: &created, LastUpdateDateTime: &created}}
		if _, err := a.Normalize(exportNow); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	if _, err := store.StoreAlerts(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	s := NewServer(store, nil, NewTestCredentials(t, store).Options(Options{Now: func() time.Time { return exportNow }}))
	s.SetReady(true)
	return s
}

// exportPath is the export's path with the query options params (name,
// value, name, value…).
func exportPath(params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	return "/api/v1/incidents/export.csv?" + v.Encode()
}

// export sends an export request for tenant ("" the default) through the
// server's routes, or, with maxRows > 0, to the handler with that cap.
func export(t *testing.T, s *Server, tenant, path string, maxRows int) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	_, secret, err := s.auth.CreateToken(req.Context(), &weft.Token{Name: "export", Grants: []weft.Grant{{TenantID: weft.AllTenants, Role: weft.RoleViewer}}})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	if tenant != "" {
		req.Header.Set(TenantHeader, tenant)
	}
	rec := httptest.NewRecorder()
	if maxRows > 0 {
		s.exportIncidents(rec, req, maxRows)
	} else {
		s.Handler().ServeHTTP(rec, req)
	}
	resp := rec.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// exportRows parses a CSV answer, checks its header row and returns the
// data rows.
func exportRows(t *testing.T, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], exportColumns) {
		t.Fatalf("header row: got %q, want %q", recs, exportColumns)
	}
	return recs[1:]
}

// exportNames are the incident names (column 2) of rows.
func exportNames(rows [][]string) []string {
	var names []string
	for _, r := range rows {
		names = append(names, r[1])
	}
	return names
}

func TestExportIncidents(t *testing.T) {
	s := newExportServer(t)

	t.Run("OK_HeadersAndQuoting", func(t *testing.T) {
		resp, body := export(t, s, "", exportPath(), 0)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		for k, want := range map[string]string{
			"Content-Type":        "text/csv; charset=utf-8; header=present",
			"Content-Disposition": `attachment; filename="incidents-20261128T120000Z.csv"`,
			ExportLimitHeader:     strconv.Itoa(MaxExportRows),
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s: got %q, want %q", k, got, want)
			}
		}
		if got := resp.Trailer.Get(ExportTruncatedTrailer); got != "false" {
			t.Errorf("trailer %s: got %q, want false", ExportTruncatedTrailer, got)
		}
		// RFC 4180: CRLF line ends (within a field too); a field with a
		// comma, quote or line break is quoted, its quotes doubled.
		if !strings.HasPrefix(body, "Incident Id,Incident name,Status,") || strings.Count(body, "\r\n") != 4 ||
			!strings.Contains(body, `,"Ransomware, ""big"" one`+"\r\non ws-0\",") {
			t.Fatalf("not RFC 4180:\n%q", body)
		}
		rows := exportRows(t, body)
		if got, want := exportNames(rows), []string{`'=HYPERLINK("http://evil.example","x")`, "Ransomware, \"big\" one\non ws-0"}; !slices.Equal(got, want) {
			t.Fatalf("default view: got %q, want %q", got, want)
		}
		r := rows[1]
		if got, want := r[2:14], []string{"active", "high", "", "alice@contoso.com", "unknown", "unknown", "Execution",
			"microsoftDefenderForEndpoint", "antivirus", "VIP; Crown jewels", "", "1"}; !slices.Equal(got, want) {
			t.Errorf("cells: got %q, want %q", got, want)
		}
		if got, want := r[14], exportNow.Add(-10*time.Minute).Format(time.RFC3339); got != want {
			t.Errorf("created: got %q, want %q", got, want)
		}
	})

	t.Run("OK_FormulaGuard", func(t *testing.T) {
		_, body := export(t, s, "", exportPath("$filter", "severity eq 'medium'"), 0)
		rows := exportRows(t, body)
		if len(rows) != 1 {
			t.Fatalf("got %d rows, want 1", len(rows))
		}
		r := rows[0]
		if got, want := []string{r[1], r[5], r[11]}, []string{`'=HYPERLINK("http://evil.example","x")`, "'+31 555 0100", "'-cmd|' /C calc'!A0; @SUM(A1)"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		for i, c := range r {
			if c != "" && strings.IndexByte("=+-@", c[0]) >= 0 {
				t.Errorf("cell %d (%s) starts a formula: %q", i, exportColumns[i], c)
			}
		}
	})

	for _, tc := range []struct {
		name   string
		params []string
		want   []string
	}{
		{"OK_Filter", []string{"$filter", "status eq 'resolved'"}, []string{"Phishing"}},
		{"OK_FilterEntity", []string{"$filter", "entities/any(e: e eq 'WS-2.contoso.com')"}, []string{"Phishing"}},
		{"OK_SearchByAsset", []string{"$filter", "status ne 'active'", "$search", "ws-2.contoso.com"}, []string{"Phishing"}},
		{"OK_OrderBy", []string{"$filter", "alertCount ge 1", "$orderby", "severity asc"}, []string{"Phishing", `'=HYPERLINK("http://evil.example","x")`, "Ransomware, \"big\" one\non ws-0"}},
		{"OK_Empty", []string{"$filter", "status eq 'awaitingAction'"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := export(t, s, "", exportPath(tc.params...), 0)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := exportNames(exportRows(t, body)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("OK_OtherTenant", func(t *testing.T) {
		_, body := export(t, s, "other", exportPath("$filter", "alertCount ge 1"), 0)
		if got, want := exportNames(exportRows(t, body)), []string{"Other tenant"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		_, body = export(t, s, "other", exportPath("$search", "ws-0.contoso.com"), 0)
		if got := exportNames(exportRows(t, body)); len(got) != 0 {
			t.Fatalf("search by another tenant's asset: got %q, want none", got)
		}
	})

	t.Run("OK_Cap", func(t *testing.T) {
		for _, tc := range []struct {
			max  int
			want []string
			cut  string
		}{
			{1, []string{"Phishing"}, "true"},
			{3, []string{"Phishing", `'=HYPERLINK("http://evil.example","x")`, "Ransomware, \"big\" one\non ws-0"}, "false"},
		} {
			resp, body := export(t, s, "", exportPath("$filter", "alertCount ge 1", "$orderby", "severity asc"), tc.max)
			if got := exportNames(exportRows(t, body)); !slices.Equal(got, tc.want) {
				t.Errorf("cap %d: got %q, want %q", tc.max, got, tc.want)
			}
			if got := resp.Trailer.Get(ExportTruncatedTrailer); got != tc.cut {
				t.Errorf("cap %d: trailer got %q, want %q", tc.max, got, tc.cut)
			}
			if got := resp.Header.Get(ExportLimitHeader); got != strconv.Itoa(tc.max) {
				t.Errorf("cap %d: %s got %q", tc.max, ExportLimitHeader, got)
			}
		}
	})

	for _, tc := range []struct {
		name   string
		params []string
		msg    string
	}{
		{"ErrFilter", []string{"$filter", "title eq 'x'"}, `title\" at position 1 is not filterable`},
		{"ErrTop", []string{"$top", "10"}, "query option $top is not supported on the export"},
		{"ErrCount", []string{"$count", "true"}, "query option $count is not supported on the export"},
		{"ErrExpand", []string{"$expand", "alerts"}, "$expand is not supported on this endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := export(t, s, "", exportPath(tc.params...), 0)
			if resp.StatusCode != 400 || !strings.Contains(body, tc.msg) || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("got %d %s %q, want 400 with %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.msg)
			}
		})
	}
}

func TestGuardFormula(t *testing.T) {
	for in, want := range map[string]string{
		"":         "",
		"=1+1":     "'=1+1",
		"+1":       "'+1",
		"-1":       "'-1",
		"@SUM(A1)": "'@SUM(A1)",
		"\tx":      "'\tx",
		"a=b":      "a=b",
		"42":       "42",
	} {
		if got := guardFormula(in); got != want {
			t.Errorf("guardFormula(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExportMerged checks the merged export (Weft-Tenant: *) of the handler:
// the tenants guard found the principal may read, merged in one order, with
// the tenant in a first column, defused like every cell. The route refuses
// "*" until its row says merged: true; guard's part (which tenants) is the
// merged queue's, tested in tenants_test.go.
func TestExportMerged(t *testing.T) {
	s := newExportServer(t)
	for _, tc := range []struct {
		name     string
		tenants  []string
		filter   string
		wantRows [][2]string // tenant, name
	}{
		{name: "OK_Both", tenants: []string{weft.DefaultTenantID, "other"}, filter: "alertCount ge 1", wantRows: [][2]string{
			{"other", "Other tenant"}, {weft.DefaultTenantID, "Phishing"}, {weft.DefaultTenantID, `'=HYPERLINK("http://evil.example","x")`},
			{weft.DefaultTenantID, "Ransomware, \"big\" one\non ws-0"}}},
		{name: "OK_OneTenant", tenants: []string{"other"}, wantRows: [][2]string{{"other", "Other tenant"}}},
		{name: "OK_NoTenant", tenants: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := exportPath()
			if tc.filter != "" {
				path = exportPath("$filter", tc.filter)
			}
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set(TenantHeader, weft.AllTenants)
			info := &authInfo{principal: &weft.Principal{Name: "test"}, tenants: tc.tenants}
			req = req.WithContext(context.WithValue(req.Context(), authKey{}, info))
			rec := httptest.NewRecorder()
			s.exportIncidents(rec, req, MaxExportRows)
			if rec.Code != 200 {
				t.Fatalf("got %d %s", rec.Code, rec.Body)
			}
			recs, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
			if err != nil || len(recs) == 0 || !slices.Equal(recs[0], mergedExportColumns) || recs[0][0] != "Tenant Id" {
				t.Fatalf("header row: got %q (%v), want %q", recs, err, mergedExportColumns)
			}
			var got [][2]string
			for _, r := range recs[1:] {
				got = append(got, [2]string{r[0], r[2]})
			}
			slices.SortFunc(got, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
			want := slices.Clone(tc.wantRows)
			slices.SortFunc(want, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
			if !slices.Equal(got, want) {
				t.Errorf("rows (tenant, name): got %q, want %q", got, want)
			}
		})
	}
}

package http_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/sqlite"
)

// testServer is a weft API on a fresh SQLite store.
type testServer struct {
	*httptest.Server
	store *sqlite.Store
}

func newTestServer(t testing.TB, opts wefthttp.Options) *testServer {
	t.Helper()
	return newServerWith(t, sqlite.Options{}, opts)
}

// newServerWith is a weft API on a fresh SQLite store opened with so
// (synchronous=normal unless it says otherwise), whose client is signed in
// as an admin of every tenant (NewTestCredentials).
func newServerWith(t testing.TB, so sqlite.Options, opts wefthttp.Options) *testServer {
	t.Helper()
	if so.Synchronous == "" {
		so.Synchronous = "normal"
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), so)
	if err != nil {
		t.Fatal(err)
	}
	var api *wefthttp.Server
	b := ingest.NewBatcher(store, ingest.BatcherOptions{Observe: func(n int, d time.Duration, err error) { api.ObserveCommit(n, d, err) }})
	creds := wefthttp.NewTestCredentials(t, store)
	api = wefthttp.NewServer(store, b, creds.Options(opts))
	api.SetReady(true)
	srv := httptest.NewServer(api.Handler())
	srv.Client().Transport = creds.Transport(srv.Client().Transport)
	t.Cleanup(func() {
		srv.Close()
		b.Close()
		store.Close()
	})
	return &testServer{srv, store}
}

type ingestAnswer struct {
	Received  int  `json:"received"`
	Stored    int  `json:"stored"`
	Updated   int  `json:"updated"`
	Duplicate int  `json:"duplicate"`
	Stale     int  `json:"stale"`
	Rejected  int  `json:"rejected"`
	Errors    bool `json:"errors"`
	Results   []struct {
		Index      int      `json:"index"`
		Line       int      `json:"line"`
		Status     string   `json:"status"`
		ID         string   `json:"id"`
		IncidentID string   `json:"incidentId"`
		Warnings   []string `json:"warnings"`
		Error      *struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"results"`
}

type errorAnswer struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// do sends a request and decodes a JSON answer into v (when v is not nil).
func (s *testServer) do(t *testing.T, method, path, contentType string, body []byte, v any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v, json.RejectUnknownMembers(false)); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, raw, err)
		}
	}
	return resp
}

func (s *testServer) alertCount(t *testing.T) int64 {
	t.Helper()
	var page struct {
		Count int64 `json:"@odata.count"`
	}
	s.do(t, "GET", "/api/v1/alerts?$count=true&$top=1", "", nil, &page)
	return page.Count
}

var recent = time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)

// nativeAlert is a weft-format alert with the given provider id.
func nativeAlert(id string) string {
	return fmt.Sprintf(`{"source":"edr","providerAlertId":%q,"title":"Suspicious PowerShell","severity":"high","firstActivityDateTime":%q,"evidence":[{"entityType":"device","deviceDnsName":"ws-042.contoso.com"}]}`, id, recent)
}

func TestIngest(t *testing.T) {
	t.Run("OK_NDJSONWithMalformedRecord3Of5", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		lines := []string{nativeAlert("a1"), nativeAlert("a2"), `{"source":"edr","providerAlertId":"a3","title":`, nativeAlert("a4"), nativeAlert("a5")}
		var ans ingestAnswer
		resp := s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(strings.Join(lines, "\n")), &ans)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d, want 200", resp.StatusCode)
		}
		if ans.Stored != 4 || ans.Rejected != 1 || !ans.Errors {
			t.Fatalf("got %+v, want 4 stored and 1 rejected", ans)
		}
		r := ans.Results[2]
		if r.Status != "rejected" || r.Line != 3 || r.Error == nil {
			t.Fatalf("record 3: got %+v, want rejected on line 3 with an error", r)
		}
		if got := s.alertCount(t); got != 4 {
			t.Fatalf("store holds %d alerts, want 4", got)
		}
	})

	t.Run("OK_JSONArrayWithMalformedRecord3Of5", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		body := "[\n" + nativeAlert("b1") + ",\n" + nativeAlert("b2") + ",\n" + `{"source":"edr","providerAlertId":"b3","title" "x"}` + ",\n" + nativeAlert("b4") + ",\n" + nativeAlert("b5") + "\n]"
		var ans ingestAnswer
		s.do(t, "POST", "/api/v1/alerts", "application/json", []byte(body), &ans)
		if ans.Stored != 4 || ans.Rejected != 1 || ans.Results[2].Status != "rejected" || ans.Results[2].Line != 4 {
			t.Fatalf("got %+v, want 4 stored and record 3 (line 4) rejected", ans)
		}
	})

	t.Run("OK_SingleObject", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		var ans ingestAnswer
		s.do(t, "POST", "/api/v1/alerts", "application/json", []byte(nativeAlert("c1")), &ans)
		if ans.Stored != 1 || ans.Results[0].IncidentID == "" {
			t.Fatalf("got %+v, want 1 stored with an incident", ans)
		}
	})

	t.Run("OK_RepeatIsDuplicate", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		body := []byte(nativeAlert("d1") + "\n" + nativeAlert("d1") + "\n")
		var ans ingestAnswer
		s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", body, &ans)
		if ans.Stored != 1 || ans.Duplicate != 1 {
			t.Fatalf("duplicate ids in one batch: got %+v, want 1 stored and 1 duplicate", ans)
		}
		s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", body, &ans)
		if ans.Stored != 0 || ans.Duplicate != 2 {
			t.Fatalf("resent batch: got %+v, want 2 duplicates", ans)
		}
		if got := s.alertCount(t); got != 1 {
			t.Fatalf("store holds %d alerts, want 1", got)
		}
	})

	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		var b bytes.Buffer
		for i := 0; b.Len() < 50<<20; i++ {
			b.WriteString(nativeAlert(fmt.Sprint("big-", i)))
			b.WriteByte('\n')
		}
		var e errorAnswer
		resp := s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", b.Bytes(), &e)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || e.Error.Code != weft.ETOOLARGE {
			t.Fatalf("got %d %+v, want 413 too_large", resp.StatusCode, e)
		}
		if got := s.alertCount(t); got != 0 {
			t.Fatalf("store holds %d alerts after a refused body, want 0", got)
		}
	})

	t.Run("ErrBodyTooLargeWithoutContentLength", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{MaxBodyBytes: 1 << 20})
		var b bytes.Buffer
		for i := 0; b.Len() < 2<<20; i++ {
			b.WriteString(nativeAlert(fmt.Sprint("chunked-", i)) + "\n")
		}
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/alerts", io.MultiReader(&b)) // no length: chunked
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.StatusCode)
		}
		if got := s.alertCount(t); got != 0 {
			t.Fatalf("store holds %d alerts, want 0", got)
		}
	})

	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		resp := s.do(t, "POST", "/api/v1/alerts", "text/csv", []byte("a,b"), nil)
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("status %d, want 415", resp.StatusCode)
		}
	})

	t.Run("ErrNotJSON", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		var e errorAnswer
		resp := s.do(t, "POST", "/api/v1/alerts", "application/json", []byte("hello"), &e)
		if resp.StatusCode != http.StatusBadRequest || e.Error.Message == "" {
			t.Fatalf("got %d %+v, want 400 with a message", resp.StatusCode, e)
		}
	})

	t.Run("ErrRecordRules", func(t *testing.T) {
		s := newTestServer(t, wefthttp.Options{})
		future := time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339)
		deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
		cases := []struct {
			name, record, field, mention string
		}{
			{"InvalidSeverity", `{"source":"edr","providerAlertId":"e1","title":"t","severity":"critical"}`, "severity", "informational"},
			{"NoZone", `{"source":"edr","providerAlertId":"e2","title":"t","firstActivityDateTime":"2026-11-01T10:00:00"}`, "firstActivityDateTime", "zone"},
			{"Future", fmt.Sprintf(`{"source":"edr","providerAlertId":"e3","title":"t","firstActivityDateTime":%q}`, future), "firstActivityDateTime", "future"},
			{"Before1970", `{"source":"edr","providerAlertId":"e4","title":"t","firstActivityDateTime":"1969-12-31T23:00:00Z"}`, "firstActivityDateTime", "1970"},
			{"MissingTitle", `{"source":"edr","providerAlertId":"e5"}`, "title", "required"},
			{"DeepNesting", `{"source":"edr","providerAlertId":"e6","title":"t","additionalData":` + deep + `}`, "", "nest"},
		}
		var body strings.Builder
		for _, c := range cases {
			body.WriteString(c.record + "\n")
		}
		body.WriteString(nativeAlert("e-good") + "\n")
		var ans ingestAnswer
		s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(body.String()), &ans)
		if ans.Stored != 1 || ans.Rejected != len(cases) {
			t.Fatalf("got %d stored and %d rejected, want 1 and %d", ans.Stored, ans.Rejected, len(cases))
		}
		for i, c := range cases {
			r := ans.Results[i]
			if r.Status != "rejected" || r.Error == nil {
				t.Errorf("%s: got %+v, want rejected", c.name, r)
				continue
			}
			if c.field != "" && r.Error.Field != c.field {
				t.Errorf("%s: field %q, want %q", c.name, r.Error.Field, c.field)
			}
			if !strings.Contains(strings.ToLower(r.Error.Message), c.mention) {
				t.Errorf("%s: message %q does not mention %q", c.name, r.Error.Message, c.mention)
			}
			if r.Line != i+1 {
				t.Errorf("%s: line %d, want %d", c.name, r.Line, i+1)
			}
		}
	})
}

func TestReadAPI(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	var lines []string
	for i := range 7 {
		lines = append(lines, nativeAlert(fmt.Sprint("r", i)))
	}
	var ans ingestAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/x-ndjson", []byte(strings.Join(lines, "\n")), &ans)
	if ans.Stored != 7 {
		t.Fatalf("stored %d, want 7", ans.Stored)
	}

	t.Run("OK_PagingWithNextLink", func(t *testing.T) {
		type page struct {
			Count    *int64 `json:"@odata.count"`
			NextLink string `json:"@odata.nextLink"`
			Value    []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		seen := map[string]bool{}
		next := "/api/v1/alerts?$top=3&$count=true"
		pages := 0
		for next != "" {
			var p page
			s.do(t, "GET", strings.TrimPrefix(next, s.URL), "", nil, &p)
			if p.Count == nil || *p.Count != 7 {
				t.Fatalf("@odata.count %v, want 7", p.Count)
			}
			for _, v := range p.Value {
				if seen[v.ID] {
					t.Fatalf("alert %s on two pages", v.ID)
				}
				seen[v.ID] = true
			}
			next = p.NextLink
			pages++
		}
		if len(seen) != 7 || pages != 3 {
			t.Fatalf("saw %d alerts on %d pages, want 7 on 3", len(seen), pages)
		}
	})

	t.Run("OK_AlertByID", func(t *testing.T) {
		var a weft.Alert
		resp := s.do(t, "GET", "/api/v1/alerts/"+ans.Results[0].ID, "", nil, &a)
		if resp.StatusCode != 200 || a.ProviderAlertID != "r0" || len(a.Raw) == 0 {
			t.Fatalf("got %d %+v, want alert r0 with its raw original", resp.StatusCode, a)
		}
	})

	t.Run("OK_IncidentWithAlerts", func(t *testing.T) {
		var inc weft.Incident
		resp := s.do(t, "GET", "/api/v1/incidents/"+ans.Results[0].IncidentID+"?$expand=alerts", "", nil, &inc)
		if resp.StatusCode != 200 || len(inc.Alerts) != 1 || inc.Severity != weft.SeverityHigh || resp.Header.Get("ETag") == "" {
			t.Fatalf("got %d %+v, want a high incident with 1 alert and an ETag", resp.StatusCode, inc)
		}
		if len(inc.ImpactedEntities) != 1 || inc.ImpactedEntities[0].Name != "ws-042.contoso.com" {
			t.Fatalf("impacted entities %+v, want the device", inc.ImpactedEntities)
		}
		var acts struct {
			Value []weft.Activity `json:"value"`
		}
		s.do(t, "GET", "/api/v1/incidents/"+ans.Results[0].IncidentID+"/activity", "", nil, &acts)
		if len(acts.Value) == 0 || acts.Value[0].Type != weft.ActivityIncidentCreated {
			t.Fatalf("activity %+v, want an incidentCreated entry", acts.Value)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, path := range []string{"/api/v1/alerts/nope", "/api/v1/incidents/999999", "/api/v1/incidents/abc", "/api/v1/nothing"} {
			var e errorAnswer
			resp := s.do(t, "GET", path, "", nil, &e)
			if resp.StatusCode != 404 || e.Error.Code != weft.ENOTFOUND {
				t.Errorf("%s: got %d %+v, want 404 not_found", path, resp.StatusCode, e)
			}
		}
	})

	t.Run("ErrOtherTenant", func(t *testing.T) {
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/alerts/"+ans.Results[0].ID, nil)
		req.Header.Set(wefthttp.TenantHeader, "other")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	})

	t.Run("ErrUnsupportedQueryOption", func(t *testing.T) {
		for _, q := range []string{"$filter=contains(displayName,'x')", "$orderby=title", "$top=0", "$top=5000", "$skip=-1", "$count=maybe", "$expand=evidence", "$expand=alerts&$top=500"} {
			var e errorAnswer
			resp := s.do(t, "GET", "/api/v1/incidents?"+q, "", nil, &e)
			if resp.StatusCode != 400 || e.Error.Message == "" {
				t.Errorf("%s: got %d %+v, want 400 with a message", q, resp.StatusCode, e)
			}
		}
	})

	t.Run("OK_HealthReadyMetrics", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			if resp := s.do(t, "GET", path, "", nil, nil); resp.StatusCode != 200 {
				t.Errorf("%s: status %d", path, resp.StatusCode)
			}
		}
		// A record that breaks a rule is counted by source and field.
		bad := fmt.Sprintf(`{"source":"edr","providerAlertId":"m1","title":"t","firstActivityDateTime":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		s.do(t, "POST", "/api/v1/alerts", "application/json", []byte(bad), nil)
		resp, err := s.Client().Get(s.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`weft_alerts_ingested_total{outcome="stored",source="edr"} 7`, `weft_alerts_rejected_total{reason="firstActivityDateTime",source="edr"} 1`, "weft_ingest_request_duration_seconds", "weft_store_duration_seconds"} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
}

func TestResponsesEscapeHTML(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	rec := fmt.Sprintf(`{"source":"edr","providerAlertId":"x1","title":"<script>alert(1)</script>","firstActivityDateTime":%q}`, recent)
	var ans ingestAnswer
	s.do(t, "POST", "/api/v1/alerts", "application/json", []byte(rec), &ans)
	resp, err := s.Client().Get(s.URL + "/api/v1/alerts/" + ans.Results[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(body, []byte("<script>")) {
		t.Fatalf("response carries a raw <script> tag: %s", body)
	}
	var a weft.Alert
	if err := json.Unmarshal(body, &a); err != nil || a.Title != "<script>alert(1)</script>" {
		t.Fatalf("title %q (%v), want the script text back byte-exact", a.Title, err)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Fatalf("X-Content-Type-Options %q, want nosniff", got)
	}
}

func TestIngestTenantHeader(t *testing.T) {
	s := newTestServer(t, wefthttp.Options{})
	body := nativeAlert("t1") + "\n" + fmt.Sprintf(`{"tenantId":"other","source":"edr","providerAlertId":"t2","title":"x","firstActivityDateTime":%q}`, recent) + "\n"
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/alerts", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set(wefthttp.TenantHeader, "acme")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ans ingestAnswer
	if err := json.UnmarshalRead(resp.Body, &ans); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ans.Stored != 1 || ans.Rejected != 1 || ans.Results[1].Error == nil || ans.Results[1].Error.Field != "tenantId" {
		t.Fatalf("got %+v; want the first stored in acme and the second (tenant other) rejected", ans)
	}
	a, err := s.store.FindAlert(context.Background(), "acme", ans.Results[0].ID)
	if err != nil || a.TenantID != "acme" {
		t.Fatalf("alert in acme: %v, %v", a, err)
	}
}

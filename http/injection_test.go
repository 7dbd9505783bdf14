package http

import (
	"context"
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// The injection suite (docs/security.md, "Attacker-controlled content"):
// alert content is whatever an attacker could make a sensor report — a
// process's command line, a file's name, a mail's subject, a URL. It must be
// stored and returned byte-exact, escaped wherever it is rendered, and never
// executed: not by the store's SQL, not by a browser that is shown an
// answer, not by a spreadsheet that opens the CSV export. Every check first
// finds the payload byte-exact, so that none passes because the payload
// was dropped or changed on the way.

// injectionPayloads are the attacks, one per line of the list.
var injectionPayloads = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`'; DROP TABLE alerts; --`,
	`' or 1 eq 1 or '`,
	`$(rm -rf /)`,
	"`id`",
	`|| curl evil`,
	`%00`,
	"ctl:\a\b\x1b[31m\x7f\u0085",            // control characters, NUL excepted
	"rtl:\u202Eexe.pdf\u202C \u2066x\u2069", // unicode bidirectional overrides
	`&amp; &lt;b&gt; \u003c`,                // already escaped: must stay as sent
}

// evil is every payload in one value.
var evil = strings.Join(injectionPayloads, " ")

// evilTag is a custom tag with quotes in it for a $filter literal; the
// other tags carry the other payloads, one each (a tag is at most 128
// bytes and holds no control character).
var evilTag = "[tag] " + injectionPayloads[3] + injectionPayloads[2]

// evilIn returns the payload value for one field, marked with the field's
// name so that a value found in an answer says where it came from.
func evilIn(field string) string { return "[" + field + "] " + evil }

// Long values, close to the limits of docs/formats.md: a title of exactly
// MaxTitleBytes and a command line a little under MaxFieldBytes.
var (
	longTitle       = padTo(evilIn("title"), weft.MaxTitleBytes)
	longCommandLine = padTo(evilIn("commandLine"), weft.MaxFieldBytes-64)
)

// padTo repeats s up to n bytes, cut on a whole repetition and filled
// with "x" (so that the result is valid UTF-8 of exactly n bytes).
func padTo(s string, n int) string {
	var b strings.Builder
	for b.Len()+len(s) <= n {
		b.WriteString(s)
	}
	b.WriteString(strings.Repeat("x", n-b.Len()))
	return b.String()
}

// injectionAlert returns a native weft alert whose every free-text field
// carries the payloads.
func injectionAlert(id string) string {
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	a := map[string]any{
		"source": "edr", "providerAlertId": id, "title": longTitle, "description": evilIn("description"),
		"recommendedActions": evilIn("recommendedActions"), "category": evilIn("category"),
		"severity": "high", "firstActivityDateTime": at,
		"evidence": []any{
			map[string]any{"entityType": "device", "deviceDnsName": "ws-evil.contoso.com", "hostName": evilIn("hostName")},
			map[string]any{"entityType": "process", "processCommandLine": longCommandLine,
				"imageFile": map[string]any{"fileName": evilIn("imageFile"), "filePath": `C:\Temp\` + evil}},
			map[string]any{"entityType": "file", "fileDetails": map[string]any{"fileName": evilIn("fileName")}},
			map[string]any{"entityType": "url", "url": "https://evil.example/?q=" + evil},
			map[string]any{"entityType": "emailMessage", "subject": evilIn("subject"), "senderAddress": "evil@evil.example"},
			map[string]any{"entityType": "user", "userAccount": map[string]any{"accountName": evilIn("accountName"), "domainName": "CONTOSO"}},
		},
	}
	b, err := json.Marshal(a)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// jsonString returns s as a JSON string (Go's %q escapes differ).
func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// checkInert checks the raw bytes of a JSON answer: its media type, the
// headers that keep a browser from sniffing it or running it, and that no
// <, > or & is in it unescaped (strings are escaped \u003c…), so that even
// a client that renders it as HTML shows text.
func checkInert(t *testing.T, what string, a answer) {
	t.Helper()
	if mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type")); mt != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, a.header.Get("Content-Type"))
	}
	checkSecurityHeaders(t, what, a)
	if i := strings.IndexAny(a.body, "<>&"); i >= 0 {
		t.Errorf("%s: an unescaped %q at byte %d: %.200s", what, a.body[i], i, a.body[max(0, i-80):])
	}
}

func checkSecurityHeaders(t *testing.T, what string, a answer) {
	t.Helper()
	for name, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	} {
		if got := a.header.Get(name); got != want {
			t.Errorf("%s: %s %q, want %q", what, name, got, want)
		}
	}
}

// stringsIn returns every string value in a JSON document.
func stringsIn(t *testing.T, what, body string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%s: %v: %.300s", what, err, body)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for k, x := range v {
				out = append(out, k)
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

// wantValue fails unless a string value of the JSON answer is want or,
// with contains, holds it.
func wantValue(t *testing.T, what string, a answer, want string, contains bool) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Errorf("%s: got %d %.300s", what, a.status, a.body)
		return
	}
	for _, s := range stringsIn(t, what, a.body) {
		if s == want || contains && strings.Contains(s, want) {
			return
		}
	}
	t.Errorf("%s: the payload %.60q… is not in the answer byte-exact: %.400s", what, want, a.body)
}

func TestInjection(t *testing.T) {
	s := newAuthServer(t, Options{})
	ctx := context.Background()
	admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
	analyst := s.token(t, "analyst", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})

	// Another tenant, whose one alert has a title that must never appear
	// in an answer to the analyst.
	const secret = "SECRET-of-the-other-tenant"
	other := fmt.Sprintf(`{"tenantId":"other","source":"edr","providerAlertId":"o1","title":%q,"severity":"high","firstActivityDateTime":%q,`+
		`"evidence":[{"entityType":"device","deviceDnsName":"ws-evil.contoso.com"},{"entityType":"file","fileDetails":{"fileName":%q}}]}`,
		secret, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), secret+".exe")
	if a := s.send(t, "POST", "/api/v1/alerts", "["+other+"]", bearer(admin)...); a.status != http.StatusOK || !strings.Contains(a.body, `"stored":1`) {
		t.Fatalf("storing the other tenant's alert: got %d %s", a.status, a.body)
	}

	// The payloads, in a native alert and in Suricata EVE.
	a := s.send(t, "POST", "/api/v1/alerts", "["+injectionAlert("evil-1")+"]", bearer(analyst)...)
	var ingested struct {
		Stored  int `json:"stored"`
		Results []struct {
			ID         string `json:"id"`
			IncidentID string `json:"incidentId"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(a.body), &ingested, json.RejectUnknownMembers(false)); a.status != http.StatusOK || err != nil || ingested.Stored != 1 {
		t.Fatalf("ingesting the native alert: got %d %.500s", a.status, a.body)
	}
	checkInert(t, "the ingest answer", a)
	alertID, incidentID := ingested.Results[0].ID, ingested.Results[0].IncidentID
	eve := fmt.Sprintf(`{"timestamp":%q,"flow_id":7,"event_type":"alert","src_ip":"203.0.113.9","src_port":51234,"dest_ip":"10.0.0.5","dest_port":80,"proto":"TCP",`+
		`"http":{"hostname":"evil.example","url":%s,"http_user_agent":%s},`+
		`"alert":{"action":"allowed","gid":1,"signature_id":2019714,"rev":2,"signature":%s,"category":%s,"severity":1}}`,
		time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04:05.000000-0700"), jsonString("/q?"+evil), jsonString(evilIn("userAgent")),
		jsonString(evilIn("signature")), jsonString(evilIn("eveCategory")))
	a = s.send(t, "POST", "/api/v1/ingest/suricata", eve, append(bearer(analyst), "Content-Type", "application/x-ndjson")...)
	if err := json.Unmarshal([]byte(a.body), &ingested, json.RejectUnknownMembers(false)); a.status != http.StatusOK || err != nil || ingested.Stored != 1 {
		t.Fatalf("ingesting the Suricata alert: got %d %.500s", a.status, a.body)
	}
	eveAlertID := ingested.Results[0].ID

	// Custom tags, set by an analyst (or a playbook fed by alert content).
	// Tags refuse control characters (they are labels, typed by people);
	// every other payload is kept.
	if a := s.send(t, "PATCH", "/api/v1/incidents/"+incidentID, `{"customTags":["bell\u0007"]}`, bearer(analyst)...); a.status != http.StatusBadRequest {
		t.Errorf("a tag with a control character: got %d %s, want 400", a.status, a.body)
	}
	tags := []string{"=HYPERLINK(\"https://evil.example\")", evilTag, "+1+2", "-2", "@SUM(A1)"}
	for i, p := range injectionPayloads {
		if i != 8 {
			tags = append(tags, "[tag] "+p)
		}
	}
	tagsJSON, _ := json.Marshal(map[string]any{"customTags": tags})
	if a := s.send(t, "PATCH", "/api/v1/incidents/"+incidentID, string(tagsJSON), bearer(analyst)...); a.status != http.StatusOK {
		t.Fatalf("tagging the incident: got %d %s", a.status, a.body)
	}

	var answers []answer // every answer to the analyst, searched for the secret
	get := func(path string) answer {
		t.Helper()
		a := s.send(t, "GET", path, "", bearer(analyst)...)
		answers = append(answers, a)
		return a
	}

	t.Run("OK_AlertByteExact", func(t *testing.T) {
		a := get("/api/v1/alerts/" + url.PathEscape(alertID))
		checkInert(t, "GET alert", a)
		var got weft.Alert
		if err := json.Unmarshal([]byte(a.body), &got, json.RejectUnknownMembers(false)); err != nil {
			t.Fatal(err)
		}
		ev := func(kind weft.EntityType) *weft.Evidence {
			for i := range got.Evidence {
				if got.Evidence[i].EntityType == kind {
					return &got.Evidence[i]
				}
			}
			t.Fatalf("no %s evidence in %.300s", kind, a.body)
			return nil
		}
		for _, f := range []struct{ name, got, want string }{
			{"title", got.Title, longTitle},
			{"description", got.Description, evilIn("description")},
			{"recommendedActions", got.RecommendedActions, evilIn("recommendedActions")},
			{"category", got.Category, evilIn("category")},
			{"hostName", ev(weft.EntityDevice).HostName, evilIn("hostName")},
			{"processCommandLine", ev(weft.EntityProcess).ProcessCommandLine, longCommandLine},
			{"imageFile.fileName", ev(weft.EntityProcess).ImageFile.FileName, evilIn("imageFile")},
			{"fileDetails.fileName", ev(weft.EntityFile).FileDetails.FileName, evilIn("fileName")},
			{"url", ev(weft.EntityURL).URL, "https://evil.example/?q=" + evil},
			{"subject", ev(weft.EntityEmailMessage).Subject, evilIn("subject")},
			{"userAccount.accountName", ev(weft.EntityUser).UserAccount.AccountName, evilIn("accountName")},
		} {
			if f.got != f.want {
				t.Errorf("%s: got %.80q… (%d bytes), want %.80q… (%d bytes)", f.name, f.got, len(f.got), f.want, len(f.want))
			}
		}
	})
	t.Run("OK_SuricataByteExact", func(t *testing.T) {
		a := get("/api/v1/alerts/" + url.PathEscape(eveAlertID))
		checkInert(t, "GET Suricata alert", a)
		wantValue(t, "the signature as title", a, evilIn("signature"), false)
		wantValue(t, "the http url", a, "/q?"+evil, true)
	})
	t.Run("OK_Views", func(t *testing.T) {
		for _, v := range []struct{ path, want string }{
			{"/api/v1/incidents/" + incidentID + "?$expand=alerts", longTitle},
			{"/api/v1/incidents/" + incidentID, evilTag},
			{"/api/v1/incidents/" + incidentID + "/story", evilIn("category")},
			{"/api/v1/incidents/" + incidentID + "/story", `CONTOSO\` + evilIn("accountName")},
			{"/api/v1/incidents/" + incidentID + "/evidence", evilIn("fileName")},
			{"/api/v1/incidents/" + incidentID + "/evidence", evilIn("imageFile")},
			{"/api/v1/incidents/" + incidentID + "/evidence", evilIn("subject")},
			{"/api/v1/incidents/" + incidentID + "/evidence", "https://evil.example/?q=" + evil},
			{"/api/v1/incidents?$expand=alerts", evilIn("description")},
			{"/api/v1/alerts", evilIn("signature")},
			{"/api/v1/entities?search=" + url.QueryEscape("[accountName]"), evilIn("accountName")},
		} {
			a := get(v.path)
			checkInert(t, v.path, a)
			wantValue(t, v.path, a, v.want, true)
		}
	})
	t.Run("OK_TagsByteExact", func(t *testing.T) {
		a := get("/api/v1/incidents/" + incidentID)
		for _, tag := range tags {
			wantValue(t, "tag "+tag, a, tag, false)
		}
	})
	t.Run("OK_ErrorsEscapeWhatTheyQuote", func(t *testing.T) {
		for _, path := range []string{
			"/api/v1/alerts/" + url.PathEscape(evil),
			"/api/v1/incidents?$filter=" + url.QueryEscape(evil),
			"/api/v1/incidents/" + url.PathEscape(evil) + "/story",
		} {
			a := get(path)
			if a.status < 400 {
				t.Errorf("%s: got %d, want an error", path, a.status)
			}
			checkInert(t, path, a)
		}
	})
	t.Run("OK_CSVExportGuardsFormulas", func(t *testing.T) {
		a := get("/api/v1/incidents/export.csv")
		if a.status != http.StatusOK {
			t.Fatalf("got %d %s", a.status, a.body)
		}
		checkSecurityHeaders(t, "export.csv", a)
		records, err := csv.NewReader(strings.NewReader(a.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := -1
		for i, name := range records[0] {
			if name == "Tags" {
				col = i
			}
		}
		var cell string
		for _, rec := range records[1:] {
			for _, c := range rec {
				if c != "" && strings.IndexByte("=+-@\t\r", c[0]) >= 0 {
					t.Errorf("a cell a spreadsheet would run: %.80q", c)
				}
			}
			if col >= 0 && strings.Contains(rec[col], evilTag) {
				cell = rec[col]
			}
		}
		// The tags, byte-exact, with the apostrophe that makes the cell
		// text because the first of them is a formula.
		if want := "'" + strings.Join(tags, "; "); cell != want {
			t.Errorf("the tags cell: got %.200q, want %.200q", cell, want)
		}
	})

	t.Run("OK_QueriesMatchLiterally", func(t *testing.T) {
		lit := "'" + strings.ReplaceAll(evilTag, "'", "''") + "'"
		a := get("/api/v1/incidents?$filter=" + url.QueryEscape("customTags/any(t: t eq "+lit+")"))
		checkInert(t, "$filter on the tag", a)
		var page incidentPage
		if err := json.Unmarshal([]byte(a.body), &page, json.RejectUnknownMembers(false)); a.status != http.StatusOK || err != nil || len(page.Value) != 1 || itoa(page.Value[0].ID) != incidentID {
			t.Errorf("$filter with the payload as a literal: got %d %.300s, want the tagged incident only", a.status, a.body)
		}
	})
	t.Run("OK_InjectionsRefusedOrLiteral", func(t *testing.T) {
		for _, q := range []string{
			"$filter=" + url.QueryEscape("status eq 'new' or 1 eq 1"),
			"$filter=" + url.QueryEscape("status eq '' or 1 eq 1 or ''"),
			"$filter=" + url.QueryEscape("status eq 'new'; DROP TABLE alerts; --"),
			"$filter=" + url.QueryEscape("status eq 'x' or tenantId ne 'default'"),
			"$filter=" + url.QueryEscape("tenant_id ne ''"),
			"$filter=" + url.QueryEscape("customTags/any(t: t eq '' or 1 eq 1 or '')"),
			"$filter=" + url.QueryEscape("entities/any(e: e eq 'ws-evil.contoso.com') or 1 eq 1"),
			"$filter=" + url.QueryEscape("displayName eq '"+secret+"'"),
			"$filter=" + url.QueryEscape("displayName eq '\\' OR 1=1 --'"),
			"$filter=" + url.QueryEscape("1 eq 1) UNION SELECT title FROM alerts --"),
			"$search=" + url.QueryEscape(secret),
			"$search=" + url.QueryEscape("%' OR tenant_id != '' --"),
			"$search=" + url.QueryEscape("*"),
			"$search=" + url.QueryEscape("%"),
			"$orderby=" + url.QueryEscape("title; DROP TABLE alerts"),
			"$orderby=" + url.QueryEscape("(SELECT title FROM alerts)"),
			"$orderby=" + url.QueryEscape("tenant_id desc"),
			"$select=" + url.QueryEscape("tenantId,title"),
		} {
			a := get("/api/v1/incidents?$count=true&" + q)
			checkInert(t, q, a)
			switch a.status {
			case http.StatusOK:
				var page incidentPage
				if err := json.Unmarshal([]byte(a.body), &page, json.RejectUnknownMembers(false)); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				for _, inc := range page.Value {
					if inc.TenantID != weft.DefaultTenantID {
						t.Errorf("%s: got incident %d of tenant %q", q, inc.ID, inc.TenantID)
					}
				}
				if page.Count != nil && *page.Count > 2 {
					t.Errorf("%s: counted %d incidents; the tenant has 2", q, *page.Count)
				}
			case http.StatusBadRequest:
			default:
				t.Errorf("%s: got %d %.300s, want 200 or 400", q, a.status, a.body)
			}
		}
		for _, path := range []string{
			"/api/v1/entities?search=" + url.QueryEscape(secret),
			"/api/v1/entities?search=" + url.QueryEscape("%"),
			"/api/v1/entities?search=" + url.QueryEscape("' OR 1=1 --"),
			"/api/v1/alerts?$filter=" + url.QueryEscape("title eq '' or 1 eq 1"),
			"/api/v1/alerts?$top=1000",
		} {
			a := get(path)
			checkInert(t, path, a)
		}
	})

	t.Run("OK_OtherTenantNeverReached", func(t *testing.T) {
		if len(answers) < 20 {
			t.Fatalf("only %d answers to search", len(answers))
		}
		for _, a := range answers {
			if strings.Contains(a.body, secret) {
				t.Errorf("the other tenant's secret title is in an answer to the analyst: %.300s", a.body)
			}
		}
		// The secret is there, for whoever may read it.
		a := s.send(t, "GET", "/api/v1/alerts", "", append(bearer(admin), TenantHeader, "other")...)
		wantValue(t, "the other tenant, to its admin", a, secret, false)
	})

	t.Run("OK_StoreIntact", func(t *testing.T) {
		for tenant, want := range map[string]int64{weft.DefaultTenantID: 2, "other": 1} {
			page, err := s.store.ListAlerts(ctx, weft.AlertQuery{TenantID: tenant, Count: true})
			if err != nil {
				t.Fatal(err)
			}
			if n := page.Count; n != want {
				t.Errorf("tenant %s: %d alerts after the injections, want %d", tenant, n, want)
			}
		}
		if ts, err := s.store.ListTenants(ctx); err != nil || len(ts) < 2 {
			t.Errorf("the tenants after the injections: %v %v", ts, err)
		}
		if _, err := s.store.FindAlert(ctx, weft.DefaultTenantID, alertID); err != nil {
			t.Errorf("the alert after the injections: %v", err)
		}
	})
}

// TestSecurityHeadersOnEveryAnswer checks that the headers that keep an
// answer inert are on the answers that are not JSON too, and on those that
// no route serves.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	s := newAuthServer(t, Options{})
	admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
	for _, path := range []string{"/healthz", "/metrics", "/api/v1/openapi.json", "/api/v1/incidents/export.csv",
		"/api/v1/audit?format=csv", "/api/v1/nothing-here", "/api/v1/incidents"} {
		a := s.send(t, "GET", path, "", bearer(admin)...)
		if a.status >= 500 {
			t.Errorf("%s: got %d", path, a.status)
		}
		checkSecurityHeaders(t, path, a)
	}
	a := s.send(t, "GET", "/api/v1/incidents", "")
	if a.status != http.StatusUnauthorized {
		t.Errorf("without credentials: got %d", a.status)
	}
	checkSecurityHeaders(t, "a 401", a)
}

package http_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	wefthttp "github.com/weftxdr/weft/http"
	"github.com/weftxdr/weft/sqlite"
)

func TestCorrelationPolicyAPI(t *testing.T) {
	e, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv := newServerWith(t, sqlite.Options{Correlator: e}, wefthttp.Options{})

	type answer struct {
		TenantID string         `json:"tenantId"`
		Source   string         `json:"source"`
		Policy   jsontext.Value `json:"policy"`
		Error    *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	call := func(method, tenant, ct, body string) (int, answer) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/api/v1/correlation/policy", strings.NewReader(body))
		if tenant != "" {
			req.Header.Set(wefthttp.TenantHeader, tenant)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var a answer
		if err := json.Unmarshal(raw, &a, json.RejectUnknownMembers(false)); err != nil {
			t.Fatalf("%s: %q: %v", method, raw, err)
		}
		return resp.StatusCode, a
	}
	hub := func(a answer) int {
		cfg, err := correlate.ParseConfig(a.Policy)
		if err != nil {
			t.Fatalf("policy %s: %v", a.Policy, err)
		}
		return cfg.HubThreshold
	}

	if code, a := call("GET", "", "", ""); code != 200 || a.Source != string(weft.PolicyDefault) || a.TenantID != weft.DefaultTenantID || hub(a) != 8 {
		t.Fatalf("GET default: %d %+v", code, a)
	}
	if code, a := call("PUT", "contoso", "application/json", `{"hubThreshold": 4}`); code != 200 || a.Source != string(weft.PolicyAPI) || hub(a) != 4 {
		t.Fatalf("PUT: %d %+v", code, a)
	}
	if code, a := call("GET", "contoso", "", ""); code != 200 || hub(a) != 4 {
		t.Fatalf("GET after PUT: %d %+v", code, a)
	}
	if code, a := call("GET", "fabrikam", "", ""); code != 200 || hub(a) != 8 {
		t.Fatalf("another tenant saw contoso's policy: %d %+v", code, a)
	}
	if code, a := call("PUT", "contoso", "application/json", `{"hubThreshold": "many"}`); code != 400 || a.Error == nil || !strings.Contains(a.Error.Message, "hubThreshold") {
		t.Fatalf("PUT invalid: %d %+v", code, a)
	}
	if code, a := call("PUT", "contoso", "text/plain", `{}`); code != 415 || a.Error == nil {
		t.Fatalf("PUT text/plain: %d %+v", code, a)
	}
	if code, a := call("PUT", "contoso", "application/json", `{"addExclusions": ["`+strings.Repeat("x", 2<<20)+`"]}`); code != 413 || a.Error == nil {
		t.Fatalf("PUT 2 MiB: %d %+v", code, a)
	}
	if code, a := call("DELETE", "contoso", "", ""); code != 200 || a.Source != string(weft.PolicyDefault) || hub(a) != 8 {
		t.Fatalf("DELETE: %d %+v", code, a)
	}
}

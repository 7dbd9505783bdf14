package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftxdr/weft/correlate"
)

// TestPolicyFileWithTenants starts a server on a policy file with a default
// policy and a tenant's own, and reads both back through the API.
func TestPolicyFileWithTenants(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, []byte(`{"default": {"hubThreshold": 12},
		"tenants": {"fabrikam": {"addExclusions": ["user:svc-*"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := readPolicy(file)
	if err != nil {
		t.Fatal(err)
	}
	rs, token := startTestServer(t, serverConfig{Policy: ps})
	defer rs.Shutdown(context.Background())
	get := func(tenant string) (source string, cfg correlate.Config) {
		t.Helper()
		req, _ := http.NewRequest("GET", rs.URL+"/api/v1/correlation/policy", nil)
		req.Header.Set("Weft-Tenant", tenant)
		setToken(req, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a struct {
			Source string          `json:"source"`
			Policy json.RawMessage `json:"policy"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, %v", tenant, resp.StatusCode, err)
		}
		cfg, err = correlate.ParseConfig(a.Policy)
		if err != nil {
			t.Fatal(err)
		}
		return a.Source, cfg
	}
	if src, cfg := get("contoso"); src != "default" || cfg.HubThreshold != 12 || len(cfg.Exclusions) != len(correlate.DefaultExclusions) {
		t.Fatalf("contoso: %s %+v", src, cfg)
	}
	if src, cfg := get("fabrikam"); src != "file" || cfg.HubThreshold != 12 || !strings.Contains(strings.Join(cfg.Exclusions, " "), "user:svc-*") {
		t.Fatalf("fabrikam: %s %+v", src, cfg)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"tenants": {"fabrikam": {"strongWindow": "a day"}}}`), 0o600)
	if _, err := readPolicy(bad); err == nil || !strings.Contains(err.Error(), "bad.json: tenants: fabrikam: correlation policy: strongWindow") {
		t.Fatalf("a bad tenant policy: %v", err)
	}
}

// TestStoredPolicyThatNoLongerValidates: a stored policy the engine refuses
// (written by another version, say) leaves the tenant on the default policy
// and is logged at start-up, rather than failing it.
func TestStoredPolicyThatNoLongerValidates(t *testing.T) {
	dir := t.TempDir()
	rs, token := startTestServer(t, serverConfig{DataDir: dir})
	req, _ := http.NewRequest("PUT", rs.URL+"/api/v1/correlation/policy", strings.NewReader(`{"hubThreshold": 3}`))
	req.Header.Set("Weft-Tenant", "contoso")
	setToken(req, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := rs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE tenant_policies SET policy = '{"hubThreshold": -1}' WHERE tenant_id = 'contoso'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	var logs bytes.Buffer
	rs, err = startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: dir, Synchronous: "normal", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("a stored policy that no longer validates stopped the server: %v", err)
	}
	defer rs.Shutdown(context.Background())
	if !strings.Contains(logs.String(), "stored correlation policy") || !strings.Contains(logs.String(), "contoso") {
		t.Fatalf("not logged: %q", logs.String())
	}
}

// TestSendBatchNamesTheServersReason: a refused batch is reported with its
// first line and the server's own message.
func TestSendBatchNamesTheServersReason(t *testing.T) {
	rs, token := startTestServer(t, serverConfig{MaxBodyBytes: 100})
	defer rs.Shutdown(context.Background())
	_, err := sendBatch(context.Background(), "POST", rs.URL+"/api/v1/alerts", "application/json", "", token, []byte(strings.Repeat(" ", 200)+"[]"), 7)
	if err == nil || !strings.Contains(err.Error(), "line 7") || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("got %v; want the batch's line and the server's message", err)
	}
}

package main

import (
	"context"
	"encoding/json"
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
	rs, err := startServer(serverConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Synchronous: "normal", Policy: ps})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Shutdown(context.Background())
	get := func(tenant string) (source string, cfg correlate.Config) {
		t.Helper()
		req, _ := http.NewRequest("GET", rs.URL+"/api/v1/correlation/policy", nil)
		req.Header.Set("Weft-Tenant", tenant)
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

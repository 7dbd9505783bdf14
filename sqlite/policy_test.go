package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/sqlite"
)

func TestTenantPolicies(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	fileCfg := correlate.DefaultConfig()
	fileCfg.HubThreshold = 5
	open := func() *sqlite.Store {
		e, err := correlate.New(correlate.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(path, sqlite.Options{Synchronous: "normal", Correlator: e,
			TenantPolicies: map[string][]byte{"fabrikam": correlate.MarshalPolicy(fileCfg)}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hub := func(p *weft.TenantPolicy) int {
		t.Helper()
		cfg, err := correlate.ParseConfig(p.Policy)
		if err != nil {
			t.Fatalf("the policy returned does not parse: %v", err)
		}
		return cfg.HubThreshold
	}
	check := func(p *weft.TenantPolicy, err error, source weft.PolicySource, hubThreshold int) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if p.Source != source || hub(p) != hubThreshold || (source == weft.PolicyAPI) != (p.UpdatedAt != nil) {
			t.Fatalf("got source %s, hubThreshold %d, updated %v; want %s and %d", p.Source, hub(p), p.UpdatedAt, source, hubThreshold)
		}
	}

	s := open()
	p, err := s.TenantPolicy(ctx, "contoso")
	check(p, err, weft.PolicyDefault, 8)
	p, err = s.TenantPolicy(ctx, "fabrikam")
	check(p, err, weft.PolicyFile, 5)

	p, err = s.SetTenantPolicy(ctx, "contoso", []byte(`{"hubThreshold": 3, "addExclusions": ["user:svc-*"]}`))
	check(p, err, weft.PolicyAPI, 3)
	if _, err := s.SetTenantPolicy(ctx, "contoso", []byte(`{"hubThreshold": 0}`)); weft.ErrorCode(err) != weft.EINVALID {
		t.Fatalf("an invalid policy: got %v", err)
	}
	if _, err := s.SetTenantPolicy(ctx, "contoso", []byte(`{"hubThreshhold": 4}`)); weft.ErrorCode(err) != weft.EINVALID {
		t.Fatalf("a misspelt setting: got %v", err)
	}
	p, err = s.TenantPolicy(ctx, "contoso")
	check(p, err, weft.PolicyAPI, 3) // the refused policies changed nothing
	if _, err := s.SetTenantPolicy(ctx, "not a tenant!", []byte(`{}`)); weft.ErrorCode(err) != weft.EINVALID {
		t.Fatalf("an invalid tenant id: got %v", err)
	}
	p, err = s.SetTenantPolicy(ctx, "fabrikam", []byte(`{"hubThreshold": 9}`))
	check(p, err, weft.PolicyAPI, 9)
	if _, err := s.FindTenant(ctx, "contoso"); err != nil {
		t.Fatalf("setting a policy did not create the tenant: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// After a restart the stored policies are applied again, over the
	// file's.
	s = open()
	defer s.Close()
	p, err = s.TenantPolicy(ctx, "contoso")
	check(p, err, weft.PolicyAPI, 3)
	var full map[string]any
	if err := json.Unmarshal(p.Policy, &full); err != nil || len(full["exclusions"].([]any)) != len(correlate.DefaultExclusions)+1 {
		t.Fatalf("the effective policy lacks the added exclusion: %s", p.Policy)
	}
	p, err = s.TenantPolicy(ctx, "fabrikam")
	check(p, err, weft.PolicyAPI, 9)

	p, err = s.DeleteTenantPolicy(ctx, "fabrikam")
	check(p, err, weft.PolicyFile, 5)
	p, err = s.DeleteTenantPolicy(ctx, "contoso")
	check(p, err, weft.PolicyDefault, 8)
	if len(s.PolicyProblems()) != 0 {
		t.Fatalf("problems: %v", s.PolicyProblems())
	}
}

func TestTenantPoliciesNeedAPolicyCorrelator(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.TenantPolicy(context.Background(), "contoso"); weft.ErrorCode(err) != weft.EUNSUPPORTED {
		t.Fatalf("got %v, want EUNSUPPORTED", err)
	}
}

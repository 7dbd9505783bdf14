package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

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

func rvAlert(t *testing.T, tenant, prov string, at time.Time, host string) *weft.Alert {
	a := &weft.Alert{TenantID: tenant, Source: "test", ProviderAlertID: prov, Title: "t " + prov,
		Severity: weft.SeverityHigh, FirstActivityDateTime: at, LastActivityDateTime: at, DetectorID: "d" + prov,
		Evidence: []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: host}}}
	if _, err := a.Normalize(at); err != nil {
		t.Fatal(err)
	}
	return a
}

// A policy write that fails (here: its context is cancelled) leaves the
// engine on the stored policy, not the file's or the default.
func TestPolicyKeptWhenAWriteFails(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t)})
	if _, err := s.SetTenantPolicy(ctx, "contoso", []byte(`{"hubThreshold": 3}`)); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	for i := 0; i < 50; i++ {
		_, err := s.SetTenantPolicy(c, "contoso", []byte(`{"hubThreshold": 4}`))
		if err == nil {
			t.Fatal("no error")
		}
	}
	p, err := s.TenantPolicy(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := correlate.ParseConfig(p.Policy)
	t.Logf("source %s hubThreshold %d (stored: 3)", p.Source, cfg.HubThreshold)
	if cfg.HubThreshold != 3 {
		t.Errorf("applied hubThreshold %d, want the stored 3", cfg.HubThreshold)
	}
}

// A stored policy the engine refuses at load is not reported as the one
// that applies.
func TestRefusedStoredPolicyIsNotReportedAsTheAPIs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s, err := sqlite.Open(path, sqlite.Options{Correlator: newEngine(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetTenantPolicy(ctx, "contoso", []byte(`{"benignWindow": "3h"}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg := correlate.DefaultConfig()
	cfg.MediumSeverityWindow = 2 * time.Hour
	cfg.BenignWindow = time.Hour
	e, err := correlate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, sqlite.Options{Correlator: e})
	t.Logf("problems: %v", s.PolicyProblems())
	p, err := s.TenantPolicy(ctx, "contoso")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := correlate.ParseConfig(p.Policy)
	t.Logf("source %s benignWindow %s", p.Source, got.BenignWindow)
	if p.Source == weft.PolicyAPI {
		t.Errorf("source api, but the applied policy is the default (benignWindow %s)", got.BenignWindow)
	}
}

// A tenant given a longer window decides as it would after a restart, even
// when another tenant's window was already longer (the engine's Window did
// not grow).
func TestLongerTenantWindowReachesThePastWithoutARestart(t *testing.T) {
	b := correlate.DefaultConfig()
	b.StrongWindow = 72 * time.Hour
	run := func(restart bool) int64 {
		path := filepath.Join(t.TempDir(), "weft.db")
		opts := func() sqlite.Options {
			return sqlite.Options{Correlator: newEngine(t), TenantPolicies: map[string][]byte{"b": correlate.MarshalPolicy(b)}}
		}
		s, err := sqlite.Open(path, opts())
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		r0 := mustStoreAlerts(t, s, rvAlert(t, "a", "first", t0, "ws-1.contoso.com"))
		// Enough alerts later on for the tenant's state to be pruned.
		var batch []*weft.Alert
		for i := 0; i < 4200; i++ {
			batch = append(batch, rvAlert(t, "a", "filler"+string(rune('a'+i%26))+time.Duration(i).String(), t0.Add(30*time.Hour), "other"+time.Duration(i).String()+".contoso.com"))
		}
		mustStoreAlerts(t, s, batch...)
		if _, err := s.SetTenantPolicy(ctx, "a", []byte(`{"strongWindow": "48h"}`)); err != nil {
			t.Fatal(err)
		}
		if restart {
			s.Close()
			s, err = sqlite.Open(path, opts())
			if err != nil {
				t.Fatal(err)
			}
		}
		defer s.Close()
		r := mustStoreAlerts(t, s, rvAlert(t, "a", "second", t0.Add(40*time.Hour), "ws-1.contoso.com"))
		t.Logf("restart=%v: first in %d, second in %d", restart, r0[0].IncidentID, r[0].IncidentID)
		if r[0].IncidentID == r0[0].IncidentID {
			return 1
		}
		return 0
	}
	live, restarted := run(false), run(true)
	if live != restarted {
		t.Errorf("linked live=%d, after restart=%d: the decision depends on a restart", live, restarted)
	}
}

package correlate

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func TestParseConfig(t *testing.T) {
	t.Run("OK_PartialKeepsDefaults", func(t *testing.T) {
		cfg, err := ParseConfig([]byte(`{"strongWindow":"12h","hubThreshold":12}`))
		want := DefaultConfig()
		want.StrongWindow, want.HubThreshold = 12*time.Hour, 12
		if err != nil || !reflect.DeepEqual(cfg, want) {
			t.Fatalf("got %+v, %v; want %+v", cfg, err, want)
		}
	})
	t.Run("OK_RoundTrip", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.RepeatWindow, cfg.BenignWindow = 90*time.Minute, 0
		cfg.Exclusions = append(cfg.Exclusions, "ip:198.51.100.0/24")
		got, err := ParseConfig(MarshalPolicy(cfg))
		if err != nil || !reflect.DeepEqual(got, cfg) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("OK_ExclusionsReplaceOrExtend", func(t *testing.T) {
		cfg, err := ParseConfig([]byte(`{"exclusions":["user:svc-*"]}`))
		if err != nil || !reflect.DeepEqual(cfg.Exclusions, []string{"user:svc-*"}) {
			t.Fatalf("replace: got %v, %v", cfg.Exclusions, err)
		}
		cfg, err = ParseConfig([]byte(`{"addExclusions":["device:dc0?.contoso.com"]}`))
		if err != nil || len(cfg.Exclusions) != len(DefaultExclusions)+1 || cfg.Exclusions[len(DefaultExclusions)] != "device:dc0?.contoso.com" {
			t.Fatalf("extend: got %v, %v", cfg.Exclusions, err)
		}
	})
	for _, c := range []struct{ name, in, mention string }{
		{"ErrUnknownSetting", `{"hubThreshhold":3}`, "hubThreshhold"},
		{"ErrBadDuration", `{"weakWindow":"6 hours"}`, "weakWindow"},
		{"ErrOutOfRange", `{"maxIncidentAlerts":1}`, "maxIncidentAlerts"},
		{"ErrWeakAboveHub", `{"hubThreshold":2,"weakMaxPrincipals":5}`, "weakMaxPrincipals"},
		{"ErrNotJSON", `hub=3`, "correlation policy"},
		{"ErrNull", `null`, "JSON object"},
		{"ErrTrailingObject", `{"hubThreshold": 3} {"hubThreshold": 9000}`, "after the policy object"},
		{"ErrTrailingGarbage", `{"hubThreshold": 3}xyz`, "correlation policy"},
		{"ErrExclusionType", `{"addExclusions":["host:dc01"]}`, "exclusions["},
		{"ErrExclusionEverything", `{"addExclusions":["user:*"]}`, "every user"},
		{"ErrExclusionCIDR", `{"addExclusions":["ip:10.0.0.0/33"]}`, "CIDR"},
		{"ErrBenignWindow", `{"benignWindow":"7h"}`, "benignWindow"},
		{"ErrMediumSeverityWindow", `{"mediumSeverityWindow":"0s"}`, "mediumSeverityWindow"},
		{"ErrRepeatWindow", `{"repeatWindow":"-1h"}`, "repeatWindow"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.in))
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), c.mention) {
				t.Fatalf("got %v; want an invalid error mentioning %q", err, c.mention)
			}
		})
	}
}

func TestParsePolicies(t *testing.T) {
	t.Run("OK_OnePolicyIsTheDefault", func(t *testing.T) {
		ps, err := ParsePolicies([]byte(`{"hubThreshold": 12}`))
		if err != nil || ps.Default.HubThreshold != 12 || len(ps.Tenants) != 0 {
			t.Fatalf("got %+v, %v", ps, err)
		}
	})
	t.Run("OK_TenantsInheritTheFilesDefault", func(t *testing.T) {
		ps, err := ParsePolicies([]byte(`{"default": {"hubThreshold": 12},
			"tenants": {"fabrikam": {"strongWindow": "12h", "addExclusions": ["user:svc-*"]}}}`))
		if err != nil {
			t.Fatal(err)
		}
		fab := ps.Tenants["fabrikam"]
		if ps.Default.HubThreshold != 12 || fab.HubThreshold != 12 || fab.StrongWindow != 12*time.Hour ||
			len(fab.Exclusions) != len(DefaultExclusions)+1 || len(ps.Default.Exclusions) != len(DefaultExclusions) {
			t.Fatalf("got %+v", ps)
		}
	})
	for _, c := range []struct{ name, in, mention string }{
		{"ErrTenantSetting", `{"tenants": {"fabrikam": {"hubThreshold": 0}}}`, "tenants: fabrikam: correlation policy: hubThreshold"},
		{"ErrTenantID", `{"tenants": {"Bad Tenant!": {}}}`, "tenants:"},
		{"ErrDefaultSetting", `{"default": {"weakWindow": "soon"}}`, "default: correlation policy: weakWindow"},
		{"ErrUnknownTopLevel", `{"default": {}, "tennants": {}}`, "tennants"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePolicies([]byte(c.in))
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), c.mention) {
				t.Fatalf("got %v; want an invalid error mentioning %q", err, c.mention)
			}
		})
	}
}

func TestApplyPolicy(t *testing.T) {
	def := DefaultConfig()
	def.HubThreshold = 20
	e, err := New(def)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ApplyPolicy("fabrikam", []byte(`{"noisyThreshold": 30}`)); err != nil {
		t.Fatal(err)
	}
	got := e.Policy("fabrikam")
	if got.NoisyThreshold != 30 || got.HubThreshold != 20 {
		t.Fatalf("settings left out must keep the engine's default policy: %+v", got)
	}
	back, err := ParseConfig(e.PolicyJSON("fabrikam"))
	if err != nil || !reflect.DeepEqual(back, got) {
		t.Fatalf("PolicyJSON does not round-trip: %+v, %v", back, err)
	}
	if err := e.ApplyPolicy("fabrikam", []byte(`{"noisyThreshold": -1}`)); weft.ErrorCode(err) != weft.EINVALID || e.Policy("fabrikam").NoisyThreshold != 30 {
		t.Fatalf("an invalid policy: %v, and the policy is now %+v", err, e.Policy("fabrikam"))
	}
	if err := e.ApplyPolicy("fabrikam", nil); err != nil || e.Policy("fabrikam").NoisyThreshold != def.NoisyThreshold {
		t.Fatalf("ApplyPolicy(nil) did not restore the default: %v", err)
	}
}

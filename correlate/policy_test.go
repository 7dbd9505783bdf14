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

package correlate

import (
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
		if err != nil || cfg != want {
			t.Fatalf("got %+v, %v; want %+v", cfg, err, want)
		}
	})
	t.Run("OK_RoundTrip", func(t *testing.T) {
		cfg, err := ParseConfig(MarshalPolicy(DefaultConfig()))
		if err != nil || cfg != DefaultConfig() {
			t.Fatalf("got %+v, %v", cfg, err)
		}
	})
	for _, c := range []struct{ name, in, mention string }{
		{"ErrUnknownSetting", `{"hubThreshhold":3}`, "hubThreshhold"},
		{"ErrBadDuration", `{"weakWindow":"6 hours"}`, "weakWindow"},
		{"ErrOutOfRange", `{"maxIncidentAlerts":1}`, "maxIncidentAlerts"},
		{"ErrWeakAboveHub", `{"hubThreshold":2,"weakMaxPrincipals":5}`, "weakMaxPrincipals"},
		{"ErrNotJSON", `hub=3`, "correlation policy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(c.in))
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), c.mention) {
				t.Fatalf("got %v; want an invalid error mentioning %q", err, c.mention)
			}
		})
	}
}

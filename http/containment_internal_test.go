package http

import (
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// TestContainmentFor: an entity is contained when an action contained it
// under its key or any alias; the most recent containment wins, and a
// "none" state (an undone action) is no containment.
func TestContainmentFor(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	found := map[string]weft.Containment{
		"device.mdeId:abc":      {State: weft.ContainmentRestricted, ActionID: 3, Since: t0},
		"device.fqdn:ws.ex.com": {State: weft.ContainmentIsolated, ActionID: 7, Since: t0.Add(time.Minute)},
		"user.upn:a@ex.com":     {State: weft.ContainmentNone, ActionID: 9, Since: t0},
		"user.sid:S-1-5-21-1":   {State: weft.ContainmentDisabled, ActionID: 4, Since: t0},
		"user.sid:S-1-5-21-2":   {State: weft.ContainmentDisabled, ActionID: 5, Since: t0},
	}
	for _, c := range []struct {
		name    string
		key     string
		aliases []string
		want    int64 // the action id; 0 for none
	}{
		{"Key", "device.mdeId:abc", nil, 3},
		{"AliasMoreRecent", "device.mdeId:abc", []string{"device.fqdn:ws.ex.com"}, 7},
		{"AliasOnly", "device.host:ws", []string{"device.fqdn:ws.ex.com"}, 7},
		{"NoneIsNotContained", "user.upn:a@ex.com", nil, 0},
		{"SameTimeHigherAction", "user.sid:S-1-5-21-1", []string{"user.sid:S-1-5-21-2"}, 5},
		{"Unknown", "device.fqdn:other.ex.com", []string{"device.host:other"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := containmentFor(found, c.key, c.aliases)
			switch {
			case c.want == 0 && got != nil:
				t.Errorf("got %+v, want none", got)
			case c.want != 0 && (got == nil || got.ActionID != c.want):
				t.Errorf("got %+v, want action %d", got, c.want)
			}
		})
	}
}

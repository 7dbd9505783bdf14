package correlate

import (
	"fmt"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// TestIdentityTablesAreRebuiltWhenOutgrown: a month of alerts on ever new
// devices leaves the windows small but the identifier table large; the
// engine then asks for a rebuild, and a rebuild from the alerts within the
// window holds only their identifiers.
func TestIdentityTablesAreRebuiltWhenOutgrown(t *testing.T) {
	defer func(m, f int) { rebuildMinIdentifiers, rebuildFactor = m, f }(rebuildMinIdentifiers, rebuildFactor)
	rebuildMinIdentifiers, rebuildFactor = 500, 4
	e := newEngine(t, nil)
	var alerts []*weft.Alert
	for i := range 8000 {
		a := alertAt("", time.Duration(i)*15*time.Minute, device(fmt.Sprintf("ws-c%d", i)), user(fmt.Sprintf("c-user%d", i)))
		alerts = append(alerts, a)
		e.Place(a)
	}
	if !e.NeedsRebuild() {
		t.Fatalf("%d identifiers for %d identities in the window, and no rebuild asked for",
			e.ids.identifiers(weft.DefaultTenantID), e.tenant(weft.DefaultTenantID).index.len())
	}
	e.Reset()
	newest := alerts[len(alerts)-1].LastActivityDateTime
	for _, a := range alerts {
		if !a.LastActivityDateTime.Before(newest.Add(-e.Window())) {
			e.Restore(a, 1)
		}
	}
	if n := e.ids.identifiers(weft.DefaultTenantID); n > 400 || e.NeedsRebuild() {
		t.Fatalf("after the rebuild: %d identifiers, rebuild still asked for: %v", n, e.NeedsRebuild())
	}
}

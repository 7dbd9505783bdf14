package correlate

import (
	"slices"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func TestMergeIncidents(t *testing.T) {
	tenant := weft.DefaultTenantID
	t.Run("OK_AlertsLinkToTheChosenTarget", func(t *testing.T) {
		e := newEngine(t, nil)
		x := e.Place(alertAt("", 0, device("ws-mi1")))
		y := e.Place(alertAt("", time.Minute, device("ws-mi2")))
		// The analyst merges the older x into the newer y: the engine's
		// own merges would keep x.
		e.MergeIncidents(tenant, y.IncidentID, []int64{x.IncidentID})
		p := e.Place(alertAt("", 2*time.Minute, device("ws-mi1")))
		if p.IncidentID != y.IncidentID || p.New || len(p.Merged) != 0 {
			t.Fatalf("an alert linking to the merged incident %d got %+v; want it in %d", x.IncidentID, p, y.IncidentID)
		}
		if got := e.tenant(tenant).incidents.get(y.IncidentID).size; got != 3 {
			t.Errorf("got size %d, want 3", got)
		}
		if e.tenant(tenant).incidents.get(x.IncidentID) != nil {
			t.Errorf("incident %d is still known after its merge", x.IncidentID)
		}
	})
	t.Run("OK_TargetInheritsApart", func(t *testing.T) {
		e := newEngine(t, nil)
		x := e.Place(alertAt("", 0, device("ws-mi3")))
		y := e.Place(alertAt("", time.Minute, device("ws-mi4")))
		z := e.Place(alertAt("", 2*time.Minute, user("mi-u1")))
		e.KeepApart(tenant, x.IncidentID, z.IncidentID)
		e.MergeIncidents(tenant, y.IncidentID, []int64{x.IncidentID})
		// An alert linking y (through x's device) and z does not merge them.
		p := e.Place(alertAt("", 3*time.Minute, device("ws-mi3"), user("mi-u1")))
		if len(p.Merged) != 0 || !slices.Contains(append(p.Related, p.IncidentID), z.IncidentID) {
			t.Fatalf("got %+v; want no merge of %d and %d", p, y.IncidentID, z.IncidentID)
		}
	})
	t.Run("OK_MergingApartIncidentsDropsTheirSeparation", func(t *testing.T) {
		e := newEngine(t, nil)
		x := e.Place(alertAt("", 0, device("ws-mi5")))
		y := e.Place(alertAt("", time.Minute, device("ws-mi6")))
		e.MoveAlert(tenant, "unknown", x.IncidentID, y.IncidentID) // keeps them apart
		e.MergeIncidents(tenant, x.IncidentID, []int64{y.IncidentID})
		if ap := e.tenant(tenant).incidents.get(x.IncidentID).apart; len(ap) != 0 {
			t.Fatalf("got apart %v; want none: the incident is not kept apart from itself", ap)
		}
	})
	t.Run("OK_UnknownIncidents", func(t *testing.T) {
		e := newEngine(t, nil)
		e.MergeIncidents(tenant, 70, []int64{71, 70})
		p := e.Place(alertAt("", 0, device("ws-mi7")))
		if !p.New {
			t.Fatalf("got %+v; want a new incident", p)
		}
		if got := e.tenant(tenant).resolve(71); got != 70 {
			t.Errorf("incident 71 resolves to %d, want 70", got)
		}
	})
}

func TestMaxIncidentAlerts(t *testing.T) {
	e := newEngine(t, func(c *Config) { c.MaxIncidentAlerts = 7 })
	if got := e.MaxIncidentAlerts("any"); got != 7 {
		t.Errorf("got %d, want 7", got)
	}
}

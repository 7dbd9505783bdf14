package correlate

import (
	"slices"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func TestAnalystsWin(t *testing.T) {
	t.Run("OK_SplitIncidentsAreNotMergedAgain", func(t *testing.T) {
		e := newEngine(t, nil)
		p1 := e.Place(alertAt("", 0, device("ws-an1")))
		p2 := e.Place(alertAt("", time.Minute, user("an-u1")))
		e.KeepApart(weft.DefaultTenantID, p1.IncidentID, p2.IncidentID)
		p3 := e.Place(alertAt("", 2*time.Minute, device("ws-an1"), user("an-u1")))
		if len(p3.Merged) != 0 || !slices.Contains(p3.Related, p2.IncidentID) && !slices.Contains(p3.Related, p1.IncidentID) {
			t.Fatalf("got %+v; want no merge, the other incident related", p3)
		}
	})
	t.Run("OK_MovedAlertLinksToItsNewIncident", func(t *testing.T) {
		e := newEngine(t, nil)
		a1 := e.Place(alertAt("", 0, device("ws-an2")))
		a2 := alertAt("", time.Minute, device("ws-an2"), user("an-u2"))
		p2 := e.Place(a2)
		if p2.IncidentID != a1.IncidentID {
			t.Fatal("setup: the two alerts did not link")
		}
		const moved = 900
		e.MoveAlert(weft.DefaultTenantID, a2.ID, p2.IncidentID, moved)
		// Through the moved alert's own user: its new incident.
		p3 := e.Place(alertAt("", 2*time.Minute, user("an-u2")))
		if p3.IncidentID != moved {
			t.Fatalf("an alert sharing the moved alert's user went to %d, not %d", p3.IncidentID, moved)
		}
		// Through the device both share: the two incidents stay apart.
		p4 := e.Place(alertAt("", 3*time.Minute, device("ws-an2")))
		if len(p4.Merged) != 0 || len(p4.Related) != 1 {
			t.Fatalf("got %+v; want no merge of the incidents the analyst separated", p4)
		}
	})
	t.Run("OK_RepeatFollowsItsMovedAlert", func(t *testing.T) {
		// A repeat of one detector on one host joins the incident of its
		// group's latest alert; when an analyst moved that alert, the
		// next repeat follows it there.
		e := newEngine(t, nil)
		low := func(at time.Duration) *weft.Alert {
			a := alertAt("", at, device("ws-an5"))
			a.Severity, a.DetectorID = weft.SeverityLow, "pua"
			return a
		}
		p1 := e.Place(low(0))
		a2 := low(10 * time.Minute)
		p2 := e.Place(a2)
		if p2.IncidentID != p1.IncidentID {
			t.Fatal("setup: the repeat did not join its group's incident")
		}
		const moved = 901
		e.MoveAlert(weft.DefaultTenantID, a2.ID, p2.IncidentID, moved)
		if p3 := e.Place(low(20 * time.Minute)); p3.IncidentID != moved {
			t.Fatalf("the next repeat went to %d, not %d, where the group's latest alert was moved", p3.IncidentID, moved)
		}
	})
	t.Run("OK_ApartFromStoreFollowsMerges", func(t *testing.T) {
		e := newEngine(t, nil)
		x := e.Place(alertAt("", 0, device("ws-an3")))
		e.Place(alertAt("", time.Minute, user("an-u3"))) // y
		z := e.Place(alertAt("", 2*time.Minute, user("an-u4")))
		e.SetIncident(weft.DefaultTenantID, IncidentState{ID: x.IncidentID, Status: weft.IncidentStatusActive, Apart: []int64{z.IncidentID}})
		// y and z merge (z into y, the older) …
		m := e.Place(alertAt("", 3*time.Minute, user("an-u3"), user("an-u4")))
		if len(m.Merged) != 1 {
			t.Fatalf("setup: y and z did not merge: %+v", m)
		}
		// … and x stays apart from the merged incident.
		p := e.Place(alertAt("", 4*time.Minute, device("ws-an3"), user("an-u4")))
		if len(p.Merged) != 0 {
			t.Fatalf("got %+v; x was merged with what z went into", p)
		}
	})
}

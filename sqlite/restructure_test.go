package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/sqlite"
)

const analyst = "alice@contoso.com"

// restructureOptions are the options of openManaged, with a size cap.
func restructureOptions(t *testing.T, maxAlerts int) sqlite.Options {
	t.Helper()
	cfg := correlate.DefaultConfig()
	if maxAlerts > 0 {
		cfg.MaxIncidentAlerts = maxAlerts
	}
	e, err := correlate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sqlite.Options{Now: func() time.Time { return manageNow }, Correlator: e,
		Describe: func(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
			return fmt.Sprintf("generated %d", len(in.Alerts)), nil, nil
		}}
}

// lastActivities returns the types and messages of an incident's activity
// entries after the first skip.
func activitiesAfter(t *testing.T, s *sqlite.Store, id int64, skip int) []string {
	t.Helper()
	acts, err := s.ListActivities(context.Background(), weft.DefaultTenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range acts[min(skip, len(acts)):] {
		out = append(out, a.Type+": "+a.Message+" ["+a.Actor+"]")
	}
	return out
}

func countActivities(t *testing.T, s *sqlite.Store, id int64) int {
	t.Helper()
	acts, err := s.ListActivities(context.Background(), weft.DefaultTenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	return len(acts)
}

func alertIDs(inc *weft.Incident) []string {
	var ids []string
	for _, a := range inc.Alerts {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}

func idOf(t *testing.T, s *sqlite.Store, providerID string) string {
	t.Helper()
	page, err := s.ListAlerts(context.Background(), weft.AlertQuery{TenantID: weft.DefaultTenantID, Top: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range page.Alerts {
		if a.ProviderAlertID == providerID {
			return a.ID
		}
	}
	t.Fatalf("no alert %s", providerID)
	return ""
}

func checkActivities(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got activities\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// snapshotAll is every incident of the default tenant with its alerts and
// activity log, for comparing before and after a refused operation.
func snapshotAll(t *testing.T, s *sqlite.Store) string {
	t.Helper()
	page, err := s.ListIncidents(context.Background(), weft.IncidentQuery{TenantID: weft.DefaultTenantID, Top: 1000, ExpandAlerts: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, inc := range page.Incidents {
		fmt.Fprintf(&b, "%d %s %s v%d n%d %v %v %s→%d %v\n", inc.ID, inc.DisplayName, inc.Status, inc.Version,
			inc.AlertCount, inc.CustomTags, inc.SystemTags, inc.Severity, inc.RedirectIncidentID, alertIDs(inc))
		for _, a := range inc.Alerts {
			fmt.Fprintf(&b, "  %s %v %q\n", a.ID, a.CorrelationReasons, a.Correlation)
		}
		fmt.Fprintf(&b, "  %d activities\n", countActivities(t, s, inc.ID))
	}
	return b.String()
}

func TestMoveAlerts(t *testing.T) {
	ctx := context.Background()
	tenant := weft.DefaultTenantID
	t.Run("OK_ToAnotherIncident", func(t *testing.T) {
		s := openManaged(t)
		a := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		a2 := onDevices(t, "a2", 1, "ws-1.contoso.com", "ws-3.contoso.com")
		a2.Severity = weft.SeverityHigh
		if got := storeOne(t, s, a2); got != a {
			t.Fatal("setup: a1 and a2 did not link")
		}
		b := storeOne(t, s, onDevices(t, "b1", 2, "ws-2.contoso.com"))
		beforeA, beforeB := findInc(t, s, a), findInc(t, s, b)
		nA, nB := countActivities(t, s, a), countActivities(t, s, b)

		got, err := s.MoveAlerts(ctx, tenant, weft.MoveAlertsRequest{AlertIDs: []string{a2.ID}, IncidentID: b,
			Comment: " same attacker ", Reasons: []string{"SameActor", "sameActor"}}, analyst)
		if err != nil || got != b {
			t.Fatalf("MoveAlerts: got %d, %v; want %d", got, err, b)
		}
		afterA, afterB := findInc(t, s, a), findInc(t, s, b)
		if ids := alertIDs(afterB); !slices.Equal(ids, []string{a2.ID, idOf(t, s, "b1")}) && !slices.Equal(ids, []string{idOf(t, s, "b1"), a2.ID}) {
			t.Errorf("target has alerts %v", ids)
		}
		for _, c := range []struct {
			inc    *weft.Incident
			before *weft.Incident
			count  int
			sev    weft.Severity
			name   string
		}{{afterA, beforeA, 1, weft.SeverityMedium, "generated 1"}, {afterB, beforeB, 2, weft.SeverityHigh, "generated 2"}} {
			if c.inc.AlertCount != c.count || c.inc.Severity != c.sev || c.inc.DisplayName != c.name ||
				c.inc.Version != c.before.Version+1 || c.inc.LastModifiedBy != analyst || c.inc.Status != weft.IncidentStatusActive {
				t.Errorf("incident %d: got count %d, severity %s, name %q, version %d, modified by %q, status %s; want %d, %s, %q, %d, %q, active",
					c.inc.ID, c.inc.AlertCount, c.inc.Severity, c.inc.DisplayName, c.inc.Version, c.inc.LastModifiedBy, c.inc.Status,
					c.count, c.sev, c.name, c.before.Version+1, analyst)
			}
		}
		moved, err := s.FindAlert(ctx, tenant, a2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if moved.IncidentID != b || !slices.Equal(moved.CorrelationReasons, []string{"sameActor"}) ||
			moved.Correlation != "Moved by "+analyst+": same attacker" {
			t.Errorf("moved alert: got incident %d, reasons %v, correlation %q", moved.IncidentID, moved.CorrelationReasons, moved.Correlation)
		}
		checkActivities(t, activitiesAfter(t, s, a, nA), []string{
			fmt.Sprintf("alertsMoved: Alert %s moved to incident %d by %s: same attacker [%s]", a2.ID, b, analyst, analyst)})
		checkActivities(t, activitiesAfter(t, s, b, nB), []string{
			fmt.Sprintf("alertsMoved: Alert %s moved here from incident %d by %s: same attacker [%s]", a2.ID, a, analyst, analyst)})

		// The engine follows: an alert sharing only the moved alert's
		// device joins the target, and one linking both is no merge.
		if got := storeOne(t, s, onDevices(t, "c1", 3, "ws-3.contoso.com")); got != b {
			t.Errorf("an alert sharing the moved alert's device went to %d, want %d", got, b)
		}
		storeOne(t, s, onDevices(t, "c2", 4, "ws-1.contoso.com"))
		for _, id := range []int64{a, b} {
			if inc := findInc(t, s, id); inc.Status != weft.IncidentStatusActive {
				t.Errorf("incident %d is %s after an alert linked both; the analyst kept them apart", id, inc.Status)
			}
		}
	})
	t.Run("OK_AnalystsWinAfterRestart", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "weft.db")
		s, err := sqlite.Open(path, restructureOptions(t, 0))
		if err != nil {
			t.Fatal(err)
		}
		a := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		a2 := onDevices(t, "a2", 1, "ws-1.contoso.com", "ws-3.contoso.com")
		storeOne(t, s, a2)
		b := storeOne(t, s, onDevices(t, "b1", 2, "ws-2.contoso.com"))
		if _, err := s.MoveAlerts(ctx, tenant, weft.MoveAlertsRequest{AlertIDs: []string{a2.ID}, IncidentID: b, Comment: "why"}, analyst); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpen(t, path, restructureOptions(t, 0))
		if got := storeOne(t, s, onDevices(t, "c1", 3, "ws-3.contoso.com")); got != b {
			t.Errorf("after a restart, an alert sharing the moved alert's device went to %d, want %d", got, b)
		}
		storeOne(t, s, onDevices(t, "c2", 4, "ws-1.contoso.com", "ws-3.contoso.com"))
		for _, id := range []int64{a, b} {
			if inc := findInc(t, s, id); inc.Status != weft.IncidentStatusActive {
				t.Errorf("after a restart, incident %d is %s after an alert linked both; the analyst kept them apart", id, inc.Status)
			}
		}
	})
	t.Run("OK_ToNewIncident", func(t *testing.T) {
		s := openManaged(t)
		a := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		a2 := onDevices(t, "a2", 1, "ws-1.contoso.com")
		storeOne(t, s, a2)
		nA := countActivities(t, s, a)
		n, err := s.MoveAlerts(ctx, tenant, weft.MoveAlertsRequest{AlertIDs: []string{a2.ID}, Comment: "unrelated"}, analyst)
		if err != nil || n == 0 || n == a {
			t.Fatalf("MoveAlerts: got %d, %v; want a new incident", n, err)
		}
		inc := findInc(t, s, n)
		if inc.AlertCount != 1 || inc.Version != 1 || inc.DisplayName != "generated 1" || inc.Status != weft.IncidentStatusActive ||
			inc.LastModifiedBy != analyst || !slices.Equal(alertIDs(inc), []string{a2.ID}) {
			t.Errorf("new incident: got %+v", inc)
		}
		checkActivities(t, activitiesAfter(t, s, n, 0), []string{
			fmt.Sprintf("incidentCreated: Incident created by %s for alert %s, moved from incident %d: unrelated [%s]", analyst, a2.ID, a, analyst)})
		checkActivities(t, activitiesAfter(t, s, a, nA), []string{
			fmt.Sprintf("alertsMoved: Alert %s moved to new incident %d by %s: unrelated [%s]", a2.ID, n, analyst, analyst)})
		if got := findInc(t, s, a); got.AlertCount != 1 {
			t.Errorf("source has %d alerts, want 1", got.AlertCount)
		}
	})
	t.Run("OK_EmptiedSourceIsRedirected", func(t *testing.T) {
		s := openManaged(t)
		a := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		b1 := onDevices(t, "b1", 1, "ws-2.contoso.com")
		b := storeOne(t, s, b1)
		before, nB := findInc(t, s, b), countActivities(t, s, b)
		if _, err := s.MoveAlerts(ctx, tenant, weft.MoveAlertsRequest{AlertIDs: []string{b1.ID}, IncidentID: a, Comment: "same"}, analyst); err != nil {
			t.Fatal(err)
		}
		src := findInc(t, s, b)
		if src.Status != weft.IncidentStatusRedirected || src.RedirectIncidentID != a || !slices.Contains(src.SystemTags, "Redirected") ||
			src.Version != before.Version+1 {
			t.Errorf("emptied source: got status %s → %d, system tags %v, version %d", src.Status, src.RedirectIncidentID, src.SystemTags, src.Version)
		}
		checkActivities(t, activitiesAfter(t, s, b, nB), []string{
			fmt.Sprintf("alertsMoved: Alert %s moved to incident %d by %s: same [%s]", b1.ID, a, analyst, analyst),
			fmt.Sprintf("incidentRedirected: Redirected to incident %d by %s: the move left it without alerts [%s]", a, analyst, analyst)})
		if got := storeOne(t, s, onDevices(t, "b2", 2, "ws-2.contoso.com")); got != a {
			t.Errorf("an alert linking to the emptied source went to %d, want %d", got, a)
		}
	})
	t.Run("OK_FromSeveralIncidents", func(t *testing.T) {
		s := openManaged(t)
		x1, y1 := onDevices(t, "x1", 0, "ws-1.contoso.com"), onDevices(t, "y1", 1, "ws-2.contoso.com")
		x := storeOne(t, s, x1)
		storeOne(t, s, onDevices(t, "x2", 2, "ws-1.contoso.com"))
		y := storeOne(t, s, y1)
		storeOne(t, s, onDevices(t, "y2", 3, "ws-2.contoso.com"))
		z := storeOne(t, s, onDevices(t, "z1", 4, "ws-9.contoso.com"))
		nZ := countActivities(t, s, z)
		if _, err := s.MoveAlerts(ctx, tenant, weft.MoveAlertsRequest{AlertIDs: []string{y1.ID, x1.ID}, IncidentID: z, Comment: "c"}, analyst); err != nil {
			t.Fatal(err)
		}
		checkActivities(t, activitiesAfter(t, s, z, nZ), []string{
			fmt.Sprintf("alertsMoved: Alert %s moved here from incident %d by %s: c [%s]", x1.ID, x, analyst, analyst),
			fmt.Sprintf("alertsMoved: Alert %s moved here from incident %d by %s: c [%s]", y1.ID, y, analyst, analyst)})
		for id, want := range map[int64]int{x: 1, y: 1, z: 3} {
			if got := findInc(t, s, id).AlertCount; got != want {
				t.Errorf("incident %d has %d alerts, want %d", id, got, want)
			}
		}
	})
	t.Run("Refused", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), restructureOptions(t, 3))
		a1 := onDevices(t, "a1", 0, "ws-1.contoso.com")
		a := storeOne(t, s, a1)
		a2 := onDevices(t, "a2", 1, "ws-1.contoso.com")
		storeOne(t, s, a2)
		b1 := onDevices(t, "b1", 2, "ws-2.contoso.com")
		b := storeOne(t, s, b1)
		r1 := onDevices(t, "r1", 3, "ws-4.contoso.com")
		r := storeOne(t, s, r1)
		update(t, s, r, weft.IncidentPatch{Status: ptr(weft.IncidentStatusResolved)})
		m := storeOne(t, s, onDevices(t, "m1", 4, "ws-5.contoso.com"))
		if _, err := s.MergeIncidents(ctx, tenant, weft.MergeIncidentsRequest{IncidentIDs: []int64{b, m}, Comment: "c"}, analyst); err != nil {
			t.Fatal(err)
		}
		c1, c2 := onDevices(t, "c1", 5, "ws-6.contoso.com"), onDevices(t, "c2", 6, "ws-6.contoso.com")
		c3 := onDevices(t, "c3", 7, "ws-6.contoso.com")
		if _, err := s.StoreAlerts(ctx, []*weft.Alert{c1, c2, c3}); err != nil {
			t.Fatal(err)
		}
		before := snapshotAll(t, s)
		for _, c := range []struct {
			name string
			req  weft.MoveAlertsRequest
			code string
			msg  string
		}{
			{"UnknownAlertAmongOthers", weft.MoveAlertsRequest{AlertIDs: []string{a2.ID, "nope", b1.ID}, Comment: "c"},
				weft.ENOTFOUND, `alertIds[1]: alert "nope" not found`},
			{"UnknownTarget", weft.MoveAlertsRequest{AlertIDs: []string{a2.ID}, IncidentID: 999, Comment: "c"},
				weft.ENOTFOUND, "incident 999 not found"},
			{"TargetResolved", weft.MoveAlertsRequest{AlertIDs: []string{a2.ID}, IncidentID: r, Comment: "c"},
				weft.ECONFLICT, fmt.Sprintf("incidentId: incident %d is resolved", r)},
			{"TargetRedirected", weft.MoveAlertsRequest{AlertIDs: []string{a2.ID}, IncidentID: m, Comment: "c"},
				weft.ECONFLICT, fmt.Sprintf("incidentId: incident %d was merged into incident %d", m, b)},
			{"AlreadyInTarget", weft.MoveAlertsRequest{AlertIDs: []string{b1.ID, a2.ID}, IncidentID: a, Comment: "c"},
				weft.EINVALID, fmt.Sprintf("alertIds[1]: alert %q is already in incident %d", a2.ID, a)},
			{"SizeCap", weft.MoveAlertsRequest{AlertIDs: []string{c1.ID, c2.ID}, IncidentID: a, Comment: "c"},
				weft.ECONFLICT, fmt.Sprintf("incidentId: incident %d has 2 alerts; 2 more would pass the size cap of 3", a)},
			{"NoComment", weft.MoveAlertsRequest{AlertIDs: []string{a2.ID}, Comment: " "},
				weft.EINVALID, "alertComment: must not be empty"},
			{"UnknownReason", weft.MoveAlertsRequest{AlertIDs: []string{a2.ID}, Comment: "c", Reasons: []string{"gutFeeling"}},
				weft.EINVALID, `newCorrelationReasons[0]: "gutFeeling" is not a correlation reason`},
			{"RepeatedAlert", weft.MoveAlertsRequest{AlertIDs: []string{a2.ID, a2.ID}, Comment: "c"},
				weft.EINVALID, "alertIds[1]: alert"},
			{"NoAlerts", weft.MoveAlertsRequest{Comment: "c"}, weft.EINVALID, "alertIds: 0 alerts; give 1 to 100"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.MoveAlerts(ctx, tenant, c.req, analyst)
				if weft.ErrorCode(err) != c.code || !strings.HasPrefix(weft.ErrorMessage(err), c.msg) {
					t.Fatalf("got %v (%s); want %s starting %q", err, weft.ErrorCode(err), c.code, c.msg)
				}
				if after := snapshotAll(t, s); after != before {
					t.Errorf("a refused move changed the store:\nbefore\n%s\nafter\n%s", before, after)
				}
			})
		}
	})
}

func TestSplitIncident(t *testing.T) {
	ctx := context.Background()
	tenant := weft.DefaultTenantID
	s := openManaged(t)
	a1 := onDevices(t, "a1", 0, "ws-1.contoso.com")
	a := storeOne(t, s, a1)
	a2 := onDevices(t, "a2", 1, "ws-1.contoso.com", "ws-7.contoso.com")
	a2.Severity = weft.SeverityHigh
	storeOne(t, s, a2)
	a3 := onDevices(t, "a3", 2, "ws-1.contoso.com", "ws-7.contoso.com")
	storeOne(t, s, a3)
	other := storeOne(t, s, onDevices(t, "b1", 3, "ws-2.contoso.com"))
	t.Run("Refused", func(t *testing.T) {
		before := snapshotAll(t, s)
		for _, c := range []struct {
			name     string
			incident int64
			alerts   []string
			code     string
			msg      string
		}{
			{"AllAlerts", a, []string{a1.ID, a2.ID, a3.ID}, weft.EINVALID, fmt.Sprintf("alertIds: names all 3 alerts of incident %d", a)},
			{"AlertOfAnotherIncident", a, []string{a2.ID, idOf(t, s, "b1")}, weft.EINVALID,
				fmt.Sprintf("alertIds[1]: alert %q is in incident %d, not in incident %d", idOf(t, s, "b1"), other, a)},
			{"UnknownAlert", a, []string{a2.ID, "nope"}, weft.ENOTFOUND, `alertIds[1]: alert "nope" not found`},
			{"UnknownIncident", 999, []string{a2.ID}, weft.ENOTFOUND, "incident 999 not found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.SplitIncident(ctx, tenant, c.incident, c.alerts, "c", analyst)
				if weft.ErrorCode(err) != c.code || !strings.HasPrefix(weft.ErrorMessage(err), c.msg) {
					t.Fatalf("got %v (%s); want %s starting %q", err, weft.ErrorCode(err), c.code, c.msg)
				}
				if after := snapshotAll(t, s); after != before {
					t.Errorf("a refused split changed the store:\nbefore\n%s\nafter\n%s", before, after)
				}
			})
		}
	})
	t.Run("OK", func(t *testing.T) {
		before, nA := findInc(t, s, a), countActivities(t, s, a)
		n, err := s.SplitIncident(ctx, tenant, a, []string{a3.ID, a2.ID}, "second wave", analyst)
		if err != nil {
			t.Fatal(err)
		}
		src, split := findInc(t, s, a), findInc(t, s, n)
		if src.AlertCount != 1 || src.Severity != weft.SeverityMedium || src.Version != before.Version+1 || src.DisplayName != "generated 1" {
			t.Errorf("source: got count %d, severity %s, version %d, name %q", src.AlertCount, src.Severity, src.Version, src.DisplayName)
		}
		if split.AlertCount != 2 || split.Severity != weft.SeverityHigh || split.Version != 1 || split.DisplayName != "generated 2" ||
			!slices.Equal(alertIDs(split), slices.Sorted(slices.Values([]string{a2.ID, a3.ID}))) {
			t.Errorf("split: got count %d, severity %s, version %d, name %q, alerts %v", split.AlertCount, split.Severity, split.Version,
				split.DisplayName, alertIDs(split))
		}
		checkActivities(t, activitiesAfter(t, s, a, nA), []string{
			fmt.Sprintf("incidentSplit: Alerts %s, %s split off into new incident %d by %s: second wave [%s]", a3.ID, a2.ID, n, analyst, analyst)})
		checkActivities(t, activitiesAfter(t, s, n, 0), []string{
			fmt.Sprintf("incidentCreated: Incident created by %s, split from incident %d with alerts %s, %s: second wave [%s]", analyst, a, a3.ID, a2.ID, analyst)})
		// The split-off alerts' own device leads to the new incident; the
		// shared one merges nothing.
		if got := storeOne(t, s, onDevices(t, "c1", 4, "ws-7.contoso.com")); got != n {
			t.Errorf("an alert sharing the split alerts' device went to %d, want %d", got, n)
		}
		storeOne(t, s, onDevices(t, "c2", 5, "ws-1.contoso.com"))
		if got := findInc(t, s, n); got.Status != weft.IncidentStatusActive {
			t.Errorf("the split incident is %s after an alert linked both", got.Status)
		}
	})
}

func TestMergeIncidentsStore(t *testing.T) {
	ctx := context.Background()
	tenant := weft.DefaultTenantID
	t.Run("OK", func(t *testing.T) {
		s := openManaged(t)
		a := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		b2 := onDevices(t, "b1", 1, "ws-2.contoso.com")
		b2.Severity = weft.SeverityHigh
		b := storeOne(t, s, b2)
		c := storeOne(t, s, onDevices(t, "c1", 2, "ws-9.contoso.com"))
		update(t, s, a, weft.IncidentPatch{CustomTags: &[]string{"vip"}})
		update(t, s, b, weft.IncidentPatch{CustomTags: &[]string{"VIP", "phish"}, AssignedTo: ptr("bob")})
		update(t, s, c, weft.IncidentPatch{Classification: ptr(weft.ClassificationTruePositive)})
		before := map[int64]*weft.Incident{a: findInc(t, s, a), b: findInc(t, s, b), c: findInc(t, s, c)}
		n := map[int64]int{a: countActivities(t, s, a), b: countActivities(t, s, b), c: countActivities(t, s, c)}
		got, err := s.MergeIncidents(ctx, tenant, weft.MergeIncidentsRequest{IncidentIDs: []int64{c, b, a}, Comment: "one campaign",
			Reasons: []string{"sameCampaign"}}, analyst)
		if err != nil || got != a {
			t.Fatalf("MergeIncidents: got %d, %v; want the oldest, %d", got, err, a)
		}
		into := findInc(t, s, a)
		if into.AlertCount != 3 || into.Severity != weft.SeverityHigh || into.DisplayName != "generated 3" ||
			into.Version != before[a].Version+1 || into.LastModifiedBy != analyst || !slices.Equal(into.CustomTags, []string{"vip", "phish"}) ||
			into.AssignedTo != "" || into.Status != weft.IncidentStatusActive {
			t.Errorf("target: got %+v", into)
		}
		for _, al := range into.Alerts {
			if al.IncidentID != a {
				t.Errorf("alert %s: got incident %d, want %d", al.ID, al.IncidentID, a)
			}
		}
		moved, err := s.FindAlert(ctx, tenant, b2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(moved.CorrelationReasons, []string{"sameCampaign"}) || moved.Correlation != "Merged by "+analyst+": one campaign" {
			t.Errorf("merged alert: got reasons %v, correlation %q", moved.CorrelationReasons, moved.Correlation)
		}
		for _, id := range []int64{b, c} {
			src := findInc(t, s, id)
			if src.Status != weft.IncidentStatusRedirected || src.RedirectIncidentID != a || !slices.Contains(src.SystemTags, "Redirected") ||
				src.Version != before[id].Version+1 || len(src.Alerts) != 0 {
				t.Errorf("source %d: got status %s → %d, system tags %v, version %d, %d alerts", id, src.Status,
					src.RedirectIncidentID, src.SystemTags, src.Version, len(src.Alerts))
			}
			checkActivities(t, activitiesAfter(t, s, id, n[id]), []string{
				fmt.Sprintf("incidentRedirected: Merged into incident %d by %s: one campaign [%s]", a, analyst, analyst)})
		}
		checkActivities(t, activitiesAfter(t, s, a, n[a]), []string{
			fmt.Sprintf("incidentMerged: Incident %d merged into this one by %s: one campaign [%s]", b, analyst, analyst),
			fmt.Sprintf("incidentMerged: Incident %d merged into this one by %s: one campaign [%s]", c, analyst, analyst)})
		if got := storeOne(t, s, onDevices(t, "d1", 3, "ws-2.contoso.com")); got != a {
			t.Errorf("an alert linking to a merged source went to %d, want %d", got, a)
		}
	})
	t.Run("OK_ChosenTarget", func(t *testing.T) {
		s := openManaged(t)
		a := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		b := storeOne(t, s, onDevices(t, "b1", 1, "ws-2.contoso.com"))
		got, err := s.MergeIncidents(ctx, tenant, weft.MergeIncidentsRequest{IncidentIDs: []int64{a, b}, TargetIncidentID: b, Comment: "c"}, analyst)
		if err != nil || got != b {
			t.Fatalf("got %d, %v; want %d", got, err, b)
		}
		if src := findInc(t, s, a); src.RedirectIncidentID != b {
			t.Errorf("source redirected to %d, want %d", src.RedirectIncidentID, b)
		}
		if got := storeOne(t, s, onDevices(t, "a2", 2, "ws-1.contoso.com")); got != b {
			t.Errorf("an alert linking to the merged source went to %d, want %d", got, b)
		}
	})
	t.Run("OK_SeparationFollowsMergeAfterRestart", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "weft.db")
		s, err := sqlite.Open(path, restructureOptions(t, 0))
		if err != nil {
			t.Fatal(err)
		}
		a := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		a2 := onDevices(t, "a2", 1, "ws-1.contoso.com", "ws-7.contoso.com")
		storeOne(t, s, a2)
		n, err := s.SplitIncident(ctx, tenant, a, []string{a2.ID}, "c", analyst)
		if err != nil {
			t.Fatal(err)
		}
		c := storeOne(t, s, onDevices(t, "c1", 2, "ws-8.contoso.com"))
		if _, err := s.MergeIncidents(ctx, tenant, weft.MergeIncidentsRequest{IncidentIDs: []int64{n, c}, TargetIncidentID: c, Comment: "c"}, analyst); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpen(t, path, restructureOptions(t, 0))
		// a is kept apart from n, which went into c: an alert linking a
		// and c merges neither.
		storeOne(t, s, onDevices(t, "d1", 3, "ws-1.contoso.com", "ws-8.contoso.com"))
		for _, id := range []int64{a, c} {
			if inc := findInc(t, s, id); inc.Status != weft.IncidentStatusActive {
				t.Errorf("incident %d is %s after an alert linked it to the incident split from it", id, inc.Status)
			}
		}
	})
	t.Run("Refused", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), restructureOptions(t, 2))
		var ids []int64
		for i := range 8 {
			ids = append(ids, storeOne(t, s, onDevices(t, fmt.Sprintf("x%d", i), i, fmt.Sprintf("ws-x%d.contoso.com", i))))
		}
		big := storeOne(t, s, onDevices(t, "x0b", 9, "ws-x0.contoso.com")) // ids[0] has 2 alerts
		if big != ids[0] {
			t.Fatal("setup: the alerts did not link")
		}
		update(t, s, ids[1], weft.IncidentPatch{Status: ptr(weft.IncidentStatusResolved)})
		update(t, s, ids[2], weft.IncidentPatch{AssignedTo: ptr("alice")})
		update(t, s, ids[3], weft.IncidentPatch{AssignedTo: ptr("bob")})
		update(t, s, ids[4], weft.IncidentPatch{Classification: ptr(weft.ClassificationTruePositive), Determination: ptr(weft.DeterminationMalware)})
		update(t, s, ids[5], weft.IncidentPatch{Classification: ptr(weft.ClassificationFalsePositive)})
		update(t, s, ids[6], weft.IncidentPatch{Classification: ptr(weft.ClassificationTruePositive), Determination: ptr(weft.DeterminationPhishing)})
		if _, err := s.MergeIncidents(ctx, tenant, weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[7], ids[2]}, Comment: "c"}, analyst); err != nil {
			t.Fatalf("an assigned and an unassigned incident: %v", err)
		}
		before := snapshotAll(t, s)
		for _, c := range []struct {
			name string
			req  weft.MergeIncidentsRequest
			code string
			msg  string
		}{
			{"Resolved", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[2], ids[1]}}, weft.ECONFLICT,
				fmt.Sprintf("incident %d is resolved", ids[1])},
			{"Redirected", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[7], ids[4]}}, weft.ECONFLICT,
				fmt.Sprintf("incident %d was merged into incident %d already", ids[7], ids[2])},
			{"Assignees", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[2], ids[4], ids[3]}}, weft.ECONFLICT,
				fmt.Sprintf(`incidents %d and %d are assigned to different people (assignedTo "alice" and "bob")`, ids[2], ids[3])},
			{"Classifications", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[4], ids[5]}}, weft.ECONFLICT,
				fmt.Sprintf(`incidents %d and %d have different classifications`, ids[4], ids[5])},
			{"Determinations", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[4], ids[6]}}, weft.ECONFLICT,
				fmt.Sprintf(`incidents %d and %d have different determinations (determination "malware" and "phishing")`, ids[4], ids[6])},
			{"SizeCap", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[0], ids[5]}}, weft.ECONFLICT,
				"the merged incident would have 3 alerts"},
			{"Unknown", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[5], 999}}, weft.ENOTFOUND, "incident 999 not found"},
			{"One", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[5]}}, weft.EINVALID, "incidentIds: 1 incidents; merge 2 to 5"},
			{"Six", weft.MergeIncidentsRequest{IncidentIDs: []int64{1, 2, 3, 4, 5, 6}}, weft.EINVALID, "incidentIds: 6 incidents; merge 2 to 5"},
			{"Repeated", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[5], ids[5]}}, weft.EINVALID, "incidentIds[1]: incident"},
			{"TargetNotAmongThem", weft.MergeIncidentsRequest{IncidentIDs: []int64{ids[5], ids[6]}, TargetIncidentID: ids[4]}, weft.EINVALID,
				fmt.Sprintf("targetIncidentId: incident %d is not one of incidentIds", ids[4])},
		} {
			t.Run(c.name, func(t *testing.T) {
				c.req.Comment = "c"
				_, err := s.MergeIncidents(ctx, tenant, c.req, analyst)
				if weft.ErrorCode(err) != c.code || !strings.HasPrefix(weft.ErrorMessage(err), c.msg) {
					t.Fatalf("got %v (%s); want %s starting %q", err, weft.ErrorCode(err), c.code, c.msg)
				}
				if after := snapshotAll(t, s); after != before {
					t.Errorf("a refused merge changed the store:\nbefore\n%s\nafter\n%s", before, after)
				}
			})
		}
	})
}

package sqlite_test

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// importNow is the store's clock in the import tests: a day after the
// exported activity.
var importNow = time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)

var exportedAt = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// exported returns a normalized alert of a Graph incident export: a high
// severity alert on one device, minutes after exportedAt.
func exported(t testing.TB, id, device string, minutes int, imp *weft.IncidentImport) *weft.Alert {
	t.Helper()
	a := &weft.Alert{Source: "microsoftDefenderForEndpoint", ProviderAlertID: id, Title: "alert " + id,
		Severity: weft.SeverityHigh, DetectorID: "detector-" + id,
		FirstActivityDateTime: exportedAt.Add(time.Duration(minutes) * time.Minute),
		Evidence:              []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: device}},
		Import:                imp}
	if _, err := a.Normalize(importNow); err != nil {
		t.Fatal(err)
	}
	return a
}

func timeAt(h, m int) *time.Time {
	v := time.Date(2026, 11, 27, h, m, 0, 0, time.UTC)
	return &v
}

// incidentA is an incident being worked, incidentB a resolved one.
func incidentA() *weft.IncidentImport {
	return &weft.IncidentImport{Source: "graph-incident", ID: "2972395", DisplayName: "Multi-stage incident on two endpoints",
		Status: weft.IncidentStatusInProgress, Classification: weft.ClassificationTruePositive,
		Determination: weft.DeterminationCompromisedAccount, AssignedTo: "soc@contoso.com",
		CustomTags: []string{"VIP"}, SystemTags: []string{"Defender Experts"},
		Comments: []weft.Comment{{Comment: "Isolated.", CreatedByDisplayName: "soc@contoso.com", CreatedDateTime: *timeAt(10, 41)},
			{Comment: "Reported by the user.", CreatedByDisplayName: "analyst@contoso.com", CreatedDateTime: *timeAt(9, 15)}},
		CreatedDateTime: timeAt(8, 14), LastUpdateDateTime: timeAt(16, 2)}
}

func incidentB() *weft.IncidentImport {
	return &weft.IncidentImport{Source: "graph-incident", ID: "2972401", DisplayName: "Atypical travel",
		Status: weft.IncidentStatusResolved, Classification: weft.ClassificationFalsePositive,
		Determination: weft.DeterminationNotMalicious, ResolvingComment: "Travel confirmed.",
		CreatedDateTime: timeAt(11, 20), LastUpdateDateTime: timeAt(13, 6)}
}

// exportAlerts returns the alerts of one export of incidents A and B. A's
// alerts share no entity (the source grouped them, not correlation); B's
// alert shares ws-1 with A's first, which correlation would join.
func exportAlerts(t testing.TB) []*weft.Alert {
	a, b := incidentA(), incidentB()
	return []*weft.Alert{
		exported(t, "da1", "ws-1.contoso.com", 0, a),
		exported(t, "da2", "ws-2.contoso.com", 5, a),
		exported(t, "da3", "ws-3.contoso.com", 9, a),
		exported(t, "ad4", "ws-1.contoso.com", 20, b),
	}
}

func openImport(t *testing.T, path string, withEngine bool) *sqlite.Store {
	t.Helper()
	opts := sqlite.Options{Now: func() time.Time { return importNow }}
	if withEngine {
		opts.Correlator = newEngine(t)
	}
	return mustOpen(t, path, opts)
}

func TestImportCreatesIncidentsWithTheirState(t *testing.T) {
	for _, withEngine := range []bool{true, false} {
		t.Run(map[bool]string{true: "Correlator", false: "NoCorrelator"}[withEngine], func(t *testing.T) {
			s := openImport(t, filepath.Join(t.TempDir(), "weft.db"), withEngine)
			res := mustStoreAlerts(t, s, exportAlerts(t)...)
			for _, r := range res {
				if r.Outcome != weft.OutcomeStored {
					t.Fatalf("got %+v", res)
				}
			}
			a, b := res[0].IncidentID, res[3].IncidentID
			if res[1].IncidentID != a || res[2].IncidentID != a || b == a {
				t.Fatalf("incidents %+v: want the first three together, the fourth apart", res)
			}
			incA, err := s.FindIncident(ctx, weft.DefaultTenantID, a, true)
			if err != nil {
				t.Fatal(err)
			}
			imp := incidentA()
			got := []any{incA.DisplayName, incA.Status, incA.Classification, incA.Determination, incA.AssignedTo,
				incA.CustomTags, incA.SystemTags, incA.AlertCount, incA.Severity, incA.CreatedDateTime}
			want := []any{imp.DisplayName, imp.Status, imp.Classification, imp.Determination, imp.AssignedTo,
				imp.CustomTags, imp.SystemTags, 3, weft.SeverityHigh, *imp.CreatedDateTime}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("incident A:\n got %v\nwant %v", got, want)
			}
			// Comments in time order.
			if len(incA.Comments) != 2 || incA.Comments[0].Comment != "Reported by the user." {
				t.Errorf("comments %+v", incA.Comments)
			}
			if c := incA.Alerts[1].Correlation; c != "imported with its incident graph-incident/2972395" {
				t.Errorf("alert correlation %q", c)
			}
			incB, err := s.FindIncident(ctx, weft.DefaultTenantID, b, false)
			if err != nil {
				t.Fatal(err)
			}
			if incB.Status != weft.IncidentStatusResolved || incB.ResolvingComment != "Travel confirmed." || incB.DisplayName != "Atypical travel" {
				t.Errorf("incident B %+v", incB)
			}
			acts, err := s.ListActivities(ctx, weft.DefaultTenantID, a)
			if err != nil {
				t.Fatal(err)
			}
			if len(acts) != 3 || acts[0].Type != weft.ActivityIncidentCreated || acts[0].Actor != weft.ActorImport ||
				!strings.Contains(acts[0].Message, "imported from graph-incident/2972395") || acts[1].Type != weft.ActivityAlertAdded {
				t.Errorf("activities %+v", acts)
			}
		})
	}
}

func TestImportIsIdempotent(t *testing.T) {
	s := openImport(t, filepath.Join(t.TempDir(), "weft.db"), true)
	first := mustStoreAlerts(t, s, exportAlerts(t)...)
	before := snapshot(t, s)

	again := mustStoreAlerts(t, s, exportAlerts(t)...)
	for i, r := range again {
		if r.Outcome != weft.OutcomeDuplicate || r.IncidentID != first[i].IncidentID {
			t.Fatalf("re-import: got %+v, want duplicates in the same incidents as %+v", again, first)
		}
	}
	if after := snapshot(t, s); !reflect.DeepEqual(after, before) {
		t.Fatalf("re-import changed the incidents:\n got %v\nwant %v", after, before)
	}

	t.Run("NewerExportUpdatesTheState", func(t *testing.T) {
		imp := incidentA()
		imp.Status, imp.LastUpdateDateTime = weft.IncidentStatusResolved, timeAt(18, 0)
		imp.ResolvingComment = "Contained."
		imp.Comments = append(imp.Comments, weft.Comment{Comment: "Closed.", CreatedByDisplayName: "soc@contoso.com", CreatedDateTime: *timeAt(17, 59)})
		res := mustStoreAlerts(t, s, exported(t, "da1", "ws-1.contoso.com", 0, imp), exported(t, "da5", "ws-5.contoso.com", 30, imp))
		if res[0].Outcome != weft.OutcomeDuplicate || res[1].Outcome != weft.OutcomeStored || res[1].IncidentID != first[0].IncidentID {
			t.Fatalf("got %+v", res)
		}
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, first[0].IncidentID, false)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Status != weft.IncidentStatusResolved || inc.ResolvingComment != "Contained." || len(inc.Comments) != 3 || inc.AlertCount != 4 {
			t.Fatalf("got %+v", inc)
		}
		acts, err := s.ListActivities(ctx, weft.DefaultTenantID, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(acts, func(a *weft.Activity) bool { return a.Type == weft.ActivityIncidentImported })
		if i < 0 || !strings.Contains(acts[i].Message, "status, resolvingComment, 1 comments added") ||
			!strings.Contains(acts[i].Before, `"status":"inProgress"`) || !strings.Contains(acts[i].After, `"status":"resolved"`) {
			t.Fatalf("activities %+v", acts)
		}
	})
	t.Run("OlderExportKeepsTheState", func(t *testing.T) {
		imp := incidentA() // last updated 16:02, before the 18:00 applied above
		mustStoreAlerts(t, s, exported(t, "da1", "ws-1.contoso.com", 0, imp))
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, first[0].IncidentID, false)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Status != weft.IncidentStatusResolved || len(inc.Comments) != 3 {
			t.Fatalf("got %+v", inc)
		}
	})
}

// snapshot is what must not change when an export is imported again.
func snapshot(t *testing.T, s *sqlite.Store) []string {
	t.Helper()
	page, err := s.ListIncidents(ctx, weft.IncidentQuery{TenantID: weft.DefaultTenantID, Top: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, inc := range page.Incidents {
		acts, err := s.ListActivities(ctx, weft.DefaultTenantID, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join([]string{inc.DisplayName, string(inc.Status), inc.LastUpdateDateTime.String()}, "|"),
			strings.Repeat("c", len(inc.Comments)), strings.Repeat("a", len(acts)), strings.Repeat("v", int(inc.Version)))
	}
	return out
}

func TestImportedIncidentsCorrelateWithLiveAlerts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s := openImport(t, path, true)
	res := mustStoreAlerts(t, s, exportAlerts(t)...)
	a, b := res[0].IncidentID, res[3].IncidentID

	t.Run("LiveAlertJoinsImportedIncident", func(t *testing.T) {
		got := mustStoreAlerts(t, s, exported(t, "live1", "ws-2.contoso.com", 60, nil))
		if got[0].IncidentID != a {
			t.Fatalf("the live alert on ws-2 went to incident %d, want the imported %d", got[0].IncidentID, a)
		}
	})
	t.Run("ResolvedImportedIncidentIsNotReopened", func(t *testing.T) {
		// ws-1 is in both A (active) and B (resolved): the alert joins A.
		// An alert on a device only B has starts a new incident.
		imp := incidentB()
		mustStoreAlerts(t, s, exported(t, "ad6", "laptop-7.contoso.com", 25, imp))
		got := mustStoreAlerts(t, s, exported(t, "live2", "laptop-7.contoso.com", 70, nil))
		if got[0].IncidentID == b || got[0].IncidentID == a {
			t.Fatalf("the live alert went to incident %d (A %d, resolved B %d)", got[0].IncidentID, a, b)
		}
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, b, false)
		if err != nil {
			t.Fatal(err)
		}
		if inc.Status != weft.IncidentStatusResolved || inc.AlertCount != 2 {
			t.Fatalf("incident B: %+v", inc)
		}
	})
	t.Run("AfterRestart", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := openImport(t, path, true)
		got := mustStoreAlerts(t, s2, exported(t, "live3", "ws-3.contoso.com", 90, nil))
		if got[0].IncidentID != a {
			t.Fatalf("after a restart the live alert on ws-3 went to incident %d, want %d", got[0].IncidentID, a)
		}
	})
}

func TestImportAdoptsAndNeverMovesStoredAlerts(t *testing.T) {
	s := openImport(t, filepath.Join(t.TempDir(), "weft.db"), true)
	// Sent live first, then exported with its incident.
	live := mustStoreAlerts(t, s, exported(t, "da1", "ws-1.contoso.com", 0, nil))
	res := mustStoreAlerts(t, s, exportAlerts(t)...)
	if res[0].Outcome != weft.OutcomeDuplicate || res[0].IncidentID != live[0].IncidentID || res[1].IncidentID != live[0].IncidentID {
		t.Fatalf("got %+v: want the export to adopt the live alert's incident %d", res, live[0].IncidentID)
	}
	inc, err := s.FindIncident(ctx, weft.DefaultTenantID, live[0].IncidentID, false)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != weft.IncidentStatusInProgress || inc.DisplayName != incidentA().DisplayName || len(inc.Comments) != 2 {
		t.Fatalf("adopted incident %+v", inc)
	}

	// The source moved da3 to another incident (or merged): it stays.
	moved := &weft.IncidentImport{Source: "graph-incident", ID: "2972500", Status: weft.IncidentStatusActive, LastUpdateDateTime: timeAt(19, 0)}
	got := mustStoreAlerts(t, s, exported(t, "da3", "ws-3.contoso.com", 9, moved), exported(t, "da7", "ws-7.contoso.com", 40, moved))
	if got[0].IncidentID != res[2].IncidentID || got[1].IncidentID != res[2].IncidentID {
		t.Fatalf("got %+v: want da3 kept in %d, and its new incident adopting it", got, res[2].IncidentID)
	}
}

func TestImportRefusesAnInvalidImport(t *testing.T) {
	s := openImport(t, filepath.Join(t.TempDir(), "weft.db"), false)
	for _, imp := range []*weft.IncidentImport{
		{Source: "graph-incident"},
		{Source: "graph-incident", ID: "1", Status: "closed"},
		{Source: "graph-incident", ID: "1", Status: weft.IncidentStatusRedirected},
	} {
		_, err := s.StoreAlerts(ctx, []*weft.Alert{exported(t, "da1", "ws-1.contoso.com", 0, imp)})
		if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "incident import") {
			t.Errorf("import %+v: got %v, want EINVALID", imp, err)
		}
	}
}

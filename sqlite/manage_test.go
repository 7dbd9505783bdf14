package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// manageNow is the store's clock in the manage tests.
var manageNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// onDevices returns a normalized alert on the given devices, minutes after
// an hour before manageNow.
func onDevices(t testing.TB, id string, minutes int, devices ...string) *weft.Alert {
	t.Helper()
	a := &weft.Alert{Source: "microsoftDefenderForEndpoint", ProviderAlertID: id, Title: "alert " + id,
		Severity: weft.SeverityMedium, DetectorID: "detector-" + id,
		FirstActivityDateTime: manageNow.Add(-time.Hour + time.Duration(minutes)*time.Minute)}
	for _, d := range devices {
		a.Evidence = append(a.Evidence, weft.Evidence{EntityType: weft.EntityDevice, DeviceDNSName: d})
	}
	if _, err := a.Normalize(manageNow); err != nil {
		t.Fatal(err)
	}
	return a
}

// openManaged opens a store with the correlation engine and a Describe that
// names every incident "generated <n alerts>".
func openManaged(t *testing.T) *sqlite.Store {
	t.Helper()
	return mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{
		Now: func() time.Time { return manageNow }, Correlator: newEngine(t),
		Describe: func(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
			return fmt.Sprintf("generated %d", len(in.Alerts)), nil, nil
		}})
}

func storeOne(t *testing.T, s *sqlite.Store, a *weft.Alert) int64 {
	t.Helper()
	res, err := s.StoreAlerts(context.Background(), []*weft.Alert{a})
	if err != nil {
		t.Fatal(err)
	}
	return res[0].IncidentID
}

func ptr[T any](v T) *T { return &v }

func update(t *testing.T, s *sqlite.Store, id int64, p weft.IncidentPatch) *weft.Incident {
	t.Helper()
	inc, err := s.UpdateIncident(context.Background(), weft.DefaultTenantID, id, p, "alice@contoso.com", 0)
	if err != nil {
		t.Fatalf("UpdateIncident: %v", err)
	}
	return inc
}

func findInc(t *testing.T, s *sqlite.Store, id int64) *weft.Incident {
	t.Helper()
	inc, err := s.FindIncident(context.Background(), weft.DefaultTenantID, id, true)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func TestUpdateIncident(t *testing.T) {
	ctx := context.Background()
	s := openManaged(t)
	id := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
	before := findInc(t, s, id)

	tests := []struct {
		name  string
		patch weft.IncidentPatch
		check func(*weft.Incident) bool
		prop  string
	}{
		{"Status", weft.IncidentPatch{Status: ptr(weft.IncidentStatusInProgress)},
			func(i *weft.Incident) bool { return i.Status == weft.IncidentStatusInProgress }, "status"},
		{"AssignedTo", weft.IncidentPatch{AssignedTo: ptr(" bob@contoso.com ")},
			func(i *weft.Incident) bool { return i.AssignedTo == "bob@contoso.com" }, "assignedTo"},
		{"Classification", weft.IncidentPatch{Classification: ptr(weft.ClassificationTruePositive)},
			func(i *weft.Incident) bool { return i.Classification == weft.ClassificationTruePositive }, "classification"},
		{"Determination", weft.IncidentPatch{Determination: ptr(weft.DeterminationCompromisedAccount)},
			func(i *weft.Incident) bool { return i.Determination == weft.DeterminationCompromisedAccount }, "determination"},
		{"CustomTags", weft.IncidentPatch{CustomTags: ptr([]string{" VIP ", "vip", "", "ransomware"})},
			func(i *weft.Incident) bool { return slices.Equal(i.CustomTags, []string{"VIP", "ransomware"}) }, "customTags"},
		{"DisplayName", weft.IncidentPatch{DisplayName: ptr("Ransomware on ws-1")},
			func(i *weft.Incident) bool { return i.DisplayName == "Ransomware on ws-1" }, "displayName"},
		{"Severity", weft.IncidentPatch{Severity: ptr(weft.SeverityHigh)},
			func(i *weft.Incident) bool { return i.Severity == weft.SeverityHigh }, "severity"},
		{"ResolvingComment", weft.IncidentPatch{Status: ptr(weft.IncidentStatusResolved), ResolvingComment: ptr("Reimaged.")},
			func(i *weft.Incident) bool {
				return i.Status == weft.IncidentStatusResolved && i.ResolvingComment == "Reimaged."
			}, "resolvingComment"},
	}
	version := before.Version
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := update(t, s, id, tt.patch)
			if !tt.check(got) {
				t.Errorf("got %+v", got)
			}
			if got.Version != version+1 {
				t.Errorf("version: got %d, want %d", got.Version, version+1)
			}
			version = got.Version
			if got.LastModifiedBy != "alice@contoso.com" {
				t.Errorf("lastModifiedBy: got %q", got.LastModifiedBy)
			}
			if stored := findInc(t, s, id); stored.Version != got.Version || !tt.check(stored) {
				t.Errorf("stored: got %+v", stored)
			}
			acts, err := s.ListActivities(ctx, weft.DefaultTenantID, id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(acts, func(a *weft.Activity) bool {
				return a.Type == weft.ActivityIncidentUpdated && a.Actor == "alice@contoso.com" &&
					strings.HasPrefix(a.After, `{"`+tt.prop+`":`) && strings.HasPrefix(a.Before, `{"`+tt.prop+`":`)
			}) {
				t.Errorf("no %s activity in %+v", tt.prop, acts)
			}
		})
	}

	t.Run("NothingChanged", func(t *testing.T) {
		got := update(t, s, id, weft.IncidentPatch{Severity: ptr(weft.SeverityHigh)})
		if got.Version != version {
			t.Errorf("version: got %d, want %d (unchanged)", got.Version, version)
		}
	})
	t.Run("OneActivityPerProperty", func(t *testing.T) {
		n := len(mustActs(t, s, id))
		got := update(t, s, id, weft.IncidentPatch{Status: ptr(weft.IncidentStatusActive), AssignedTo: ptr(""), Severity: ptr(weft.SeverityLow)})
		if got.Version != version+1 {
			t.Errorf("version: got %d, want %d", got.Version, version+1)
		}
		acts := mustActs(t, s, id)
		if len(acts)-n != 3 {
			t.Fatalf("got %d new activities, want 3: %+v", len(acts)-n, acts[n:])
		}
		if a := acts[n]; a.Before != `{"status":"resolved"}` || a.After != `{"status":"active"}` {
			t.Errorf("status entry: got before %s after %s", a.Before, a.After)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.UpdateIncident(ctx, weft.DefaultTenantID, id+100, weft.IncidentPatch{Status: ptr(weft.IncidentStatusActive)}, "", 0)
		if weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("got %v, want not found", err)
		}
		_, err = s.UpdateIncident(ctx, "other", id, weft.IncidentPatch{Status: ptr(weft.IncidentStatusActive)}, "", 0)
		if weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("other tenant: got %v, want not found", err)
		}
	})
}

func mustActs(t *testing.T, s *sqlite.Store, id int64) []*weft.Activity {
	t.Helper()
	acts, err := s.ListActivities(context.Background(), weft.DefaultTenantID, id)
	if err != nil {
		t.Fatal(err)
	}
	return acts
}

func TestUpdateIncidentRefuses(t *testing.T) {
	s := openManaged(t)
	id := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
	update(t, s, id, weft.IncidentPatch{Classification: ptr(weft.ClassificationTruePositive), Determination: ptr(weft.DeterminationMalware)})
	long := strings.Repeat("x", weft.MaxDisplayNameBytes+1)
	tags := make([]string, weft.MaxCustomTags+1)
	for i := range tags {
		tags[i] = fmt.Sprint("t", i)
	}
	tests := []struct {
		name  string
		patch weft.IncidentPatch
		want  string
	}{
		{"ErrDeterminationDoesNotFit", weft.IncidentPatch{Determination: ptr(weft.DeterminationNotMalicious)},
			"determination: notMalicious does not fit classification truePositive; allowed: unknown, multiStagedAttack"},
		{"ErrClassificationLeavesDeterminationOut", weft.IncidentPatch{Classification: ptr(weft.ClassificationFalsePositive)},
			"determination: malware does not fit classification falsePositive; allowed: unknown, notMalicious, notEnoughDataToValidate, other"},
		{"ErrResolvingCommentNotResolved", weft.IncidentPatch{ResolvingComment: ptr("done")},
			"resolvingComment: may be set only on a resolved incident"},
		{"ErrResolvingCommentOtherStatus", weft.IncidentPatch{Status: ptr(weft.IncidentStatusInProgress), ResolvingComment: ptr("done")},
			"resolvingComment: may be set only when resolving the incident"},
		{"ErrDisplayNameEmpty", weft.IncidentPatch{DisplayName: ptr("  ")}, "displayName: must not be empty"},
		{"ErrDisplayNameLong", weft.IncidentPatch{DisplayName: &long}, "displayName: is 1025 bytes; at most 1024"},
		{"ErrTooManyTags", weft.IncidentPatch{CustomTags: &tags}, "customTags: 51 tags; at most 50"},
		{"ErrTagLong", weft.IncidentPatch{CustomTags: ptr([]string{"ok", strings.Repeat("t", 129)})}, "customTags[1]: is 129 bytes; at most 128"},
		{"ErrTagControl", weft.IncidentPatch{CustomTags: ptr([]string{"a\nb"})}, "customTags[0]: must not contain control characters"},
		{"ErrStatusRedirected", weft.IncidentPatch{Status: ptr(weft.IncidentStatusRedirected)}, "status: redirected is set by merging incidents"},
		{"ErrStatusUnknown", weft.IncidentPatch{Status: ptr(weft.IncidentStatus("closed"))}, `status: "closed" is not a valid value`},
		{"ErrSeverityUnknown", weft.IncidentPatch{Severity: ptr(weft.SeverityUnknown)}, `severity: "unknown" cannot be set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateIncident(context.Background(), weft.DefaultTenantID, id, tt.patch, "alice", 0)
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), tt.want) {
				t.Errorf("got %v, want invalid: %q", err, tt.want)
			}
		})
	}
	if got := findInc(t, s, id); got.Version != 2 {
		t.Errorf("refused patches changed the incident: version %d, want 2", got.Version)
	}
	t.Run("BothDeterminationSpellings", func(t *testing.T) {
		for _, in := range []string{"compromisedUser", "compromisedAccount"} {
			d, err := weft.ParseDetermination(in)
			if err != nil {
				t.Fatal(err)
			}
			got := update(t, s, id, weft.IncidentPatch{Determination: &d})
			if got.Determination != weft.DeterminationCompromisedAccount {
				t.Errorf("%s: got %s, want compromisedAccount", in, got.Determination)
			}
		}
	})
}

func TestUpdateIncidentErrStaleVersion(t *testing.T) {
	ctx := context.Background()
	s := openManaged(t)
	id := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
	v := findInc(t, s, id).Version
	got, err := s.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{AssignedTo: ptr("alice")}, "alice", v)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateIncident(ctx, weft.DefaultTenantID, id, weft.IncidentPatch{AssignedTo: ptr("bob")}, "bob", v)
	var stale *weft.StaleVersionError
	if !errors.As(err, &stale) || weft.ErrorCode(err) != weft.EPRECONDITION {
		t.Fatalf("got %v, want a stale version error", err)
	}
	if stale.Current.Version != got.Version || stale.Current.AssignedTo != "alice" {
		t.Errorf("current: got version %d assignee %q, want %d alice", stale.Current.Version, stale.Current.AssignedTo, got.Version)
	}
	if _, _, err := s.AddIncidentComment(ctx, weft.DefaultTenantID, id, "late", "bob", v); weft.ErrorCode(err) != weft.EPRECONDITION {
		t.Errorf("comment: got %v, want precondition failed", err)
	}
}

func TestUpdateIncidentResolvesAlerts(t *testing.T) {
	s := openManaged(t)
	id := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
	if got := storeOne(t, s, onDevices(t, "a2", 5, "ws-1.contoso.com")); got != id {
		t.Fatalf("a2 went to incident %d, want %d", got, id)
	}
	inc := update(t, s, id, weft.IncidentPatch{Status: ptr(weft.IncidentStatusResolved), AssignedTo: ptr("alice")})
	for _, a := range findInc(t, s, id).Alerts {
		if a.Status != weft.AlertStatusResolved || a.ResolvedDateTime == nil || !a.ResolvedDateTime.Equal(manageNow) {
			t.Errorf("alert %s: status %s resolved %v, want resolved at %v", a.ID, a.Status, a.ResolvedDateTime, manageNow)
		}
		if a.AssignedTo != "alice" {
			t.Errorf("alert %s: assignedTo %q, want alice", a.ID, a.AssignedTo)
		}
	}
	acts := mustActs(t, s, id)
	if last := acts[len(acts)-1]; last.Type != weft.ActivityAlertsResolved || last.Message != "2 alerts resolved with the incident" {
		t.Errorf("last activity: got %+v", last)
	}
	if inc.Status != weft.IncidentStatusResolved {
		t.Errorf("status: got %s", inc.Status)
	}
}

// TestUpdateIncidentLocksName: a name an analyst set survives the
// correlation engine renaming the incident when alerts join it.
func TestUpdateIncidentLocksName(t *testing.T) {
	s := openManaged(t)
	id := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
	update(t, s, id, weft.IncidentPatch{DisplayName: ptr("Analyst's name")})
	storeOne(t, s, onDevices(t, "a2", 5, "ws-1.contoso.com"))
	storeOne(t, s, onDevices(t, "a3", 6, "ws-1.contoso.com"))
	got := findInc(t, s, id)
	if got.AlertCount != 3 || got.DisplayName != "Analyst's name" {
		t.Errorf("got %d alerts named %q, want 3 named \"Analyst's name\"", got.AlertCount, got.DisplayName)
	}
	// Without the lock the engine names it.
	other := storeOne(t, s, onDevices(t, "b1", 0, "ws-9.contoso.com"))
	storeOne(t, s, onDevices(t, "b2", 5, "ws-9.contoso.com"))
	if got := findInc(t, s, other); got.DisplayName != "generated 2" {
		t.Errorf("unlocked incident: got name %q, want \"generated 2\"", got.DisplayName)
	}
}

// TestUpdateIncidentTellsCorrelator: a resolved incident is not reopened by
// a new alert on its device, and incidents assigned to different analysts
// are not merged by an alert that links both.
func TestUpdateIncidentTellsCorrelator(t *testing.T) {
	t.Run("Resolved", func(t *testing.T) {
		s := openManaged(t)
		id := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		update(t, s, id, weft.IncidentPatch{Status: ptr(weft.IncidentStatusResolved)})
		next := storeOne(t, s, onDevices(t, "a2", 5, "ws-1.contoso.com"))
		if next == id {
			t.Fatalf("a new alert joined resolved incident %d", id)
		}
		if got := findInc(t, s, id); got.Status != weft.IncidentStatusResolved || got.AlertCount != 1 {
			t.Errorf("resolved incident: got status %s with %d alerts", got.Status, got.AlertCount)
		}
	})
	t.Run("DifferentAssignees", func(t *testing.T) {
		s := openManaged(t)
		x := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		y := storeOne(t, s, onDevices(t, "a2", 1, "ws-2.contoso.com"))
		update(t, s, x, weft.IncidentPatch{AssignedTo: ptr("alice")})
		update(t, s, y, weft.IncidentPatch{AssignedTo: ptr("bob")})
		storeOne(t, s, onDevices(t, "a3", 5, "ws-1.contoso.com", "ws-2.contoso.com"))
		for _, id := range []int64{x, y} {
			if got := findInc(t, s, id); got.Status == weft.IncidentStatusRedirected {
				t.Errorf("incident %d (assigned to %s) was merged into %d", id, got.AssignedTo, got.RedirectIncidentID)
			}
		}
	})
	t.Run("SameAssigneeMerges", func(t *testing.T) {
		s := openManaged(t)
		x := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
		y := storeOne(t, s, onDevices(t, "a2", 1, "ws-2.contoso.com"))
		storeOne(t, s, onDevices(t, "a3", 5, "ws-1.contoso.com", "ws-2.contoso.com"))
		if got := findInc(t, s, y); got.Status != weft.IncidentStatusRedirected || got.RedirectIncidentID != x {
			t.Errorf("without assignees: incident %d status %s, want redirected to %d", y, got.Status, x)
		}
	})
}

func TestAddIncidentComment(t *testing.T) {
	ctx := context.Background()
	s := openManaged(t)
	id := storeOne(t, s, onDevices(t, "a1", 0, "ws-1.contoso.com"))
	v := findInc(t, s, id).Version
	c, version, err := s.AddIncidentComment(ctx, weft.DefaultTenantID, id, "  Isolated the device.  ", "alice", v)
	if err != nil {
		t.Fatal(err)
	}
	want := weft.Comment{Comment: "Isolated the device.", CreatedByDisplayName: "alice", CreatedDateTime: manageNow}
	if c != want || version != v+1 {
		t.Errorf("got %+v version %d, want %+v version %d", c, version, want, v+1)
	}
	got := findInc(t, s, id)
	if len(got.Comments) != 1 || got.Comments[0] != want || got.Version != v+1 {
		t.Errorf("incident: got comments %+v version %d", got.Comments, got.Version)
	}
	acts := mustActs(t, s, id)
	if last := acts[len(acts)-1]; last.Type != weft.ActivityCommentAdded || last.Message != "Isolated the device." || last.Actor != "alice" {
		t.Errorf("last activity: got %+v", last)
	}
	for _, tt := range []struct{ text, want string }{
		{" ", "comment: must not be empty"},
		{strings.Repeat("é", weft.MaxCommentRunes+1), "comment: is 30001 characters; at most 30000"},
	} {
		if _, _, err := s.AddIncidentComment(ctx, weft.DefaultTenantID, id, tt.text, "alice", 0); weft.ErrorCode(err) != weft.EINVALID ||
			!strings.Contains(weft.ErrorMessage(err), tt.want) {
			t.Errorf("got %v, want %q", err, tt.want)
		}
	}
}

func TestUpdateAlert(t *testing.T) {
	ctx := context.Background()
	s := openManaged(t)
	a := onDevices(t, "a1", 0, "ws-1.contoso.com")
	id := storeOne(t, s, a)
	v := findInc(t, s, id).Version
	got, err := s.UpdateAlert(ctx, weft.DefaultTenantID, a.ID, weft.AlertPatch{Status: ptr(weft.AlertStatusResolved),
		Classification: ptr(weft.ClassificationFalsePositive), Determination: ptr(weft.DeterminationNotMalicious)}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != weft.AlertStatusResolved || got.ResolvedDateTime == nil || got.Classification != weft.ClassificationFalsePositive ||
		got.Determination != weft.DeterminationNotMalicious {
		t.Errorf("got %+v", got)
	}
	inc := findInc(t, s, id)
	if inc.Version != v+1 || inc.Alerts[0].Status != weft.AlertStatusResolved {
		t.Errorf("incident: version %d (want %d), alert status %s", inc.Version, v+1, inc.Alerts[0].Status)
	}
	acts := mustActs(t, s, id)
	if n := len(acts); n < 3 || acts[n-3].AlertID != a.ID || acts[n-3].Type != weft.ActivityAlertUpdated || acts[n-3].After != `{"status":"resolved"}` {
		t.Errorf("activities: got %+v", acts[max(0, len(acts)-3):])
	}
	_, err = s.UpdateAlert(ctx, weft.DefaultTenantID, a.ID, weft.AlertPatch{Determination: ptr(weft.DeterminationMalware)}, "alice")
	if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "determination: malware does not fit classification falsePositive") {
		t.Errorf("got %v, want a determination that does not fit", err)
	}
	reopened, err := s.UpdateAlert(ctx, weft.DefaultTenantID, a.ID, weft.AlertPatch{Status: ptr(weft.AlertStatusInProgress)}, "alice")
	if err != nil || reopened.ResolvedDateTime != nil {
		t.Errorf("reopened: got %v, %v; want no resolved time", reopened, err)
	}
	if _, err := s.UpdateAlert(ctx, weft.DefaultTenantID, "wanope", weft.AlertPatch{Status: ptr(weft.AlertStatusNew)}, "alice"); weft.ErrorCode(err) != weft.ENOTFOUND {
		t.Errorf("got %v, want not found", err)
	}
}

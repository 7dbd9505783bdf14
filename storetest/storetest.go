// Package storetest is the conformance suite that every weft.Store backend
// must pass (the embedded SQLite store today, PostgreSQL later), and the
// generator of realistic test alerts that other packages' tests and
// benchmarks reuse (NewAlert, NewRichAlert).
//
// A backend runs the suite from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.RunStoreTests(t, func(t *testing.T) weft.Store {
//			s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// A backend that places alerts with a weft.Correlator also runs
// RunCorrelationTests, with the real engine (correlate.Engine), and
// RunManageTests for its manage and restructure operations.
//
// The suite pins down the behaviour that weft.Store's documentation leaves to
// judgement, so that all backends agree:
//
//   - A repeat with the same ProviderLastUpdateDateTime as the stored alert
//     is a duplicate even when its content differs (the first copy wins);
//     a repeat without a version of an alert stored with one is stale; a
//     repeat with a version of an alert stored without one is an update.
//   - The content hash ignores CreatedDateTime, LastUpdateDateTime,
//     IncidentID and Raw.
//   - An updated alert keeps its CreatedDateTime and incident.
//   - Times come back in UTC, to the nanosecond, also inside evidence.
//   - Empty lists come back nil on alerts and empty (not nil) on incidents.
//   - AdditionalData and Raw come back byte for byte.
//   - Top 0 is weft.DefaultPageSize, a Top above weft.MaxPageSize is cut to
//     it, a negative Top or Skip and an unknown status filter are EINVALID.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/weftxdr/weft"
)

// RunStoreTests runs the conformance suite. open must return a new, empty
// store (with only the default tenant) each time it is called, and close it
// when t ends (t.Cleanup). Subtests are named for their outcome.
func RunStoreTests(t *testing.T, open func(t *testing.T) weft.Store) {
	t.Run("Tenant", func(t *testing.T) { testTenants(t, open) })
	t.Run("StoreAlerts", func(t *testing.T) { testStoreAlerts(t, open) })
	t.Run("Outcome", func(t *testing.T) { testOutcomes(t, open) })
	t.Run("FindAlert", func(t *testing.T) { testFindAlert(t, open) })
	t.Run("ListAlerts", func(t *testing.T) { testListAlerts(t, open) })
	t.Run("Incident", func(t *testing.T) { testIncidents(t, open) })
	t.Run("ListIncidents", func(t *testing.T) { testListIncidents(t, open) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Ping", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			if err := open(t).Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// mustStore stores alerts in one batch and fails the test on error.
func mustStore(t *testing.T, s weft.Store, alerts ...*weft.Alert) []weft.StoreResult {
	t.Helper()
	res, err := s.StoreAlerts(context.Background(), alerts)
	if err != nil {
		t.Fatalf("StoreAlerts: %v", err)
	}
	if len(res) != len(alerts) {
		t.Fatalf("StoreAlerts: got %d results, want %d", len(res), len(alerts))
	}
	return res
}

func mustFindAlert(t *testing.T, s weft.Store, tenantID, id string) *weft.Alert {
	t.Helper()
	a, err := s.FindAlert(context.Background(), tenantID, id)
	if err != nil {
		t.Fatalf("FindAlert(%q, %q): %v", tenantID, id, err)
	}
	return a
}

func mustFindIncident(t *testing.T, s weft.Store, tenantID string, id int64, expand bool) *weft.Incident {
	t.Helper()
	inc, err := s.FindIncident(context.Background(), tenantID, id, expand)
	if err != nil {
		t.Fatalf("FindIncident(%q, %d): %v", tenantID, id, err)
	}
	return inc
}

func mustListAlerts(t *testing.T, s weft.Store, q weft.AlertQuery) weft.AlertPage {
	t.Helper()
	p, err := s.ListAlerts(context.Background(), q)
	if err != nil {
		t.Fatalf("ListAlerts(%+v): %v", q, err)
	}
	return p
}

func mustListIncidents(t *testing.T, s weft.Store, q weft.IncidentQuery) weft.IncidentPage {
	t.Helper()
	p, err := s.ListIncidents(context.Background(), q)
	if err != nil {
		t.Fatalf("ListIncidents(%+v): %v", q, err)
	}
	return p
}

func mustActivities(t *testing.T, s weft.Store, tenantID string, id int64) []*weft.Activity {
	t.Helper()
	acts, err := s.ListActivities(context.Background(), tenantID, id)
	if err != nil {
		t.Fatalf("ListActivities(%q, %d): %v", tenantID, id, err)
	}
	return acts
}

// wantCode fails the test unless err is a weft error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := weft.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

// equalAlert fails the test unless got equals want field by field.
// The identifiers evidence caches (Alert.Identify) are derived data and
// are compared through the evidence they derive from.
func equalAlert(t *testing.T, got, want *weft.Alert) {
	t.Helper()
	got, want = identified(got), identified(want)
	if reflect.DeepEqual(got, want) {
		return
	}
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := 0; i < gv.NumField(); i++ {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			t.Errorf("alert %s: field %s:\n got %s\nwant %s", want.ID, gv.Type().Field(i).Name,
				show(gv.Field(i).Interface()), show(wv.Field(i).Interface()))
		}
	}
}

// identified returns a copy of a whose evidence has its identifiers
// computed.
func identified(a *weft.Alert) *weft.Alert {
	c := *a
	c.Evidence = slices.Clone(a.Evidence)
	c.Identify()
	return &c
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// withoutRaw returns a copy of a without its raw original, as lists return it.
func withoutRaw(a *weft.Alert) *weft.Alert {
	c := *a
	c.Raw = nil
	return &c
}

// alertIDs returns the ids of alerts, for messages and comparisons.
func alertIDs(alerts []*weft.Alert) []string {
	ids := make([]string, len(alerts))
	for i, a := range alerts {
		ids[i] = a.ID
	}
	return ids
}

func incidentIDs(incs []*weft.Incident) []int64 {
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		ids[i] = inc.ID
	}
	return ids
}

// isCanceled reports whether err says the context was cancelled.
func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }

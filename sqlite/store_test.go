package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
	"github.com/weftxdr/weft/storetest"
)

func TestStore(t *testing.T) {
	storetest.RunStoreTests(t, func(t *testing.T) weft.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	})
}

func TestStoreSynchronousNormal(t *testing.T) {
	storetest.RunStoreTests(t, func(t *testing.T) weft.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal", ReadConns: 1})
	})
}

// mustOpen opens a store and closes it when t ends.
func mustOpen(t testing.TB, path string, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var ctx = context.Background()

func TestOpen(t *testing.T) {
	for name, tc := range map[string]struct {
		path string
		opts sqlite.Options
	}{
		"ErrInvalidSynchronous": {"weft.db", sqlite.Options{Synchronous: "off"}},
		"ErrInvalidMemory":      {":memory:", sqlite.Options{}},
		"ErrInvalidEmptyPath":   {"", sqlite.Options{}},
	} {
		t.Run(name, func(t *testing.T) {
			path := tc.path
			if path == "weft.db" {
				path = filepath.Join(t.TempDir(), path)
			}
			s, err := sqlite.Open(path, tc.opts)
			if err == nil {
				s.Close()
			}
			if weft.ErrorCode(err) != weft.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}

	t.Run("OddPath", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "dir with space?and#hash%20", "weft.db")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		s := mustOpen(t, path, sqlite.Options{})
		mustStoreAlerts(t, s, storetest.NewAlert(1))
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("database not at %q: %v", path, err)
		}
	})
}

func mustStoreAlerts(t testing.TB, s weft.Store, alerts ...*weft.Alert) []weft.StoreResult {
	t.Helper()
	res, err := s.StoreAlerts(ctx, alerts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPersistence(t *testing.T) {
	t.Run("ReopenKeepsEverything", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "weft.db")
		s := mustOpen(t, path, sqlite.Options{})
		if err := s.CreateTenant(ctx, &weft.Tenant{ID: "acme"}); err != nil {
			t.Fatal(err)
		}
		res := mustStoreAlerts(t, s, storetest.NewRichAlert(), storetest.NewAlert(1))
		before, err := s.FindIncident(ctx, weft.DefaultTenantID, res[0].IncidentID, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s = mustOpen(t, path, sqlite.Options{})
		if _, err := s.FindTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		after, err := s.FindIncident(ctx, weft.DefaultTenantID, res[0].IncidentID, true)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(after, before) {
			t.Fatalf("after reopening:\n got %+v\nwant %+v", after, before)
		}
		want := storetest.NewRichAlert()
		want.IncidentID = res[0].IncidentID
		if got, err := s.FindAlert(ctx, want.TenantID, want.ID); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("after reopening: got %+v, %v; want %+v", got, err, want)
		}
		// A repeat is still a repeat, and incident ids continue.
		again := mustStoreAlerts(t, s, storetest.NewAlert(1), storetest.NewAlert(2))
		if again[0].Outcome != weft.OutcomeDuplicate || again[1].IncidentID <= res[1].IncidentID {
			t.Fatalf("after reopening: got %+v, want a duplicate and a new incident after %d", again, res[1].IncidentID)
		}
	})
}

func TestClose(t *testing.T) {
	t.Run("TwiceOK", func(t *testing.T) {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})

	t.Run("ErrUnavailableAfterClose", func(t *testing.T) {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		for name, err := range map[string]error{
			"Ping":        s.Ping(ctx),
			"StoreAlerts": func() error { _, err := s.StoreAlerts(ctx, []*weft.Alert{storetest.NewAlert(1)}); return err }(),
			"FindAlert":   func() error { _, err := s.FindAlert(ctx, weft.DefaultTenantID, "x"); return err }(),
			"ListTenants": func() error { _, err := s.ListTenants(ctx); return err }(),
		} {
			if weft.ErrorCode(err) != weft.EUNAVAILABLE {
				t.Errorf("%s: got %v, want EUNAVAILABLE", name, err)
			}
		}
	})

	t.Run("WaitsForInFlightWrites", func(t *testing.T) {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		batch := make([]*weft.Alert, 500)
		for i := range batch {
			batch[i] = storetest.NewAlert(i)
		}
		done := make(chan error, 1)
		go func() { _, err := s.StoreAlerts(ctx, batch); done <- err }()
		closeErr := s.Close()
		if err := <-done; err != nil && weft.ErrorCode(err) != weft.EUNAVAILABLE {
			t.Fatalf("StoreAlerts during Close: %v", err)
		}
		if closeErr != nil {
			t.Fatal(closeErr)
		}
	})
}

// TestListAlertsSameCreatedTime checks the order of alerts created at the
// same time: the one stored last first, the same on every page.
func TestListAlertsSameCreatedTime(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	var stored []string
	for _, batch := range [][]int{{4, 1, 3}, {0, 2}} {
		var alerts []*weft.Alert
		for _, i := range batch {
			a := storetest.NewAlert(i)
			a.CreatedDateTime = storetest.Base
			a.LastUpdateDateTime = storetest.Base
			alerts = append(alerts, a)
			stored = append(stored, a.ID)
		}
		mustStoreAlerts(t, s, alerts...)
	}
	var want []string
	for i := len(stored) - 1; i >= 0; i-- {
		want = append(want, stored[i])
	}
	var got []string
	for skip := 0; ; skip += 2 {
		p, err := s.ListAlerts(ctx, weft.AlertQuery{TenantID: weft.DefaultTenantID, Top: 2, Skip: skip})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alerts {
			got = append(got, a.ID)
		}
		if !p.More {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/correlate"
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

func TestStoreManage(t *testing.T) {
	storetest.RunManageTests(t, func() weft.Correlator { return newEngine(t) }, func(t *testing.T, c weft.Correlator) (weft.Store, func(weft.Correlator) weft.Store) {
		path := filepath.Join(t.TempDir(), "weft.db")
		s := mustOpen(t, path, sqlite.Options{Correlator: c})
		reopen := func(c weft.Correlator) weft.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s = mustOpen(t, path, sqlite.Options{Correlator: c})
			return s
		}
		return s, reopen
	})
}

func TestStoreCorrelation(t *testing.T) {
	storetest.RunCorrelationTests(t, func() weft.Correlator { return newEngine(t) }, func(t *testing.T, c weft.Correlator) (weft.Store, func(weft.Correlator) weft.Store) {
		path := filepath.Join(t.TempDir(), "weft.db")
		s := mustOpen(t, path, sqlite.Options{Correlator: c})
		reopen := func(c weft.Correlator) weft.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			s = mustOpen(t, path, sqlite.Options{Correlator: c})
			return s
		}
		return s, reopen
	})
}

// newEngine returns the correlation engine with its default policy.
func newEngine(t testing.TB) *correlate.Engine {
	t.Helper()
	e, err := correlate.New(correlate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return e
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

func TestStoreCorrelationDescribe(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var calls [][]string
		describe := func(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
			var ids []string
			for _, a := range in.Alerts {
				ids = append(ids, a.ID)
			}
			calls = append(calls, ids)
			score := 10 * len(in.Alerts)
			return "Incident of " + strconv.Itoa(len(in.Alerts)) + " alerts", &score, []weft.PriorityFactor{{Name: "alerts", Points: score}}
		}
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t), Describe: describe})
		a1, a2 := storetest.NewAlert(0), storetest.NewAlert(0)
		a2.ProviderAlertID += "-again"
		a2.ID = weft.AlertID(a2.TenantID, a2.Source, a2.ProviderAlertID)
		res, err := s.StoreAlerts(ctx, []*weft.Alert{a1, a2})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].IncidentID != res[1].IncidentID {
			t.Fatalf("got incidents %d and %d, want one", res[0].IncidentID, res[1].IncidentID)
		}
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, res[0].IncidentID, false)
		if err != nil {
			t.Fatal(err)
		}
		if inc.DisplayName != "Incident of 2 alerts" || inc.PriorityScore == nil || *inc.PriorityScore != 20 ||
			!reflect.DeepEqual(inc.PriorityFactors, []weft.PriorityFactor{{Name: "alerts", Points: 20}}) {
			t.Errorf("got name %q, score %v, factors %v; want the description of 2 alerts", inc.DisplayName, inc.PriorityScore, inc.PriorityFactors)
		}
		if len(calls) != 1 || len(calls[0]) != 2 {
			t.Errorf("got Describe calls %v, want one with both alerts", calls)
		}
	})
}

// TestTwoWritersOneFile runs two stores on one file, as "weft serve" and
// "weft ingest --data" would: a merge made by one must be seen by the other's
// engine, so that it never puts an alert into a redirected incident.
func TestTwoWritersOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	a := mustOpen(t, path, sqlite.Options{Correlator: newEngine(t)})
	b := mustOpen(t, path, sqlite.Options{Correlator: newEngine(t)})
	base := storetest.Base
	mk := func(id string, at int, devices ...string) *weft.Alert {
		al := &weft.Alert{Source: "edr", ProviderAlertID: id, Title: "Suspicious activity " + id, Severity: weft.SeverityHigh,
			FirstActivityDateTime: base.Add(time.Duration(at) * time.Minute)}
		for _, d := range devices {
			al.Evidence = append(al.Evidence, weft.Evidence{EntityType: weft.EntityDevice, DeviceDNSName: d + ".contoso.com"})
		}
		if _, err := al.Normalize(base.Add(24 * time.Hour)); err != nil {
			t.Fatal(err)
		}
		return al
	}
	r := mustStoreAlerts(t, a, mk("a0", 0, "dev-1"), mk("b0", 1, "dev-2"))
	if r[0].IncidentID == r[1].IncidentID {
		t.Fatal("two unrelated alerts share an incident")
	}
	m := mustStoreAlerts(t, b, mk("ab", 2, "dev-1", "dev-2"))
	got := mustStoreAlerts(t, a, mk("b1", 3, "dev-2"))
	inc, err := a.FindIncident(context.Background(), weft.DefaultTenantID, got[0].IncidentID, false)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status == weft.IncidentStatusRedirected || inc.ID != m[0].IncidentID {
		t.Fatalf("the alert went to incident %d (%s); want the merged incident %d", inc.ID, inc.Status, m[0].IncidentID)
	}
}

// countingCorrelator is the engine, counting its resets (one per rebuild)
// and calling onPlace before every placement.
type countingCorrelator struct {
	*correlate.Engine
	resets  int
	onPlace func()
}

func (c *countingCorrelator) Reset() { c.resets++; c.Engine.Reset() }

func (c *countingCorrelator) Place(a *weft.Alert, newIncidentID func() int64) weft.Placement {
	if c.onPlace != nil {
		c.onPlace()
	}
	return c.Engine.Place(a, newIncidentID)
}

// TestStoreCorrelationRebuild checks when the Correlator is rebuilt: after a
// batch whose placements were not committed, and not after a batch refused
// before any was made.
func TestStoreCorrelationRebuild(t *testing.T) {
	batch := func(tag string) []*weft.Alert {
		alerts := make([]*weft.Alert, 100)
		for i := range alerts {
			alerts[i] = storetest.NewAlert(i)
			alerts[i].ProviderAlertID += "-" + tag
			alerts[i].ID = weft.AlertID(alerts[i].TenantID, alerts[i].Source, alerts[i].ProviderAlertID)
		}
		return alerts
	}
	t.Run("NoRebuildAfterInvalidBatch", func(t *testing.T) {
		c := &countingCorrelator{Engine: newEngine(t)}
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: c})
		bad := batch("bad")
		bad[99].Severity = "extreme" // not normalized, and last
		if _, err := s.StoreAlerts(ctx, bad); weft.ErrorCode(err) != weft.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
		mustStoreAlerts(t, s, batch("good")...)
		if c.resets != 1 {
			t.Errorf("got %d resets, want 1 (at Open)", c.resets)
		}
	})
	t.Run("RebuildAfterFailedBatch", func(t *testing.T) {
		c := &countingCorrelator{Engine: newEngine(t)}
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: c})
		// The batch is cancelled once its first alert is placed; the
		// writer notices a few alerts later and rolls back.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		c.onPlace = cancel
		if _, err := s.StoreAlerts(cctx, batch("cancelled")); err == nil {
			t.Fatal("got no error, want the context's")
		}
		c.onPlace = nil
		res := mustStoreAlerts(t, s, batch("good")...)
		if c.resets != 2 {
			t.Errorf("got %d resets, want 2 (at Open, after the failed batch)", c.resets)
		}
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, res[0].IncidentID, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range inc.Alerts {
			if strings.HasSuffix(a.ProviderAlertID, "-cancelled") {
				t.Errorf("got alert %s of the failed batch in incident %d", a.ProviderAlertID, inc.ID)
			}
		}
	})
}

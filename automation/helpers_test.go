package automation_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
	"github.com/weftxdr/weft/sqlite"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// clock is an injected clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T, c *clock) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// alertSpec describes a test alert: one device and one user of evidence.
type alertSpec struct {
	n        int
	title    string
	severity weft.Severity
	category string
	detector string
	device   string
}

func newAlert(t *testing.T, sp alertSpec) *weft.Alert {
	t.Helper()
	first := t0.Add(time.Duration(sp.n) * time.Minute)
	a := &weft.Alert{
		TenantID: weft.DefaultTenantID, Source: "microsoftDefenderForEndpoint", ProviderAlertID: fmt.Sprintf("da%06d", sp.n),
		Title: sp.title, Severity: sp.severity, Category: sp.category, DetectorID: sp.detector, Status: weft.AlertStatusNew,
		ServiceSource: "microsoftDefenderForEndpoint", DetectionSource: "antivirus",
		FirstActivityDateTime: first, LastActivityDateTime: first,
		Evidence: []weft.Evidence{
			{EntityType: weft.EntityDevice, DeviceDNSName: sp.device + ".contoso.com", Roles: []weft.EvidenceRole{"compromised"}},
			{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: fmt.Sprintf("user%d", sp.n), DomainName: "CONTOSO",
				UserPrincipalName: fmt.Sprintf("user%d@contoso.com", sp.n)}},
		},
	}
	if _, err := a.Normalize(first.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	return a
}

// ingest stores alerts and returns the incident of each.
func ingest(t *testing.T, s *sqlite.Store, alerts ...*weft.Alert) []int64 {
	t.Helper()
	res, err := s.StoreAlerts(context.Background(), alerts)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.IncidentID
	}
	return ids
}

func putDevice(t *testing.T, s *sqlite.Store, name string, criticality int, group string) {
	t.Helper()
	_, err := s.PutAssets(context.Background(), []*weft.Asset{{TenantID: weft.DefaultTenantID, ID: name, Kind: weft.AssetDevice,
		Criticality: criticality, DeviceGroup: group, DeviceDNSName: name + ".contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
}

func newEngine(t *testing.T) *automation.Engine {
	t.Helper()
	e, err := automation.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func loader(s *sqlite.Store) func(ctx context.Context, tenant string, id int64) (*automation.Subject, error) {
	l := &automation.Loader{Investigations: s, Entities: s}
	return l.Load
}

// recordingActions is an ActionService that records requests and answers
// them as pending approval; the rest of the interface is not used.
type recordingActions struct {
	weft.ActionService
	mu   sync.Mutex
	reqs []weft.ActionRequest
	seen map[string]*weft.Action
}

func (f *recordingActions) Request(ctx context.Context, r weft.ActionRequest) (*weft.Action, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[string]*weft.Action{}
	}
	if a, ok := f.seen[r.DedupeKey]; ok {
		return a, true, nil
	}
	f.reqs = append(f.reqs, r)
	a := &weft.Action{ID: int64(len(f.reqs)), TenantID: r.TenantID, Type: r.Type, Target: r.Target, IncidentID: r.IncidentID,
		ActionStatus: weft.ActionPendingApproval, RequestedBy: r.By, DedupeKey: r.DedupeKey}
	f.seen[r.DedupeKey] = a
	return a, false, nil
}

func (f *recordingActions) List(ctx context.Context, q weft.ActionQuery) (weft.ActionPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p weft.ActionPage
	for _, a := range f.seen {
		if a.IncidentID == q.IncidentID && a.Target == q.Target && (len(q.Type) == 0 || q.Type[0] == a.Type) {
			p.Actions = append(p.Actions, a)
		}
	}
	return p, nil
}

func (f *recordingActions) requests() []weft.ActionRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]weft.ActionRequest(nil), f.reqs...)
}

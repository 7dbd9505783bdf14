package automation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
	"github.com/weftxdr/weft/sqlite"
)

// TestRunnerRun: Run wakes when the event log grows, applies the rules, and
// returns when its context ends.
func TestRunnerRun(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		s, err := sqlite.Open(filepath.Join(dir, "weft.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := s.CreateAutomationRule(ctx, &weft.AutomationRule{TenantID: weft.DefaultTenantID, Name: "tag", Enabled: true,
			Condition: "true", Actions: []weft.AutomationAction{{Type: weft.AutomationAddTag, Value: "seen"}}}, "admin"); err != nil {
			t.Fatal(err)
		}
		r := &automation.Runner{Store: s, Events: s, Manager: s, Load: loader(s), Engine: newEngine(t), Poll: time.Hour}
		stopped := make(chan error)
		go func() { stopped <- r.Run(ctx) }()
		synctest.Wait()
		ids := ingest(t, s, newAlert(t, alertSpec{n: 1, title: "x", severity: weft.SeverityLow, device: "ws-1"}))
		synctest.Wait() // the commit closed EventsChanged: Run has stepped
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, ids[0], false)
		if err != nil {
			t.Fatal(err)
		}
		if len(inc.CustomTags) != 1 || inc.CustomTags[0] != "seen" {
			t.Errorf("tags = %v; want [seen] without waiting for the poll", inc.CustomTags)
		}
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// TestNotifierRun: Run marks deliveries interrupted mid-send failed, sends a
// new incident's notification when the event log grows, and retries a 503
// when its backoff has passed, at the next poll.
func TestNotifierRun(t *testing.T) {
	dir := t.TempDir()
	h := &hook{codes: []int{503}}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	synctest.Test(t, func(t *testing.T) {
		s, err := sqlite.Open(filepath.Join(dir, "weft.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx, cancel := context.WithCancel(context.Background())
		rule, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "all", Enabled: true,
			Condition: "true", URL: srv.URL + "/x", Format: weft.NotifyTeams}, "admin")
		if err != nil {
			t.Fatal(err)
		}
		// A delivery a crashed process left sending.
		d := &weft.NotificationDelivery{TenantID: weft.DefaultTenantID, RuleID: rule.ID, IncidentID: 99, Kind: weft.NotifyCreated, NextAttempt: time.Now()}
		if _, err := s.AddDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimDelivery(ctx, d.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		// No idle connections: a connection's reader would wait on the
		// network, which synctest.Wait does not count as blocked.
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.DisableKeepAlives = true
		n := &automation.Notifier{Store: s, Events: s, Load: loader(s), Engine: newEngine(t), Client: &http.Client{Transport: tr},
			Poll: 10 * time.Second, Backoff: time.Minute}
		stopped := make(chan error)
		go func() { stopped <- n.Run(ctx) }()
		synctest.Wait()
		ingest(t, s, newAlert(t, alertSpec{n: 1, title: "x", severity: weft.SeverityLow, device: "ws-1"}))
		synctest.Wait()
		if h.received() != 0 {
			t.Fatalf("received %d; want the first attempt refused with 503", h.received())
		}
		time.Sleep(50 * time.Second) // polls, but the backoff has not passed
		synctest.Wait()
		if h.received() != 0 {
			t.Fatalf("retried before the backoff")
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if h.received() != 1 {
			t.Fatalf("received %d after the backoff; want 1", h.received())
		}
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run = %v", err)
		}
		ds, _ := s.ListDeliveries(context.Background(), weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
		if len(ds) != 2 || ds[0].State != weft.DeliverySent || ds[0].Attempts != 2 || ds[1].State != weft.DeliveryFailed || ds[1].Attempts != 1 {
			t.Errorf("deliveries = %+v; want the new one sent at the 2nd attempt, the interrupted one failed", ds)
		}
	})
}

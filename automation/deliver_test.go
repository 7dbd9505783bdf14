package automation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
)

// TestDeliverTenantsConcurrently: a tenant whose webhook hangs does not hold
// up another tenant's notification; Deliver sends tenants side by side.
func TestDeliverTenantsConcurrently(t *testing.T) {
	release, otherGot := make(chan struct{}), make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hung":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/other":
			close(otherGot)
		}
	}))
	defer srv.Close()
	c := &clock{t: t0}
	s := openStore(t, c)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, &weft.Tenant{ID: "other"}); err != nil {
		t.Fatal(err)
	}
	n := &automation.Notifier{Store: s, Events: s, Load: loader(s), Engine: newEngine(t), Now: c.Now, Client: srv.Client()}
	// The hung tenant's delivery is the older one: sequential sending
	// would wait for it first.
	for _, tenant := range []string{weft.DefaultTenantID, "other"} {
		path := "/other"
		if tenant == weft.DefaultTenantID {
			path = "/hung"
		}
		if _, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: tenant, Name: "n", Enabled: true,
			Condition: "true", URL: srv.URL + path}, "admin"); err != nil {
			t.Fatal(err)
		}
		a := newAlert(t, alertSpec{n: 1, title: "hi", severity: weft.SeverityHigh, device: "ws-1"})
		a.TenantID, a.ID = tenant, ""
		if _, err := a.Normalize(t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StoreAlerts(ctx, []*weft.Alert{a}); err != nil {
			t.Fatal(err)
		}
		if err := n.Scan(ctx); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := n.Deliver(ctx); done <- err }()
	select {
	case <-otherGot:
	case err := <-done:
		t.Fatalf("Deliver returned %v before the other tenant's notification was sent", err)
	case <-time.After(time.Minute): // a guard against hanging, not a measure
		close(release)
		t.Fatal("the other tenant's notification waited for the hung webhook of the default tenant")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{weft.DefaultTenantID, "other"} {
		ds, _ := s.ListDeliveries(ctx, weft.DeliveryQuery{TenantID: tenant})
		if len(ds) != 1 || ds[0].State != weft.DeliverySent || ds[0].Attempts != 1 {
			t.Errorf("tenant %s: deliveries %+v; want one sent once", tenant, ds)
		}
	}
}

// TestDeliverDefersDeadRule: after a rule's webhook fails in a way that is
// retried, its other due deliveries wait for the next round, unclaimed and
// untried, so that a dead host costs one attempt per round; the tenant's
// other rules are still sent.
func TestDeliverDefersDeadRule(t *testing.T) {
	h := &hook{}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := &clock{t: t0}
	s := openStore(t, c)
	ctx := context.Background()
	n := &automation.Notifier{Store: s, Events: s, Load: loader(s), Engine: newEngine(t), Now: c.Now, Client: srv.Client()}
	dead, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "dead", Enabled: true,
		Condition: "true", URL: "https://127.0.0.1:1/x"}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "live", Enabled: true,
		Condition: "true", URL: srv.URL + "/live"}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreAlerts(ctx, []*weft.Alert{
		newAlert(t, alertSpec{n: 1, title: "one", severity: weft.SeverityHigh, category: "Malware", device: "ws-1"}),
		newAlert(t, alertSpec{n: 2, title: "two", severity: weft.SeverityHigh, category: "Phishing", device: "ws-2"}),
	}); err != nil {
		t.Fatal(err)
	}
	if err := n.Scan(ctx); err != nil {
		t.Fatal(err)
	}
	tried, err := n.Deliver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadDs, _ := s.ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID, RuleID: dead.ID})
	liveDs, _ := s.ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID, RuleID: live.ID})
	if len(deadDs) != 2 || len(liveDs) != 2 {
		t.Fatalf("deliveries dead %d, live %d; want 2 each (two incidents)", len(deadDs), len(liveDs))
	}
	attempts := 0
	for _, d := range deadDs {
		if d.State != weft.DeliveryPending {
			t.Errorf("dead rule's delivery %+v; want pending", d)
		}
		attempts += d.Attempts
	}
	if attempts != 1 || tried != 3 {
		t.Errorf("dead rule tried %d times, %d deliveries in all; want 1 and 3 (its second delivery waits for the next round)", attempts, tried)
	}
	for _, d := range liveDs {
		if d.State != weft.DeliverySent {
			t.Errorf("live rule's delivery %+v; want sent", d)
		}
	}
}

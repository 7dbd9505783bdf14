package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
	"github.com/weftxdr/weft/storetest"
)

func TestAutomationRules(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Now: func() time.Time { return now }})
	// Events before the first rule are not the rules' to see.
	if _, err := s.StoreAlerts(ctx, []*weft.Alert{storetest.NewAlert(1)}); err != nil {
		t.Fatal(err)
	}
	before, err := s.LastEventID(ctx, weft.DefaultTenantID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EventCursor(ctx, weft.DefaultTenantID, weft.ConsumerAutomation); weft.ErrorCode(err) != weft.ENOTFOUND {
		t.Fatalf("cursor before any rule: %v; want ENOTFOUND", err)
	}
	rule := func(name string, order int) *weft.AutomationRule {
		return &weft.AutomationRule{TenantID: weft.DefaultTenantID, Name: name, Enabled: true, Order: order, Condition: "true",
			Actions: []weft.AutomationAction{{Type: weft.AutomationAddTag, Value: name}}}
	}
	b, err := s.CreateAutomationRule(ctx, rule("b", 2), "admin")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAutomationRule(ctx, rule("a", 1), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if b.Version != 1 || b.UpdatedBy != "admin" || !b.Created.Equal(now) || a.ID == b.ID {
		t.Errorf("created %+v; want version 1 by admin at %v", b, now)
	}
	t.Run("CursorStartsAtTheEnd", func(t *testing.T) {
		got, err := s.EventCursor(ctx, weft.DefaultTenantID, weft.ConsumerAutomation)
		if err != nil || got != before {
			t.Fatalf("cursor = %d, %v; want %d", got, err, before)
		}
		if err := s.SetEventCursor(ctx, weft.DefaultTenantID, weft.ConsumerAutomation, before+10); err != nil {
			t.Fatal(err)
		}
		if err := s.SetEventCursor(ctx, weft.DefaultTenantID, weft.ConsumerAutomation, before+5); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.EventCursor(ctx, weft.DefaultTenantID, weft.ConsumerAutomation); got != before+10 {
			t.Errorf("cursor moved back to %d", got)
		}
		tenants, err := s.CursorTenants(ctx, weft.ConsumerAutomation)
		if err != nil || len(tenants) != 1 || tenants[0] != weft.DefaultTenantID {
			t.Errorf("CursorTenants = %v, %v", tenants, err)
		}
		if tenants, _ := s.CursorTenants(ctx, weft.ConsumerNotifications); len(tenants) != 0 {
			t.Errorf("notification cursor tenants = %v; want none", tenants)
		}
	})
	t.Run("Order", func(t *testing.T) {
		rules, err := s.AutomationRules(ctx, weft.DefaultTenantID)
		if err != nil || len(rules) != 2 || rules[0].Name != "a" || rules[1].Name != "b" {
			t.Fatalf("rules = %v, %v; want a then b", rules, err)
		}
		if other, err := s.AutomationRules(ctx, "other"); err != nil || len(other) != 0 {
			t.Errorf("another tenant's rules = %v, %v; want none", other, err)
		}
	})
	t.Run("ErrStaleVersion", func(t *testing.T) {
		c := *b
		c.Description = "new"
		up, err := s.UpdateAutomationRule(ctx, &c, "carol", 1)
		if err != nil || up.Version != 2 || up.UpdatedBy != "carol" || !up.Created.Equal(b.Created) {
			t.Fatalf("update = %+v, %v; want version 2 by carol, created unchanged", up, err)
		}
		if _, err := s.UpdateAutomationRule(ctx, &c, "carol", 1); weft.ErrorCode(err) != weft.EPRECONDITION {
			t.Errorf("stale update: %v; want EPRECONDITION", err)
		}
		if err := s.DeleteAutomationRule(ctx, weft.DefaultTenantID, b.ID, 1); weft.ErrorCode(err) != weft.EPRECONDITION {
			t.Errorf("stale delete: %v; want EPRECONDITION", err)
		}
		if _, err := s.FindAutomationRule(ctx, "other", b.ID); weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("another tenant's find: %v; want ENOTFOUND", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		bad := rule("", 1)
		if _, err := s.CreateAutomationRule(ctx, bad, "admin"); weft.ErrorCode(err) != weft.EINVALID {
			t.Errorf("create without a name: %v; want EINVALID", err)
		}
	})
	t.Run("Runs", func(t *testing.T) {
		runs := []*weft.AutomationRun{
			{TenantID: weft.DefaultTenantID, RuleID: a.ID, RuleName: "a", RuleVersion: 1, IncidentID: 1, Outcome: weft.RunApplied, Effects: []string{"add tag a"}, Time: now},
			{TenantID: weft.DefaultTenantID, RuleID: b.ID, RuleName: "b", RuleVersion: 2, IncidentID: 2, Outcome: weft.RunFailed, Error: "boom", Effects: []string{}, Time: now},
		}
		if err := s.AddAutomationRuns(ctx, runs); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListAutomationRuns(ctx, weft.AutomationRunQuery{TenantID: weft.DefaultTenantID})
		if err != nil || len(got) != 2 || got[0].ID != runs[1].ID || got[0].Error != "boom" || got[1].Effects[0] != "add tag a" {
			t.Fatalf("runs = %+v, %v; want newest first", got, err)
		}
		got, _ = s.ListAutomationRuns(ctx, weft.AutomationRunQuery{TenantID: weft.DefaultTenantID, IncidentID: 1})
		if len(got) != 1 || got[0].RuleID != a.ID {
			t.Errorf("runs of incident 1 = %+v", got)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if err := s.DeleteAutomationRule(ctx, weft.DefaultTenantID, a.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindAutomationRule(ctx, weft.DefaultTenantID, a.ID); weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("find deleted: %v; want ENOTFOUND", err)
		}
	})
}

func TestNotificationDeliveries(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Now: func() time.Time { return now }})
	r, err := s.CreateNotificationRule(ctx, &weft.NotificationRule{TenantID: weft.DefaultTenantID, Name: "n", Enabled: true,
		Condition: "true", URL: "https://hooks.example.com/x"}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != weft.NotifyGeneric || len(r.Events) != 1 || r.Events[0] != weft.NotifyCreated {
		t.Errorf("rule defaults: %+v; want generic, created", r)
	}
	d := &weft.NotificationDelivery{TenantID: weft.DefaultTenantID, RuleID: r.ID, IncidentID: 7, Kind: weft.NotifyCreated, NextAttempt: now}
	if ok, err := s.AddDelivery(ctx, d); !ok || err != nil {
		t.Fatalf("AddDelivery = %v, %v", ok, err)
	}
	dup := *d
	if ok, err := s.AddDelivery(ctx, &dup); ok || err != nil {
		t.Fatalf("repeated AddDelivery = %v, %v; want not created", ok, err)
	}
	due, err := s.DueDeliveries(ctx, now, 10)
	if err != nil || len(due) != 1 || due[0].ID != d.ID {
		t.Fatalf("due = %+v, %v", due, err)
	}
	if ok, _ := s.ClaimDelivery(ctx, d.ID, now); !ok {
		t.Fatal("claim failed")
	}
	if ok, _ := s.ClaimDelivery(ctx, d.ID, now); ok {
		t.Fatal("a delivery was claimed twice")
	}
	if err := s.FinishDelivery(ctx, d.ID, weft.DeliveryPending, now.Add(time.Minute), "the webhook answered 503", now); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueDeliveries(ctx, now, 10); len(due) != 0 {
		t.Errorf("due before its backoff: %+v", due)
	}
	due, _ = s.DueDeliveries(ctx, now.Add(time.Minute), 10)
	if len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "the webhook answered 503" {
		t.Fatalf("due after backoff = %+v", due)
	}
	s.ClaimDelivery(ctx, d.ID, now)
	if n, err := s.AbandonSending(ctx, now); n != 1 || err != nil {
		t.Fatalf("AbandonSending = %d, %v", n, err)
	}
	list, err := s.ListDeliveries(ctx, weft.DeliveryQuery{TenantID: weft.DefaultTenantID})
	if err != nil || len(list) != 1 || list[0].State != weft.DeliveryFailed || list[0].Attempts != 2 {
		t.Errorf("deliveries = %+v, %v; want one failed after 2 attempts", list, err)
	}
}

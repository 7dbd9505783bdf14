package automation_test

import (
	"context"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
	"github.com/weftxdr/weft/respond"
)

// TestRunnerWithActionService runs a rule that requests a response action
// through the real action service: the action follows the approval policy
// (automation needs approval by default), names the rule as its requester,
// and the action's own entries on the incident's activity log do not make
// the rule run again.
func TestRunnerWithActionService(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0}
	s := openStore(t, c)
	svc := respond.New(s, respond.Options{Now: c.Now})
	r := &automation.Runner{Store: s, Events: s, Manager: s, Actions: svc, Load: loader(s), Engine: newEngine(t), Now: c.Now}
	rule, err := s.CreateAutomationRule(ctx, &weft.AutomationRule{TenantID: weft.DefaultTenantID, Name: "isolate ransomware", Enabled: true,
		Condition: "alerts.exists(a, a.category == 'Ransomware')",
		Actions:   []weft.AutomationAction{{Type: weft.AutomationRequestAction, ActionType: "isolate", Target: "devices", Reason: "ransomware"}}}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	ids := ingest(t, s, newAlert(t, alertSpec{n: 1, title: "r", severity: weft.SeverityHigh, category: "Ransomware", device: "ws-9"}))
	runs, err := r.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Outcome != weft.RunApplied {
		t.Fatalf("runs = %v; want one applied run", runsText(runs))
	}
	page, err := svc.List(ctx, weft.ActionQuery{TenantID: weft.DefaultTenantID, IncidentID: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Actions) != 1 {
		t.Fatalf("actions = %+v; want one", page.Actions)
	}
	a := page.Actions[0]
	if a.Type != "isolate" || a.ActionStatus != weft.ActionPendingApproval || a.RequestedBy.Kind != weft.ActorAutomation ||
		a.RequestedBy.RuleID != rule.ID || a.Target != "device.fqdn:ws-9.contoso.com" {
		t.Errorf("action = %+v; want isolate of ws-9 pending approval, requested by rule %d", a, rule.ID)
	}
	// An analyst approves it: a new event of the incident, by a person. The
	// rule has acted on this incident already and does not run again.
	if _, err := svc.Approve(ctx, weft.DefaultTenantID, a.ID, weft.ActionActor{Kind: weft.ActorUser, Name: "bob"}, "ok"); err != nil {
		t.Fatal(err)
	}
	if runs, err := r.Step(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("step after the approval = %v, %v; want no runs", runsText(runs), err)
	}
	if page, _ := svc.List(ctx, weft.ActionQuery{TenantID: weft.DefaultTenantID, IncidentID: ids[0]}); len(page.Actions) != 1 {
		t.Errorf("actions after the approval = %d; want still 1", len(page.Actions))
	}
}

// TestRuleAuthorCannotApprove: an action an automation rule requests names
// the person who last saved the rule as its Owner; that person, even
// spelled in another case, cannot approve it (four eyes), another
// responder can.
func TestRuleAuthorCannotApprove(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0}
	s := openStore(t, c)
	svc := respond.New(s, respond.Options{Now: c.Now})
	if _, err := svc.SetPolicy(ctx, weft.DefaultTenantID, weft.ResponsePolicy{RequireApproval: []string{"isolate"}, AutomationRequiresApproval: true}); err != nil {
		t.Fatal(err)
	}
	r := &automation.Runner{Store: s, Events: s, Manager: s, Actions: svc, Load: loader(s), Engine: newEngine(t), Now: c.Now}
	rule, err := s.CreateAutomationRule(ctx, &weft.AutomationRule{TenantID: weft.DefaultTenantID, Name: "isolate it", Enabled: true,
		Condition: "true",
		Actions:   []weft.AutomationAction{{Type: weft.AutomationRequestAction, ActionType: "isolate", Target: "devices", Reason: "x"}}}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	// alice saves it last: she, not bob, is the rule's person now.
	rule.Condition = "severity == 'high'"
	if _, err := s.UpdateAutomationRule(ctx, rule, "alice", rule.Version); err != nil {
		t.Fatal(err)
	}
	ids := ingest(t, s, newAlert(t, alertSpec{n: 1, title: "r", severity: weft.SeverityHigh, category: "Ransomware", device: "ws-9"}))
	if _, err := r.Step(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := svc.List(ctx, weft.ActionQuery{TenantID: weft.DefaultTenantID, IncidentID: ids[0]})
	if err != nil || len(page.Actions) != 1 {
		t.Fatalf("actions = %+v, %v; want one", page.Actions, err)
	}
	a := page.Actions[0]
	if a.RequestedBy.Kind != weft.ActorAutomation || a.RequestedBy.Owner != "alice" || a.ActionStatus != weft.ActionPendingApproval {
		t.Fatalf("action %+v requested by %+v; want pending approval, requested by the rule with owner alice", a, a.RequestedBy)
	}
	for _, by := range []weft.ActionActor{{Kind: weft.ActorUser, Name: "Alice"}, {Kind: weft.ActorUser, Name: "token:ci", Owner: "alice"}} {
		if out, err := svc.Approve(ctx, weft.DefaultTenantID, a.ID, by, ""); weft.ErrorCode(err) != weft.EFORBIDDEN {
			t.Fatalf("%+v approved the action of the rule alice saved: %+v, %v; want EFORBIDDEN", by, out, err)
		}
	}
	out, err := svc.Approve(ctx, weft.DefaultTenantID, a.ID, weft.ActionActor{Kind: weft.ActorUser, Name: "bob"}, "checked")
	if err != nil || out.ActionStatus != weft.ActionApproved {
		t.Fatalf("bob's approval: %+v, %v; want approved", out, err)
	}
}

package automation_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
)

func TestRunner(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0}
	s := openStore(t, c)
	acts := &recordingActions{}
	r := &automation.Runner{Store: s, Events: s, Manager: s, Actions: acts, Load: loader(s), Engine: newEngine(t), Now: c.Now}

	// An incident from before the first rule is never acted on.
	old := ingest(t, s, newAlert(t, alertSpec{n: 1, title: "old", severity: weft.SeverityHigh, category: "Ransomware", device: "ws-1"}))
	tagRule, err := s.CreateAutomationRule(ctx, &weft.AutomationRule{TenantID: weft.DefaultTenantID, Name: "tag ransomware", Enabled: true,
		Condition: "alerts.exists(a, a.category == 'Ransomware')", Order: 1,
		Actions: []weft.AutomationAction{{Type: weft.AutomationAddTag, Value: "ransomware"}, {Type: weft.AutomationAssign, Value: "alice@contoso.com"},
			{Type: weft.AutomationRequestAction, ActionType: "isolate", Target: "devices"}}}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	// The second rule sees the first's change in the same pass (rules run
	// in order on the incident as the rules before left it).
	chainRule, err := s.CreateAutomationRule(ctx, &weft.AutomationRule{TenantID: weft.DefaultTenantID, Name: "loop", Enabled: true,
		Condition: "'ransomware' in tags", Order: 2,
		Actions: []weft.AutomationAction{{Type: weft.AutomationAddTag, Value: "second"}}}, "admin")
	if err != nil {
		t.Fatal(err)
	}
	ids := ingest(t, s, newAlert(t, alertSpec{n: 2, title: "new", severity: weft.SeverityHigh, category: "Ransomware", device: "ws-2"}))

	runs, err := r.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].RuleID != tagRule.ID || runs[0].Outcome != weft.RunApplied || runs[0].IncidentID != ids[0] ||
		runs[1].RuleID != chainRule.ID || runs[1].Outcome != weft.RunApplied {
		t.Fatalf("runs = %v; want applied runs of the tag rule, then the chained rule, on incident %d", runsText(runs), ids[0])
	}
	inc, err := s.FindIncident(ctx, weft.DefaultTenantID, ids[0], false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(inc.CustomTags, "ransomware") || inc.AssignedTo != "alice@contoso.com" || !slices.Contains(inc.CustomTags, "second") {
		t.Errorf("incident tags %v, assigned %q; want ransomware and second, and alice", inc.CustomTags, inc.AssignedTo)
	}
	acts2, err := s.ListActivities(ctx, weft.DefaultTenantID, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	wantActor := weft.AutomationActor("tag ransomware", 1)
	if !slices.ContainsFunc(acts2, func(a *weft.Activity) bool { return a.Actor == wantActor }) {
		t.Errorf("activity log has no change by %q", wantActor)
	}
	if reqs := acts.requests(); len(reqs) != 1 || reqs[0].Type != "isolate" || reqs[0].By.RuleID != tagRule.ID || reqs[0].IncidentID != ids[0] {
		t.Errorf("action requests = %+v; want one isolate by rule %d", reqs, tagRule.ID)
	}
	if inc, _ := s.FindIncident(ctx, weft.DefaultTenantID, old[0], false); slices.Contains(inc.CustomTags, "ransomware") {
		t.Errorf("the incident from before the rule was tagged")
	}

	// Nothing new: the automation's own events do not trigger anything.
	if runs, err := r.Step(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("second step = %+v, %v; want no runs", runs, err)
	}

	// An analyst removes the tag: the rule (same version) does not fight
	// back, nor does the chained rule.
	empty := []string{}
	if _, err := s.UpdateIncident(ctx, weft.DefaultTenantID, ids[0], weft.IncidentPatch{CustomTags: &empty}, "bob", 0); err != nil {
		t.Fatal(err)
	}
	if runs, err := r.Step(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("step after the analyst's change = %+v, %v; want no runs", runs, err)
	}

	// A new version of the rule acts again; the response action already
	// requested by the rule is not requested twice.
	tagRule.Actions[0].Value = "ransomware-v2"
	if _, err := s.UpdateAutomationRule(ctx, tagRule, "admin", tagRule.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateIncident(ctx, weft.DefaultTenantID, ids[0], weft.IncidentPatch{Severity: ptr(weft.SeverityMedium)}, "bob", 0); err != nil {
		t.Fatal(err)
	}
	runs, err = r.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].RuleVersion != 2 || runs[0].Outcome != weft.RunApplied {
		t.Fatalf("runs = %v; want one applied run of version 2", runsText(runs))
	}
	if reqs := acts.requests(); len(reqs) != 1 {
		t.Errorf("action requests = %d; want still 1", len(reqs))
	}

	// The run log lists every run, newest first.
	log, err := s.ListAutomationRuns(ctx, weft.AutomationRunQuery{TenantID: weft.DefaultTenantID})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].RuleVersion != 2 || log[2].RuleID != tagRule.ID || !slices.ContainsFunc(log[2].Effects, func(e string) bool {
		return strings.HasPrefix(e, "request isolate on device.fqdn:ws-2.contoso.com")
	}) {
		t.Errorf("run log = %v; want version 2, the chained rule, then version 1 with its isolate request", runsText(log))
	}
}

func runsText(runs []*weft.AutomationRun) string {
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "[rule %d v%d incident %d %s %v %s] ", r.RuleID, r.RuleVersion, r.IncidentID, r.Outcome, r.Effects, r.Error)
	}
	return b.String()
}

// TestRunnerLoopPrevention: a failed run is tried again at the incident's
// next event, but not at events automation made: a rule that fails and one
// that changes the incident do not feed each other.
func TestRunnerLoopPrevention(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: t0}
	s := openStore(t, c)
	r := &automation.Runner{Store: s, Events: s, Manager: s, Load: loader(s), Engine: newEngine(t), Now: c.Now}
	if _, err := s.CreateAutomationRule(ctx, &weft.AutomationRule{TenantID: weft.DefaultTenantID, Name: "isolate", Enabled: true,
		Condition: "true", Actions: []weft.AutomationAction{{Type: weft.AutomationRequestAction, ActionType: "isolate", Target: "devices"}}}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAutomationRule(ctx, &weft.AutomationRule{TenantID: weft.DefaultTenantID, Name: "tag", Enabled: true, Order: 1,
		Condition: "true", Actions: []weft.AutomationAction{{Type: weft.AutomationAddTag, Value: "seen"}}}, "admin"); err != nil {
		t.Fatal(err)
	}
	ids := ingest(t, s, newAlert(t, alertSpec{n: 1, title: "x", severity: weft.SeverityHigh, device: "ws-1"}))
	runs, err := r.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Outcome != weft.RunFailed || !strings.Contains(runs[0].Error, "response actions are not available") ||
		runs[1].Outcome != weft.RunApplied {
		t.Fatalf("runs = %v; want a failed run saying actions are unavailable, and an applied one", runsText(runs))
	}
	// The tag rule's change is an event, by automation: nothing runs.
	if runs, err := r.Step(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("step after automation's own change = %v, %v; want no runs", runsText(runs), err)
	}
	// An analyst's change: the failed rule is tried again, the applied one
	// is not.
	if _, _, err := s.AddIncidentComment(ctx, weft.DefaultTenantID, ids[0], "looking", "bob", 0); err != nil {
		t.Fatal(err)
	}
	runs, err = r.Step(ctx)
	if err != nil || len(runs) != 1 || runs[0].Outcome != weft.RunFailed {
		t.Fatalf("step after the analyst's change = %v, %v; want one failed run", runsText(runs), err)
	}
}

func ptr[T any](v T) *T { return &v }

package automation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
)

func TestCompile(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		name, src, want string
	}{
		{"ErrUndeclaredLocated", "severity == 'high' && sevrity == 'x'", "condition: 1:23: undeclared reference to 'sevrity'"},
		{"ErrSecondLine", "severity == 'high' &&\n  alerts.exists(a, a.categry == 'x')", "condition: 2:21: undefined field 'categry'"},
		{"ErrNotBool", "name + 'x'", "condition: 1:1: the expression yields string, not bool"},
		{"ErrSyntax", "severity == ", "condition: 1:13: "},
		{"ErrUnknownAlertField", "alerts.exists(a, a.severty == 'high')", "undefined field 'severty'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Compile(tt.src)
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), tt.want) {
				t.Fatalf("Compile(%q) = %v; want EINVALID containing %q", tt.src, err, tt.want)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		for _, src := range []string{"true", "severityRank >= 3 && 'VIP' in tags",
			"alerts.exists(a, a.evidence.exists(x, x.type == 'file' && x.name.endsWith('.exe')))",
			"devices.all(d, d.deviceGroup == 'Test') && created < updated"} {
			if err := e.Compile(src); err != nil {
				t.Errorf("Compile(%q) = %v", src, err)
			}
		}
	})
}

func TestCheckRule(t *testing.T) {
	e := newEngine(t)
	tests := []struct {
		name string
		rule weft.AutomationRule
		want string
	}{
		{"ErrTargetNotList", weft.AutomationRule{Name: "x", Condition: "true", Actions: []weft.AutomationAction{
			{Type: weft.AutomationRequestAction, ActionType: "isolate", Target: "devices[0]"}}}, "actions[0].target: 1:1: the expression yields"},
		{"ErrUnknownAction", weft.AutomationRule{Name: "x", Condition: "true", Actions: []weft.AutomationAction{
			{Type: weft.AutomationRequestAction, ActionType: "nuke", Target: "devices"}}}, "actions[0].actionType: action \"nuke\" does not exist"},
		{"ErrActionParameter", weft.AutomationRule{Name: "x", Condition: "true", Actions: []weft.AutomationAction{
			{Type: weft.AutomationRequestAction, ActionType: "isolate", Target: "devices", Parameters: map[string]string{"isolationType": "total"}}}},
			"actions[0].parameters.isolationType: \"total\" is not allowed"},
		{"ErrBadStatus", weft.AutomationRule{Name: "x", Condition: "true", Actions: []weft.AutomationAction{
			{Type: weft.AutomationSetStatus, Value: "redirected"}}}, "actions[0].value: status redirected cannot be set"},
		{"ErrReasonRequired", weft.AutomationRule{Name: "x", Condition: "true", Actions: []weft.AutomationAction{
			{Type: weft.AutomationResolveSuppressed}}}, "actions[0].reason: must not be empty"},
		{"ErrUnusedField", weft.AutomationRule{Name: "x", Condition: "true", Actions: []weft.AutomationAction{
			{Type: weft.AutomationAddTag, Value: "t", Target: "devices"}}}, "actions[0].target: is not used by action type addTag"},
		{"ErrNoActions", weft.AutomationRule{Name: "x", Condition: "true"}, "actions: a rule needs at least one action"},
		{"ErrNoName", weft.AutomationRule{Condition: "true", Actions: []weft.AutomationAction{{Type: weft.AutomationAddTag, Value: "t"}}}, "name: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.CheckRule(&tt.rule)
			if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), tt.want) {
				t.Fatalf("CheckRule = %v; want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

// docRules reads the JSON examples of docs/automation.md that are automation
// rules (they have actions).
func docRules(t *testing.T) []*weft.AutomationRule {
	t.Helper()
	b, err := os.ReadFile("../docs/automation.md")
	if err != nil {
		t.Fatal(err)
	}
	var rules []*weft.AutomationRule
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		var r weft.AutomationRule
		if err := json.Unmarshal([]byte(m[1]), &r); err != nil {
			t.Fatalf("docs/automation.md example %q: %v", m[1], err)
		}
		if len(r.Actions) > 0 {
			rules = append(rules, &r)
		}
	}
	if len(rules) != 2 {
		t.Fatalf("docs/automation.md has %d rule examples; want 2", len(rules))
	}
	return rules
}

// TestDocExamples runs the two examples of docs/automation.md, as written
// there, on generated incidents: they compile, and each matches the
// incidents it is meant for and no other.
func TestDocExamples(t *testing.T) {
	c := &clock{t: t0}
	s := openStore(t, c)
	e := newEngine(t)
	rules := docRules(t)
	for i, r := range rules {
		r.TenantID, r.ID, r.Version = weft.DefaultTenantID, int64(i+1), 1
		if err := e.CheckRule(r); err != nil {
			t.Fatalf("example %q: %v", r.Name, err)
		}
	}
	isolate, suppress := rules[0], rules[1]

	putDevice(t, s, "ws-low", 0, "Workstations")
	putDevice(t, s, "dc-01", 3, "Domain controllers")
	putDevice(t, s, "test-01", 0, "Test")
	putDevice(t, s, "test-02", 0, "Test")
	ids := ingest(t, s,
		newAlert(t, alertSpec{n: 1, title: "Ransomware behavior", severity: weft.SeverityHigh, category: "Ransomware", device: "ws-low"}),
		newAlert(t, alertSpec{n: 2, title: "Ransomware behavior", severity: weft.SeverityHigh, category: "Ransomware", device: "dc-01"}),
		newAlert(t, alertSpec{n: 3, title: "Ransomware behavior", severity: weft.SeverityMedium, category: "Ransomware", device: "ws-low"}),
		newAlert(t, alertSpec{n: 4, title: "Noise", severity: weft.SeverityLow, category: "Execution", detector: "noisy-test-detector", device: "test-01"}),
		newAlert(t, alertSpec{n: 5, title: "Noise", severity: weft.SeverityLow, category: "Execution", detector: "noisy-test-detector", device: "ws-low"}),
		newAlert(t, alertSpec{n: 6, title: "Other", severity: weft.SeverityLow, category: "Execution", detector: "other", device: "test-02"}),
	)
	load := loader(s)
	want := map[int64][2]bool{ // incident → (isolate matches, suppress matches)
		ids[0]: {true, false}, ids[1]: {false, false}, ids[2]: {false, false},
		ids[3]: {false, true}, ids[4]: {false, false}, ids[5]: {false, false},
	}
	for id, w := range want {
		sub, err := load(context.Background(), weft.DefaultTenantID, id)
		if err != nil {
			t.Fatal(err)
		}
		plans := e.Plan(context.Background(), []*weft.AutomationRule{isolate, suppress}, sub)
		if len(plans) != 2 {
			t.Fatalf("incident %d: %d plans; want 2", id, len(plans))
		}
		for i, p := range plans {
			if p.Err != nil {
				t.Fatalf("incident %d, %s: %v", id, p.Rule.Name, p.Err)
			}
			if p.Matched != w[i] {
				t.Errorf("incident %d (%s), rule %q: matched %v; want %v", id, sub.Incident.DisplayName, p.Rule.Name, p.Matched, w[i])
			}
		}
		if w[0] {
			reqs := plans[0].Requests
			if len(reqs) != 1 || reqs[0].Target != "device.fqdn:ws-low.contoso.com" || reqs[0].Type != "isolate" ||
				reqs[0].By.Kind != weft.ActorAutomation || reqs[0].By.RuleID != isolate.ID || reqs[0].Parameters["isolationType"] != "full" {
				t.Errorf("isolate requests = %+v; want one isolate of device.fqdn:ws-low.contoso.com by the rule", reqs)
			}
		}
		if w[1] {
			p := plans[1].Patch
			if p.Status == nil || *p.Status != weft.IncidentStatusResolved || p.Determination == nil || *p.Determination != weft.DeterminationSecurityTesting ||
				p.CustomTags == nil || !strings.Contains(strings.Join(*p.CustomTags, ","), weft.SuppressedTag) {
				t.Errorf("suppress patch = %+v; want resolved, securityTesting, tagged %s", p, weft.SuppressedTag)
			}
		}
	}
}

// TestPlanOrder: a rule sees what the rules before it did.
func TestPlanOrder(t *testing.T) {
	c := &clock{t: t0}
	s := openStore(t, c)
	e := newEngine(t)
	ids := ingest(t, s, newAlert(t, alertSpec{n: 1, title: "x", severity: weft.SeverityHigh, category: "Ransomware", device: "ws-1"}))
	sub, err := loader(s)(context.Background(), weft.DefaultTenantID, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	resolve := &weft.AutomationRule{ID: 2, Name: "resolve", Enabled: true, Order: 1, Condition: "severity == 'high'",
		Actions: []weft.AutomationAction{{Type: weft.AutomationSetStatus, Value: "resolved"}}}
	tagOpen := &weft.AutomationRule{ID: 1, Name: "tag open", Enabled: true, Order: 2, Condition: "status != 'resolved'",
		Actions: []weft.AutomationAction{{Type: weft.AutomationAddTag, Value: "open"}}}
	disabled := &weft.AutomationRule{ID: 3, Name: "off", Enabled: false, Order: 0, Condition: "true",
		Actions: []weft.AutomationAction{{Type: weft.AutomationAddTag, Value: "off"}}}

	plans := e.Plan(context.Background(), []*weft.AutomationRule{tagOpen, disabled, resolve}, sub)
	if len(plans) != 2 || plans[0].Rule != resolve || !plans[0].Matched || plans[1].Rule != tagOpen || plans[1].Matched {
		t.Fatalf("plans = %+v; want resolve (matched) then tag open (not matched), the disabled rule left out", plans)
	}
	resolve.Order = 3 // now the tag rule runs first and sees the incident active
	plans = e.Plan(context.Background(), []*weft.AutomationRule{tagOpen, resolve}, sub)
	if !plans[0].Matched || plans[0].Rule != tagOpen || !plans[1].Matched {
		t.Fatalf("plans = %+v; want both matched, tag open first", plans)
	}
	if sub.Incident.Status != weft.IncidentStatusActive {
		t.Errorf("Plan changed the subject: status %s", sub.Incident.Status)
	}
}

// TestCostLimit: a condition that would visit too much is stopped, not run
// to the end.
func TestCostLimit(t *testing.T) {
	e := newEngine(t)
	inc := &weft.Incident{ID: 1, Severity: weft.SeverityHigh, Status: weft.IncidentStatusActive}
	for i := range 300 {
		inc.Alerts = append(inc.Alerts, &weft.Alert{ID: fmt.Sprint("a", i), Severity: weft.SeverityLow})
	}
	s := &automation.Subject{Incident: inc}
	cond := "alerts.all(a, alerts.all(b, alerts.all(c, a.id != '' && b.id != '' && c.id != '')))"
	if err := e.Compile(cond); err != nil {
		t.Fatal(err)
	}
	_, err := e.Match(context.Background(), cond, s)
	if weft.ErrorCode(err) != weft.ETOOLARGE || !strings.Contains(weft.ErrorMessage(err), "cost limit") {
		t.Fatalf("Match = %v; want ETOOLARGE for the cost limit", err)
	}
	if ok, err := e.Match(context.Background(), "alerts.exists(a, a.severity == 'low')", s); !ok || err != nil {
		t.Fatalf("a cheap condition: %v, %v", ok, err)
	}
}

// FuzzCompile: any text is compiled or refused with EINVALID, never a
// panic, and a refusal says where ("condition: LINE:COL: …").
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"true", "severity == 'high'", "alerts.exists(a, a.category == 'Ransomware')",
		"devices.all(d, d.deviceGroup == 'Test')", "size(", "'x' in tags ||", "\x00", "1 +", "a.b.c", "[1,2][5] == 1"} {
		f.Add(s)
	}
	e, err := automation.NewEngine()
	if err != nil {
		f.Fatal(err)
	}
	pos := regexp.MustCompile(`^condition: \d+:\d+: `)
	f.Fuzz(func(t *testing.T, src string) {
		err := e.Compile(src)
		if err == nil {
			return
		}
		if weft.ErrorCode(err) != weft.EINVALID || !pos.MatchString(weft.ErrorMessage(err)) {
			t.Fatalf("Compile(%q) = %v; want EINVALID with a position", src, err)
		}
	})
}

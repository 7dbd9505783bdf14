package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/automation"
	"github.com/weftxdr/weft/correlate"
	"github.com/weftxdr/weft/priority"
)

// maxReplayMatches bounds the incidents printed per rule; the count says how
// many matched in all.
const maxReplayMatches = 20

// readReplayRules reads a JSON list of automation rules (as the API takes
// them) and checks each: every rule of the file is evaluated, enabled or
// not, in the file's order sorted by "order". Errors name the rule.
func readReplayRules(path string, engine *automation.Engine) ([]*weft.AutomationRule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rules []*weft.AutomationRule
	if err := json.Unmarshal(b, &rules); err != nil {
		return nil, fmt.Errorf("%s: not a JSON list of automation rules: %v", path, err)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("%s: the list holds no rules", path)
	}
	for i, r := range rules {
		r.TenantID, r.Enabled = weft.DefaultTenantID, true
		if r.ID == 0 {
			r.ID = int64(i + 1)
		}
		if r.Version == 0 {
			r.Version = 1
		}
		if err := engine.CheckRule(r); err != nil {
			return nil, fmt.Errorf("%s: rule %d (%q): %s", path, i, r.Name, weft.ErrorMessage(err))
		}
	}
	return rules, nil
}

// replayIncidents builds the incidents a replay produced, in memory, as the
// store would present them to rules: named and scored, active, with their
// alerts. Entities come from the incident graph; with entities (a data
// directory's store) devices get their criticality and device group.
func replayIncidents(ctx context.Context, alerts []*weft.Alert, res correlate.ReplayResult, entities weft.EntityStore) ([]*automation.Subject, error) {
	groups := map[int64][]*weft.Alert{}
	for _, a := range alerts {
		id := res.Incident[a.ID]
		groups[id] = append(groups[id], a)
	}
	ids := make([]int64, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []*automation.Subject
	for _, id := range ids {
		as := groups[id]
		slices.SortStableFunc(as, func(a, b *weft.Alert) int { return a.FirstActivityDateTime.Compare(b.FirstActivityDateTime) })
		inc := &weft.Incident{ID: id, TenantID: weft.DefaultTenantID, DisplayName: priority.Name(as), Status: weft.IncidentStatusActive,
			Classification: weft.ClassificationUnknown, Determination: weft.DeterminationUnknown, AlertCount: len(as), Alerts: as,
			CustomTags: []string{}, CreatedDateTime: as[0].CreatedDateTime, FirstActivityDateTime: as[0].FirstActivityDateTime}
		score, _ := priority.Score(priority.Input{Alerts: as, Now: as[len(as)-1].LastActivityDateTime})
		inc.PriorityScore = &score
		for _, a := range as {
			inc.Severity = weft.MaxSeverity(inc.Severity, a.Severity)
			inc.Categories = appendNew(inc.Categories, a.Category)
			inc.ServiceSources = appendNew(inc.ServiceSources, a.ServiceSource)
			inc.DetectionSources = appendNew(inc.DetectionSources, a.DetectionSource)
			if a.CreatedDateTime.After(inc.LastUpdateDateTime) {
				inc.LastUpdateDateTime = a.CreatedDateTime
			}
			if a.LastActivityDateTime.After(inc.LastActivityDateTime) {
				inc.LastActivityDateTime = a.LastActivityDateTime
			}
		}
		s := automation.SubjectOf(&weft.Investigation{Incident: inc})
		if entities != nil {
			for i := range s.Entities {
				e := &s.Entities[i]
				if e.Type != string(weft.EntityDevice) {
					continue
				}
				v, err := entities.FindEntity(ctx, weft.DefaultTenantID, weft.EntityDevice, e.Key, weft.EntityAlertQuery{Top: 1})
				if err == nil {
					e.Criticality, e.DeviceGroup = v.Criticality, v.DeviceGroup
				} else if c := weft.ErrorCode(err); c != weft.ENOTFOUND && c != weft.EINVALID {
					return nil, err
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func appendNew(l []string, v string) []string {
	if v == "" || slices.Contains(l, v) {
		return l
	}
	return append(l, v)
}

// printRuleReplay evaluates the rules on every incident, as the runner would
// on a new incident holding all its alerts, and prints per rule the
// incidents it matches and what it would do. Nothing is changed or
// requested.
func printRuleReplay(ctx context.Context, w io.Writer, engine *automation.Engine, rules []*weft.AutomationRule, subjects []*automation.Subject) {
	type match struct {
		s       *automation.Subject
		effects []string
	}
	matches := map[int64][]match{}
	failures := map[int64][]string{}
	for _, s := range subjects {
		for _, p := range engine.Plan(ctx, rules, s) {
			switch {
			case p.Err != nil:
				failures[p.Rule.ID] = append(failures[p.Rule.ID], fmt.Sprintf("incident %d: %s", s.Incident.ID, weft.ErrorMessage(p.Err)))
			case p.Matched:
				matches[p.Rule.ID] = append(matches[p.Rule.ID], match{s, p.Effects})
			}
		}
	}
	fmt.Fprintf(w, "\nautomation rules over %d incidents (nothing is changed or requested):\n", len(subjects))
	for _, r := range rules {
		ms := matches[r.ID]
		fmt.Fprintf(w, "  rule %q: would match %d incidents\n", r.Name, len(ms))
		for i, m := range ms {
			if i == maxReplayMatches {
				fmt.Fprintf(w, "    … and %d more\n", len(ms)-i)
				break
			}
			effects := "nothing left to do"
			if len(m.effects) > 0 {
				effects = strings.Join(m.effects, "; ")
			}
			fmt.Fprintf(w, "    incident %d (%s, %d alerts, %s): %s\n", m.s.Incident.ID, m.s.Incident.Severity,
				m.s.Incident.AlertCount, m.s.Incident.DisplayName, effects)
		}
		for i, f := range failures[r.ID] {
			if i == 3 {
				fmt.Fprintf(w, "    … %d evaluations failed in all\n", len(failures[r.ID]))
				break
			}
			fmt.Fprintf(w, "    failed: %s\n", f)
		}
	}
}

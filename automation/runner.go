package automation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// Runner applies a tenant's automation rules to its incidents as they change.
// It tails each tenant's event log from a cursor kept in the store
// (weft.ConsumerAutomation; the tenant's first rule starts it), and for every
// incident that was created, gained an alert, was merged or was updated by
// anyone but automation, evaluates the tenant's enabled rules in order
// (Engine.Plan), applies each matching rule's patch through the incident
// manager with the actor "automation rule NAME (vN)", requests its response
// actions through the action service, and logs a run per matching rule.
//
// Invariants:
//   - Rules never trigger on their own changes: events whose actor is an
//     automation rule (weft.IsAutomationActor) are skipped.
//   - A rule version acts on an incident at most once: a run of it that
//     was applied or matched on the incident keeps it from running there
//     again, so a rule never fights an analyst who undid its change.
//     Editing the rule (a new version) lets it act again; a failed run is
//     tried again at the incident's next event.
//   - The cursor moves only after the runs of the events it passes are
//     logged; a crash in between re-runs those events, which the rule
//     above and the action service's dedupe keys make harmless.
//
// Run is the loop; Step one pass, for tests. A Runner is not safe for
// concurrent use.
type Runner struct {
	Store   weft.AutomationStore
	Events  weft.EventStore
	Manager weft.IncidentManager
	// Actions receives requestAction; nil fails those runs.
	Actions weft.ActionService
	Load    func(ctx context.Context, tenantID string, id int64) (*Subject, error)
	Engine  *Engine
	// Now is the clock of the run log (default time.Now).
	Now func() time.Time
	// Poll is how often Run looks for events committed by another
	// process, which EventsChanged does not signal (default 5 s).
	Poll   time.Duration
	Logger *slog.Logger
}

// Run steps until ctx ends, waking when the event log grows. A failing step
// is logged and retried at the next wake. It returns nil when ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	return wakeLoop(ctx, r.Events, r.Poll, func() {
		if _, err := r.Step(ctx); err != nil && ctx.Err() == nil {
			r.logger().Warn("automation: step failed", "err", err)
		}
	})
}

// wakeLoop calls step at once and then whenever events' log grows
// (EventsChanged) and at least every poll (default 5 s), which catches
// events committed by another process, until ctx ends; then it returns nil.
// The signal is taken before each step, so that an event committed during
// a step wakes the next one.
func wakeLoop(ctx context.Context, events weft.EventStore, poll time.Duration, step func()) error {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		changed := events.EventsChanged()
		step()
		t.Reset(poll)
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}

func (r *Runner) logger() *slog.Logger { return loggerOr(r.Logger) }

func (r *Runner) now() time.Time { return nowUTC(r.Now) }

// loggerOr is l, or a logger that discards when l is nil.
func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// nowUTC reads the clock now (time.Now when nil) in UTC.
func nowUTC(now func() time.Time) time.Time {
	if now == nil {
		return time.Now().UTC()
	}
	return now().UTC()
}

// Step handles the events committed since the cursors of every tenant with
// automation rules and returns the runs it logged. It stops at the first
// error of the store (the cursor of that tenant stays before the events it
// could not handle).
func (r *Runner) Step(ctx context.Context) ([]*weft.AutomationRun, error) {
	tenants, err := r.Store.CursorTenants(ctx, weft.ConsumerAutomation)
	if err != nil {
		return nil, err
	}
	var all []*weft.AutomationRun
	for _, t := range tenants {
		runs, err := r.stepTenant(ctx, t)
		all = append(all, runs...)
		if err != nil {
			return all, fmt.Errorf("automation: tenant %s: %w", t, err)
		}
	}
	return all, nil
}

func (r *Runner) stepTenant(ctx context.Context, tenant string) ([]*weft.AutomationRun, error) {
	after, err := r.Store.EventCursor(ctx, tenant, weft.ConsumerAutomation)
	if err != nil {
		return nil, err
	}
	var all []*weft.AutomationRun
	for {
		evs, err := r.Events.Events(ctx, tenant, after, weft.DefaultEventBatch)
		if err != nil || len(evs) == 0 {
			return all, err
		}
		rules, err := r.Store.AutomationRules(ctx, tenant)
		if err != nil {
			return all, err
		}
		// One evaluation per incident per batch, at its last event.
		var order []int64
		last := map[int64]int64{}
		for _, ev := range evs {
			if weft.IsAutomationActor(ev.Actor) || ev.ActivityType == weft.ActivityIncidentRedirected {
				continue
			}
			if _, ok := last[ev.IncidentID]; !ok {
				order = append(order, ev.IncidentID)
			}
			last[ev.IncidentID] = ev.ID
		}
		var runs []*weft.AutomationRun
		if hasEnabled(rules) {
			for _, id := range order {
				rs, err := r.runIncident(ctx, tenant, id, last[id], rules)
				if err != nil {
					return all, err
				}
				runs = append(runs, rs...)
			}
		}
		if len(runs) > 0 {
			if err := r.Store.AddAutomationRuns(ctx, runs); err != nil {
				return all, err
			}
			all = append(all, runs...)
		}
		after = evs[len(evs)-1].ID
		if err := r.Store.SetEventCursor(ctx, tenant, weft.ConsumerAutomation, after); err != nil {
			return all, err
		}
	}
}

func hasEnabled(rules []*weft.AutomationRule) bool {
	for _, r := range rules {
		if r.Enabled {
			return true
		}
	}
	return false
}

// runIncident evaluates the rules on one incident and applies the plans of
// the rules that may still act on it. Only errors of the store that make
// trying later worthwhile are returned; a rule's failure is its run's.
func (r *Runner) runIncident(ctx context.Context, tenant string, id, eventID int64, rules []*weft.AutomationRule) ([]*weft.AutomationRun, error) {
	s, err := r.Load(ctx, tenant, id)
	if weft.ErrorCode(err) == weft.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s.Incident.Status == weft.IncidentStatusRedirected {
		return nil, nil // merged: its alerts and events are the other incident's now
	}
	done, err := r.doneRules(ctx, tenant, id, rules)
	if err != nil {
		return nil, err
	}
	var eligible []*weft.AutomationRule
	for _, rule := range rules {
		if rule.Enabled && !done[[2]int64{rule.ID, rule.Version}] {
			eligible = append(eligible, rule)
		}
	}
	if len(eligible) == 0 {
		return nil, nil
	}
	var runs []*weft.AutomationRun
	for _, p := range r.Engine.Plan(ctx, eligible, s) {
		if !p.Matched && p.Err == nil {
			continue
		}
		run := &weft.AutomationRun{TenantID: tenant, RuleID: p.Rule.ID, RuleName: p.Rule.Name, RuleVersion: p.Rule.Version,
			IncidentID: id, EventID: eventID, Effects: []string{}, Time: r.now()}
		runs = append(runs, run)
		if p.Err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			run.Outcome, run.Error = weft.RunFailed, weft.ErrorMessage(p.Err)
			continue
		}
		if err := r.apply(ctx, p, run); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// doneRules returns the (rule, version) pairs that have acted on an
// incident: a run of theirs there was applied or matched.
func (r *Runner) doneRules(ctx context.Context, tenant string, id int64, rules []*weft.AutomationRule) (map[[2]int64]bool, error) {
	acted := func(p *weft.AutomationRun) bool { return p.Outcome == weft.RunApplied || p.Outcome == weft.RunMatched }
	prior, err := r.Store.ListAutomationRuns(ctx, weft.AutomationRunQuery{TenantID: tenant, IncidentID: id, Top: weft.MaxPageSize})
	if err != nil {
		return nil, err
	}
	done := map[[2]int64]bool{}
	for _, p := range prior {
		if acted(p) {
			done[[2]int64{p.RuleID, p.RuleVersion}] = true
		}
	}
	if len(prior) < weft.MaxPageSize {
		return done, nil
	}
	// The page may not reach back far enough. After a version has acted on
	// the incident it never runs there again, so its newest run says.
	for _, rule := range rules {
		k := [2]int64{rule.ID, rule.Version}
		if !rule.Enabled || done[k] {
			continue
		}
		last, err := r.Store.ListAutomationRuns(ctx, weft.AutomationRunQuery{TenantID: tenant, IncidentID: id, RuleID: rule.ID, Top: 1})
		if err != nil {
			return nil, err
		}
		if len(last) == 1 && last[0].RuleVersion == rule.Version && acted(last[0]) {
			done[k] = true
		}
	}
	return done, nil
}

// apply carries out one plan and records the outcome in run. It returns an
// error only when the store is unavailable or ctx ended.
func (r *Runner) apply(ctx context.Context, p Plan, run *weft.AutomationRun) error {
	run.Outcome = weft.RunMatched
	var failures []string
	if !p.Patch.Empty() {
		actor := weft.AutomationActor(p.Rule.Name, p.Rule.Version)
		_, err := r.Manager.UpdateIncident(ctx, run.TenantID, run.IncidentID, p.Patch, actor, 0)
		switch {
		case err == nil:
			run.Outcome = weft.RunApplied
			run.Effects = append(run.Effects, patchEffects(p)...)
		case transient(ctx, err):
			return err
		case weft.ErrorCode(err) == weft.ECONFLICT:
			run.Outcome, run.Error = weft.RunSkipped, weft.ErrorMessage(err)
			return nil
		default:
			failures = append(failures, "update: "+weft.ErrorMessage(err))
		}
	}
	for _, req := range p.Requests {
		effect := fmt.Sprintf("request %s on %s", req.Type, req.Target)
		if r.Actions == nil {
			failures = append(failures, effect+": response actions are not available on this server")
			continue
		}
		if r.requestedBefore(ctx, req, p.Rule.ID) {
			continue
		}
		a, existed, err := r.Actions.Request(ctx, req)
		switch {
		case err == nil:
			run.Outcome = weft.RunApplied
			state := "requested"
			if a != nil {
				state = fmt.Sprintf("action %d, %s", a.ID, a.ActionStatus)
			}
			if existed {
				state += ", already requested"
			}
			run.Effects = append(run.Effects, effect+" ("+state+")")
		case transient(ctx, err):
			return err
		default:
			failures = append(failures, effect+": "+weft.ErrorMessage(err))
		}
	}
	if len(failures) > 0 {
		run.Outcome, run.Error = weft.RunFailed, strings.Join(failures, "; ")
	}
	return nil
}

// requestedBefore says whether an earlier version of the rule already
// requested this action type on this target of the incident (and it is not
// final, or it succeeded): a rule edited to a new version must not isolate a
// device again that it isolated before.
func (r *Runner) requestedBefore(ctx context.Context, req weft.ActionRequest, ruleID int64) bool {
	page, err := r.Actions.List(ctx, weft.ActionQuery{TenantID: req.TenantID, IncidentID: req.IncidentID,
		Type: []string{req.Type}, Target: req.Target, Top: 100})
	if err != nil {
		return false // the request's own dedupe key still holds
	}
	for _, a := range page.Actions {
		if a.RequestedBy.Kind == weft.ActorAutomation && a.RequestedBy.RuleID == ruleID &&
			(!a.ActionStatus.Final() || a.ActionStatus == weft.ActionSucceeded) {
			return true
		}
	}
	return false
}

// transient says whether err is worth trying again later rather than a
// verdict on the rule: the store is closing, or ctx ended.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch weft.ErrorCode(err) {
	case weft.EUNAVAILABLE, weft.EINTERNAL:
		return true
	}
	return false
}

// patchEffects are the effects of the plan that the patch carries.
func patchEffects(p Plan) []string {
	var out []string
	for _, e := range p.Effects {
		if !strings.HasPrefix(e, "request ") {
			out = append(out, e)
		}
	}
	return out
}

package automation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/weftxdr/weft"
)

// Engine compiles conditions and plans what rules do to an incident. It
// keeps the programs it compiled, by source, so that a rule evaluated on
// every event is compiled once. It is safe for concurrent use.
type Engine struct {
	env *cel.Env

	// ActionCheck checks the action type and parameters of requestAction;
	// an EINVALID error naming "type: …" or "parameters.NAME: …" refuses
	// the rule. NewEngine sets it to the catalogue's checks
	// (weft.CheckActionType, ActionDefinition.Validate).
	ActionCheck func(actionType string, params map[string]string) error

	mu    sync.Mutex
	progs map[string]cel.Program // "bool\x00src" or "list\x00src"
}

// maxPrograms bounds the program cache; it is emptied when full.
const maxPrograms = 4096

// NewEngine returns an Engine.
func NewEngine() (*Engine, error) {
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("automation: CEL environment: %w", err)
	}
	return &Engine{env: env, progs: map[string]cel.Program{}, ActionCheck: catalogueCheck}, nil
}

// catalogueCheck checks a requested action against the catalogue: the type
// exists, and the parameters are the action's own with allowed values (for
// the first entity type it applies to; the targets' types are known only
// when the rule runs).
func catalogueCheck(actionType string, params map[string]string) error {
	d, err := weft.CheckActionType(actionType)
	if err != nil {
		return err
	}
	if len(d.EntityTypes) == 0 {
		return nil
	}
	return d.Validate(d.EntityTypes[0], params)
}

// Compile type-checks a condition: it must yield a bool. The error is
// EINVALID and locates each problem ("condition: 1:10: …").
func (e *Engine) Compile(condition string) error {
	_, err := e.program("condition", condition, cel.BoolType)
	return err
}

func (e *Engine) program(field, src string, want *cel.Type) (cel.Program, error) {
	key := want.String() + "\x00" + src
	e.mu.Lock()
	prg, ok := e.progs[key]
	e.mu.Unlock()
	if ok {
		return prg, nil
	}
	prg, err := compile(e.env, field, src, want)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if len(e.progs) >= maxPrograms {
		clear(e.progs)
	}
	e.progs[key] = prg
	e.mu.Unlock()
	return prg, nil
}

// CheckRule normalizes a rule and compiles its condition and the targets of
// its requestAction actions. Errors are EINVALID naming the field and the
// position: "actions[0].target: 1:1: …".
func (e *Engine) CheckRule(r *weft.AutomationRule) error {
	if err := r.Normalize(); err != nil {
		return err
	}
	if err := e.Compile(r.Condition); err != nil {
		return err
	}
	for i, a := range r.Actions {
		if a.Type != weft.AutomationRequestAction {
			continue
		}
		if _, err := e.program(fmt.Sprintf("actions[%d].target", i), a.Target, cel.ListType(entityType)); err != nil {
			return err
		}
		if e.ActionCheck != nil {
			if err := e.ActionCheck(a.ActionType, a.Parameters); err != nil {
				msg := weft.ErrorMessage(err)
				if rest, ok := strings.CutPrefix(msg, "type: "); ok {
					return weft.Errorf(weft.EINVALID, "actions[%d].actionType: %s", i, rest)
				}
				return weft.Errorf(weft.EINVALID, "actions[%d].%s", i, msg)
			}
		}
	}
	return nil
}

// CheckNotificationRule normalizes a notification rule and compiles its
// condition.
func (e *Engine) CheckNotificationRule(r *weft.NotificationRule) error {
	if err := r.Normalize(); err != nil {
		return err
	}
	return e.Compile(r.Condition)
}

// Match evaluates a condition on a subject.
func (e *Engine) Match(ctx context.Context, condition string, s *Subject) (bool, error) {
	prg, err := e.program("condition", condition, cel.BoolType)
	if err != nil {
		return false, err
	}
	return evalBool(ctx, prg, activation(s))
}

// matchVars is Match on variables already built (activation).
func (e *Engine) matchVars(ctx context.Context, condition string, vars map[string]any) (bool, error) {
	prg, err := e.program("condition", condition, cel.BoolType)
	if err != nil {
		return false, err
	}
	return evalBool(ctx, prg, vars)
}

// Plan is what one rule does to one incident.
type Plan struct {
	Rule    *weft.AutomationRule
	Matched bool
	// Err is set when the condition or a target could not be evaluated;
	// nothing of the rule is applied then.
	Err error
	// Patch is the change to the incident (empty when everything the rule
	// sets is in place); Requests the response actions to request.
	Patch    weft.IncidentPatch
	Requests []weft.ActionRequest
	// Effects say in words what Patch and Requests do.
	Effects []string
}

// Plan evaluates the enabled rules in order (Order, then ID) on a subject
// and returns one plan per enabled rule. A rule sees the incident as the
// rules before it leave it: the patches of earlier matching rules are
// applied to a copy of the subject before the next rule is evaluated, so
// that a rule resolving an incident keeps a later "status != 'resolved'"
// rule from matching. The subject itself is not modified.
func (e *Engine) Plan(ctx context.Context, rules []*weft.AutomationRule, s *Subject) []Plan {
	rules = slices.Clone(rules)
	slices.SortStableFunc(rules, func(a, b *weft.AutomationRule) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.ID, b.ID))
	})
	inc := *s.Incident
	inc.CustomTags = slices.Clone(inc.CustomTags)
	cur := &Subject{Incident: &inc, Entities: s.Entities}
	// The variables are built once (the alerts are the costly part) and
	// only the fields a patch sets are refreshed between rules.
	vars := activation(cur)
	var plans []Plan
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		p := e.plan(ctx, r, cur, vars)
		if p.Matched && p.Err == nil && !p.Patch.Empty() {
			applyPatch(cur.Incident, p.Patch)
			refreshPatched(vars, cur.Incident)
		}
		plans = append(plans, p)
	}
	return plans
}

// plan evaluates one rule on s, whose variables are vars.
func (e *Engine) plan(ctx context.Context, r *weft.AutomationRule, s *Subject, vars map[string]any) Plan {
	p := Plan{Rule: r}
	prg, err := e.program("condition", r.Condition, cel.BoolType)
	if err == nil {
		p.Matched, err = evalBool(ctx, prg, vars)
	}
	if err != nil {
		p.Err = weft.Errorf(weft.EINVALID, "condition: %s", errText(err))
		return p
	}
	if !p.Matched {
		return p
	}
	inc := s.Incident
	tags := slices.Clone(inc.CustomTags)
	addTag := func(t string) bool {
		if slices.ContainsFunc(tags, func(x string) bool { return strings.EqualFold(x, t) }) {
			return false
		}
		tags = append(tags, t)
		return true
	}
	setStatus := func(v weft.IncidentStatus) {
		if inc.Status != v {
			p.Patch.Status = &v
			p.Effects = append(p.Effects, "set status "+string(v))
		}
	}
	setClassification := func(v weft.Classification) {
		if inc.Classification != v {
			p.Patch.Classification = &v
			p.Effects = append(p.Effects, "set classification "+string(v))
		}
	}
	setDetermination := func(v weft.Determination) {
		if inc.Determination != v {
			p.Patch.Determination = &v
			p.Effects = append(p.Effects, "set determination "+string(v))
		}
	}
	for i, a := range r.Actions {
		switch a.Type {
		case weft.AutomationAssign:
			if inc.AssignedTo != a.Value {
				v := a.Value
				p.Patch.AssignedTo = &v
				if v == "" {
					p.Effects = append(p.Effects, "unassign")
				} else {
					p.Effects = append(p.Effects, "assign to "+v)
				}
			}
		case weft.AutomationAddTag:
			if addTag(a.Value) {
				p.Effects = append(p.Effects, "add tag "+a.Value)
			}
		case weft.AutomationSetStatus:
			setStatus(weft.IncidentStatus(a.Value))
		case weft.AutomationSetClassification:
			setClassification(weft.Classification(a.Value))
		case weft.AutomationSetDetermination:
			setDetermination(weft.Determination(a.Value))
		case weft.AutomationResolveSuppressed:
			if inc.Status == weft.IncidentStatusResolved {
				continue // already closed: suppressing it again would only rewrite its resolution
			}
			setStatus(weft.IncidentStatusResolved)
			setClassification(weft.Classification(a.Value))
			if d, ok := a.Parameters["determination"]; ok {
				setDetermination(weft.Determination(d))
			}
			if addTag(weft.SuppressedTag) {
				p.Effects = append(p.Effects, "add tag "+weft.SuppressedTag)
			}
			comment := "Suppressed by " + weft.AutomationActor(r.Name, r.Version) + ": " + a.Reason
			p.Patch.ResolvingComment = &comment
			p.Effects = append(p.Effects, "resolve as suppressed: "+a.Reason)
		case weft.AutomationRequestAction:
			tprg, err := e.program(fmt.Sprintf("actions[%d].target", i), a.Target, cel.ListType(entityType))
			var targets []Entity
			if err == nil {
				targets, err = evalEntities(ctx, tprg, vars)
			}
			if err != nil {
				p.Err = weft.Errorf(weft.EINVALID, "actions[%d].target: %s", i, errText(err))
				return p
			}
			for _, t := range targets {
				if t.Key == "" {
					continue
				}
				p.Requests = append(p.Requests, weft.ActionRequest{
					TenantID: inc.TenantID, Type: a.ActionType, Target: t.Key, TargetName: t.Name,
					Parameters: a.Parameters, IncidentID: inc.ID, Comment: a.Reason,
					DedupeKey: fmt.Sprintf("automation:%d:v%d:incident:%d:%s", r.ID, r.Version, inc.ID, t.Key),
					// Owner: the person who last saved the rule, who may
					// not approve what it requests (four eyes).
					By: weft.ActionActor{Kind: weft.ActorAutomation, Name: fmt.Sprintf("%s (v%d)", r.Name, r.Version),
						Owner: r.UpdatedBy, RuleID: r.ID, RuleVersion: int(r.Version)},
				})
				p.Effects = append(p.Effects, fmt.Sprintf("request %s on %s", a.ActionType, describeEntity(t)))
			}
		}
	}
	if len(tags) != len(inc.CustomTags) {
		p.Patch.CustomTags = &tags
	}
	return p
}

// errText is the text of an evaluation error: a *weft.Error's message, or
// the error's own text (CEL's, which names no secret).
func errText(err error) string {
	if weft.ErrorCode(err) != weft.EINTERNAL {
		return weft.ErrorMessage(err)
	}
	return err.Error()
}

func describeEntity(t Entity) string {
	if t.Name != "" && !strings.HasSuffix(t.Key, ":"+t.Name) {
		return t.Key + " (" + t.Name + ")"
	}
	return t.Key
}

// refreshPatched updates the variables a patch may change.
func refreshPatched(vars map[string]any, inc *weft.Incident) {
	vars["status"], vars["assignedTo"] = string(inc.Status), inc.AssignedTo
	vars["classification"], vars["determination"] = string(inc.Classification), string(inc.Determination)
	vars["tags"] = nonNil(slices.Clone(inc.CustomTags))
}

// applyPatch applies a planned patch to an incident in memory, as the store
// would.
func applyPatch(inc *weft.Incident, p weft.IncidentPatch) {
	if p.Status != nil {
		inc.Status = *p.Status
	}
	if p.AssignedTo != nil {
		inc.AssignedTo = *p.AssignedTo
	}
	if p.Classification != nil {
		inc.Classification = *p.Classification
	}
	if p.Determination != nil {
		inc.Determination = *p.Determination
	}
	if p.CustomTags != nil {
		inc.CustomTags = slices.Clone(*p.CustomTags)
	}
	if p.ResolvingComment != nil {
		inc.ResolvingComment = *p.ResolvingComment
	}
}

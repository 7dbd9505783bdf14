package automation

import (
	"context"

	"github.com/weftxdr/weft"
)

// Evaluator checks and tries rules for the API (weft.AutomationEvaluator):
// the Engine's checks, and evaluation on incidents that Load reads. It
// changes nothing. It is safe for concurrent use.
type Evaluator struct {
	Engine *Engine
	Load   func(ctx context.Context, tenantID string, id int64) (*Subject, error)
}

var _ weft.AutomationEvaluator = (*Evaluator)(nil)

// CheckRule implements weft.AutomationEvaluator.
func (v *Evaluator) CheckRule(r *weft.AutomationRule) error { return v.Engine.CheckRule(r) }

// CheckNotificationRule implements weft.AutomationEvaluator.
func (v *Evaluator) CheckNotificationRule(r *weft.NotificationRule) error {
	return v.Engine.CheckNotificationRule(r)
}

// TestRule implements weft.AutomationEvaluator: the rule is evaluated as if
// enabled, alone, on the incident as it is now.
func (v *Evaluator) TestRule(ctx context.Context, r *weft.AutomationRule, incidentID int64) (*weft.AutomationTest, error) {
	s, err := v.Load(ctx, r.TenantID, incidentID)
	if err != nil {
		return nil, err
	}
	c := *r
	c.Enabled = true
	plans := v.Engine.Plan(ctx, []*weft.AutomationRule{&c}, s)
	res := &weft.AutomationTest{IncidentID: incidentID, Effects: []string{}}
	p := plans[0]
	if p.Err != nil {
		return nil, p.Err
	}
	res.Matched = p.Matched
	if p.Effects != nil {
		res.Effects = p.Effects
	}
	return res, nil
}

// TestNotificationRule implements weft.AutomationEvaluator; Effects hold the
// payload the rule would post for a created incident.
func (v *Evaluator) TestNotificationRule(ctx context.Context, r *weft.NotificationRule, incidentID int64) (*weft.AutomationTest, error) {
	s, err := v.Load(ctx, r.TenantID, incidentID)
	if err != nil {
		return nil, err
	}
	ok, err := v.Engine.Match(ctx, r.Condition, s)
	if err != nil {
		return nil, weft.Errorf(weft.EINVALID, "condition: %s", errText(err))
	}
	res := &weft.AutomationTest{IncidentID: incidentID, Matched: ok, Effects: []string{}}
	if ok {
		b, err := Payload(r.Format, weft.NotifyCreated, s.Incident, "")
		if err != nil {
			return nil, err
		}
		res.Effects = append(res.Effects, "post "+string(b))
	}
	return res, nil
}

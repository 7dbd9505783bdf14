package automation

import (
	"context"
	"time"

	"github.com/weftxdr/weft"
)

// Evaluator checks and tries rules for the API (weft.AutomationEvaluator):
// the Engine's checks, and evaluation on incidents that Load reads. It
// changes nothing. It is safe for concurrent use.
type Evaluator struct {
	Engine *Engine
	Load   func(ctx context.Context, tenantID string, id int64) (*Subject, error)
	// SecretsDir is the notification secrets directory (Notifier.SecretsDir);
	// a notification rule naming a secretFile is refused without one, or
	// when the file there cannot be used.
	SecretsDir string
}

var _ weft.AutomationEvaluator = (*Evaluator)(nil)

// CheckRule implements weft.AutomationEvaluator.
func (v *Evaluator) CheckRule(r *weft.AutomationRule) error { return v.Engine.CheckRule(r) }

// CheckNotificationRule implements weft.AutomationEvaluator.
// A secretFile must be readable from SecretsDir as the notifier reads it
// (ReadSecretFile); the key itself is not kept.
func (v *Evaluator) CheckNotificationRule(r *weft.NotificationRule) error {
	if err := v.Engine.CheckNotificationRule(r); err != nil {
		return err
	}
	if r.SecretFile != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := ReadSecretFile(ctx, v.SecretsDir, r.SecretFile); err != nil {
			if weft.ErrorCode(err) != weft.EINVALID {
				return weft.Errorf(weft.EINVALID, "secretFile: %q cannot be read in time", r.SecretFile)
			}
			return err
		}
	}
	return nil
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

package weft

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Automation rules and notifications (design §8, issue 7, docs/automation.md).
//
// An automation rule is a condition over an incident and its alerts (a CEL
// expression, compiled by package automation) and the actions to take on the
// incidents it matches: assign, tag, set status, classification or
// determination, resolve as suppressed, request a response action. A
// notification rule is a condition and a webhook to tell about the incidents
// it matches. Both are per tenant, versioned, and changed by admins; this
// file holds their form and the rules every stored rule keeps. Package
// automation evaluates them, the store keeps them.

// AutomationActionType says what one action of a rule does.
type AutomationActionType string

// Automation action types.
const (
	// AutomationAssign assigns the incident to Value ("" unassigns).
	AutomationAssign AutomationActionType = "assign"
	// AutomationAddTag adds the custom tag Value.
	AutomationAddTag AutomationActionType = "addTag"
	// AutomationSetStatus sets the status Value (active, inProgress,
	// resolved).
	AutomationSetStatus AutomationActionType = "setStatus"
	// AutomationSetClassification and AutomationSetDetermination set the
	// classification or determination Value (Graph spellings accepted).
	AutomationSetClassification AutomationActionType = "setClassification"
	AutomationSetDetermination  AutomationActionType = "setDetermination"
	// AutomationResolveSuppressed resolves the incident as suppressed:
	// status resolved, classification Value (default
	// informationalExpectedActivity), determination Parameters
	// ["determination"] when given, the tag SuppressedTag, and Reason (which
	// it requires) as the resolving comment.
	AutomationResolveSuppressed AutomationActionType = "resolveSuppressed"
	// AutomationRequestAction requests the response action ActionType on
	// every entity Target selects, with Parameters and Reason as comment.
	// The request follows the tenant's approval policy like any other.
	AutomationRequestAction AutomationActionType = "requestAction"
)

// AutomationActionTypes lists the action types, in the order of their
// documentation.
var AutomationActionTypes = []AutomationActionType{AutomationAssign, AutomationAddTag, AutomationSetStatus,
	AutomationSetClassification, AutomationSetDetermination, AutomationResolveSuppressed, AutomationRequestAction}

// SuppressedTag is the custom tag resolveSuppressed adds, so that the queue
// can show what automation suppressed.
const SuppressedTag = "suppressed"

// AutomationAction is one action of an automation rule.
type AutomationAction struct {
	Type AutomationActionType `json:"type"`
	// Value is the assignee, tag, status, classification or determination.
	Value string `json:"value,omitempty"`
	// Reason is the resolving comment of resolveSuppressed and the comment
	// of a requested response action.
	Reason string `json:"reason,omitempty"`
	// ActionType is the response action's catalogue name ("isolate",
	// "disable" …) of requestAction.
	ActionType string `json:"actionType,omitempty"`
	// Target selects the entities requestAction acts on: a CEL expression
	// over the incident that yields a list of entities, such as "devices" or
	// "devices.filter(d, d.criticality < 2)".
	Target string `json:"target,omitempty"`
	// Parameters are the response action's options (requestAction), or the
	// determination of resolveSuppressed.
	Parameters map[string]string `json:"parameters,omitempty"`
}

// AutomationRule is a tenant's automation rule. Rules are evaluated in
// Order (then ID) on every incident that is created, gains an alert or is
// updated by anyone but automation; each rule version acts on an incident at
// most once (docs/automation.md).
type AutomationRule struct {
	ID          int64  `json:"id,string"`
	TenantID    string `json:"tenantId"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
	Order       int    `json:"order"`
	// Condition is a CEL expression over the incident and its alerts that
	// yields a bool.
	Condition string             `json:"condition"`
	Actions   []AutomationAction `json:"actions"`
	// Version starts at 1 and increases with every change; it is the
	// rule's ETag.
	Version   int64     `json:"version"`
	Created   time.Time `json:"createdDateTime"`
	Updated   time.Time `json:"lastUpdateDateTime"`
	UpdatedBy string    `json:"lastModifiedBy"`
}

// Limits of rules.
const (
	MaxRuleNameBytes        = 200
	MaxRuleDescriptionBytes = 4000
	MaxConditionBytes       = 8 << 10
	MaxRuleActions          = 20
	MaxActionParameters     = 20
	MaxRulesPerTenant       = 500
	MaxRuleOrder            = 1_000_000
)

// ActorAutomationPrefix starts the actor of every change an automation rule
// makes ("automation rule NAME (vN)"). User names cannot contain spaces
// (CheckUserName), so no person's change carries it; the runner skips the
// events that do, so that rules never trigger on their own changes.
const ActorAutomationPrefix = "automation rule "

// AutomationActor returns the activity-log actor of a change made by a
// version of a rule.
func AutomationActor(name string, version int64) string {
	a := fmt.Sprintf("%s%s (v%d)", ActorAutomationPrefix, name, version)
	if len(a) > MaxActorBytes {
		a = truncate(a, MaxActorBytes-3) + "..."
	}
	return a
}

// IsAutomationActor says whether an activity-log actor is an automation rule.
func IsAutomationActor(actor string) bool { return strings.HasPrefix(actor, ActorAutomationPrefix) }

// Normalize checks a rule's own fields and brings them into the form stored:
// name trimmed (1–MaxRuleNameBytes, no control characters), description at
// most MaxRuleDescriptionBytes, condition non-empty and at most
// MaxConditionBytes, order 0–MaxRuleOrder, 1–MaxRuleActions actions each
// valid for its type (see AutomationAction.Normalize). It does not compile
// the condition or the targets: package automation does (Compile). Errors are
// EINVALID and name the field, as "actions[1].value".
func (r *AutomationRule) Normalize() error {
	var err error
	if r.Name, err = automationRuleName(r.Name); err != nil {
		return err
	}
	if r.Description, err = ruleText("description", r.Description, MaxRuleDescriptionBytes); err != nil {
		return err
	}
	if r.Condition, err = ruleExpr(r.Condition); err != nil {
		return err
	}
	if r.Order < 0 || r.Order > MaxRuleOrder {
		return Errorf(EINVALID, "order: must be 0 to %d, not %d", MaxRuleOrder, r.Order)
	}
	if len(r.Actions) == 0 {
		return Errorf(EINVALID, "actions: a rule needs at least one action; allowed types: %s", automationActionNames())
	}
	if len(r.Actions) > MaxRuleActions {
		return Errorf(EINVALID, "actions: %d actions; at most %d", len(r.Actions), MaxRuleActions)
	}
	for i := range r.Actions {
		if err := r.Actions[i].Normalize(); err != nil {
			return Errorf(EINVALID, "actions[%d].%s", i, ErrorMessage(err))
		}
	}
	return nil
}

// Normalize checks one action and normalizes its value; errors are EINVALID
// and start with the field name ("value: …").
func (a *AutomationAction) Normalize() error {
	only := func(allowed ...string) error {
		set := map[string]bool{"value": a.Value != "", "reason": a.Reason != "", "actionType": a.ActionType != "",
			"target": a.Target != "", "parameters": len(a.Parameters) > 0}
		for _, f := range allowed {
			delete(set, f)
		}
		for _, f := range []string{"value", "reason", "actionType", "target", "parameters"} {
			if set[f] {
				return Errorf(EINVALID, "%s: is not used by action type %s", f, a.Type)
			}
		}
		return nil
	}
	switch a.Type {
	case AutomationAssign:
		v, err := cleanText("value", a.Value, MaxAssigneeBytes)
		if err != nil {
			return err
		}
		a.Value = v
		return only("value")
	case AutomationAddTag:
		v, err := cleanText("value", a.Value, MaxTagBytes)
		if err != nil {
			return err
		}
		if v == "" {
			return Errorf(EINVALID, "value: the tag to add must not be empty")
		}
		a.Value = v
		return only("value")
	case AutomationSetStatus:
		s, err := ParseIncidentStatus(a.Value)
		if err != nil {
			return Errorf(EINVALID, "value: %s", ErrorMessage(err))
		}
		if s != IncidentStatusActive && s != IncidentStatusInProgress && s != IncidentStatusResolved {
			return Errorf(EINVALID, "value: status %s cannot be set; allowed: active, inProgress, resolved", s)
		}
		a.Value = string(s)
		return only("value")
	case AutomationSetClassification:
		c, err := ParseClassification(a.Value)
		if err != nil {
			return Errorf(EINVALID, "value: %s", ErrorMessage(err))
		}
		a.Value = string(c)
		return only("value")
	case AutomationSetDetermination:
		d, err := ParseDetermination(a.Value)
		if err != nil {
			return Errorf(EINVALID, "value: %s", ErrorMessage(err))
		}
		a.Value = string(d)
		return only("value")
	case AutomationResolveSuppressed:
		c := ClassificationInformationalExpectedActivity
		if a.Value != "" {
			var err error
			if c, err = ParseClassification(a.Value); err != nil {
				return Errorf(EINVALID, "value: %s", ErrorMessage(err))
			}
		}
		a.Value = string(c)
		for k, v := range a.Parameters {
			if k != "determination" {
				return Errorf(EINVALID, "parameters: %q is not a parameter of resolveSuppressed; allowed: determination", truncate(k, 64))
			}
			d, err := ParseDetermination(v)
			if err != nil {
				return Errorf(EINVALID, "parameters.determination: %s", ErrorMessage(err))
			}
			if err := CheckDetermination(c, d); err != nil {
				return Errorf(EINVALID, "parameters.%s", ErrorMessage(err))
			}
			a.Parameters[k] = string(d)
		}
		v, err := CheckCommentText(a.Reason)
		if err != nil {
			return Errorf(EINVALID, "reason: %s", strings.TrimPrefix(ErrorMessage(err), "comment: "))
		}
		a.Reason = v
		return only("value", "reason", "parameters")
	case AutomationRequestAction:
		v, err := cleanText("actionType", a.ActionType, 64)
		if err != nil {
			return err
		}
		if v == "" {
			return Errorf(EINVALID, "actionType: the response action to request is required (isolate, disable …)")
		}
		a.ActionType = v
		if a.Target, err = ruleExpr(a.Target); err != nil {
			return Errorf(EINVALID, "target: %s", strings.TrimPrefix(ErrorMessage(err), "condition: "))
		}
		if len(a.Parameters) > MaxActionParameters {
			return Errorf(EINVALID, "parameters: %d parameters; at most %d", len(a.Parameters), MaxActionParameters)
		}
		for k, v := range a.Parameters {
			if _, err := cleanText("parameters", k, 64); err != nil || k == "" {
				return Errorf(EINVALID, "parameters: %q is not a valid parameter name", truncate(k, 64))
			}
			if _, err := cleanText("parameters."+k, v, 1024); err != nil {
				return err
			}
		}
		if a.Reason != "" {
			if a.Reason, err = ruleText("reason", a.Reason, 4000); err != nil {
				return err
			}
		}
		return only("actionType", "target", "parameters", "reason")
	case "":
		return Errorf(EINVALID, "type: is required; allowed: %s", automationActionNames())
	}
	return Errorf(EINVALID, "type: %q is not an automation action; allowed: %s", truncate(string(a.Type), 64), automationActionNames())
}

func automationActionNames() string {
	names := make([]string, len(AutomationActionTypes))
	for i, t := range AutomationActionTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func automationRuleName(name string) (string, error) {
	v, err := cleanText("name", name, MaxRuleNameBytes)
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", Errorf(EINVALID, "name: is required")
	}
	return v, nil
}

func ruleExpr(c string) (string, error) {
	c = strings.TrimSpace(c)
	switch {
	case c == "":
		return "", Errorf(EINVALID, "condition: is required (a CEL expression, such as severity == 'high')")
	case len(c) > MaxConditionBytes:
		return "", Errorf(EINVALID, "condition: is %d bytes; at most %d", len(c), MaxConditionBytes)
	case !utf8.ValidString(c):
		return "", Errorf(EINVALID, "condition: is not valid UTF-8")
	}
	return c, nil
}

// ruleText trims s and checks that it is valid UTF-8 of at most max
// bytes; newlines and tabs are allowed, other control characters not.
func ruleText(field, s string, max int) (string, error) {
	v := strings.TrimSpace(s)
	if !utf8.ValidString(v) {
		return "", Errorf(EINVALID, "%s: is not valid UTF-8", field)
	}
	if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' && r != '\r' || r == 0x7f }) >= 0 {
		return "", Errorf(EINVALID, "%s: must not contain control characters", field)
	}
	if len(v) > max {
		return "", Errorf(EINVALID, "%s: is %d bytes; at most %d", field, len(v), max)
	}
	return v, nil
}

// AutomationOutcome says what one run of a rule on an incident did.
type AutomationOutcome string

// Outcomes of a run.
const (
	// RunApplied: the rule matched and changed the incident or requested
	// a response action.
	RunApplied AutomationOutcome = "applied"
	// RunMatched: the rule matched but everything it does was already in
	// place (or it was a test).
	RunMatched AutomationOutcome = "matched"
	// RunFailed: evaluating the rule or one of its actions failed; Error
	// says which and why. A later event of the incident tries again.
	RunFailed AutomationOutcome = "failed"
	// RunSkipped: the rule matched but was not run (the incident was
	// merged into another).
	RunSkipped AutomationOutcome = "skipped"
)

// AutomationRun is one entry of the run log: a rule version evaluated on an
// incident, and what came of it. Effects say, one line each, what it did.
type AutomationRun struct {
	ID          int64             `json:"id,string"`
	TenantID    string            `json:"tenantId"`
	RuleID      int64             `json:"ruleId,string"`
	RuleName    string            `json:"ruleName"`
	RuleVersion int64             `json:"ruleVersion"`
	IncidentID  int64             `json:"incidentId,string"`
	EventID     int64             `json:"eventId,string"`
	Outcome     AutomationOutcome `json:"outcome"`
	Effects     []string          `json:"effects"`
	Error       string            `json:"error,omitempty"`
	Time        time.Time         `json:"createdDateTime"`
}

// AutomationRunQuery selects runs of a tenant, newest first.
type AutomationRunQuery struct {
	TenantID   string
	RuleID     int64 // 0: any
	IncidentID int64 // 0: any
	Top, Skip  int
}

// AutomationStore keeps a tenant's automation rules and their run log.
// Implementations are safe for concurrent use. Errors are *Error: EINVALID
// for a rule Normalize refuses, ENOTFOUND, EPRECONDITION for a stale
// ifMatch, ETOOLARGE past MaxRulesPerTenant.
type AutomationStore interface {
	// AutomationRules returns a tenant's rules in evaluation order (Order,
	// then ID).
	AutomationRules(ctx context.Context, tenantID string) ([]*AutomationRule, error)
	FindAutomationRule(ctx context.Context, tenantID string, id int64) (*AutomationRule, error)
	// CreateAutomationRule normalizes and stores a new rule (Version 1) and
	// returns it as stored. The first rule of a tenant starts the tenant's
	// automation cursor at the end of its event log: rules act on what
	// happens after they exist.
	CreateAutomationRule(ctx context.Context, r *AutomationRule, actor string) (*AutomationRule, error)
	// UpdateAutomationRule replaces rule r.ID (with ifMatch > 0, only at
	// that version) and increases its version.
	UpdateAutomationRule(ctx context.Context, r *AutomationRule, actor string, ifMatch int64) (*AutomationRule, error)
	DeleteAutomationRule(ctx context.Context, tenantID string, id int64, ifMatch int64) error
	// AddAutomationRuns appends runs to the log, setting their IDs.
	AddAutomationRuns(ctx context.Context, runs []*AutomationRun) error
	ListAutomationRuns(ctx context.Context, q AutomationRunQuery) ([]*AutomationRun, error)
	EventCursorStore
}

// EventCursorStore keeps how far a consumer of the event log (the automation
// runner, the notifier) has read each tenant's events.
type EventCursorStore interface {
	// EventCursor returns the last event id consumer has handled in the
	// tenant; ENOTFOUND when the consumer has no cursor there.
	EventCursor(ctx context.Context, tenantID, consumer string) (int64, error)
	// SetEventCursor moves the cursor to after; it never moves back.
	SetEventCursor(ctx context.Context, tenantID, consumer string, after int64) error
	// CursorTenants lists the tenants where consumer has a cursor, sorted.
	CursorTenants(ctx context.Context, consumer string) ([]string, error)
}

// Event-log consumers.
const (
	ConsumerAutomation    = "automation"
	ConsumerNotifications = "notifications"
)

// AutomationTest is the answer to testing a rule on an incident: whether
// its condition matched and what it would do (nothing is changed).
type AutomationTest struct {
	IncidentID int64    `json:"incidentId,string"`
	Matched    bool     `json:"matched"`
	Effects    []string `json:"effects"`
}

// AutomationEvaluator checks and tries rules; package automation implements
// it. Errors are EINVALID with the CEL position ("condition: 1:12: …").
type AutomationEvaluator interface {
	// CheckRule compiles a normalized rule's condition and targets.
	CheckRule(r *AutomationRule) error
	// CheckNotificationRule compiles a notification rule's condition.
	CheckNotificationRule(r *NotificationRule) error
	// TestRule evaluates a rule on an incident of its tenant and says what
	// it would do, changing nothing. ENOTFOUND for an unknown incident.
	TestRule(ctx context.Context, r *AutomationRule, incidentID int64) (*AutomationTest, error)
	// TestNotificationRule evaluates a notification rule's condition on
	// an incident; Effects hold the message it would send.
	TestNotificationRule(ctx context.Context, r *NotificationRule, incidentID int64) (*AutomationTest, error)
}

// NotificationFormat is the JSON shape a notification is posted in.
type NotificationFormat string

// Notification formats.
const (
	// NotifySlack posts {"text": …, "blocks": […]} (Slack incoming webhooks
	// and compatible chat tools).
	NotifySlack NotificationFormat = "slack"
	// NotifyTeams posts an Adaptive Card in a message (Teams workflows and
	// incoming webhooks).
	NotifyTeams NotificationFormat = "teams"
	// NotifyGeneric posts weft's own JSON: the event kind and the incident.
	NotifyGeneric NotificationFormat = "generic"
)

// Notification event kinds.
const (
	NotifyCreated = "created"
	NotifyUpdated = "updated"
)

// NotificationRule sends the incidents of a tenant that match its condition
// to a webhook, at most once per incident per rule per event kind.
type NotificationRule struct {
	ID       int64  `json:"id,string"`
	TenantID string `json:"tenantId"`
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
	// Condition is a CEL expression as for automation rules; "true" sends
	// every incident.
	Condition string `json:"condition"`
	// Events are the kinds that trigger it: created, updated.
	Events []string           `json:"events"`
	URL    string             `json:"url"`
	Format NotificationFormat `json:"format"`
	// SecretFile, when set, is the name of a file in the notification
	// secrets directory the server's operator configured
	// (--notify-secrets-dir): a plain file name, never a path, so that a
	// tenant admin can name only the keys the operator put there. The file
	// holds a key: a generic notification then carries
	// Weft-Signature: sha256=HMAC(key, timestamp.body). The key is read at
	// each send and never returned or logged.
	SecretFile string    `json:"secretFile,omitempty"`
	Version    int64     `json:"version"`
	Created    time.Time `json:"createdDateTime"`
	Updated    time.Time `json:"lastUpdateDateTime"`
	UpdatedBy  string    `json:"lastModifiedBy"`
}

// MaxURLBytes bounds a webhook URL.
const MaxURLBytes = 2048

// Normalize checks a notification rule: name and condition as for
// automation rules, events a non-empty subset of created and updated, URL an
// absolute https URL without user info, format one of slack, teams, generic (default generic), secret
// file a plain file name (CheckSecretFileName). Errors are EINVALID and name the field.
func (r *NotificationRule) Normalize() error {
	var err error
	if r.Name, err = automationRuleName(r.Name); err != nil {
		return err
	}
	if r.Condition, err = ruleExpr(r.Condition); err != nil {
		return err
	}
	if len(r.Events) == 0 {
		r.Events = []string{NotifyCreated}
	}
	seen := map[string]bool{}
	var events []string
	for i, e := range r.Events {
		if e != NotifyCreated && e != NotifyUpdated {
			return Errorf(EINVALID, "events[%d]: %q is not an event kind; allowed: created, updated", i, truncate(e, 64))
		}
		if !seen[e] {
			seen[e] = true
			events = append(events, e)
		}
	}
	r.Events = events
	if err := CheckWebhookURL(r.URL); err != nil {
		return err
	}
	switch r.Format {
	case "":
		r.Format = NotifyGeneric
	case NotifySlack, NotifyTeams, NotifyGeneric:
	default:
		return Errorf(EINVALID, "format: %q is not a notification format; allowed: slack, teams, generic", truncate(string(r.Format), 64))
	}
	if r.SecretFile != "" {
		if err := CheckSecretFileName(r.SecretFile); err != nil {
			return err
		}
	}
	return nil
}

// MaxSecretFileName bounds the name of a notification secret file.
const MaxSecretFileName = 255

// CheckSecretFileName checks the secretFile of a notification rule: a plain
// file name (at most MaxSecretFileName bytes, no path separator, not "." or
// "..", no control character), which is looked up only inside the server's
// notification secrets directory. The error is EINVALID and does not repeat
// the name.
func CheckSecretFileName(name string) error {
	if name == "" || len(name) > MaxSecretFileName || name == "." || name == ".." ||
		strings.ContainsAny(name, `/\`) || strings.IndexFunc(name, func(c rune) bool { return c < 0x20 || c == 0x7f }) >= 0 {
		return Errorf(EINVALID, "secretFile: must be the plain name of a file in the server's notification secrets directory (no path, no \"..\", at most %d bytes)", MaxSecretFileName)
	}
	return nil
}

// CheckWebhookURL checks a notification URL: absolute https, with a host,
// without user info, at most MaxURLBytes. The message never repeats the URL,
// which may hold a secret.
func CheckWebhookURL(s string) error {
	if s == "" {
		return Errorf(EINVALID, "url: is required")
	}
	if len(s) > MaxURLBytes {
		return Errorf(EINVALID, "url: is %d bytes; at most %d", len(s), MaxURLBytes)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Errorf(EINVALID, "url: is not an absolute URL")
	}
	if u.User != nil {
		return Errorf(EINVALID, "url: must not carry a user or password")
	}
	switch u.Scheme {
	case "https":
	case "http":
		return Errorf(EINVALID, "url: must use https: a notification carries incident details, and chat webhooks a secret")
	default:
		return Errorf(EINVALID, "url: scheme %q is not allowed; use https", truncate(u.Scheme, 16))
	}
	return nil
}

// RedactURL returns the scheme and host of a webhook URL, which is what may
// be shown or logged: chat webhooks carry their secret in the path.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	if u.Path == "" && u.RawQuery == "" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// DeliveryState is where one notification is.
type DeliveryState string

// Delivery states. pending → sending → sent | pending (retry) | failed. A
// delivery found sending at start-up was interrupted mid-send and is marked
// failed, not sent again: a notification goes out at most once.
const (
	DeliveryPending DeliveryState = "pending"
	DeliverySending DeliveryState = "sending"
	DeliverySent    DeliveryState = "sent"
	DeliveryFailed  DeliveryState = "failed"
)

// NotificationDelivery is one notification of one incident by one rule for
// one event kind; (RuleID, IncidentID, Kind) is unique.
type NotificationDelivery struct {
	ID          int64         `json:"id,string"`
	TenantID    string        `json:"tenantId"`
	RuleID      int64         `json:"ruleId,string"`
	RuleVersion int64         `json:"ruleVersion"`
	IncidentID  int64         `json:"incidentId,string"`
	Kind        string        `json:"kind"`
	EventID     int64         `json:"eventId,string"`
	State       DeliveryState `json:"state"`
	Attempts    int           `json:"attempts"`
	NextAttempt time.Time     `json:"nextAttemptDateTime,omitzero"`
	// LastError is the last failure, without the URL or any secret.
	LastError string    `json:"lastError,omitempty"`
	Created   time.Time `json:"createdDateTime"`
	Updated   time.Time `json:"lastUpdateDateTime"`
}

// DeliveryQuery selects deliveries of a tenant, newest first.
type DeliveryQuery struct {
	TenantID   string
	RuleID     int64
	IncidentID int64
	Top, Skip  int
}

// NotificationStore keeps notification rules and their deliveries.
// Implementations are safe for concurrent use; errors as AutomationStore's.
type NotificationStore interface {
	NotificationRules(ctx context.Context, tenantID string) ([]*NotificationRule, error)
	FindNotificationRule(ctx context.Context, tenantID string, id int64) (*NotificationRule, error)
	// CreateNotificationRule starts the tenant's notification cursor at
	// the end of its event log, as CreateAutomationRule does.
	CreateNotificationRule(ctx context.Context, r *NotificationRule, actor string) (*NotificationRule, error)
	UpdateNotificationRule(ctx context.Context, r *NotificationRule, actor string, ifMatch int64) (*NotificationRule, error)
	DeleteNotificationRule(ctx context.Context, tenantID string, id int64, ifMatch int64) error
	// AddDelivery stores d as pending unless a delivery of the same
	// (rule, incident, kind) exists; created says which.
	AddDelivery(ctx context.Context, d *NotificationDelivery) (created bool, err error)
	// DueDeliveries returns up to limit pending deliveries of every tenant
	// whose NextAttempt is at or before now, oldest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*NotificationDelivery, error)
	// ClaimDelivery moves a pending delivery to sending and counts the
	// attempt; false when it was no longer pending (claimed elsewhere).
	ClaimDelivery(ctx context.Context, id int64, now time.Time) (bool, error)
	// FinishDelivery records the outcome of a claimed attempt: state sent,
	// failed, or pending again with next as its next attempt.
	FinishDelivery(ctx context.Context, id int64, state DeliveryState, next time.Time, lastError string, now time.Time) error
	// AbandonSending marks every delivery left sending (by a process that
	// stopped mid-send) failed and returns how many there were.
	AbandonSending(ctx context.Context, now time.Time) (int, error)
	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]*NotificationDelivery, error)
	EventCursorStore
}

package weft

// Response actions (design §8, docs/respond.md): the action and its states,
// what a connector is, and what the API, the automation rules and the CLI
// may ask of the action service. Package respond implements the state
// machine, the approval policy and the worker on an ActionStore; its
// sub-packages are the connectors. The invariants are those of
// docs/respond.md; each has a test.

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ActionStatus is where an action is in its life (docs/respond.md, "States").
type ActionStatus string

// ActionStatuses.
const (
	ActionRequested       ActionStatus = "requested"
	ActionPendingApproval ActionStatus = "pendingApproval"
	ActionApproved        ActionStatus = "approved"
	ActionRejected        ActionStatus = "rejected"
	ActionCancelled       ActionStatus = "cancelled"
	ActionDispatched      ActionStatus = "dispatched"
	ActionSucceeded       ActionStatus = "succeeded"
	ActionFailed          ActionStatus = "failed"
	ActionExpired         ActionStatus = "expired"
	ActionUndone          ActionStatus = "undone"
)

// ActionStatuses lists every status, in the order of the state machine.
var ActionStatuses = []ActionStatus{
	ActionRequested, ActionPendingApproval, ActionApproved, ActionRejected, ActionCancelled,
	ActionDispatched, ActionSucceeded, ActionFailed, ActionExpired, ActionUndone,
}

// transitions are the arrows of the state machine and nothing else
// (invariant 2). dispatched → approved is a retryable failure waiting for
// its next attempt; dispatched → dispatched is a re-dispatch after a lease
// ran out (a crash, invariant 3), or a connector's DispatchPending answer
// extending the lease to the action's expiry. requested is never stored on
// its own: ActionStore.CreateAction records the request and the policy's
// decision (pendingApproval or approved) in one transaction.
var transitions = map[ActionStatus][]ActionStatus{
	ActionRequested:       {ActionPendingApproval, ActionApproved},
	ActionPendingApproval: {ActionApproved, ActionRejected, ActionCancelled, ActionExpired},
	ActionApproved:        {ActionDispatched, ActionCancelled, ActionExpired},
	ActionDispatched:      {ActionSucceeded, ActionFailed, ActionExpired, ActionApproved, ActionDispatched},
	ActionSucceeded:       {ActionUndone},
}

// CanTransitionAction says whether the state machine has an arrow from → to.
func CanTransitionAction(from, to ActionStatus) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Final says whether no arrow leaves s but undo: an action in a final status
// no longer takes part in deduplication (invariant 1).
func (s ActionStatus) Final() bool {
	switch s {
	case ActionRejected, ActionCancelled, ActionSucceeded, ActionFailed, ActionExpired, ActionUndone:
		return true
	}
	return false
}

// ActionActorKind says who made a change: a person, an automation rule, a
// connector or weft itself (the worker: retries, expiry).
type ActionActorKind string

// Actor kinds.
const (
	ActorUser       ActionActorKind = "user"
	ActorAutomation ActionActorKind = "automation"
	ActorConnector  ActionActorKind = "connector"
	ActorSystem     ActionActorKind = "system"
)

// ActionActor is who made a change (invariant 6). Name is the user's name, the
// rule's name, the connector's name, or "weft".
type ActionActor struct {
	Kind ActionActorKind `json:"kind"`
	Name string          `json:"name"`
	// Owner is the person behind an actor when approvals are checked: for
	// an API token ("token:NAME"), the user who created it (a token never
	// approves its owner's request, nor the owner a request made with
	// their token); for an automation actor, the user who last saved the
	// rule (who cannot approve what their rule requested).
	Owner string `json:"owner,omitempty"`
	// RuleID and RuleVersion name the automation rule of an ActorAutomation.
	RuleID      int64 `json:"ruleId,omitzero,string"`
	RuleVersion int   `json:"ruleVersion,omitzero"`
}

// String is the actor as the incident activity log shows it.
func (a ActionActor) String() string {
	switch a.Kind {
	case ActorAutomation:
		return "automation rule " + a.Name
	case ActorConnector:
		return "connector " + a.Name
	}
	return a.Name
}

// Action is one response action on one target.
type Action struct {
	ID       int64  `json:"id,string"`
	TenantID string `json:"tenantId"`
	// Type is the catalogue name ("isolate", "disable", ...).
	Type       string     `json:"type"`
	EntityType EntityType `json:"entityType"`
	// Target is the entity's key, "kind:value" (EntityView.Key);
	// TargetName is its readable name when requested.
	Target     string `json:"target"`
	TargetName string `json:"targetName,omitempty"`
	// Parameters are the action's options (isolation type, scan type,
	// indicator action...), validated against the catalogue.
	Parameters map[string]string `json:"parameters,omitempty"`
	// IncidentID is the incident it was taken from; 0 when none.
	IncidentID int64  `json:"incidentId,omitzero,string"`
	Comment    string `json:"comment,omitempty"`
	// DedupeKey makes a repeated request one action (invariant 1).
	DedupeKey    string       `json:"dedupeKey"`
	ActionStatus ActionStatus `json:"status"`
	// Version increases with every transition; transitions compare and set
	// it (invariant 2).
	Version     int64       `json:"version"`
	RequestedBy ActionActor `json:"requestedBy"`
	// DecidedBy is who approved or rejected it, when anyone did.
	DecidedBy *ActionActor `json:"decidedBy,omitempty"`
	// Connector is the connector that runs it; Attempt counts dispatches
	// (0 before the first); NotBefore is when the next attempt may start;
	// LeaseUntil is when a dispatched action whose connector never
	// answered is dispatched again.
	Connector  string    `json:"connector"`
	Attempt    int       `json:"attempt"`
	NotBefore  time.Time `json:"notBeforeDateTime,omitzero"`
	LeaseUntil time.Time `json:"leaseUntilDateTime,omitzero"`
	// ExpiresAt is when an action that has not reached a final status
	// expires (TTL from the catalogue).
	ExpiresAt time.Time `json:"expiresDateTime"`
	// ExternalID is the connector's id for it, when it gave one; Message
	// is the last outcome's explanation (never a secret, invariant 7).
	ExternalID string `json:"externalId,omitempty"`
	Message    string `json:"message,omitempty"`
	// UndoOf is the action this one undoes; UndoneBy the action that
	// undid this one.
	UndoOf   int64     `json:"undoOf,omitzero,string"`
	UndoneBy int64     `json:"undoneBy,omitzero,string"`
	Created  time.Time `json:"createdDateTime"`
	Updated  time.Time `json:"lastUpdateDateTime"`
	// Contains is the containment state a success leaves the target in,
	// "" for none; fixed at the request from the catalogue
	// (ActionDefinition.ContainmentOf).
	Contains ContainmentState `json:"contains,omitempty"`
}

// IdempotencyKey is the key a connector must treat as one request however
// often it is sent (invariant 3): "tenant/id", the same for every attempt of
// an action (the attempt number travels beside it, in Attempt).
func (a *Action) IdempotencyKey() string {
	return a.TenantID + "/" + strconv.FormatInt(a.ID, 10)
}

// ActionLogEntry is one line of an action's log: a transition, who made it and
// why.
type ActionLogEntry struct {
	ID       int64        `json:"id,string"`
	ActionID int64        `json:"actionId,string"`
	Time     time.Time    `json:"createdDateTime"`
	Actor    ActionActor  `json:"actor"`
	From     ActionStatus `json:"from,omitempty"` // empty for the request
	To       ActionStatus `json:"to"`
	Attempt  int          `json:"attempt,omitzero"`
	Message  string       `json:"message,omitempty"`
}

// ActionOutcome is what a connector says of one dispatch.
type ActionOutcome string

// Outcomes.
const (
	// DispatchSucceeded: the effect is in place.
	DispatchSucceeded ActionOutcome = "succeeded"
	// DispatchPending: accepted; a callback or a poll completes it later.
	// The action stays dispatched, its lease extended to its expiry.
	DispatchPending ActionOutcome = "pending"
)

// ActionResult is a connector's answer to a dispatch that did not fail.
type ActionResult struct {
	ActionOutcome ActionOutcome
	ExternalID    string
	Message       string
}

// Connector runs actions against the systems that hold the devices, users
// and mailboxes. Dispatch must treat a repeat of a.IdempotencyKey() as the
// same request (invariant 3). A failure is returned as an error: wrapped
// with RetryableError when trying again may help (a timeout, a 5xx, a busy
// target), anything else is permanent. Errors and log lines never contain a
// connector's secret (invariant 7).
type Connector interface {
	Name() string
	Dispatch(ctx context.Context, a *Action) (ActionResult, error)
}

// retryable marks an error as worth another attempt.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// RetryableError marks err as a failure that another attempt may cure.
func RetryableError(err error) error {
	if err == nil {
		return nil
	}
	return retryable{err}
}

// IsRetryable says whether err was marked with RetryableError.
func IsRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r)
}

// ActionCompleter completes an action a connector answered DispatchPending for,
// when its callback (or poll) arrives: res when it succeeded, err (marked
// retryable or not) when it failed. A completion of an attempt that is no
// longer the current one, or of an action no longer dispatched, changes
// nothing and is not an error (a late or repeated callback). connector is
// the name of the connector the completion comes through: an action another
// connector runs is refused (ENOTFOUND), so that the holder of one
// connector's secret cannot complete the actions of another.
type ActionCompleter interface {
	Complete(ctx context.Context, connector, tenantID string, actionID int64, attempt int, res ActionResult, err error) error
}

// ActionRequest asks for an action.
type ActionRequest struct {
	TenantID   string
	Type       string
	Target     string // entity key "kind:value"
	TargetName string
	Parameters map[string]string
	IncidentID int64
	Comment    string
	// DedupeKey, when empty, is derived from (type, target, parameters)
	// and the current 10-minute window, so that a double click is one
	// action.
	DedupeKey string
	By        ActionActor
}

// ActionQuery selects actions for the action center. Every condition set must
// hold.
type ActionQuery struct {
	TenantID     string
	ActionStatus []ActionStatus
	Type         []string
	EntityType   EntityType
	Target       string
	IncidentID   int64
	RequestedBy  string
	Since        time.Time // created at or after
	Until        time.Time // created before
	Top, Skip    int
	Count        bool
}

// ActionPage is one page of actions, newest first.
type ActionPage struct {
	Actions []*Action `json:"value"`
	Count   int64     `json:"-"` // -1 when not asked for
	More    bool      `json:"-"`
}

// Containment is the state the last succeeded containing action left an
// entity in, with that action.
type Containment struct {
	State    ContainmentState `json:"state"`
	ActionID int64            `json:"actionId,string"`
	Since    time.Time        `json:"sinceDateTime"`
}

// ActionService is what the API, the automation rules and the CLI ask of
// response actions. Errors are *Error: EINVALID for a request the
// catalogue refuses, ENOTFOUND, ECONFLICT for a transition the state machine
// has no arrow for or that lost a race, EFORBIDDEN for a requester
// approving their own action.
type ActionService interface {
	// ActionRequest stores a new action, pending approval or approved as the
	// tenant's policy says. A request whose dedupe key matches an action
	// that is not final answers that action with existed set.
	Request(ctx context.Context, r ActionRequest) (a *Action, existed bool, err error)
	Approve(ctx context.Context, tenantID string, id int64, by ActionActor, comment string) (*Action, error)
	Reject(ctx context.Context, tenantID string, id int64, by ActionActor, comment string) (*Action, error)
	Cancel(ctx context.Context, tenantID string, id int64, by ActionActor, comment string) (*Action, error)
	// Undo requests the inverse of a succeeded action (following the
	// approval policy like any request) and answers the new action.
	Undo(ctx context.Context, tenantID string, id int64, by ActionActor, comment string) (*Action, error)
	Find(ctx context.Context, tenantID string, id int64) (*Action, error)
	List(ctx context.Context, q ActionQuery) (ActionPage, error)
	Log(ctx context.Context, tenantID string, id int64) ([]ActionLogEntry, error)
	// Containment answers the containment of those of keys that have one.
	Containment(ctx context.Context, tenantID string, keys []string) (map[string]Containment, error)
	ResponsePolicy(ctx context.Context, tenantID string) (ResponsePolicy, error)
	SetPolicy(ctx context.Context, tenantID string, p ResponsePolicy) (ResponsePolicy, error)
}

// ResponsePolicy is a tenant's approval policy: which actions need a second person.
type ResponsePolicy struct {
	// RequireApproval lists action types that need approval whoever asks;
	// "*" means all.
	RequireApproval []string `json:"requireApproval"`
	// AutomationRequiresApproval makes every action an automation rule
	// requests need approval (the default: semi-automatic).
	AutomationRequiresApproval bool `json:"automationRequiresApproval"`
}

// Activity types of response actions, logged on the action's incident (when
// it has one) by every transition (invariant 2).
const (
	ActivityActionRequested  = "actionRequested"
	ActivityActionApproved   = "actionApproved"
	ActivityActionRejected   = "actionRejected"
	ActivityActionCancelled  = "actionCancelled"
	ActivityActionDispatched = "actionDispatched"
	ActivityActionSucceeded  = "actionSucceeded"
	ActivityActionFailed     = "actionFailed"
	ActivityActionExpired    = "actionExpired"
	ActivityActionUndone     = "actionUndone"
	// ActivityActionRetrying is dispatched → approved: a retryable failure
	// waiting for its next attempt.
	ActivityActionRetrying = "actionRetrying"
)

// ActionActivityType returns the incident activity type of a transition to
// status to.
func ActionActivityType(to ActionStatus) string {
	switch to {
	case ActionRequested, ActionPendingApproval:
		return ActivityActionRequested
	case ActionApproved:
		return ActivityActionApproved
	case ActionRejected:
		return ActivityActionRejected
	case ActionCancelled:
		return ActivityActionCancelled
	case ActionDispatched:
		return ActivityActionDispatched
	case ActionSucceeded:
		return ActivityActionSucceeded
	case ActionFailed:
		return ActivityActionFailed
	case ActionExpired:
		return ActivityActionExpired
	case ActionUndone:
		return ActivityActionUndone
	}
	return ""
}

// ActionTransition is one transition an ActionStore makes: the action at
// Version moves to To.
type ActionTransition struct {
	TenantID string
	ID       int64
	// Version is the version the caller read; the transition happens only
	// if the action is still at it (compare and set).
	Version int64
	To      ActionStatus
	By      ActionActor
	Message string
	Now     time.Time
	// NotBefore and LeaseUntil replace the action's (zero clears them).
	NotBefore  time.Time
	LeaseUntil time.Time
	// ExternalID, when not empty, replaces the action's.
	ExternalID string
	// Undoes, for a transition to succeeded, lists the action types this
	// one is the inverse of (InverseOf): every succeeded action of those
	// types on the same target, and the action UndoOf names, moves to
	// undone with UndoneBy set, in the same transaction.
	Undoes []string
}

// ActionStore keeps response actions, their logs and the tenants' approval
// policies. Every method that changes an action is one transaction that
// also appends the action's log entries and, when the action has an
// incident, the incident's activity entries (invariant 2); a method that
// fails changes nothing. Implementations are safe for concurrent use and
// pass storetest.RunActionTests.
type ActionStore interface {
	// CreateAction stores a, whose ActionStatus is where the request
	// lands (pendingApproval or approved), with two log entries (the
	// request, then the policy's decision) and an actionRequested activity.
	// It sets a's ID, Version (1), Created and Updated from a.Created. When
	// an action that is not final has the same (tenant, type, target,
	// dedupe key), it stores nothing and answers that action with existed
	// set (invariant 1), also when two requests race.
	CreateAction(ctx context.Context, a *Action) (out *Action, existed bool, err error)
	// FindAction returns one action, or ENOTFOUND.
	FindAction(ctx context.Context, tenantID string, id int64) (*Action, error)
	// ListActions returns a page of the actions q selects, newest first.
	ListActions(ctx context.Context, q ActionQuery) (ActionPage, error)
	// ActionLog returns an action's log, oldest first, or ENOTFOUND.
	ActionLog(ctx context.Context, tenantID string, id int64) ([]ActionLogEntry, error)
	// TransitionAction makes t and returns the action after it: ENOTFOUND
	// for no such action; ECONFLICT, changing nothing, when the action is
	// no longer at t.Version (a lost race) or the state machine has no
	// arrow from its status to t.To. A transition from pendingApproval to
	// approved or rejected records t.By as DecidedBy.
	TransitionAction(ctx context.Context, t ActionTransition) (*Action, error)
	// ClaimDue moves up to limit due actions to dispatched, each in its own
	// transaction, and returns them: approved ones whose NotBefore is at
	// or before now, and dispatched ones whose LeaseUntil is before now
	// (their worker died), in both cases only those not past ExpiresAt.
	// Each gets Attempt+1 and LeaseUntil now+lease. An action is claimed
	// by one caller only, however many claim at once.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Action, error)
	// ExpireDue moves to expired, as weft, up to limit actions past their
	// ExpiresAt: pending approval or approved, or dispatched with a lease
	// that has run out. It returns them.
	ExpireDue(ctx context.Context, now time.Time, limit int) ([]*Action, error)
	// NextDue returns the earliest time ClaimDue or ExpireDue may have
	// work, ok false when no action is open.
	NextDue(ctx context.Context) (t time.Time, ok bool, err error)
	// Containment returns, for each of keys that has one, the containment
	// left by the latest succeeded (and not undone) action on it that
	// contains.
	Containment(ctx context.Context, tenantID string, keys []string) (map[string]Containment, error)
	// GetResponsePolicy returns the tenant's stored policy, or ENOTFOUND
	// when it has none (the service then applies the default).
	GetResponsePolicy(ctx context.Context, tenantID string) (ResponsePolicy, error)
	PutResponsePolicy(ctx context.Context, tenantID string, p ResponsePolicy) error
}

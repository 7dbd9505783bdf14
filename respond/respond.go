// Package respond runs response actions (design §8, docs/respond.md): the
// state machine on a weft.ActionStore, the tenants' approval policy, and the
// worker that hands approved actions to their connectors, retries them and
// expires them. The connectors are its sub-packages; this package knows
// them only as weft.Connector.
//
// Every change of an action is one store transaction that compares and sets
// the action's version (invariant 2), so that the service holds no state of
// its own an analyst, another worker or a crash could contradict: two
// Services (or two processes) on one store are safe, and a Service that
// dies loses nothing (invariant 3, see worker.go).
package respond

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftxdr/weft"
)

// Defaults of Options.
const (
	DefaultConnector       = "simulator"
	DefaultBackoffBase     = 2 * time.Second
	DefaultBackoffCap      = 5 * time.Minute
	DefaultDispatchTimeout = 30 * time.Second
	DefaultLease           = time.Minute
	DefaultBatch           = 16
	// DedupeWindow is the window of the default dedupe key: the same
	// request within it is one action (a double click, a retried POST).
	DedupeWindow = 10 * time.Minute
)

// Limits of a request.
const (
	MaxDedupeKeyBytes  = 256
	MaxTargetNameBytes = 1024
	MaxActorNameBytes  = weft.MaxActorBytes
)

// Options configure a Service. The zero value is usable: the real clock,
// connector "simulator" for every action (when registered), the backoff of
// docs/respond.md, a one-minute lease and a 30-second dispatch timeout.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Connectors are the connectors by name (Connector.Name()).
	Connectors map[string]weft.Connector
	// DefaultConnector runs every action type ConnectorFor does not name;
	// "simulator" when empty.
	DefaultConnector string
	// ConnectorFor names the connector of an action type.
	ConnectorFor map[string]string
	// BackoffBase and BackoffCap bound the delay before a retry: attempt
	// n waits a uniformly random time in [0, min(cap, base·2^(n-1))]
	// ("full jitter").
	BackoffBase, BackoffCap time.Duration
	// DispatchTimeout bounds one Dispatch call; Lease is how long a
	// dispatched action waits for its answer before it is sent again (a
	// worker that died). Lease is raised to twice DispatchTimeout when it
	// is not longer, so that a slow answer is never overtaken by a
	// re-dispatch of the same attempt.
	DispatchTimeout, Lease time.Duration
	// Batch is how many actions the worker dispatches at once.
	Batch int
	// Rand returns a uniformly random int64 in [0, n), for jitter;
	// rand.Int64N when nil. It must be safe for concurrent use.
	Rand   func(n int64) int64
	Logger *slog.Logger
}

// Service implements weft.ActionService and weft.ActionCompleter on a
// weft.ActionStore, and runs the worker (Run). It is safe for concurrent
// use.
type Service struct {
	store weft.ActionStore
	opts  Options
	log   *slog.Logger
	// wake tells the worker that an action became approved.
	wake chan struct{}
}

var (
	_ weft.ActionService   = (*Service)(nil)
	_ weft.ActionCompleter = (*Service)(nil)
)

// New returns a Service on store with opts.
func New(store weft.ActionStore, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultConnector == "" {
		opts.DefaultConnector = DefaultConnector
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffCap <= 0 {
		opts.BackoffCap = DefaultBackoffCap
	}
	opts.BackoffCap = max(opts.BackoffCap, opts.BackoffBase)
	if opts.DispatchTimeout <= 0 {
		opts.DispatchTimeout = DefaultDispatchTimeout
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Lease <= opts.DispatchTimeout {
		opts.Lease = 2 * opts.DispatchTimeout
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.Rand == nil {
		opts.Rand = rand.Int64N
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, opts: opts, log: log, wake: make(chan struct{}, 1)}
}

// system is the actor of what weft does by itself: retries, expiry.
var system = weft.ActionActor{Kind: weft.ActorSystem, Name: "weft"}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// notify wakes the worker, without waiting.
func (s *Service) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ActionRequest implements weft.ActionService. The request is checked
// against the catalogue (EINVALID naming the field); the parameters get
// their defaults; the dedupe key, when not given, is a hash of the type, the
// target and the parameters with the current 10-minute window. A request
// for an inverse action (release, enable...) on a target that a succeeded
// action of the kind it undoes holds is linked to the latest such action
// (UndoOf), as Undo does.
func (s *Service) Request(ctx context.Context, r weft.ActionRequest) (*weft.Action, bool, error) {
	return s.request(ctx, r, 0)
}

func (s *Service) request(ctx context.Context, r weft.ActionRequest, undoOf int64) (*weft.Action, bool, error) {
	if err := checkTenant(r.TenantID); err != nil {
		return nil, false, err
	}
	by, err := checkBy(r.By)
	if err != nil {
		return nil, false, err
	}
	def, err := weft.CheckActionType(r.Type)
	if err != nil {
		return nil, false, err
	}
	et, err := weft.ActionTargetType(r.Target)
	if err != nil {
		return nil, false, err
	}
	if err := def.Validate(et, r.Parameters); err != nil {
		return nil, false, err
	}
	params := def.WithDefaults(r.Parameters)
	name, err := checkText("targetName", r.TargetName, MaxTargetNameBytes)
	if err != nil {
		return nil, false, err
	}
	comment, err := checkComment(r.Comment)
	if err != nil {
		return nil, false, err
	}
	if r.IncidentID < 0 {
		return nil, false, weft.Errorf(weft.EINVALID, "incidentId: must not be negative, got %d", r.IncidentID)
	}
	now := s.now()
	key := r.DedupeKey
	switch {
	case key == "":
		key = DedupeKey(def.Type, r.Target, params, now)
	case len(key) > MaxDedupeKeyBytes || !utf8.ValidString(key):
		return nil, false, weft.Errorf(weft.EINVALID, "dedupeKey: must be valid UTF-8 of at most %d bytes", MaxDedupeKeyBytes)
	}
	if undoOf == 0 {
		if undoOf, err = s.undoTarget(ctx, r.TenantID, def.Type, r.Target); err != nil {
			return nil, false, err
		}
	}
	policy, err := s.ResponsePolicy(ctx, r.TenantID)
	if err != nil {
		return nil, false, err
	}
	status := weft.ActionApproved
	if NeedsApproval(policy, def.Type, by) {
		status = weft.ActionPendingApproval
	}
	a := &weft.Action{TenantID: r.TenantID, Type: def.Type, EntityType: et, Target: r.Target, TargetName: name,
		Parameters: params, IncidentID: r.IncidentID, Comment: comment, DedupeKey: key, ActionStatus: status,
		RequestedBy: by, Connector: s.connectorName(def.Type), ExpiresAt: now.Add(def.TTL), UndoOf: undoOf,
		Contains: def.ContainmentOf(params), Created: now}
	out, existed, err := s.store.CreateAction(ctx, a)
	if err != nil {
		return nil, false, err
	}
	if !existed {
		s.log.Info("action requested", "tenant", out.TenantID, "action", out.ID, "type", out.Type,
			"target", out.Target, "by", out.RequestedBy.String(), "status", string(out.ActionStatus))
		if out.ActionStatus == weft.ActionApproved {
			s.notify()
		}
	}
	return out, existed, nil
}

// undoTarget returns the latest succeeded action on target that an action
// of type typ undoes, 0 when there is none.
func (s *Service) undoTarget(ctx context.Context, tenantID, typ, target string) (int64, error) {
	undoes := weft.InverseOf(typ)
	if len(undoes) == 0 {
		return 0, nil
	}
	page, err := s.store.ListActions(ctx, weft.ActionQuery{TenantID: tenantID, Target: target, Type: undoes,
		ActionStatus: []weft.ActionStatus{weft.ActionSucceeded}, Top: 1})
	if err != nil || len(page.Actions) == 0 {
		return 0, err
	}
	return page.Actions[0].ID, nil
}

// DedupeKey returns the default dedupe key of a request: a hash of the type,
// the target and the parameters (sorted), and the DedupeWindow now falls in.
// Two requests for the same thing in the same window have the same key; one
// just across a window boundary does not, which makes the window between 0
// and 10 minutes long, which is enough for a double click or a retried POST.
func DedupeKey(typ, target string, params map[string]string, now time.Time) string {
	h := sha256.New()
	field := func(s string) {
		fmt.Fprintf(h, "%d:%s;", len(s), s)
	}
	field(typ)
	field(target)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(k)
		field(params[k])
	}
	window := now.UTC().Unix() / int64(DedupeWindow/time.Second)
	return "auto:" + hex.EncodeToString(h.Sum(nil)[:16]) + ":" + strconv.FormatInt(window, 10)
}

// NeedsApproval says whether policy makes an action of type typ requested
// by by wait for a second person: when the policy lists the type (or "*"),
// or when an automation rule asks and the policy makes every automated
// action need approval.
func NeedsApproval(p weft.ResponsePolicy, typ string, by weft.ActionActor) bool {
	if slices.Contains(p.RequireApproval, "*") || slices.Contains(p.RequireApproval, typ) {
		return true
	}
	return by.Kind == weft.ActorAutomation && p.AutomationRequiresApproval
}

func (s *Service) connectorName(typ string) string {
	if name := s.opts.ConnectorFor[typ]; name != "" {
		return name
	}
	return s.opts.DefaultConnector
}

// Approve implements weft.ActionService. Only a person approves, and never
// the person who requested the action (EFORBIDDEN, invariant 6).
func (s *Service) Approve(ctx context.Context, tenantID string, id int64, by weft.ActionActor, comment string) (*weft.Action, error) {
	a, err := s.decide(ctx, tenantID, id, by, comment, weft.ActionApproved, "approve")
	if err == nil {
		s.notify()
	}
	return a, err
}

// Reject implements weft.ActionService; the rules are Approve's (a requester
// who changed their mind cancels instead).
func (s *Service) Reject(ctx context.Context, tenantID string, id int64, by weft.ActionActor, comment string) (*weft.Action, error) {
	return s.decide(ctx, tenantID, id, by, comment, weft.ActionRejected, "reject")
}

func (s *Service) decide(ctx context.Context, tenantID string, id int64, by weft.ActionActor, comment string, to weft.ActionStatus, verb string) (*weft.Action, error) {
	by, comment, err := checkChange(tenantID, by, comment)
	if err != nil {
		return nil, err
	}
	if by.Kind != weft.ActorUser {
		return nil, weft.Errorf(weft.EFORBIDDEN, "only a person may %s an action, not %s", verb, by)
	}
	a, err := s.store.FindAction(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if samePerson(a.RequestedBy, by) {
		if a.RequestedBy.Kind == weft.ActorAutomation {
			return nil, weft.Errorf(weft.EFORBIDDEN, "%s last saved automation rule %s, which requested action %d, and cannot %s it: another responder must",
				by.Name, a.RequestedBy.Name, id, verb)
		}
		hint := ""
		if to == weft.ActionRejected {
			hint = "; cancel it instead"
		}
		return nil, weft.Errorf(weft.EFORBIDDEN, "%s requested action %d and cannot %s it: another responder must%s", by.Name, id, verb, hint)
	}
	if a.ActionStatus != weft.ActionPendingApproval {
		return nil, weft.Errorf(weft.ECONFLICT, "action %d is %s, not pending approval", id, a.ActionStatus)
	}
	return s.store.TransitionAction(ctx, weft.ActionTransition{TenantID: tenantID, ID: id, Version: a.Version,
		To: to, By: by, Message: comment, Now: s.now()})
}

// samePerson says whether two actors may be one person, for the four-eyes
// check of approvals: two users with the same name, or one is a token the
// other created, or both are tokens of one creator (ActionActor.Owner); an
// automation rule stands for its Owner, the person who last saved it, so
// that no one approves what their own rule requested. A connector or the
// system is no person. Names compare without regard to case.
func samePerson(a, b weft.ActionActor) bool {
	names := func(x weft.ActionActor) []string {
		switch {
		case x.Kind == weft.ActorAutomation && x.Owner != "":
			return []string{x.Owner}
		case x.Kind != weft.ActorUser:
			return nil
		case x.Owner != "":
			return []string{x.Name, x.Owner}
		}
		return []string{x.Name}
	}
	for _, m := range names(a) {
		for _, n := range names(b) {
			if strings.EqualFold(m, n) {
				return true
			}
		}
	}
	return false
}

// Cancel implements weft.ActionService: an action pending approval or
// approved (not yet sent) is cancelled; once dispatched, it can no longer be
// (ECONFLICT).
func (s *Service) Cancel(ctx context.Context, tenantID string, id int64, by weft.ActionActor, comment string) (*weft.Action, error) {
	by, comment, err := checkChange(tenantID, by, comment)
	if err != nil {
		return nil, err
	}
	a, err := s.store.FindAction(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if a.ActionStatus != weft.ActionPendingApproval && a.ActionStatus != weft.ActionApproved {
		return nil, weft.Errorf(weft.ECONFLICT, "action %d is %s; only an action pending approval or approved can be cancelled", id, a.ActionStatus)
	}
	return s.store.TransitionAction(ctx, weft.ActionTransition{TenantID: tenantID, ID: id, Version: a.Version,
		To: weft.ActionCancelled, By: by, Message: comment, Now: s.now()})
}

// Undo implements weft.ActionService: it requests the inverse of a succeeded
// action (EINVALID when it has none, ECONFLICT when it has not succeeded),
// which goes through approval like any request (invariant 5). Its dedupe key
// is fixed per action, so asking twice while the first undo is open answers
// the first. When the inverse succeeds, the store moves the original to
// undone.
func (s *Service) Undo(ctx context.Context, tenantID string, id int64, by weft.ActionActor, comment string) (*weft.Action, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	a, err := s.store.FindAction(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	def, ok := weft.LookupAction(a.Type)
	if !ok || def.Inverse == "" {
		return nil, weft.Errorf(weft.EINVALID, "action %d (%s) cannot be undone: the action has no inverse", id, a.Type)
	}
	if a.ActionStatus != weft.ActionSucceeded {
		return nil, weft.Errorf(weft.ECONFLICT, "action %d is %s; only a succeeded action can be undone", id, a.ActionStatus)
	}
	out, _, err := s.request(ctx, weft.ActionRequest{TenantID: tenantID, Type: def.Inverse, Target: a.Target,
		TargetName: a.TargetName, IncidentID: a.IncidentID, Comment: comment,
		DedupeKey: "undo:" + strconv.FormatInt(id, 10), By: by}, id)
	return out, err
}

// Find implements weft.ActionService.
func (s *Service) Find(ctx context.Context, tenantID string, id int64) (*weft.Action, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	return s.store.FindAction(ctx, tenantID, id)
}

// Bounds of List.
const (
	DefaultListTop = 50
	MaxListTop     = 1000
)

// List implements weft.ActionService. Top defaults to 50 and is at most
// 1000; statuses and types must exist (EINVALID).
func (s *Service) List(ctx context.Context, q weft.ActionQuery) (weft.ActionPage, error) {
	if err := checkTenant(q.TenantID); err != nil {
		return weft.ActionPage{}, err
	}
	for _, st := range q.ActionStatus {
		if !slices.Contains(weft.ActionStatuses, st) {
			return weft.ActionPage{}, weft.Errorf(weft.EINVALID, "status: %q is not an action status", truncate(string(st), 64))
		}
	}
	for _, t := range q.Type {
		if _, err := weft.CheckActionType(t); err != nil {
			return weft.ActionPage{}, err
		}
	}
	switch {
	case q.Top < 0 || q.Top > MaxListTop:
		return weft.ActionPage{}, weft.Errorf(weft.EINVALID, "top: must be from 1 to %d, not %d", MaxListTop, q.Top)
	case q.Top == 0:
		q.Top = DefaultListTop
	}
	if q.Skip < 0 {
		return weft.ActionPage{}, weft.Errorf(weft.EINVALID, "skip: must not be negative, got %d", q.Skip)
	}
	return s.store.ListActions(ctx, q)
}

// Log implements weft.ActionService.
func (s *Service) Log(ctx context.Context, tenantID string, id int64) ([]weft.ActionLogEntry, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	return s.store.ActionLog(ctx, tenantID, id)
}

// Containment implements weft.ActionService.
func (s *Service) Containment(ctx context.Context, tenantID string, keys []string) (map[string]weft.Containment, error) {
	if err := checkTenant(tenantID); err != nil {
		return nil, err
	}
	return s.store.Containment(ctx, tenantID, keys)
}

// DefaultPolicy is the policy of a tenant that has set none: manual actions
// run without approval, automated ones wait for a person (semi-automatic).
func DefaultPolicy() weft.ResponsePolicy {
	return weft.ResponsePolicy{RequireApproval: []string{}, AutomationRequiresApproval: true}
}

// ResponsePolicy implements weft.ActionService.
func (s *Service) ResponsePolicy(ctx context.Context, tenantID string) (weft.ResponsePolicy, error) {
	if err := checkTenant(tenantID); err != nil {
		return weft.ResponsePolicy{}, err
	}
	p, err := s.store.GetResponsePolicy(ctx, tenantID)
	if weft.ErrorCode(err) == weft.ENOTFOUND {
		return DefaultPolicy(), nil
	}
	if p.RequireApproval == nil {
		p.RequireApproval = []string{}
	}
	return p, err
}

// SetPolicy implements weft.ActionService. Every listed type must exist or
// be "*" (EINVALID); the list is stored sorted, without repeats.
func (s *Service) SetPolicy(ctx context.Context, tenantID string, p weft.ResponsePolicy) (weft.ResponsePolicy, error) {
	if err := checkTenant(tenantID); err != nil {
		return weft.ResponsePolicy{}, err
	}
	types := []string{}
	for i, t := range p.RequireApproval {
		if t != "*" {
			if _, ok := weft.LookupAction(t); !ok {
				return weft.ResponsePolicy{}, weft.Errorf(weft.EINVALID, "requireApproval[%d]: action %q does not exist; allowed: *, %s",
					i, truncate(t, 64), strings.Join(weft.ActionTypes(), ", "))
			}
		}
		types = append(types, t)
	}
	sort.Strings(types)
	p.RequireApproval = slices.Compact(types)
	if err := s.store.PutResponsePolicy(ctx, tenantID, p); err != nil {
		return weft.ResponsePolicy{}, err
	}
	return p, nil
}

func checkTenant(tenantID string) error {
	return weft.ValidateTenantID(tenantID)
}

// checkBy checks who asks for a change (invariant 6: every change says who).
func checkBy(by weft.ActionActor) (weft.ActionActor, error) {
	switch by.Kind {
	case weft.ActorUser, weft.ActorAutomation, weft.ActorConnector, weft.ActorSystem:
	default:
		return by, weft.Errorf(weft.EINVALID, "actor: kind %q is not one of user, automation, connector, system", truncate(string(by.Kind), 64))
	}
	name, err := checkText("actor", by.Name, MaxActorNameBytes)
	if err != nil {
		return by, err
	}
	if name == "" {
		return by, weft.Errorf(weft.EINVALID, "actor: the name of who asks must not be empty")
	}
	by.Name = name
	return by, nil
}

func checkChange(tenantID string, by weft.ActionActor, comment string) (weft.ActionActor, string, error) {
	if err := checkTenant(tenantID); err != nil {
		return by, "", err
	}
	by, err := checkBy(by)
	if err != nil {
		return by, "", err
	}
	comment, err = checkComment(comment)
	return by, comment, err
}

// checkComment allows an empty comment; a non-empty one follows
// weft.CheckCommentText.
func checkComment(c string) (string, error) {
	if strings.TrimSpace(c) == "" {
		return "", nil
	}
	return weft.CheckCommentText(c)
}

func checkText(field, s string, maxBytes int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return "", weft.Errorf(weft.EINVALID, "%s: is not valid UTF-8", field)
	case len(s) > maxBytes:
		return "", weft.Errorf(weft.EINVALID, "%s: is %d bytes long; at most %d", field, len(s), maxBytes)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", weft.Errorf(weft.EINVALID, "%s: contains a control character", field)
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// errMessage is what an action's log keeps of a connector's error: its text,
// bounded. Connectors never put a secret in an error (invariant 7).
func errMessage(err error) string {
	msg := err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "the connector did not answer in time: " + msg
	}
	return truncate(msg, 1000)
}

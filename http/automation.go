package http

import (
	"context"
	"net/http"
	"strconv"

	"github.com/weftxdr/weft"
)

// Automation and notification rules of the request's tenant
// (docs/automation.md); admins change them, viewers read them:
//
//	GET    /api/v1/automation/rules            the rules, in evaluation order
//	POST   /api/v1/automation/rules            create one (201)
//	GET    /api/v1/automation/rules/{id}       one rule (ETag: its version)
//	PUT    /api/v1/automation/rules/{id}       replace it (If-Match: version)
//	DELETE /api/v1/automation/rules/{id}       delete it (If-Match: version)
//	POST   /api/v1/automation/rules/test       {"rule": {...}, "incidentId": "7"}:
//	                                           matched or not, and what it would do
//	GET    /api/v1/automation/runs             the run log (ruleId, incidentId, $top, $skip)
//
// and the same under /api/v1/notifications/rules, with
// GET /api/v1/notifications/deliveries for the delivery log. A rule is
// validated and its condition type-checked before it is stored: a mistake
// is a 400 naming the field and, for CEL, the line and column. Notification
// URLs are answered redacted (scheme and host); a PUT without url, or with
// the redacted one, keeps the stored one.

// maxRuleBytes bounds a rule body.
const maxRuleBytes = 256 << 10

// ruleID reads the {id} of a rule path.
func ruleID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, weft.Errorf(weft.ENOTFOUND, "%s %q not found: rule ids are positive integers", what, truncateForMessage(r.PathValue("id")))
	}
	return id, nil
}

// logQuery reads ruleId, incidentId, $top and $skip of a log listing.
func logQuery(r *http.Request) (ruleID, incidentID int64, top, skip int, err error) {
	top = weft.DefaultPageSize
	for k, vs := range r.URL.Query() {
		v := vs[0]
		n, perr := strconv.ParseInt(v, 10, 64)
		switch k {
		case "ruleId":
			ruleID = n
		case "incidentId":
			incidentID = n
		case "$top":
			if perr != nil || n < 1 || n > weft.MaxPageSize {
				return 0, 0, 0, 0, weft.Errorf(weft.EINVALID, "$top must be an integer from 1 to %d, not %q", weft.MaxPageSize, truncateForMessage(v))
			}
			top = int(n)
			continue
		case "$skip":
			if perr != nil || n < 0 {
				return 0, 0, 0, 0, weft.Errorf(weft.EINVALID, "$skip must be a non-negative integer, not %q", truncateForMessage(v))
			}
			skip = int(n)
			continue
		default:
			return 0, 0, 0, 0, weft.Errorf(weft.EUNSUPPORTED, "query option %s is not supported here (supported: ruleId, incidentId, $top, $skip)", truncateForMessage(k))
		}
		if perr != nil || n <= 0 {
			return 0, 0, 0, 0, weft.Errorf(weft.EINVALID, "%s must be a positive integer id, not %q", k, truncateForMessage(v))
		}
	}
	return ruleID, incidentID, top, skip, nil
}

// ruleList is the answer of a rule listing.
type ruleList[T any] struct {
	Value []T `json:"value"`
}

// ruleKind is what differs between the two kinds of rule the handlers
// below serve alike: T the rule, S the store holding it. Every answer goes
// through shown (a notification rule's URL redacted), so no handler can
// answer a stored secret.
type ruleKind[T, S any] struct {
	what string // the kind in messages: "automation rule"
	none string // the EUNSUPPORTED message of a server without this kind

	list   func(S, context.Context, string) ([]*T, error)
	find   func(S, context.Context, string, int64) (*T, error)
	create func(S, context.Context, *T, string) (*T, error)
	update func(S, context.Context, *T, string, int64) (*T, error)
	delete func(S, context.Context, string, int64, int64) error

	// key is where a rule keeps its tenant and its id, and its version
	// (its ETag).
	key func(*T) (tenantID *string, id *int64, version int64)
	// check normalizes a rule and compiles its condition (the evaluator's
	// CheckRule or CheckNotificationRule).
	check func(weft.AutomationEvaluator, *T) error
	// test evaluates a rule on an incident.
	test func(weft.AutomationEvaluator, context.Context, *T, int64) (*weft.AutomationTest, error)
	// shown is the form a stored rule is answered in.
	shown func(*T) *T
	// keep, when set, carries over what a PUT may leave out from the stored
	// rule cur into the body b (a notification rule's URL).
	keep func(b, cur *T)
	// testDefaults, when set, fills in what a test needs but may leave out.
	testDefaults func(*T)
}

var automationRules = ruleKind[weft.AutomationRule, weft.AutomationStore]{
	what:   "automation rule",
	none:   "this server runs no automation rules",
	list:   weft.AutomationStore.AutomationRules,
	find:   weft.AutomationStore.FindAutomationRule,
	create: weft.AutomationStore.CreateAutomationRule,
	update: weft.AutomationStore.UpdateAutomationRule,
	delete: weft.AutomationStore.DeleteAutomationRule,
	key:    func(r *weft.AutomationRule) (*string, *int64, int64) { return &r.TenantID, &r.ID, r.Version },
	check:  weft.AutomationEvaluator.CheckRule,
	test:   weft.AutomationEvaluator.TestRule,
	shown:  func(r *weft.AutomationRule) *weft.AutomationRule { return r },
}

var notificationRules = ruleKind[weft.NotificationRule, weft.NotificationStore]{
	what:   "notification rule",
	none:   "this server sends no notifications",
	list:   weft.NotificationStore.NotificationRules,
	find:   weft.NotificationStore.FindNotificationRule,
	create: weft.NotificationStore.CreateNotificationRule,
	update: weft.NotificationStore.UpdateNotificationRule,
	delete: weft.NotificationStore.DeleteNotificationRule,
	key:    func(r *weft.NotificationRule) (*string, *int64, int64) { return &r.TenantID, &r.ID, r.Version },
	check:  weft.AutomationEvaluator.CheckNotificationRule,
	test:   weft.AutomationEvaluator.TestNotificationRule,
	shown:  redacted,
	// A rule read back and sent again carries the redacted URL: that, like
	// no URL at all, keeps the stored one.
	keep: func(b, cur *weft.NotificationRule) {
		if b.URL == "" || b.URL == weft.RedactURL(cur.URL) {
			b.URL = cur.URL
		}
	},
	testDefaults: func(r *weft.NotificationRule) {
		if r.URL == "" {
			r.URL = "https://example.invalid/" // a test sends nothing
		}
	},
}

// The handlers of the routes (routes.go): each serves its kind of rule
// through the generic handlers below.

func (s *Server) handleListAutomationRules(w http.ResponseWriter, r *http.Request) {
	listRules(s, w, r, &automationRules)
}
func (s *Server) handleGetAutomationRule(w http.ResponseWriter, r *http.Request) {
	getRule(s, w, r, &automationRules)
}
func (s *Server) handleCreateAutomationRule(w http.ResponseWriter, r *http.Request) {
	createRule(s, w, r, &automationRules)
}
func (s *Server) handlePutAutomationRule(w http.ResponseWriter, r *http.Request) {
	putRule(s, w, r, &automationRules)
}
func (s *Server) handleDeleteAutomationRule(w http.ResponseWriter, r *http.Request) {
	deleteRule(s, w, r, &automationRules)
}
func (s *Server) handleTestAutomationRule(w http.ResponseWriter, r *http.Request) {
	testRule(s, w, r, &automationRules)
}

func (s *Server) handleListNotificationRules(w http.ResponseWriter, r *http.Request) {
	listRules(s, w, r, &notificationRules)
}
func (s *Server) handleGetNotificationRule(w http.ResponseWriter, r *http.Request) {
	getRule(s, w, r, &notificationRules)
}
func (s *Server) handleCreateNotificationRule(w http.ResponseWriter, r *http.Request) {
	createRule(s, w, r, &notificationRules)
}
func (s *Server) handlePutNotificationRule(w http.ResponseWriter, r *http.Request) {
	putRule(s, w, r, &notificationRules)
}
func (s *Server) handleDeleteNotificationRule(w http.ResponseWriter, r *http.Request) {
	deleteRule(s, w, r, &notificationRules)
}
func (s *Server) handleTestNotificationRule(w http.ResponseWriter, r *http.Request) {
	testRule(s, w, r, &notificationRules)
}

func (s *Server) handleListAutomationRuns(w http.ResponseWriter, r *http.Request) {
	listLog(s, w, r, &automationRules, func(st weft.AutomationStore, rid, iid int64, top, skip int) ([]*weft.AutomationRun, error) {
		return st.ListAutomationRuns(r.Context(), weft.AutomationRunQuery{TenantID: tenantOf(r), RuleID: rid, IncidentID: iid, Top: top, Skip: skip})
	})
}

func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request) {
	listLog(s, w, r, &notificationRules, func(st weft.NotificationStore, rid, iid int64, top, skip int) ([]*weft.NotificationDelivery, error) {
		return st.ListDeliveries(r.Context(), weft.DeliveryQuery{TenantID: tenantOf(r), RuleID: rid, IncidentID: iid, Top: top, Skip: skip})
	})
}

// ruleStore is the server's store of kind k's rules; without one, or
// without an automation evaluator, it answers 501 and reports false.
func ruleStore[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) (S, bool) {
	st, ok := s.store.(S)
	if !ok || s.opts.Automation == nil {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "%s", k.none))
		return st, false
	}
	return st, true
}

// ruleAt is the store and the {id} of a rule path, the error already
// answered when ok is false.
func ruleAt[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) (st S, id int64, ok bool) {
	if st, ok = ruleStore(s, w, r, k); !ok {
		return st, 0, false
	}
	id, err := ruleID(r, k.what)
	if err != nil {
		s.writeError(w, r, err)
		return st, 0, false
	}
	return st, id, true
}

// ruleChangeAt is ruleAt with the version a change must find (If-Match;
// 0 when not given).
func ruleChangeAt[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) (st S, id, ifMatch int64, ok bool) {
	if st, id, ok = ruleAt(s, w, r, k); !ok {
		return st, 0, 0, false
	}
	ifMatch, err := parseIfMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return st, 0, 0, false
	}
	return st, id, ifMatch, true
}

// setKey sets the tenant of a rule read from a body and, when id > 0, its
// id (a rule's path id wins over its body's).
func (k *ruleKind[T, S]) setKey(rule *T, tenantID string, id int64) {
	tenant, idField, _ := k.key(rule)
	*tenant = tenantID
	if id > 0 {
		*idField = id
	}
}

// writeRule answers a rule with its version as the ETag.
func writeRule[T, S any](s *Server, w http.ResponseWriter, k *ruleKind[T, S], status int, rule *T) {
	_, _, version := k.key(rule)
	w.Header().Set("ETag", etag(version))
	s.writeJSON(w, status, k.shown(rule))
}

// listRules answers the tenant's rules of kind k in evaluation order.
func listRules[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) {
	st, ok := ruleStore(s, w, r, k)
	if !ok {
		return
	}
	rules, err := k.list(st, r.Context(), tenantOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]*T, len(rules))
	for i, rule := range rules {
		out[i] = k.shown(rule)
	}
	s.writeJSON(w, http.StatusOK, ruleList[*T]{Value: out})
}

// getRule answers the rule of the path, its version as the ETag.
func getRule[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) {
	st, id, ok := ruleAt(s, w, r, k)
	if !ok {
		return
	}
	rule, err := k.find(st, r.Context(), tenantOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRule(s, w, k, http.StatusOK, rule)
}

// createRule checks the body (k.check) and stores it as a new rule of the
// tenant: 201 with the rule as stored.
func createRule[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) {
	st, ok := ruleStore(s, w, r, k)
	if !ok {
		return
	}
	var b T
	if err := readRuleBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	k.setKey(&b, tenantOf(r), 0)
	if err := k.check(s.opts.Automation, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := k.create(st, r.Context(), &b, actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRule(s, w, k, http.StatusCreated, out)
}

// putRule replaces the rule of the path with the checked body, at the
// If-Match version when given (412 otherwise).
func putRule[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) {
	st, id, ifMatch, ok := ruleChangeAt(s, w, r, k)
	if !ok {
		return
	}
	var b T
	if err := readRuleBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	k.setKey(&b, tenantOf(r), id)
	if k.keep != nil {
		cur, err := k.find(st, r.Context(), tenantOf(r), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		k.keep(&b, cur)
	}
	if err := k.check(s.opts.Automation, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := k.update(st, r.Context(), &b, actorOf(r), ifMatch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeRule(s, w, k, http.StatusOK, out)
}

// deleteRule deletes the rule of the path, at the If-Match version when
// given: 204.
func deleteRule[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) {
	st, id, ifMatch, ok := ruleChangeAt(s, w, r, k)
	if !ok {
		return
	}
	if err := k.delete(st, r.Context(), tenantOf(r), id, ifMatch); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// testBody is the body of a rule test: the rule as it would be saved and
// the incident to try it on.
type testBody[T any] struct {
	Rule       *T     `json:"rule"`
	IncidentID string `json:"incidentId"`
}

func (b *testBody[T]) incident() (int64, error) {
	if b.Rule == nil {
		return 0, weft.Errorf(weft.EINVALID, "rule: is required")
	}
	id, err := strconv.ParseInt(b.IncidentID, 10, 64)
	if err != nil || id <= 0 {
		return 0, weft.Errorf(weft.EINVALID, "incidentId: is required, an incident id such as \"7\"")
	}
	return id, nil
}

// testRule checks the body's rule as createRule would (its errors under
// "rule.") and evaluates it on the body's incident; nothing is stored or
// sent.
func testRule[T, S any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S]) {
	if _, ok := ruleStore(s, w, r, k); !ok {
		return
	}
	var b testBody[T]
	if err := readRuleBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := b.incident()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k.setKey(b.Rule, tenantOf(r), 0)
	if k.testDefaults != nil {
		k.testDefaults(b.Rule)
	}
	if err := k.check(s.opts.Automation, b.Rule); err != nil {
		s.writeError(w, r, weft.Errorf(weft.ErrorCode(err), "rule.%s", weft.ErrorMessage(err)))
		return
	}
	res, err := k.test(s.opts.Automation, r.Context(), b.Rule, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, res)
}

// listLog answers a run or delivery log of kind k's rules, filtered by the
// query logQuery reads.
func listLog[T, S, E any](s *Server, w http.ResponseWriter, r *http.Request, k *ruleKind[T, S], list func(st S, ruleID, incidentID int64, top, skip int) ([]E, error)) {
	st, ok := ruleStore(s, w, r, k)
	if !ok {
		return
	}
	rid, iid, top, skip, err := logQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, err := list(st, rid, iid, top, skip)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ruleList[E]{Value: nonNilSlice(entries)})
}

// redacted returns a copy of a notification rule with its URL redacted.
func redacted(n *weft.NotificationRule) *weft.NotificationRule {
	c := *n
	c.URL = weft.RedactURL(n.URL)
	return &c
}

// readRuleBody decodes a rule body as readManageBody does (unknown members
// refused, naming them), up to maxRuleBytes.
func readRuleBody(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxRuleBytes)
	return readManageBody(w, r, v)
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

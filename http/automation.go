package http

import (
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

func (s *Server) automationStore(w http.ResponseWriter, r *http.Request) (weft.AutomationStore, bool) {
	st, ok := s.store.(weft.AutomationStore)
	if !ok || s.opts.Automation == nil {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this server runs no automation rules"))
		return nil, false
	}
	return st, true
}

func (s *Server) notificationStore(w http.ResponseWriter, r *http.Request) (weft.NotificationStore, bool) {
	st, ok := s.store.(weft.NotificationStore)
	if !ok || s.opts.Automation == nil {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this server sends no notifications"))
		return nil, false
	}
	return st, true
}

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

func (s *Server) handleListAutomationRules(w http.ResponseWriter, r *http.Request) {
	st, ok := s.automationStore(w, r)
	if !ok {
		return
	}
	rules, err := st.AutomationRules(r.Context(), tenantOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ruleList[*weft.AutomationRule]{Value: nonNilSlice(rules)})
}

func (s *Server) handleGetAutomationRule(w http.ResponseWriter, r *http.Request) {
	st, ok := s.automationStore(w, r)
	if !ok {
		return
	}
	id, err := ruleID(r, "automation rule")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rule, err := st.FindAutomationRule(r.Context(), tenantOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(rule.Version))
	s.writeJSON(w, http.StatusOK, rule)
}

// readAutomationRule reads and checks a rule body for the request's tenant.
func (s *Server) readAutomationRule(w http.ResponseWriter, r *http.Request) (*weft.AutomationRule, error) {
	var b weft.AutomationRule
	if err := readRuleBody(w, r, &b); err != nil {
		return nil, err
	}
	b.TenantID = tenantOf(r)
	if err := s.opts.Automation.CheckRule(&b); err != nil {
		return nil, err
	}
	return &b, nil
}

func (s *Server) handleCreateAutomationRule(w http.ResponseWriter, r *http.Request) {
	st, ok := s.automationStore(w, r)
	if !ok {
		return
	}
	rule, err := s.readAutomationRule(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := st.CreateAutomationRule(r.Context(), rule, actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	s.writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handlePutAutomationRule(w http.ResponseWriter, r *http.Request) {
	st, ok := s.automationStore(w, r)
	if !ok {
		return
	}
	id, err := ruleID(r, "automation rule")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch, err := parseIfMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rule, err := s.readAutomationRule(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rule.ID = id
	out, err := st.UpdateAutomationRule(r.Context(), rule, actorOf(r), ifMatch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDeleteAutomationRule(w http.ResponseWriter, r *http.Request) {
	st, ok := s.automationStore(w, r)
	if !ok {
		return
	}
	id, err := ruleID(r, "automation rule")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch, err := parseIfMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := st.DeleteAutomationRule(r.Context(), tenantOf(r), id, ifMatch); err != nil {
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

func (s *Server) handleTestAutomationRule(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.automationStore(w, r); !ok {
		return
	}
	var b testBody[weft.AutomationRule]
	if err := readRuleBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := b.incident()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b.Rule.TenantID = tenantOf(r)
	if err := s.opts.Automation.CheckRule(b.Rule); err != nil {
		s.writeError(w, r, weft.Errorf(weft.ErrorCode(err), "rule.%s", weft.ErrorMessage(err)))
		return
	}
	res, err := s.opts.Automation.TestRule(r.Context(), b.Rule, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleListAutomationRuns(w http.ResponseWriter, r *http.Request) {
	st, ok := s.automationStore(w, r)
	if !ok {
		return
	}
	rid, iid, top, skip, err := logQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	runs, err := st.ListAutomationRuns(r.Context(), weft.AutomationRunQuery{TenantID: tenantOf(r), RuleID: rid, IncidentID: iid, Top: top, Skip: skip})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ruleList[*weft.AutomationRun]{Value: nonNilSlice(runs)})
}

// redacted returns a copy of a notification rule with its URL redacted.
func redacted(n *weft.NotificationRule) *weft.NotificationRule {
	c := *n
	c.URL = weft.RedactURL(n.URL)
	return &c
}

func (s *Server) handleListNotificationRules(w http.ResponseWriter, r *http.Request) {
	st, ok := s.notificationStore(w, r)
	if !ok {
		return
	}
	rules, err := st.NotificationRules(r.Context(), tenantOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]*weft.NotificationRule, len(rules))
	for i, n := range rules {
		out[i] = redacted(n)
	}
	s.writeJSON(w, http.StatusOK, ruleList[*weft.NotificationRule]{Value: out})
}

func (s *Server) handleGetNotificationRule(w http.ResponseWriter, r *http.Request) {
	st, ok := s.notificationStore(w, r)
	if !ok {
		return
	}
	id, err := ruleID(r, "notification rule")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := st.FindNotificationRule(r.Context(), tenantOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(n.Version))
	s.writeJSON(w, http.StatusOK, redacted(n))
}

func (s *Server) handleCreateNotificationRule(w http.ResponseWriter, r *http.Request) {
	st, ok := s.notificationStore(w, r)
	if !ok {
		return
	}
	var b weft.NotificationRule
	if err := readRuleBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	b.TenantID = tenantOf(r)
	if err := s.opts.Automation.CheckNotificationRule(&b); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := st.CreateNotificationRule(r.Context(), &b, actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	s.writeJSON(w, http.StatusCreated, redacted(out))
}

func (s *Server) handlePutNotificationRule(w http.ResponseWriter, r *http.Request) {
	st, ok := s.notificationStore(w, r)
	if !ok {
		return
	}
	id, err := ruleID(r, "notification rule")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch, err := parseIfMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b weft.NotificationRule
	if err := readRuleBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	b.TenantID, b.ID = tenantOf(r), id
	cur, err := st.FindNotificationRule(r.Context(), b.TenantID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A rule read back and sent again carries the redacted URL: that, like
	// no URL at all, keeps the stored one.
	if b.URL == "" || b.URL == weft.RedactURL(cur.URL) {
		b.URL = cur.URL
	}
	if err := s.opts.Automation.CheckNotificationRule(&b); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := st.UpdateNotificationRule(r.Context(), &b, actorOf(r), ifMatch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(out.Version))
	s.writeJSON(w, http.StatusOK, redacted(out))
}

func (s *Server) handleDeleteNotificationRule(w http.ResponseWriter, r *http.Request) {
	st, ok := s.notificationStore(w, r)
	if !ok {
		return
	}
	id, err := ruleID(r, "notification rule")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ifMatch, err := parseIfMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := st.DeleteNotificationRule(r.Context(), tenantOf(r), id, ifMatch); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleTestNotificationRule(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.notificationStore(w, r); !ok {
		return
	}
	var b testBody[weft.NotificationRule]
	if err := readRuleBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := b.incident()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b.Rule.TenantID = tenantOf(r)
	if b.Rule.URL == "" {
		b.Rule.URL = "https://example.invalid/" // a test sends nothing
	}
	if err := s.opts.Automation.CheckNotificationRule(b.Rule); err != nil {
		s.writeError(w, r, weft.Errorf(weft.ErrorCode(err), "rule.%s", weft.ErrorMessage(err)))
		return
	}
	res, err := s.opts.Automation.TestNotificationRule(r.Context(), b.Rule, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request) {
	st, ok := s.notificationStore(w, r)
	if !ok {
		return
	}
	rid, iid, top, skip, err := logQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ds, err := st.ListDeliveries(r.Context(), weft.DeliveryQuery{TenantID: tenantOf(r), RuleID: rid, IncidentID: iid, Top: top, Skip: skip})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ruleList[*weft.NotificationDelivery]{Value: nonNilSlice(ds)})
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

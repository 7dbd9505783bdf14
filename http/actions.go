package http

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// The action center (issue 7, docs/respond.md): response actions requested,
// decided and followed through the API, served by Options.Actions:
//
//	POST /api/v1/actions                    request an action (201; 200 with the existing one when deduplicated)
//	GET  /api/v1/actions                    the action center: filters, $top, $skip, $count
//	GET  /api/v1/actions/export.csv         the same list as CSV
//	GET  /api/v1/actions/catalogue          the actions weft knows (entityType= to filter)
//	GET  /api/v1/actions/{id}               one action
//	GET  /api/v1/actions/{id}/log           its transitions, oldest first
//	POST /api/v1/actions/{id}/approve       {"comment": "…"} (reject, cancel, undo alike)
//	POST /api/v1/actions/callback           a webhook connector's asynchronous completion (signed; public)
//	GET  /api/v1/incidents/{id}/actions     the actions taken from one incident
//	GET  /api/v1/response/policy            the tenant's approval policy (PUT: an admin sets it)
//
// Every change is made in the name of the signed-in principal
// (weft.ActionActor of kind user), so that the state machine can refuse a
// requester approving their own action (403) and every log line says who.
// The handlers hold no state of their own: the service checks the
// catalogue, the policy and every transition.

// actionService returns the server's action service, or answers that the
// server runs without one, or that the request's tenant id is malformed.
func (s *Server) actionService(w http.ResponseWriter, r *http.Request) (weft.ActionService, bool) {
	if s.opts.Actions == nil {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "response actions are not configured on this server"))
		return nil, false
	}
	if err := weft.ValidateTenantID(tenantOf(r)); err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return s.opts.Actions, true
}

// actorOfAction is the actor of a change made through the API: the
// signed-in principal, as a user; an API token with the user who created
// it as its Owner, so that a token cannot approve its creator's requests
// (invariant 6).
func actorOfAction(r *http.Request) weft.ActionActor {
	a := weft.ActionActor{Kind: weft.ActorUser, Name: actorOf(r)}
	if p := principalOf(r); p != nil && p.Kind == weft.PrincipalToken {
		a.Owner = p.Owner
	}
	return a
}

// actionRequestBody is the body of POST /api/v1/actions.
type actionRequestBody struct {
	Type       *string           `json:"type"`
	Target     *string           `json:"target"`
	TargetName string            `json:"targetName"`
	Parameters map[string]string `json:"parameters"`
	IncidentID incidentRef       `json:"incidentId"`
	Comment    string            `json:"comment"`
	DedupeKey  string            `json:"dedupeKey"`
}

// incidentRef is an incident id sent as a JSON string or number; zero when
// left out.
type incidentRef int64

// UnmarshalJSON reads "7" or 7; anything else, or an id that is not
// positive, is refused with a message the body error names the member of.
func (ref *incidentRef) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		*ref = 0
		return nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return weft.Errorf(weft.EINVALID, "must be a positive incident id, not %s", truncateForMessage(string(b)))
	}
	*ref = incidentRef(id)
	return nil
}

func (s *Server) handleRequestAction(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.actionService(w, r)
	if !ok {
		return
	}
	var b actionRequestBody
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case b.Type == nil || *b.Type == "":
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "type: is required (an action of GET /api/v1/actions/catalogue, e.g. isolate)"))
		return
	case b.Target == nil || *b.Target == "":
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "target: is required (the entity's key, \"kind:value\", as the incident graph and entity pages give it)"))
		return
	}
	a, existed, err := svc.Request(r.Context(), weft.ActionRequest{
		TenantID:   tenantOf(r),
		Type:       *b.Type,
		Target:     *b.Target,
		TargetName: b.TargetName,
		Parameters: b.Parameters,
		IncidentID: int64(b.IncidentID),
		Comment:    b.Comment,
		DedupeKey:  b.DedupeKey,
		By:         actorOfAction(r),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/actions/"+strconv.FormatInt(a.ID, 10))
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	s.writeJSON(w, status, a)
}

// decideFunc is one of the decisions of weft.ActionService.
type decideFunc = func(ctx context.Context, tenantID string, id int64, by weft.ActionActor, comment string) (*weft.Action, error)

// actionDecision returns the handler of one decision on an action: approve,
// reject, cancel or undo. Its body, optional, is {"comment": "…"}. Undo
// answers the new action (the inverse) with 201; the others answer the
// action as the decision left it.
func (s *Server) actionDecision(decide func(weft.ActionService) decideFunc, created bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		svc, id, ok := s.actionAt(w, r, false)
		if !ok {
			return
		}
		var b struct {
			Comment string `json:"comment"`
		}
		if r.ContentLength != 0 {
			if err := readManageBody(w, r, &b); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		a, err := decide(svc)(r.Context(), tenantOf(r), id, actorOfAction(r), b.Comment)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
			w.Header().Set("Location", "/api/v1/actions/"+strconv.FormatInt(a.ID, 10))
		}
		s.writeJSON(w, status, a)
	}
}

func (s *Server) handleApproveAction() http.HandlerFunc {
	return s.actionDecision(func(svc weft.ActionService) decideFunc { return svc.Approve }, false)
}

func (s *Server) handleRejectAction() http.HandlerFunc {
	return s.actionDecision(func(svc weft.ActionService) decideFunc { return svc.Reject }, false)
}

func (s *Server) handleCancelAction() http.HandlerFunc {
	return s.actionDecision(func(svc weft.ActionService) decideFunc { return svc.Cancel }, false)
}

func (s *Server) handleUndoAction() http.HandlerFunc {
	return s.actionDecision(func(svc weft.ActionService) decideFunc { return svc.Undo }, true)
}

// actionAt is the action service and the {id} of an action path, the
// error already answered when ok is false. A read (read true) refuses the
// OData options as every read does (parseListParams).
func (s *Server) actionAt(w http.ResponseWriter, r *http.Request, read bool) (svc weft.ActionService, id int64, ok bool) {
	if svc, ok = s.actionService(w, r); !ok {
		return nil, 0, false
	}
	if read {
		if _, err := parseListParams(r.URL.Query()); err != nil {
			s.writeError(w, r, err)
			return nil, 0, false
		}
	}
	id, err := parseActionID(r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return nil, 0, false
	}
	return svc, id, true
}

func (s *Server) handleGetAction(w http.ResponseWriter, r *http.Request) {
	svc, id, ok := s.actionAt(w, r, true)
	if !ok {
		return
	}
	a, err := svc.Find(r.Context(), tenantOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, a)
}

func (s *Server) handleActionLog(w http.ResponseWriter, r *http.Request) {
	svc, id, ok := s.actionAt(w, r, true)
	if !ok {
		return
	}
	log, err := svc.Log(r.Context(), tenantOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, listResponse[weft.ActionLogEntry]{Value: nonNilSlice(log)})
}

func (s *Server) handleListActions(w http.ResponseWriter, r *http.Request) {
	s.listActions(w, r, false)
}

// handleIncidentActions serves GET /api/v1/incidents/{id}/actions: the
// action center's list limited to one incident, with the same filters.
func (s *Server) handleIncidentActions(w http.ResponseWriter, r *http.Request) {
	s.listActions(w, r, true)
}

// listActions answers the action center's list, filtered by the query
// (parseActionFilters); ofIncident limits it to the incident of the path,
// which must exist in the tenant, and refuses an incidentId filter.
func (s *Server) listActions(w http.ResponseWriter, r *http.Request, ofIncident bool) {
	svc, ok := s.actionService(w, r)
	if !ok {
		return
	}
	query := r.URL.Query()
	p, err := parseListParams(query)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var id int64
	if ofIncident {
		if id, err = parseIncidentID(r.PathValue("id")); err != nil {
			s.writeError(w, r, err)
			return
		}
		if query.Has("incidentId") {
			s.writeError(w, r, weft.Errorf(weft.EINVALID, "incidentId: the incident is the one of the path here"))
			return
		}
	}
	q, err := parseActionFilters(query)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ofIncident {
		// The incident must exist in this tenant, so that an incident
		// without actions and a missing incident are told apart.
		if _, err := s.store.FindIncident(r.Context(), tenantOf(r), id, false); err != nil {
			s.writeError(w, r, err)
			return
		}
		q.IncidentID = id
	}
	q.TenantID, q.Top, q.Skip, q.Count = tenantOf(r), p.Top, p.Skip, p.Count
	page, err := svc.List(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, p, nonNilSlice(page.Actions), page.Count, page.More)
}

// actionFilters are the query parameters of the action center's list and
// export, besides the OData options.
var actionFilters = []string{"status", "type", "entityType", "target", "incidentId", "requestedBy", "since", "until"}

// parseActionFilters reads the action center's filters: status and type
// (each one or more values, comma-separated or repeated), entityType,
// target (an entity key), incidentId, requestedBy (a name, compared as the
// service compares it) and since/until (RFC 3339: created at or after, and
// before). A parameter it does not know, a value given twice where one is
// allowed, or a malformed value is refused with a message naming it:
// a filter silently ignored would widen the list an analyst acts on.
func parseActionFilters(query url.Values) (weft.ActionQuery, error) {
	var q weft.ActionQuery
	for k, vs := range query {
		if strings.HasPrefix(k, "$") {
			continue
		}
		if !slices.Contains(actionFilters, k) {
			return q, weft.Errorf(weft.EINVALID, "query parameter %q is not supported here; the actions are filtered with %s", truncateForMessage(k), strings.Join(actionFilters, ", "))
		}
		if k != "status" && k != "type" && len(vs) > 1 {
			return q, weft.Errorf(weft.EINVALID, "%s is given %d times; give it once", k, len(vs))
		}
	}
	for _, v := range splitValues(query["status"]) {
		st := weft.ActionStatus(v)
		if !slices.Contains(weft.ActionStatuses, st) {
			names := make([]string, len(weft.ActionStatuses))
			for i, x := range weft.ActionStatuses {
				names[i] = string(x)
			}
			return q, weft.Errorf(weft.EINVALID, "status: %q is not an action status; allowed: %s", truncateForMessage(v), strings.Join(names, ", "))
		}
		if !slices.Contains(q.ActionStatus, st) {
			q.ActionStatus = append(q.ActionStatus, st)
		}
	}
	for _, v := range splitValues(query["type"]) {
		if _, err := weft.CheckActionType(v); err != nil {
			return q, err
		}
		if !slices.Contains(q.Type, v) {
			q.Type = append(q.Type, v)
		}
	}
	if v := query.Get("entityType"); query.Has("entityType") {
		t, err := weft.ParseEntityType(v)
		if err != nil {
			return q, err
		}
		if t == "" {
			return q, weft.Errorf(weft.EINVALID, "entityType: must not be empty")
		}
		q.EntityType = t
	}
	if query.Has("target") {
		if q.Target = query.Get("target"); q.Target == "" {
			return q, weft.Errorf(weft.EINVALID, "target: must not be empty; give an entity key, \"kind:value\"")
		}
	}
	if query.Has("incidentId") {
		id, err := strconv.ParseInt(query.Get("incidentId"), 10, 64)
		if err != nil || id <= 0 {
			return q, weft.Errorf(weft.EINVALID, "incidentId: %q is not an incident id (a positive integer)", truncateForMessage(query.Get("incidentId")))
		}
		q.IncidentID = id
	}
	if query.Has("requestedBy") {
		if q.RequestedBy = strings.TrimSpace(query.Get("requestedBy")); q.RequestedBy == "" {
			return q, weft.Errorf(weft.EINVALID, "requestedBy: must not be empty")
		}
	}
	for _, k := range []string{"since", "until"} {
		if !query.Has(k) {
			continue
		}
		t, err := time.Parse(time.RFC3339, query.Get(k))
		if err != nil {
			return q, weft.Errorf(weft.EINVALID, "%s: %q is not an RFC 3339 time, e.g. 2026-01-31T08:00:00Z", k, truncateForMessage(query.Get(k)))
		}
		if k == "since" {
			q.Since = t
		} else {
			q.Until = t
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, weft.Errorf(weft.EINVALID, "since: must be before until")
	}
	return q, nil
}

// splitValues splits repeated, comma-separated query values, trimmed; an
// empty value is kept, so that the caller refuses it.
func splitValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, x := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(x))
		}
	}
	return out
}

// parseActionID reads an action id of the path; anything but a positive
// integer is an action that does not exist.
func parseActionID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, weft.Errorf(weft.ENOTFOUND, "action %q not found: action ids are positive integers", truncateForMessage(s))
	}
	return id, nil
}

// handleActionCallback serves POST /api/v1/actions/callback: the webhook
// connector's callback handler (Options.ActionCallback), which checks the
// signature and completes the action itself. The route is public because
// the caller is the receiving system, not an account: the signature is its
// credential. Without a webhook connector the route does not exist (404).
func (s *Server) handleActionCallback(w http.ResponseWriter, r *http.Request) {
	if s.opts.ActionCallback == nil {
		s.writeError(w, r, weft.Errorf(weft.ENOTFOUND, "no webhook connector is configured, so there is no action callback"))
		return
	}
	s.opts.ActionCallback.ServeHTTP(w, r)
}

func (s *Server) handleGetResponsePolicy(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.actionService(w, r)
	if !ok {
		return
	}
	p, err := svc.ResponsePolicy(r.Context(), tenantOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, normalPolicy(p))
}

// handlePutResponsePolicy replaces the tenant's approval policy. Both
// members are required: a PUT that left automationRequiresApproval out
// would otherwise turn approval of automatic actions off unasked.
func (s *Server) handlePutResponsePolicy(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.actionService(w, r)
	if !ok {
		return
	}
	var b struct {
		RequireApproval            *[]string `json:"requireApproval"`
		AutomationRequiresApproval *bool     `json:"automationRequiresApproval"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case b.RequireApproval == nil:
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "requireApproval: is required (the action types that need a second person, \"*\" for all, [] for none)"))
		return
	case b.AutomationRequiresApproval == nil:
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "automationRequiresApproval: is required (true: every action an automation rule requests needs approval)"))
		return
	}
	for i, t := range *b.RequireApproval {
		if t == "*" {
			continue
		}
		if _, ok := weft.LookupAction(t); !ok {
			s.writeError(w, r, weft.Errorf(weft.EINVALID, "requireApproval[%d]: %q is not an action of the catalogue (GET /api/v1/actions/catalogue) or \"*\"", i, truncateForMessage(t)))
			return
		}
	}
	p, err := svc.SetPolicy(r.Context(), tenantOf(r), weft.ResponsePolicy{RequireApproval: *b.RequireApproval, AutomationRequiresApproval: *b.AutomationRequiresApproval})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, normalPolicy(p))
}

// normalPolicy answers an empty list as [] rather than null.
func normalPolicy(p weft.ResponsePolicy) weft.ResponsePolicy {
	if p.RequireApproval == nil {
		p.RequireApproval = []string{}
	}
	return p
}

// handleActionCatalogue serves GET /api/v1/actions/catalogue: every action
// weft can run (weft.ActionDefinitions), or with entityType= those that
// apply to one entity type.
func (s *Server) handleActionCatalogue(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	for k, vs := range query {
		if k != "entityType" {
			s.writeError(w, r, weft.Errorf(weft.EINVALID, "query parameter %q is not supported here; the catalogue is filtered with entityType", truncateForMessage(k)))
			return
		}
		if len(vs) > 1 {
			s.writeError(w, r, weft.Errorf(weft.EINVALID, "entityType is given %d times; give it once", len(vs)))
			return
		}
	}
	defs := weft.ActionDefinitions()
	if query.Has("entityType") {
		t, err := weft.ParseEntityType(query.Get("entityType"))
		if err == nil && t == "" {
			err = weft.Errorf(weft.EINVALID, "entityType: must not be empty")
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defs = slices.DeleteFunc(defs, func(d weft.ActionDefinition) bool { return !slices.Contains(d.EntityTypes, t) })
	}
	s.writeJSON(w, http.StatusOK, listResponse[weft.ActionDefinition]{Value: defs})
}

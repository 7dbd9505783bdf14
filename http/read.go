package http

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/weftxdr/weft"
)

func (s *Server) handleListAlerts(w http.ResponseWriter, r *http.Request) {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A principal limited to device groups sees the alerts of the
	// incidents that touch them (queryGroups; nil without a limit).
	q := weft.AlertQuery{TenantID: tenantOf(r), Top: p.Top, Skip: p.Skip, Count: p.Count, IncidentFilter: queryGroups(r, nil)}
	page, err := s.store.ListAlerts(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, p, page.Alerts, page.Count, page.More)
}

func (s *Server) handleGetAlert(w http.ResponseWriter, r *http.Request) {
	if _, err := parseListParams(r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.store.FindAlert(r.Context(), tenantOf(r), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, a)
}

// handleListIncidents serves GET /api/v1/incidents: the queue of the
// request's tenant or, with Weft-Tenant: *, the merged queue of every
// tenant the principal may read (tenants.go), with the same query options.
func (s *Server) handleListIncidents(w http.ResponseWriter, r *http.Request) {
	p, err := parseListOptions(r.URL.Query(), true, "alerts")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := parseQueueParams(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Expanded incidents carry up to the size cap of alerts each: keep one
	// page's answer bounded.
	if p.expands("alerts") && p.Top > maxExpandedIncidents {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "with $expand=alerts, $top must be at most %d", maxExpandedIncidents))
		return
	}
	q.TenantID, q.Top, q.Skip, q.Count, q.ExpandAlerts = tenantOf(r), p.Top, p.Skip, p.Count, p.expands("alerts")
	q.Filter = queryGroups(r, q.Filter)
	if q.TenantID == weft.AllTenants {
		// The merged queue (Weft-Tenant: *): the tenants authorize found
		// the principal may read, each row labelled with its tenantId.
		q.TenantID, q.TenantIDs = "", authOf(r).tenants
		if len(q.TenantIDs) == 0 {
			writeList(s, w, r, p, []*weft.Incident{}, 0, false)
			return
		}
	}
	page, err := s.store.ListIncidents(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, p, page.Incidents, page.Count, page.More)
}

func (s *Server) handleGetIncident(w http.ResponseWriter, r *http.Request) {
	p, err := parseListParams(r.URL.Query(), "alerts")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := parseIncidentID(r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, err := s.store.FindIncident(r.Context(), tenantOf(r), id, p.expands("alerts"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", `"`+strconv.FormatInt(inc.Version, 10)+`"`)
	s.writeJSON(w, http.StatusOK, inc)
}

func (s *Server) handleListActivity(w http.ResponseWriter, r *http.Request) {
	id, err := parseIncidentID(r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The incident must exist in this tenant, so that an empty log and a
	// missing incident are told apart.
	if _, err := s.store.FindIncident(r.Context(), tenantOf(r), id, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	keep, err := activityFilter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	acts, err := s.store.ListActivities(r.Context(), tenantOf(r), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := acts[:0]
	for _, a := range acts {
		if keep(a) {
			out = append(out, a)
		}
	}
	s.writeJSON(w, http.StatusOK, listResponse[*weft.Activity]{Value: out})
}

// activityFilter reads the filters of GET /api/v1/incidents/{id}/activity:
// type (one or more activity types, comma-separated or repeated) and actor
// (who made the change, compared case-insensitively; repeatable). Anything
// else is refused, as an unknown type is.
func activityFilter(r *http.Request) (func(*weft.Activity) bool, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "type" && k != "actor" {
			return nil, weft.Errorf(weft.EINVALID, "query parameter %q is not supported here; the activity log is filtered with type and actor", truncateForMessage(k))
		}
	}
	known := weft.ActivityTypes()
	types := map[string]bool{}
	for _, v := range q["type"] {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if !slices.Contains(known, t) {
				return nil, weft.Errorf(weft.EINVALID, "type: %q is not an activity type; allowed: %s", truncateForMessage(t), strings.Join(known, ", "))
			}
			types[t] = true
		}
	}
	var actors []string
	for _, v := range q["actor"] {
		if v = strings.TrimSpace(v); v == "" {
			return nil, weft.Errorf(weft.EINVALID, "actor: must not be empty")
		}
		actors = append(actors, v)
	}
	return func(a *weft.Activity) bool {
		if len(types) > 0 && !types[a.Type] {
			return false
		}
		if len(actors) == 0 {
			return true
		}
		for _, x := range actors {
			if strings.EqualFold(x, a.Actor) {
				return true
			}
		}
		return false
	}, nil
}

// maxExpandedIncidents bounds $top when incidents are listed with their
// alerts.
const maxExpandedIncidents = 50

func parseIncidentID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, weft.Errorf(weft.ENOTFOUND, "incident %q not found: incident ids are positive integers", truncateForMessage(s))
	}
	return id, nil
}

func truncateForMessage(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// writeList sends one page of a list in the OData collection shape, with
// @odata.count when asked for and @odata.nextLink when there is more.
func writeList[T any](s *Server, w http.ResponseWriter, r *http.Request, p listParams, items []T, count int64, more bool) {
	resp := listResponse[T]{Value: items}
	if p.Count {
		resp.Count = &count
	}
	if more {
		resp.NextLink = nextLink(r, p)
	}
	s.writeJSON(w, http.StatusOK, resp)
}

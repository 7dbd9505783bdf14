package http

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/weftxdr/weft"
)

// The action center page (issue 8, docs/respond.md): the actions that
// wait for a second responder, and the history of every action, with the
// decisions the action routes allow. Like every page it renders only its
// frame; actions.js reads /api/v1/actions, whose routes authorize each
// read and each decision (a requester approving their own action is a 403
// of the service, not something the page decides).

// actionsView is the action center's view as its query string gives it:
// the tab and the history's filters, so that a filtered history is a URL
// to share. The script turns the filters into the API's query parameters
// of the same names, which validate them; the server only fills the
// controls in.
type actionsView struct {
	Tab        string // "pending" or "history"
	Status     []string
	Type       string
	EntityType string
	Target     string
	IncidentID string
	Requester  string
	Page       int // 1-based
}

// actionsTabs are the action center's tabs; the first is the default.
var actionsTabs = []string{"pending", "history"}

// parseActionsView reads a view from a query string. A status that is not
// one of weft.ActionStatuses and a tab that is not one of actionsTabs are
// dropped, as a control cannot show them; the text filters are trimmed
// and capped (trimField), and the API refuses what they cannot be.
func parseActionsView(r *http.Request) *actionsView {
	q := r.URL.Query()
	v := &actionsView{Tab: actionsTabs[0], Page: parsePage(q.Get("page"))}
	if t := q.Get("tab"); slices.Contains(actionsTabs, t) {
		v.Tab = t
	}
	for _, raw := range q["status"] {
		for _, s := range strings.Split(raw, ",") {
			if slices.Contains(weft.ActionStatuses, weft.ActionStatus(s)) && !slices.Contains(v.Status, s) {
				v.Status = append(v.Status, s)
			}
		}
	}
	v.Type = trimField(q.Get("type"))
	v.EntityType = trimField(q.Get("entityType"))
	v.Target = trimField(q.Get("target"))
	v.IncidentID = trimField(q.Get("incidentId"))
	v.Requester = trimField(q.Get("requestedBy"))
	return v
}

// Statuses are the status filter's choices, in the state machine's order.
func (v *actionsView) Statuses() []string {
	out := make([]string, len(weft.ActionStatuses))
	for i, s := range weft.ActionStatuses {
		out[i] = string(s)
	}
	return out
}

// Has reports whether the status filter holds s (for the checkboxes).
func (v *actionsView) Has(s string) bool { return slices.Contains(v.Status, s) }

// handleActionsPage serves GET /actions: the action center.
func (s *Server) handleActionsPage(w http.ResponseWriter, r *http.Request) {
	s.renderPage(w, r, http.StatusOK, pageData{Title: "Action center", Page: "actions", Script: "actions.js", Scripts: []string{"respond.js"}, Actions: parseActionsView(r)})
}

// parsePage reads a 1-based page number; anything else is page 1.
func parsePage(s string) int {
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= 1_000_000 {
		return n
	}
	return 1
}

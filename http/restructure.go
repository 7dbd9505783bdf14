package http

import (
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// Restructuring incidents (weft.IncidentRestructurer), in Graph's shapes
// (docs/reference/defender-incidents.md §2.2, §2.3):
//
//	POST /api/v1/alerts/moveAlerts          {"alertIds":[…], "incidentId":N|null,
//	                                         "alertComment":"…", "newCorrelationReasons":[…]}
//	POST /api/v1/incidents/mergeIncidents   {"incidentIds":[…], "targetIncidentId":N,
//	                                         "incidentComment":"…", "mergeReasons":[…]}
//	POST /api/v1/incidents/{id}/split       {"alertIds":[…], "comment":"…"}
//
// Each answers 200 {"targetIncidentId":"N"}: the incident the alerts are in
// afterwards. Incident ids are accepted as JSON numbers or strings of
// digits and answered as strings, as every incident id of the API is. The
// actor is the Weft-Actor header, the tenant the Weft-Tenant header, as for
// the other manage routes. Members the body may not have are refused.

// restructureAnswer is the answer of the restructuring routes (Graph's
// mergeResponse).
type restructureAnswer struct {
	TargetIncidentID int64 `json:"targetIncidentId,string"`
}

// moveAlertsBody is the body of POST /api/v1/alerts/moveAlerts.
type moveAlertsBody struct {
	AlertIDs              []string       `json:"alertIds"`
	IncidentID            jsontext.Value `json:"incidentId"`
	AlertComment          string         `json:"alertComment"`
	NewCorrelationReasons []string       `json:"newCorrelationReasons"`
}

// mergeIncidentsBody is the body of POST /api/v1/incidents/mergeIncidents.
type mergeIncidentsBody struct {
	IncidentIDs      []jsontext.Value `json:"incidentIds"`
	TargetIncidentID jsontext.Value   `json:"targetIncidentId"`
	IncidentComment  string           `json:"incidentComment"`
	MergeReasons     []string         `json:"mergeReasons"`
}

// splitBody is the body of POST /api/v1/incidents/{id}/split.
type splitBody struct {
	AlertIDs []string `json:"alertIds"`
	Comment  string   `json:"comment"`
}

func (s *Server) incidentRestructurer(w http.ResponseWriter, r *http.Request) (weft.IncidentRestructurer, bool) {
	m, ok := s.store.(weft.IncidentRestructurer)
	if !ok {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this store does not move alerts or merge incidents"))
	}
	return m, ok
}

func (s *Server) handleMoveAlerts(w http.ResponseWriter, r *http.Request) {
	m, ok := s.incidentRestructurer(w, r)
	if !ok {
		return
	}
	var b moveAlertsBody
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	target, err := wireIncidentID("incidentId", b.IncidentID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := m.MoveAlerts(r.Context(), tenantOf(r), weft.MoveAlertsRequest{AlertIDs: b.AlertIDs, IncidentID: target,
		Comment: b.AlertComment, Reasons: b.NewCorrelationReasons}, actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, restructureAnswer{id})
}

func (s *Server) handleMergeIncidents(w http.ResponseWriter, r *http.Request) {
	m, ok := s.incidentRestructurer(w, r)
	if !ok {
		return
	}
	var b mergeIncidentsBody
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	req := weft.MergeIncidentsRequest{Comment: b.IncidentComment, Reasons: b.MergeReasons}
	for i, v := range b.IncidentIDs {
		id, err := wireIncidentID("incidentIds["+strconv.Itoa(i)+"]", v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if id == 0 {
			s.writeError(w, r, weft.Errorf(weft.EINVALID, "incidentIds[%d]: must be an incident id, not null", i))
			return
		}
		req.IncidentIDs = append(req.IncidentIDs, id)
	}
	target, err := wireIncidentID("targetIncidentId", b.TargetIncidentID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req.TargetIncidentID = target
	id, err := m.MergeIncidents(r.Context(), tenantOf(r), req, actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, restructureAnswer{id})
}

func (s *Server) handleSplitIncident(w http.ResponseWriter, r *http.Request) {
	m, ok := s.incidentRestructurer(w, r)
	if !ok {
		return
	}
	incident, err := parseIncidentID(r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b splitBody
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := m.SplitIncident(r.Context(), tenantOf(r), incident, b.AlertIDs, b.Comment, actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, restructureAnswer{id})
}

// wireIncidentID reads an incident id given as a JSON number or a string of
// digits; absent or null is 0. Anything else is EINVALID naming field.
func wireIncidentID(field string, v jsontext.Value) (int64, error) {
	switch v.Kind() {
	case 0, 'n':
		return 0, nil
	case '0', '"':
	default:
		return 0, weft.Errorf(weft.EINVALID, "%s: has the wrong type (%s); give an incident id", field, v.Kind())
	}
	id, text, ok := parseWireID(v)
	if !ok {
		return 0, weft.Errorf(weft.EINVALID, "%s: %s is not an incident id; incident ids are positive integers", field, truncateForMessage(text))
	}
	return id, nil
}

// parseWireID reads an incident id given as a JSON number or a JSON string
// of digits (Graph writes ids as strings). It returns the id, the text it
// read (the string's content, or the value as it is), and whether that is
// a positive integer.
func parseWireID(v jsontext.Value) (id int64, text string, ok bool) {
	text = string(v)
	if v.Kind() == '"' {
		if err := json.Unmarshal(v, &text); err != nil {
			return 0, string(v), false
		}
	}
	id, err := strconv.ParseInt(text, 10, 64)
	return id, text, err == nil && id > 0
}

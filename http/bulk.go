package http

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/weftxdr/weft"
)

// Bulk update from the queue (design §7: "Bulk edit from the queue"):
//
//	PATCH /api/v1/incidents
//	{"incidentIds": ["12", "13"], "changes": {"status": "inProgress"},
//	 "comment": "…", "ifMatch": {"12": 4}}
//
// applies one change (the members of PATCH /api/v1/incidents/{id}) and/or
// one comment to up to MaxBulkIncidents incidents. Each incident is changed
// on its own, in its own transaction, exactly as a PATCH of it would be
// (validation against its state, activity entries, resolving its alerts):
// one incident that refuses the change — not found, merged away, a
// determination that does not fit its classification, a stale version in
// ifMatch — does not stop the others. The answer is 200 with one result per
// incident, in the order given: its HTTP status and new version, or its
// error (and, for 412, its current version). A body that is wrong as a
// whole (no ids, repeats, too many, a change that no incident could take)
// is refused with 400 and changes nothing.

// MaxBulkIncidents bounds the incidents of one bulk update.
const MaxBulkIncidents = 100

// bulkBody is the body of PATCH /api/v1/incidents.
type bulkBody struct {
	IncidentIDs []flexID           `json:"incidentIds"`
	Changes     *incidentPatchBody `json:"changes"`
	Comment     *string            `json:"comment"`
	IfMatch     map[string]int64   `json:"ifMatch"`
}

// bulkResult is the outcome of a bulk update for one incident.
type bulkResult struct {
	ID     int64 `json:"id,string"`
	Status int   `json:"status"`
	// Version is the incident's version after the change (its ETag).
	Version int64 `json:"version,omitzero"`
	// CurrentVersion is the incident's version when ifMatch was stale.
	CurrentVersion int64        `json:"currentVersion,omitzero"`
	Error          *errorDetail `json:"error,omitempty"`
}

type bulkResponse struct {
	Value     []bulkResult `json:"value"`
	Succeeded int          `json:"succeeded"`
	Failed    int          `json:"failed"`
}

// flexID is an incident id given as a JSON string ("12", as Graph writes
// ids) or number (12).
type flexID int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	v := jsontext.Value(b)
	n, _, ok := parseWireID(v)
	if k := v.Kind(); !ok || (k != '0' && k != '"') {
		return weft.Errorf(weft.EINVALID, "%s is not an incident id; ids are positive integers", truncateForMessage(string(b)))
	}
	*f = flexID(n)
	return nil
}

func (s *Server) handleBulkUpdate(w http.ResponseWriter, r *http.Request) {
	m, ok := s.incidentManager(w, r)
	if !ok {
		return
	}
	var b bulkBody
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	ids, patch, comment, err := b.check()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, tenant, actor := r.Context(), tenantOf(r), actorOf(r)
	resp := bulkResponse{Value: make([]bulkResult, 0, len(ids))}
	for _, id := range ids {
		res := bulkResult{ID: id, Status: http.StatusOK}
		ifMatch := b.IfMatch[strconv.FormatInt(id, 10)]
		var err error
		if patch != nil {
			var inc *weft.Incident
			if inc, err = m.UpdateIncident(ctx, tenant, id, *patch, actor, ifMatch); err == nil {
				res.Version, ifMatch = inc.Version, inc.Version
			}
		}
		if err == nil && comment != nil {
			// The comment goes on the version the change left, so that
			// nothing slips between the two.
			_, res.Version, err = m.AddIncidentComment(ctx, tenant, id, *comment, actor, ifMatch)
		}
		if err != nil {
			res.Version = 0
			res.Status = statusOf(err)
			res.Error = &errorDetail{Code: weft.ErrorCode(err), Message: weft.ErrorMessage(err)}
			var stale *weft.StaleVersionError
			if errors.As(err, &stale) && stale.Current != nil {
				res.CurrentVersion = stale.Current.Version
			}
			if res.Status == http.StatusInternalServerError {
				s.writeError(w, r, err) // logs it; the store is in trouble
				return
			}
			resp.Failed++
		} else {
			resp.Succeeded++
		}
		resp.Value = append(resp.Value, res)
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// check validates the body as a whole: 1–MaxBulkIncidents distinct ids, a
// change or a comment (or both), each valid in itself, and ifMatch naming
// only listed incidents with positive versions.
func (b *bulkBody) check() ([]int64, *weft.IncidentPatch, *string, error) {
	if len(b.IncidentIDs) == 0 {
		return nil, nil, nil, weft.Errorf(weft.EINVALID, "incidentIds: give one or more incident ids")
	}
	if len(b.IncidentIDs) > MaxBulkIncidents {
		return nil, nil, nil, weft.Errorf(weft.EINVALID, "incidentIds: %d incidents; at most %d at once", len(b.IncidentIDs), MaxBulkIncidents)
	}
	ids := make([]int64, len(b.IncidentIDs))
	seen := map[int64]bool{}
	for i, id := range b.IncidentIDs {
		if seen[int64(id)] {
			return nil, nil, nil, weft.Errorf(weft.EINVALID, "incidentIds[%d]: incident %d is listed twice", i, id)
		}
		seen[int64(id)] = true
		ids[i] = int64(id)
	}
	for k, v := range b.IfMatch {
		n, err := strconv.ParseInt(k, 10, 64)
		if err != nil || !seen[n] {
			return nil, nil, nil, weft.Errorf(weft.EINVALID, "ifMatch: %q is not one of incidentIds", truncateForMessage(k))
		}
		if v <= 0 {
			return nil, nil, nil, weft.Errorf(weft.EINVALID, "ifMatch: the version of incident %d must be positive, not %d", n, v)
		}
	}
	if b.Changes == nil && b.Comment == nil {
		return nil, nil, nil, weft.Errorf(weft.EINVALID, "the body changes nothing; give changes, a comment, or both")
	}
	var patch *weft.IncidentPatch
	if b.Changes != nil {
		p, err := b.Changes.patch()
		if err != nil {
			return nil, nil, nil, prefixError("changes.", err)
		}
		// Checked once here, as a whole; the store checks each incident's
		// result again.
		if err := p.Normalize(); err != nil {
			return nil, nil, nil, prefixError("changes.", err)
		}
		patch = &p
	}
	var comment *string
	if b.Comment != nil {
		c, err := weft.CheckCommentText(*b.Comment)
		if err != nil {
			return nil, nil, nil, err
		}
		comment = &c
	}
	return ids, patch, comment, nil
}

// prefixError puts prefix before the message of an EINVALID error, whose
// messages start with the field they are about.
func prefixError(prefix string, err error) error {
	if weft.ErrorCode(err) != weft.EINVALID {
		return err
	}
	return weft.Errorf(weft.EINVALID, "%s%s", prefix, weft.ErrorMessage(err))
}

// statusOf is the HTTP status writeError would give err.
func statusOf(err error) int {
	if st, ok := statusByCode[weft.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

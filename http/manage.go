package http

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// Managing incidents and alerts (design §7):
//
//	PATCH /api/v1/incidents/{id}           status, assignedTo, classification,
//	                                       determination, customTags, displayName,
//	                                       severity, resolvingComment
//	POST  /api/v1/incidents/{id}/comments  {"comment": "…"}
//	PATCH /api/v1/alerts/{id}              status, assignedTo, classification,
//	                                       determination
//
// An incident change may carry If-Match with the ETag a GET gave (the
// incident's version): when the incident has changed since, nothing is
// applied and the answer is 412 with the current incident. Without If-Match
// the change applies to the current version. The activity log records the
// signed-in principal's name as the actor of every change (actorOf).

// ActorHeader may name who makes a change; it must then name the signed-in
// principal (case-insensitively), or the request is refused with 400, so
// that a client that means to act for someone else learns that it cannot.
// guard (auth.go) replaces it with the principal's name for the handlers.
const ActorHeader = "Weft-Actor"

// maxManageBytes bounds a manage request body: a resolving comment or a
// comment of 30,000 characters at four bytes each, escaped, fits.
const maxManageBytes = 256 << 10

func (s *Server) incidentManager(w http.ResponseWriter, r *http.Request) (weft.IncidentManager, bool) {
	m, ok := s.store.(weft.IncidentManager)
	if !ok {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this store does not manage incidents"))
	}
	return m, ok
}

// incidentPatchBody is the body of PATCH /api/v1/incidents/{id}; a member
// left out (or null) is not changed.
type incidentPatchBody struct {
	Status           *string   `json:"status"`
	AssignedTo       *string   `json:"assignedTo"`
	Classification   *string   `json:"classification"`
	Determination    *string   `json:"determination"`
	CustomTags       *[]string `json:"customTags"`
	DisplayName      *string   `json:"displayName"`
	Severity         *string   `json:"severity"`
	ResolvingComment *string   `json:"resolvingComment"`
}

// patch parses the wire values of the body into a patch; a body that
// changes nothing is EINVALID.
func (b *incidentPatchBody) patch() (weft.IncidentPatch, error) {
	var p weft.IncidentPatch
	if err := errors.Join(
		parseInto(&p.Status, "status", b.Status, weft.ParseIncidentStatus),
		parseInto(&p.Classification, "classification", b.Classification, weft.ParseClassification),
		parseInto(&p.Determination, "determination", b.Determination, weft.ParseDetermination),
		parseInto(&p.Severity, "severity", b.Severity, weft.ParseSeverity),
	); err != nil {
		return p, firstError(err)
	}
	p.AssignedTo, p.CustomTags, p.DisplayName, p.ResolvingComment = b.AssignedTo, b.CustomTags, b.DisplayName, b.ResolvingComment
	if p.Empty() {
		return p, weft.Errorf(weft.EINVALID, "the body changes nothing; give one or more of status, assignedTo, classification, determination, customTags, displayName, severity, resolvingComment")
	}
	return p, nil
}

// alertPatchBody is the body of PATCH /api/v1/alerts/{id}.
type alertPatchBody struct {
	Status         *string `json:"status"`
	AssignedTo     *string `json:"assignedTo"`
	Classification *string `json:"classification"`
	Determination  *string `json:"determination"`
}

// staleBody is the answer to a change made with a stale If-Match: the error
// and the incident as it is now.
type staleBody struct {
	Error    errorDetail    `json:"error"`
	Incident *weft.Incident `json:"incident"`
}

func (s *Server) handlePatchIncident(w http.ResponseWriter, r *http.Request) {
	m, ok := s.incidentManager(w, r)
	if !ok {
		return
	}
	id, ifMatch, err := incidentAndVersion(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b incidentPatchBody
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := b.patch()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	inc, err := m.UpdateIncident(r.Context(), tenantOf(r), id, p, actorOf(r), ifMatch)
	if err != nil {
		s.writeManageError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(inc.Version))
	s.writeJSON(w, http.StatusOK, inc)
}

func (s *Server) handlePostComment(w http.ResponseWriter, r *http.Request) {
	m, ok := s.incidentManager(w, r)
	if !ok {
		return
	}
	id, ifMatch, err := incidentAndVersion(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b struct {
		Comment *string `json:"comment"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Comment == nil {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "comment: is required"))
		return
	}
	c, version, err := m.AddIncidentComment(r.Context(), tenantOf(r), id, *b.Comment, actorOf(r), ifMatch)
	if err != nil {
		s.writeManageError(w, r, err)
		return
	}
	w.Header().Set("ETag", etag(version))
	s.writeJSON(w, http.StatusCreated, c)
}

func (s *Server) handlePatchAlert(w http.ResponseWriter, r *http.Request) {
	m, ok := s.incidentManager(w, r)
	if !ok {
		return
	}
	var b alertPatchBody
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	var p weft.AlertPatch
	if err := errors.Join(
		parseInto(&p.Status, "status", b.Status, weft.ParseAlertStatus),
		parseInto(&p.Classification, "classification", b.Classification, weft.ParseClassification),
		parseInto(&p.Determination, "determination", b.Determination, weft.ParseDetermination),
	); err != nil {
		s.writeError(w, r, firstError(err))
		return
	}
	p.AssignedTo = b.AssignedTo
	if p.Empty() {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "the body changes nothing; give one or more of status, assignedTo, classification, determination"))
		return
	}
	a, err := m.UpdateAlert(r.Context(), tenantOf(r), r.PathValue("id"), p, actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, a)
}

// writeManageError answers a stale version with 412, the error and the
// current incident (with its ETag); any other error as writeError does.
func (s *Server) writeManageError(w http.ResponseWriter, r *http.Request, err error) {
	var stale *weft.StaleVersionError
	if errors.As(err, &stale) && stale.Current != nil {
		w.Header().Set("ETag", etag(stale.Current.Version))
		s.writeJSON(w, http.StatusPreconditionFailed, staleBody{
			Error:    errorDetail{Code: weft.ErrorCode(err), Message: weft.ErrorMessage(err)},
			Incident: stale.Current,
		})
		return
	}
	s.writeError(w, r, err)
}

// readManageBody decodes a JSON object body into v, refusing members v does
// not have (naming them) and bodies over maxManageBytes.
func readManageBody(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &weft.Error{Code: codeUnsupportedMedia, Message: "the body is sent as application/json, not " + truncateForMessage(ct)}
		}
	}
	body, err := readBody(w, r, maxManageBytes, fmt.Sprintf("the limit is %d bytes", maxManageBytes))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		var se *json.SemanticError
		if errors.As(err, &se) && se.JSONPointer != "" {
			return weft.Errorf(weft.EINVALID, "%s: %s", strings.TrimPrefix(string(se.JSONPointer), "/"), semanticReason(se))
		}
		return weft.Errorf(weft.EINVALID, "the body is not a valid JSON object of the expected members: %v", err)
	}
	return nil
}

// semanticReason says why a member was refused.
func semanticReason(se *json.SemanticError) string {
	if errors.Is(se.Err, json.ErrUnknownName) {
		return "is not a member that can be changed here"
	}
	var we *weft.Error
	if errors.As(se.Err, &we) {
		return weft.ErrorMessage(we)
	}
	if se.JSONKind != 0 {
		return "has the wrong type (" + se.JSONKind.String() + ")"
	}
	return "is not valid"
}

// parseInto parses an optional wire value of field with parse and stores it
// in dst; an empty value is refused (leave the member out to keep the value).
func parseInto[T ~string](dst **T, field string, v *string, parse func(string) (T, error)) error {
	if v == nil {
		return nil
	}
	if *v == "" {
		return weft.Errorf(weft.EINVALID, "%s: must not be empty; leave it out to keep the current value", field)
	}
	t, err := parse(*v)
	if err != nil {
		return err
	}
	*dst = &t
	return nil
}

// firstError returns the first error that errors.Join joined.
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
		return j.Unwrap()[0]
	}
	return err
}

// parseIfMatch reads If-Match: one entity tag, strong or weak ("7", W/"7",
// or 7), or *, which like no header means any version (0).
func parseIfMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v := strings.TrimPrefix(h, "W/")
	v = strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, weft.Errorf(weft.EINVALID, "If-Match: %q is not an incident version; send the ETag a GET of the incident gave, e.g. \"7\"", truncateForMessage(h))
	}
	return n, nil
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// incidentAndVersion reads the incident id of the path and the version of
// If-Match (0 without one) of a request that changes an incident.
func incidentAndVersion(r *http.Request) (id, ifMatch int64, err error) {
	if id, err = parseIncidentID(r.PathValue("id")); err != nil {
		return 0, 0, err
	}
	if ifMatch, err = parseIfMatch(r); err != nil {
		return 0, 0, err
	}
	return id, ifMatch, nil
}

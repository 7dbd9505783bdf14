package http

import (
	"fmt"
	"mime"
	"net/http"

	"github.com/weftxdr/weft"
)

// The correlation policy of the request's tenant (docs/correlation.md §7):
//
//	GET    /api/v1/correlation/policy  the effective policy and its source
//	PUT    /api/v1/correlation/policy  set the tenant's own policy (JSON;
//	                                   settings left out keep the default's)
//	DELETE /api/v1/correlation/policy  back to the file's policy or the default
//
// Each answers with the tenant's effective policy after the request.

// maxPolicyBytes bounds a policy body: a thousand exclusions fit easily.
const maxPolicyBytes = 1 << 20

func (s *Server) policyStore(w http.ResponseWriter, r *http.Request) (weft.PolicyStore, bool) {
	ps, ok := s.store.(weft.PolicyStore)
	if !ok {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this store keeps no correlation policies"))
	}
	return ps, ok
}

func (s *Server) handleGetPolicy(w http.ResponseWriter, r *http.Request) {
	ps, ok := s.policyStore(w, r)
	if !ok {
		return
	}
	p, err := ps.TenantPolicy(r.Context(), tenantOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

func (s *Server) handlePutPolicy(w http.ResponseWriter, r *http.Request) {
	ps, ok := s.policyStore(w, r)
	if !ok {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			s.writeError(w, r, &weft.Error{Code: codeUnsupportedMedia, Message: "a correlation policy is sent as application/json, not " + truncateForMessage(ct)})
			return
		}
	}
	body, err := readBody(w, r, maxPolicyBytes, fmt.Sprintf("a correlation policy is at most %d bytes", maxPolicyBytes))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := ps.SetTenantPolicy(r.Context(), tenantOf(r), body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

func (s *Server) handleDeletePolicy(w http.ResponseWriter, r *http.Request) {
	ps, ok := s.policyStore(w, r)
	if !ok {
		return
	}
	p, err := ps.DeleteTenantPolicy(r.Context(), tenantOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

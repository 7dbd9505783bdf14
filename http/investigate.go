package http

import (
	"net/http"
	"strconv"

	"github.com/weftxdr/weft"
)

// The investigation views of one incident (design §6), each built by
// weft.BuildInvestigation from what the store's Investigate reads:
//
//	GET /api/v1/incidents/{id}/story     alerts in event-time order and the incident graph
//	GET /api/v1/incidents/{id}/origin    the entry point and the path across entities
//	GET /api/v1/incidents/{id}/assets    impacted devices, users, mailboxes and apps
//	GET /api/v1/incidents/{id}/evidence  every evidence record of every alert
//	GET /api/v1/incidents/{id}/related   related incidents and those merged into it
//
// A view of a redirected incident (merged into another) answers 308 with a
// Location of the same view of the incident it was merged into, and the
// redirect in the body.

// redirectedBody is the answer for a view of a redirected incident.
type redirectedBody struct {
	Error              errorDetail `json:"error"`
	RedirectIncidentID int64       `json:"redirectIncidentId,string"`
}

// investigationView returns a handler that answers one view of
// weft.InvestigationViews.
func (s *Server) investigationView(name string, view func(*weft.InvestigationViews) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := parseListParams(r.URL.Query()); err != nil {
			s.writeError(w, r, err)
			return
		}
		id, err := parseIncidentID(r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		is, ok := s.store.(weft.InvestigationStore)
		if !ok {
			s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this store does not serve incident investigation"))
			return
		}
		inv, err := is.Investigate(r.Context(), tenantOf(r), id)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		inc := inv.Incident
		if inc.Status == weft.IncidentStatusRedirected && inc.RedirectIncidentID != 0 {
			to := strconv.FormatInt(inc.RedirectIncidentID, 10)
			w.Header().Set("Location", "/api/v1/incidents/"+to+"/"+name)
			s.writeJSON(w, http.StatusPermanentRedirect, redirectedBody{
				Error: errorDetail{"redirected", "incident " + strconv.FormatInt(id, 10) +
					" was merged into incident " + to},
				RedirectIncidentID: inc.RedirectIncidentID,
			})
			return
		}
		views := weft.BuildInvestigation(inv)
		// The views that show entities show their containment too
		// (containment.go).
		if name == "story" || name == "origin" || name == "assets" {
			if err := s.fillInvestigationContainment(r.Context(), tenantOf(r), views); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		w.Header().Set("ETag", `"`+strconv.FormatInt(inc.Version, 10)+`"`)
		s.writeJSON(w, http.StatusOK, view(views))
	}
}

func (s *Server) handleIncidentStory() http.HandlerFunc {
	return s.investigationView("story", func(v *weft.InvestigationViews) any { return v.Story })
}

func (s *Server) handleIncidentOrigin() http.HandlerFunc {
	return s.investigationView("origin", func(v *weft.InvestigationViews) any { return v.Origin })
}

func (s *Server) handleIncidentAssets() http.HandlerFunc {
	return s.investigationView("assets", func(v *weft.InvestigationViews) any { return v.Assets })
}

func (s *Server) handleIncidentEvidence() http.HandlerFunc {
	return s.investigationView("evidence", func(v *weft.InvestigationViews) any { return v.Evidence })
}

func (s *Server) handleIncidentRelated() http.HandlerFunc {
	return s.investigationView("related", func(v *weft.InvestigationViews) any { return v.Related })
}

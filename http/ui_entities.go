package http

import (
	"net/http"
	"strings"

	"github.com/weftxdr/weft"
)

// The entity pages (issue 8, design §6): one device, user, mailbox… with
// its names, criticality, containment, alerts and incidents over time, and
// the search that finds it. The page renders its frame with the type and
// id of its address; entity.js reads GET /api/v1/entities/{type}/{id},
// which resolves the id (any name of the entity) and answers 404 for an
// entity that is not there or not the tenant's.

// entityPageView is what the entity page's frame needs: the type and id of
// its address, or the search text of the search page.
type entityPageView struct {
	Type   string // a weft.EntityType; "" on the search page
	ID     string // as the address gives it, unescaped
	Search string
}

// handleEntitySearchPage serves GET /entities?search=TEXT&type=T: the
// entity search. The script asks GET /api/v1/entities with the same
// parameters.
func (s *Server) handleEntitySearchPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := &entityPageView{Search: trimField(q.Get("search"))}
	if t, err := weft.ParseEntityType(q.Get("type")); err == nil {
		v.Type = string(t)
	}
	s.renderPage(w, r, http.StatusOK, pageData{Title: "Entities", Page: "entity", Script: "entity.js", Scripts: []string{"respond.js"}, Entity: v})
}

// handleEntityPage serves GET /entities/{type}/{id...}. The id is the rest
// of the path, so that a URL or a DOMAIN\user needs no escaping beyond
// the path's own; the page's script path-escapes it for the API. A type
// that is not one answers the page with status 404 and the allowed types.
func (s *Server) handleEntityPage(w http.ResponseWriter, r *http.Request) {
	typ, err := weft.ParseEntityType(r.PathValue("type"))
	id := r.PathValue("id")
	if err != nil || id == "" {
		s.renderPage(w, r, http.StatusNotFound, pageData{Title: "Entity not found", Page: "entity", Script: "entity.js", Scripts: []string{"respond.js"},
			Entity: &entityPageView{}, Message: entityPageError(err)})
		return
	}
	if len(id) > 1024 {
		id = id[:1024]
	}
	s.renderPage(w, r, http.StatusOK, pageData{Title: string(typ) + " " + strings.ToValidUTF8(truncateForMessage(id), ""), Page: "entity", Script: "entity.js", Scripts: []string{"respond.js"},
		Entity: &entityPageView{Type: string(typ), ID: id}})
}

// entityPageError is the message of an entity address that names no
// entity: the type's error, or the missing id's.
func entityPageError(err error) string {
	if err != nil {
		return weft.ErrorMessage(err)
	}
	return "The address names an entity type but no entity."
}

// Types are the search's type filter's choices.
func (v *entityPageView) Types() []string {
	out := make([]string, len(weft.EntityTypes))
	for i, t := range weft.EntityTypes {
		out[i] = string(t)
	}
	return out
}

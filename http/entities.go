package http

import (
	"net/http"
	"strconv"

	"github.com/weftxdr/weft"
)

// Entity pages (design §6), served by a store that is a weft.EntityStore:
//
//	GET /api/v1/entities/{type}/{id}                   one entity with a page of its alerts and its incidents
//	GET /api/v1/entities?search=TEXT&type=T&$top=N     entities whose name or key starts with TEXT
//
// {id} is the entity's key or any of its names, path-escaped as one path
// segment ("/" as %2F, "\" as %5C): /api/v1/entities/user/CONTOSO%5Cjdoe,
// /api/v1/entities/url/https:%2F%2Fevil.example%2Flogin.

// entityView is the answer of GET /api/v1/entities/{type}/{id}: the entity
// page, and the link to the next page of its alerts when there is one.
type entityView struct {
	NextLink string `json:"@odata.nextLink,omitempty"`
	*weft.EntityView
}

func (s *Server) handleGetEntity(w http.ResponseWriter, r *http.Request) {
	p, err := parseListParams(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Count {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "$count is not supported on an entity page: it always carries alertCount and incidentCount"))
		return
	}
	es, ok := s.store.(weft.EntityStore)
	if !ok {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this store does not serve entity pages"))
		return
	}
	typ, err := weft.ParseEntityType(r.PathValue("type"))
	if err != nil || typ == "" {
		// ParseEntityType takes the legacy names ("account", "host");
		// CheckEntityRequest names the allowed ones.
		typ = weft.EntityType(r.PathValue("type"))
	}
	v, err := es.FindEntity(r.Context(), tenantOf(r), typ, r.PathValue("id"), weft.EntityAlertQuery{Top: p.Top, Skip: p.Skip})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.fillEntityContainment(r.Context(), tenantOf(r), v); err != nil {
		s.writeError(w, r, err)
		return
	}
	ans := entityView{EntityView: v}
	if v.MoreAlerts {
		ans.NextLink = nextLink(r, p)
	}
	s.writeJSON(w, http.StatusOK, ans)
}

func (s *Server) handleSearchEntities(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, err := parseListParams(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Skip != 0 || p.Count {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "entity search takes search, type and $top only"))
		return
	}
	es, ok := s.store.(weft.EntityStore)
	if !ok {
		s.writeError(w, r, weft.Errorf(weft.EUNSUPPORTED, "this store does not serve entity search"))
		return
	}
	for _, k := range []string{"search", "type"} {
		if len(q[k]) > 1 {
			s.writeError(w, r, weft.Errorf(weft.EINVALID, "%s is given %d times; give it once", k, len(q[k])))
			return
		}
	}
	search := weft.EntitySearch{Text: q.Get("search")}
	if q.Has("$top") {
		search.Top = p.Top
	}
	if t := q.Get("type"); t != "" {
		if search.Type, err = weft.ParseEntityType(t); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if search.Top > weft.MaxEntitySearch {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "$top must be from 1 to %d for an entity search, not %s",
			weft.MaxEntitySearch, strconv.Itoa(search.Top)))
		return
	}
	found, err := es.SearchEntities(r.Context(), tenantOf(r), search)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, listResponse[weft.EntitySummary]{Value: found})
}

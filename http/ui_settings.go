package http

import (
	"net/http"
	"slices"

	"github.com/weftxdr/weft"
)

// The settings pages (issue 8 "Settings"): one page, /settings, whose
// ?section= picks what it shows, so that each section is a URL to share.
// Like every page it shows only its frame; settings.js reads and changes
// the settings through the admin API, whose routes decide who may do
// what. The page itself only tells a principal without the admin role
// anywhere that the settings need it, instead of a page of refusals.

// settingsSection is one section of the settings page.
type settingsSection struct {
	Key, Name string
	// Server is set on the sections whose API needs admin of every tenant
	// (users, tokens, tenants, audit: scopeServer in routes.go); an admin
	// of some tenants only is told so by the section.
	Server bool
}

// settingsSections are the sections in the order the page lists them; the
// first is the default.
var settingsSections = []settingsSection{
	{Key: "correlation", Name: "Correlation policy"},
	{Key: "assets", Name: "Assets"},
	{Key: "response", Name: "Response"},
	{Key: "automation", Name: "Automation rules"},
	{Key: "notifications", Name: "Notification rules"},
	{Key: "users", Name: "Users", Server: true},
	{Key: "tokens", Name: "API tokens", Server: true},
	{Key: "tenants", Name: "Tenants", Server: true},
	{Key: "audit", Name: "Audit log", Server: true},
}

// settingsView is what the settings template gets.
type settingsView struct {
	Sections []settingsSection
	Current  settingsSection
	// Admin: the principal holds the admin role in some tenant. Without
	// it the page shows only the "needs the admin role" state.
	Admin bool
}

// isAdminSomewhere reports whether p holds the admin role in some tenant
// (or in every one): who sees the Settings link and page.
func isAdminSomewhere(p *weft.Principal) bool {
	if p == nil {
		return false
	}
	return slices.ContainsFunc(p.Grants, func(g weft.Grant) bool { return g.Role == weft.RoleAdmin })
}

// handleSettingsPage serves GET /settings?section=KEY. An unknown or
// missing section shows the first.
func (s *Server) handleSettingsPage(w http.ResponseWriter, r *http.Request) {
	v := &settingsView{Sections: settingsSections, Current: settingsSections[0]}
	key := r.URL.Query().Get("section")
	if i := slices.IndexFunc(settingsSections, func(x settingsSection) bool { return x.Key == key }); i >= 0 {
		v.Current = settingsSections[i]
	}
	if a := authOf(r); a != nil {
		v.Admin = isAdminSomewhere(a.principal)
	}
	s.renderPage(w, r, http.StatusOK, pageData{Title: "Settings · " + v.Current.Name, Page: "settings", Script: "settings.js", Settings: v})
}

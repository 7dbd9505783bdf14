package http

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/weftxdr/weft"
)

// The route table: every route of the API with what a request needs to
// reach its handler (docs/security.md, "Enforcement"). registerRoutes wraps
// every handler in the authentication and authorization middleware
// (auth.go); there is no other way to add a route, so a route cannot be
// added without saying who may call it, and the authorization matrix test
// (authz_matrix_test.go) is generated from this table.

// routeScope says where a route's role must be held.
type routeScope int

const (
	// scopeTenant: the role in the tenant the request names (Weft-Tenant;
	// the default tenant without it). A tenant the principal holds
	// nothing in answers 404.
	scopeTenant routeScope = iota
	// scopeServer: the role in every tenant (a "*" grant). Users, tokens,
	// the audit log and the metrics are server-wide.
	scopeServer
	// scopeSelf: any signed-in principal, whatever its grants; the handler
	// answers only about the principal itself (me, logout, its tenants).
	scopeSelf
	// scopePublic: no credentials (health, readiness, the OpenAPI
	// document, sign-in).
	scopePublic
)

// groupLimit says how a route serves a principal whose access in the
// tenant is limited to device groups (weft.Access.DeviceGroups).
type groupLimit int

const (
	// groupsRefused: the route cannot be limited yet; a limited principal
	// gets 403. The default, so that a new route is closed to them until
	// it is made to honour the limit.
	groupsRefused groupLimit = iota
	// groupsQuery: the handler applies the limit itself: it ANDs it into
	// its incident query (queryGroups: the queue, its export, the alert
	// list through their incidents), or, for the event stream, skips the
	// events of incidents outside the groups.
	groupsQuery
	// groupsIncident: the middleware answers 404 unless the incident of
	// the path ({id}) touches one of the groups.
	groupsIncident
	// groupsAlert: the middleware answers 404 unless the incident of the
	// alert of the path ({id}) touches one of the groups.
	groupsAlert
)

// route is one entry of the route table.
type route struct {
	// pattern is the ServeMux pattern, always with its method.
	pattern string
	// need is the weakest role that may call the route; it must be set for
	// scopeTenant and scopeServer and empty otherwise.
	need   weft.Role
	scope  routeScope
	groups groupLimit
	// merged: the route also serves the tenant "*" (Weft-Tenant: *), the
	// merged queue of every tenant the principal may read (authorize,
	// mergedTenants); any other scopeTenant route refuses "*" (400).
	merged bool
	// page: the route is a page of the web UI (ui.go), for a browser. A
	// request without a usable session is sent to the sign-in page (303)
	// instead of answered 401 JSON. A page is a GET open to every
	// signed-in principal (scopeSelf) or to everyone (scopePublic).
	page    bool
	handler http.HandlerFunc
}

// routeTable returns every route of the API.
func (s *Server) routeTable() []route {
	const (
		viewer, analyst, admin = weft.RoleViewer, weft.RoleAnalyst, weft.RoleAdmin
		responder              = weft.RoleResponder
	)
	return []route{
		{pattern: "GET /healthz", scope: scopePublic, handler: s.handleHealth},
		{pattern: "GET /readyz", scope: scopePublic, handler: s.handleReady},
		{pattern: "GET /api/v1/openapi.json", scope: scopePublic, handler: s.handleOpenAPI},
		// Metrics count every tenant's traffic, so they need a role in
		// every tenant; a viewer's is enough (a "*" viewer token is what a
		// Prometheus job gets): they hold counts, never alert content.
		{pattern: "GET /metrics", need: viewer, scope: scopeServer, handler: s.metrics.handler(s.opts.Registry).ServeHTTP},

		{pattern: "POST /api/v1/auth/login", scope: scopePublic, handler: s.handleLogin},
		{pattern: "GET /api/v1/auth/oidc/login", scope: scopePublic, handler: s.handleOIDCLogin},
		{pattern: "GET /api/v1/auth/oidc/callback", scope: scopePublic, handler: s.handleOIDCCallback},
		{pattern: "POST /api/v1/auth/logout", scope: scopeSelf, handler: s.handleLogout},
		{pattern: "GET /api/v1/auth/me", scope: scopeSelf, handler: s.handleMe},
		{pattern: "POST /api/v1/auth/password", scope: scopeSelf, handler: s.handleChangePassword},
		{pattern: "GET /api/v1/tenants", scope: scopeSelf, handler: s.handleListTenants},
		// Tenants are created, renamed, disabled and enabled by an admin of
		// every tenant (tenants.go).
		{pattern: "POST /api/v1/tenants", need: admin, scope: scopeServer, handler: s.handleCreateTenant},
		{pattern: "GET /api/v1/tenants/{id}", need: admin, scope: scopeServer, handler: s.handleGetTenant},
		{pattern: "PATCH /api/v1/tenants/{id}", need: admin, scope: scopeServer, handler: s.handlePatchTenant},

		{pattern: "GET /api/v1/users", need: admin, scope: scopeServer, handler: s.handleListUsers},
		{pattern: "POST /api/v1/users", need: admin, scope: scopeServer, handler: s.handleCreateUser},
		{pattern: "PATCH /api/v1/users/{id}", need: admin, scope: scopeServer, handler: s.handlePatchUser},
		{pattern: "POST /api/v1/users/{id}/password", need: admin, scope: scopeServer, handler: s.handleSetPassword},
		{pattern: "GET /api/v1/tokens", need: admin, scope: scopeServer, handler: s.handleListTokens},
		{pattern: "POST /api/v1/tokens", need: admin, scope: scopeServer, handler: s.handleCreateToken},
		{pattern: "DELETE /api/v1/tokens/{id}", need: admin, scope: scopeServer, handler: s.handleRevokeToken},
		{pattern: "GET /api/v1/audit", need: admin, scope: scopeServer, handler: s.handleListAudit},

		{pattern: "POST /api/v1/alerts", need: analyst, handler: s.handleIngest},
		{pattern: "POST /api/v1/ingest/{format}", need: analyst, handler: s.handleIngest},
		{pattern: "GET /api/v1/alerts", need: viewer, groups: groupsQuery, handler: s.handleListAlerts},
		{pattern: "GET /api/v1/alerts/{id}", need: viewer, groups: groupsAlert, handler: s.handleGetAlert},
		{pattern: "PATCH /api/v1/alerts/{id}", need: analyst, groups: groupsAlert, handler: s.handlePatchAlert},
		{pattern: "POST /api/v1/alerts/moveAlerts", need: analyst, handler: s.handleMoveAlerts},

		{pattern: "GET /api/v1/incidents", need: viewer, groups: groupsQuery, merged: true, handler: s.handleListIncidents},
		{pattern: "PATCH /api/v1/incidents", need: analyst, handler: s.handleBulkUpdate},
		{pattern: "GET /api/v1/incidents/export.csv", need: viewer, groups: groupsQuery, merged: true, handler: s.handleExportIncidents},
		{pattern: "POST /api/v1/incidents/mergeIncidents", need: analyst, handler: s.handleMergeIncidents},
		{pattern: "GET /api/v1/incidents/{id}", need: viewer, groups: groupsIncident, handler: s.handleGetIncident},
		{pattern: "PATCH /api/v1/incidents/{id}", need: analyst, groups: groupsIncident, handler: s.handlePatchIncident},
		{pattern: "POST /api/v1/incidents/{id}/comments", need: analyst, groups: groupsIncident, handler: s.handlePostComment},
		{pattern: "POST /api/v1/incidents/{id}/split", need: analyst, handler: s.handleSplitIncident},
		{pattern: "GET /api/v1/incidents/{id}/activity", need: viewer, groups: groupsIncident, handler: s.handleListActivity},
		{pattern: "GET /api/v1/incidents/{id}/story", need: viewer, groups: groupsIncident, handler: s.handleIncidentStory()},
		{pattern: "GET /api/v1/incidents/{id}/origin", need: viewer, groups: groupsIncident, handler: s.handleIncidentOrigin()},
		{pattern: "GET /api/v1/incidents/{id}/assets", need: viewer, groups: groupsIncident, handler: s.handleIncidentAssets()},
		{pattern: "GET /api/v1/incidents/{id}/evidence", need: viewer, groups: groupsIncident, handler: s.handleIncidentEvidence()},
		{pattern: "GET /api/v1/incidents/{id}/related", need: viewer, groups: groupsIncident, handler: s.handleIncidentRelated()},
		{pattern: "GET /api/v1/incidents/{id}/actions", need: viewer, groups: groupsIncident, handler: s.handleIncidentActions},

		// Response actions (actions.go). A principal limited to device
		// groups is refused all but the incident's list above: an action's
		// target need not be in any incident it may see.
		{pattern: "POST /api/v1/actions", need: responder, handler: s.handleRequestAction},
		{pattern: "GET /api/v1/actions", need: viewer, handler: s.handleListActions},
		{pattern: "GET /api/v1/actions/export.csv", need: viewer, handler: s.handleExportActions},
		{pattern: "GET /api/v1/actions/catalogue", need: viewer, handler: s.handleActionCatalogue},
		{pattern: "GET /api/v1/actions/{id}", need: viewer, handler: s.handleGetAction},
		{pattern: "GET /api/v1/actions/{id}/log", need: viewer, handler: s.handleActionLog},
		{pattern: "POST /api/v1/actions/{id}/approve", need: responder, handler: s.handleApproveAction()},
		{pattern: "POST /api/v1/actions/{id}/reject", need: responder, handler: s.handleRejectAction()},
		{pattern: "POST /api/v1/actions/{id}/cancel", need: responder, handler: s.handleCancelAction()},
		{pattern: "POST /api/v1/actions/{id}/undo", need: responder, handler: s.handleUndoAction()},
		// The webhook connector's callback: the receiving system signs it
		// (docs/connectors.md); it holds no account.
		{pattern: "POST /api/v1/actions/callback", scope: scopePublic, handler: s.handleActionCallback},
		{pattern: "GET /api/v1/response/policy", need: viewer, handler: s.handleGetResponsePolicy},
		{pattern: "PUT /api/v1/response/policy", need: admin, handler: s.handlePutResponsePolicy},
		{pattern: "GET /api/v1/response/connectors", need: viewer, handler: s.handleResponseConnectors},

		{pattern: "GET /api/v1/events", need: viewer, groups: groupsQuery, handler: s.handleEvents},
		{pattern: "GET /api/v1/entities", need: viewer, handler: s.handleSearchEntities},
		{pattern: "GET /api/v1/entities/{type}/{id}", need: viewer, handler: s.handleGetEntity},

		{pattern: "GET /api/v1/correlation/policy", need: viewer, handler: s.handleGetPolicy},
		{pattern: "PUT /api/v1/correlation/policy", need: admin, handler: s.handlePutPolicy},
		{pattern: "DELETE /api/v1/correlation/policy", need: admin, handler: s.handleDeletePolicy},
		{pattern: "PUT /api/v1/assets", need: admin, handler: s.handlePutAssets},
		{pattern: "GET /api/v1/assets", need: viewer, handler: s.handleListAssets},
		{pattern: "GET /api/v1/assets/{id}", need: viewer, handler: s.handleGetAsset},
		{pattern: "DELETE /api/v1/assets/{id}", need: admin, handler: s.handleDeleteAsset},

		// Automation and notification rules (automation.go): admins change
		// them, viewers read them and their logs. A test changes nothing
		// but evaluates an admin's draft on an incident, so it needs admin.
		{pattern: "GET /api/v1/automation/rules", need: viewer, handler: s.handleListAutomationRules},
		{pattern: "POST /api/v1/automation/rules", need: admin, handler: s.handleCreateAutomationRule},
		{pattern: "POST /api/v1/automation/rules/test", need: admin, handler: s.handleTestAutomationRule},
		{pattern: "GET /api/v1/automation/rules/{id}", need: viewer, handler: s.handleGetAutomationRule},
		{pattern: "PUT /api/v1/automation/rules/{id}", need: admin, handler: s.handlePutAutomationRule},
		{pattern: "DELETE /api/v1/automation/rules/{id}", need: admin, handler: s.handleDeleteAutomationRule},
		{pattern: "GET /api/v1/automation/runs", need: viewer, handler: s.handleListAutomationRuns},
		{pattern: "GET /api/v1/notifications/rules", need: viewer, handler: s.handleListNotificationRules},
		{pattern: "POST /api/v1/notifications/rules", need: admin, handler: s.handleCreateNotificationRule},
		{pattern: "POST /api/v1/notifications/rules/test", need: admin, handler: s.handleTestNotificationRule},
		{pattern: "GET /api/v1/notifications/rules/{id}", need: viewer, handler: s.handleGetNotificationRule},
		{pattern: "PUT /api/v1/notifications/rules/{id}", need: admin, handler: s.handlePutNotificationRule},
		{pattern: "DELETE /api/v1/notifications/rules/{id}", need: admin, handler: s.handleDeleteNotificationRule},
		{pattern: "GET /api/v1/notifications/deliveries", need: viewer, handler: s.handleListDeliveries},

		// The web UI (ui.go). A page shows only its frame; its script
		// reads the data from the routes above, which authorize it.
		{pattern: "GET /{$}", scope: scopeSelf, page: true, handler: s.handleRoot},
		{pattern: "GET /signin", scope: scopePublic, page: true, handler: s.handleSignInPage},
		{pattern: "GET /incidents", scope: scopeSelf, page: true, handler: s.handleQueuePage},
		{pattern: "GET /incidents/{id}", scope: scopeSelf, page: true, handler: s.handleIncidentPage},
		{pattern: "GET /actions", scope: scopeSelf, page: true, handler: s.handleActionsPage},
		{pattern: "GET /entities", scope: scopeSelf, page: true, handler: s.handleEntitySearchPage},
		{pattern: "GET /entities/{type}/{id...}", scope: scopeSelf, page: true, handler: s.handleEntityPage},
		{pattern: "GET /settings", scope: scopeSelf, page: true, handler: s.handleSettingsPage},
		{pattern: "GET /assets/{name...}", scope: scopePublic, handler: s.handleAsset},
	}
}

// registerRoutes checks every route of routes and registers it, wrapped in
// the middleware (s.guard). A route without a method, without the role its
// scope needs, with a role its scope does not take, or with a device-group
// limit outside a tenant is a defect of the table: registerRoutes panics,
// so that NewServer (and so every test of this package) fails at once.
func (s *Server) registerRoutes(routes []route) {
	seen := map[string]bool{}
	for _, rt := range routes {
		if err := rt.check(); err != nil {
			panic(err)
		}
		if seen[rt.pattern] {
			panic(fmt.Sprintf("http: route %q is in the route table twice", rt.pattern))
		}
		seen[rt.pattern] = true
		s.mux.Handle(rt.pattern, s.guard(rt))
	}
}

// check says what is wrong with a route table entry, if anything.
func (rt route) check() error {
	method, path, ok := strings.Cut(rt.pattern, " ")
	switch {
	case !ok || method == "" || !strings.HasPrefix(path, "/"):
		return fmt.Errorf("http: route %q has no method; give the table patterns as \"METHOD /path\"", rt.pattern)
	case rt.handler == nil:
		return fmt.Errorf("http: route %q has no handler", rt.pattern)
	case (rt.scope == scopeTenant || rt.scope == scopeServer) && !slices.Contains(weft.Roles, rt.need):
		return fmt.Errorf("http: route %q needs a role (one of %v), not %q", rt.pattern, weft.Roles, rt.need)
	case (rt.scope == scopeSelf || rt.scope == scopePublic) && rt.need != "":
		return fmt.Errorf("http: route %q is open to every principal or to everyone, so it takes no role (%q)", rt.pattern, rt.need)
	case rt.scope != scopeTenant && rt.groups != groupsRefused:
		return fmt.Errorf("http: route %q does not act in a tenant, so it has no device-group limit", rt.pattern)
	case rt.merged && (rt.scope != scopeTenant || stateChanging(method)):
		return fmt.Errorf("http: route %q cannot serve the merged queue: only a tenant route that reads can", rt.pattern)
	case rt.page && (method != http.MethodGet || (rt.scope != scopeSelf && rt.scope != scopePublic)):
		return fmt.Errorf("http: page %q must be a GET open to every signed-in principal or to everyone", rt.pattern)
	}
	return nil
}

package http

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

func TestUsersAndTokensRefuseBadInput(t *testing.T) {
	s := newAuthServer(t, Options{})
	admin := bearer(s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin}))
	for _, tt := range []struct {
		name, method, path, body string
		want                     string // in the 400's message
	}{
		{"ErrUserAdminLimitedToGroups", "POST", "/api/v1/users", `{"name":"a","password":"correct horse battery","grants":[{"tenantId":"default","role":"admin","deviceGroups":["Finance"]}]}`, "grants[0].deviceGroups"},
		{"ErrUserUnknownRole", "POST", "/api/v1/users", `{"name":"a","password":"correct horse battery","grants":[{"tenantId":"default","role":"root"}]}`, "grants[0].role"},
		{"ErrUserNoTenant", "POST", "/api/v1/users", `{"name":"a","password":"correct horse battery","grants":[{"role":"viewer"}]}`, "grants[0].tenantId"},
		{"ErrUserUnknownMember", "POST", "/api/v1/users", `{"name":"a","password":"correct horse battery","admin":true}`, "admin"},
		{"ErrPatchNothing", "PATCH", "/api/v1/users/x", `{}`, "changes nothing"},
		{"ErrTokenNoName", "POST", "/api/v1/tokens", `{"grants":[{"tenantId":"default","role":"viewer"}]}`, "name"},
		{"ErrTokenNoGrants", "POST", "/api/v1/tokens", `{"name":"soar"}`, "grants"},
		{"ErrTokenExpired", "POST", "/api/v1/tokens", `{"name":"soar","grants":[{"tenantId":"default","role":"viewer"}],"expiresDateTime":"2001-01-01T00:00:00Z"}`, "expiresDateTime"},
		{"ErrAuditSince", "GET", "/api/v1/audit?since=yesterday", "", "since"},
		{"ErrAuditUnknownFilter", "GET", "/api/v1/audit?who=me", "", "who"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := s.send(t, tt.method, tt.path, tt.body, admin...)
			if a.status != http.StatusBadRequest || !strings.Contains(a.body, tt.want) {
				t.Errorf("got %d %s, want 400 naming %s", a.status, a.body, tt.want)
			}
		})
	}
}

func TestDisablingAUserEndsTheirSessions(t *testing.T) {
	s := newAuthServer(t, Options{})
	admin := bearer(s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin}))
	u := s.createUser(t, "jane", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer})
	cookie, _ := s.login(t, "jane", "correct horse battery")
	withCookie := []string{"Cookie", SessionCookie + "=" + cookie}
	if a := s.send(t, "GET", "/api/v1/incidents", "", withCookie...); a.status != http.StatusOK {
		t.Fatalf("signed in: got %d %s", a.status, a.body)
	}
	a := s.send(t, "PATCH", "/api/v1/users/"+u.ID, `{"disabled":true}`, admin...)
	var got weft.User
	if err := json.Unmarshal([]byte(a.body), &got); a.status != http.StatusOK || err != nil || !got.Disabled {
		t.Fatalf("disabling: got %d %s", a.status, a.body)
	}
	if a := s.send(t, "GET", "/api/v1/incidents", "", withCookie...); a.status != http.StatusUnauthorized {
		t.Errorf("after disabling: got %d %s, want 401", a.status, a.body)
	}
	if a := s.send(t, "POST", "/api/v1/auth/login", `{"name":"jane","password":"correct horse battery"}`); a.status != http.StatusUnauthorized {
		t.Errorf("signing in disabled: got %d %s, want 401", a.status, a.body)
	}
}

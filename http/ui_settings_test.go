package http

import (
	"net/http"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

func TestSettingsPage(t *testing.T) {
	s := newAuthServer(t, Options{})
	s.createUser(t, "ana", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
	s.createUser(t, "ada", "correct horse battery", weft.Grant{TenantID: "acme", Role: weft.RoleAdmin})
	analyst, _ := s.login(t, "ana", "correct horse battery")
	admin, _ := s.login(t, "ada", "correct horse battery")
	as := func(cookie string) []string { return []string{"Cookie", SessionCookie + "=" + cookie} }

	t.Run("OK_AdminSeesTheSection", func(t *testing.T) {
		a := s.send(t, "GET", "/settings?section=tokens", "", as(admin)...)
		if a.status != http.StatusOK {
			t.Fatalf("got %d %.300s", a.status, a.body)
		}
		checkPageHeaders(t, a)
		for _, want := range []string{`data-page="settings"`, `data-section="tokens"`, `<a href="/settings" aria-current="page">Settings</a>`,
			`href="/settings?section=tokens" data-section="tokens" aria-current="page"`, `id="token-form"`, `<title>Settings · API tokens · weft</title>`} {
			if !strings.Contains(a.body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
		if strings.Contains(a.body, `id="needs-admin"`) {
			t.Error("an admin (of one tenant) is told the settings need the admin role")
		}
	})
	t.Run("OK_EverySection", func(t *testing.T) {
		for _, sec := range settingsSections {
			a := s.send(t, "GET", "/settings?section="+sec.Key, "", as(admin)...)
			if a.status != http.StatusOK || !strings.Contains(a.body, `id="settings" data-section="`+sec.Key+`"`) {
				t.Errorf("%s: got %d %.200s", sec.Key, a.status, a.body)
			}
		}
	})
	t.Run("OK_UnknownSectionIsTheFirst", func(t *testing.T) {
		a := s.send(t, "GET", "/settings?section=%3Cscript%3E", "", as(admin)...)
		if a.status != http.StatusOK || !strings.Contains(a.body, `data-section="correlation"`) || strings.Contains(a.body, "<script>") {
			t.Errorf("got %d %.300s", a.status, a.body)
		}
	})
	t.Run("ErrNonAdminNeedsAdmin", func(t *testing.T) {
		a := s.send(t, "GET", "/settings?section=users", "", as(analyst)...)
		if a.status != http.StatusOK || !strings.Contains(a.body, `id="needs-admin"`) {
			t.Fatalf("got %d %.300s", a.status, a.body)
		}
		if strings.Contains(a.body, `id="user-form"`) || strings.Contains(a.body, `href="/settings"`) {
			t.Error("a non-admin gets the settings' forms or the Settings link")
		}
		q := s.send(t, "GET", "/incidents", "", as(analyst)...)
		if strings.Contains(q.body, `href="/settings"`) {
			t.Error("the queue shows a non-admin the Settings link")
		}
	})
	t.Run("ErrNoSessionGoesToSignIn", func(t *testing.T) {
		a := s.send(t, "GET", "/settings?section=audit", "")
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin?next=%2Fsettings%3Fsection%3Daudit" {
			t.Errorf("got %d %s", a.status, a.header.Get("Location"))
		}
	})
}

func TestIsAdminSomewhere(t *testing.T) {
	for _, c := range []struct {
		grants []weft.Grant
		want   bool
	}{
		{nil, false},
		{[]weft.Grant{{TenantID: "*", Role: weft.RoleResponder}}, false},
		{[]weft.Grant{{TenantID: "a", Role: weft.RoleViewer}, {TenantID: "b", Role: weft.RoleAdmin}}, true},
		{[]weft.Grant{{TenantID: "*", Role: weft.RoleAdmin}}, true},
	} {
		if got := isAdminSomewhere(&weft.Principal{Grants: c.grants}); got != c.want {
			t.Errorf("%v: got %v, want %v", c.grants, got, c.want)
		}
	}
	if isAdminSomewhere(nil) {
		t.Error("nil principal is an admin")
	}
}

package http

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

// The action center and the entity pages render only their frame; what
// they show of the tenant the browser suite checks (respond.test.js,
// entity.test.js). These tests hold the frame: who gets it, its headers,
// the view read from the address, and that the address reaches the page
// only escaped.

func TestResponsePages(t *testing.T) {
	s := newAuthServer(t, Options{})
	s.createUser(t, "ana", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer})
	cookie, _ := s.login(t, "ana", "correct horse battery")
	withCookie := []string{"Cookie", SessionCookie + "=" + cookie}

	t.Run("OK_ActionCenter", func(t *testing.T) {
		a := s.send(t, "GET", "/actions?tab=history&status=succeeded,bogus&type=isolate&page=3", "", withCookie...)
		if a.status != http.StatusOK {
			t.Fatalf("got %d %.300s", a.status, a.body)
		}
		checkPageHeaders(t, a)
		for _, want := range []string{`data-page="actions"`, `data-tab="history"`, `data-page-number="3"`, `value="succeeded" checked`,
			`name="type" value="isolate"`, `href="/actions" aria-current="page"`, `/assets/respond.js?v=`, `/assets/actions.js?v=`} {
			if !strings.Contains(a.body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
		if strings.Contains(a.body, "bogus") {
			t.Error("a status that is not one reached the page")
		}
	})
	t.Run("OK_ActionCenterDefaultsToPending", func(t *testing.T) {
		a := s.send(t, "GET", "/actions?tab=nope&page=-1", "", withCookie...)
		if a.status != http.StatusOK || !strings.Contains(a.body, `data-tab="pending"`) || !strings.Contains(a.body, `data-page-number="1"`) {
			t.Errorf("got %d, want the pending tab on page 1", a.status)
		}
	})
	t.Run("OK_EntityPage", func(t *testing.T) {
		// A key with a slash and a backslash, path-escaped as the pages
		// link to it.
		id := `url.url:https://evil.example/a\b`
		a := s.send(t, "GET", "/entities/url/"+url.PathEscape(id), "", withCookie...)
		if a.status != http.StatusOK {
			t.Fatalf("got %d %.300s", a.status, a.body)
		}
		checkPageHeaders(t, a)
		for _, want := range []string{`data-entity-type="url"`, `data-entity-id="url.url:https://evil.example/a\b"`, `/assets/entity.js?v=`} {
			if !strings.Contains(a.body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
	})
	t.Run("OK_EntityTypeLegacyName", func(t *testing.T) {
		a := s.send(t, "GET", "/entities/host/ws-1", "", withCookie...)
		if a.status != http.StatusOK || !strings.Contains(a.body, `data-entity-type="device"`) {
			t.Errorf("got %d, want the device page", a.status)
		}
	})
	t.Run("ErrEntityTypeNotAType", func(t *testing.T) {
		a := s.send(t, "GET", "/entities/starship/enterprise", "", withCookie...)
		if a.status != http.StatusNotFound || !strings.Contains(a.body, "allowed: device, user") || strings.Contains(a.body, `id="entity"`) {
			t.Errorf("got %d %.300s, want 404 naming the allowed types", a.status, a.body)
		}
	})
	t.Run("OK_EntitySearch", func(t *testing.T) {
		a := s.send(t, "GET", "/entities?search=ws-0&type=device", "", withCookie...)
		if a.status != http.StatusOK || !strings.Contains(a.body, `value="ws-0"`) || !strings.Contains(a.body, `<option value="device" selected>`) {
			t.Errorf("got %d %.300s", a.status, a.body)
		}
	})
	t.Run("OK_AddressEscaped", func(t *testing.T) {
		payload := `"><script>alert(1)</script>`
		for _, path := range []string{"/entities/device/" + url.PathEscape(payload), "/entities?search=" + url.QueryEscape(payload), "/actions?tab=history&target=" + url.QueryEscape(payload)} {
			a := s.send(t, "GET", path, "", withCookie...)
			if strings.Contains(a.body, "<script>alert(1)") {
				t.Errorf("%s: the address reached the page unescaped", path)
			}
		}
	})
	t.Run("ErrNoSessionGoesToSignIn", func(t *testing.T) {
		for _, path := range []string{"/actions", "/entities", "/entities/device/ws-1"} {
			a := s.send(t, "GET", path, "")
			if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/signin?next=") {
				t.Errorf("%s: got %d %q, want 303 to sign-in", path, a.status, a.header.Get("Location"))
			}
		}
	})
}

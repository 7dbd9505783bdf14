package http

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

// The pages' behaviour in a browser is tested by the browser suite
// (http/browser, run by cmd/weft's TestBrowser); these tests hold what the
// server promises without one: who gets a page, its headers, its assets.

func TestPages(t *testing.T) {
	s := newAuthServer(t, Options{})
	s.createUser(t, "ana", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
	cookie, csrf := s.login(t, "ana", "correct horse battery")
	withCookie := []string{"Cookie", SessionCookie + "=" + cookie}

	t.Run("OK_QueueWithSession", func(t *testing.T) {
		a := s.send(t, "GET", "/incidents?severity=high&tags=VIP", "", withCookie...)
		if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
			t.Fatalf("got %d %s", a.status, a.header.Get("Content-Type"))
		}
		checkPageHeaders(t, a)
		for _, want := range []string{`<meta name="weft-csrf" content="` + csrf + `">`, `<meta name="weft-user" content="ana">`,
			`value="high" checked`, `name="tags" value="VIP"`, `data-page="queue"`} {
			if !strings.Contains(a.body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
		if strings.Contains(a.body, `value="medium" checked`) {
			t.Error("severity=high in the URL, yet medium is checked")
		}
	})
	t.Run("OK_IncidentWithSession", func(t *testing.T) {
		a := s.send(t, "GET", "/incidents/42", "", withCookie...)
		if a.status != http.StatusOK || !strings.Contains(a.body, `data-incident-id="42"`) {
			t.Fatalf("got %d %.300s", a.status, a.body)
		}
		checkPageHeaders(t, a)
	})
	t.Run("ErrIncidentIDNotAnID", func(t *testing.T) {
		a := s.send(t, "GET", "/incidents/x1", "", withCookie...)
		if a.status != http.StatusNotFound || !strings.Contains(a.body, "Incident not found") {
			t.Errorf("got %d %.300s, want 404 with a message", a.status, a.body)
		}
	})
	t.Run("OK_RootGoesToQueue", func(t *testing.T) {
		a := s.send(t, "GET", "/", "", withCookie...)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/incidents" {
			t.Errorf("got %d %s", a.status, a.header.Get("Location"))
		}
	})
	t.Run("ErrNoSessionGoesToSignIn", func(t *testing.T) {
		for _, path := range []string{"/", "/incidents?status=resolved&search=a%26b", "/incidents/7"} {
			a := s.send(t, "GET", path, "")
			want := "/signin?next=" + url.QueryEscape(path)
			if a.status != http.StatusSeeOther || a.header.Get("Location") != want {
				t.Errorf("%s: got %d Location %q, want 303 to %s", path, a.status, a.header.Get("Location"), want)
			}
		}
		a := s.send(t, "GET", "/incidents", "", "Cookie", SessionCookie+"=not-a-session")
		if a.status != http.StatusSeeOther {
			t.Errorf("an unknown cookie: got %d, want 303", a.status)
		}
	})
	t.Run("ErrAPIStillAnswers401", func(t *testing.T) {
		if a := s.send(t, "GET", "/api/v1/incidents", ""); a.status != http.StatusUnauthorized {
			t.Errorf("got %d, want 401: only pages redirect", a.status)
		}
	})
	t.Run("ErrMustChangePasswordGoesToForm", func(t *testing.T) {
		if _, err := s.store.CreateUser(t.Context(), &weft.User{Name: "newbie", MustChangePassword: true,
			Grants: []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer}}}, "a one-time password"); err != nil {
			t.Fatal(err)
		}
		c, _ := s.login(t, "newbie", "a one-time password")
		a := s.send(t, "GET", "/incidents", "", "Cookie", SessionCookie+"="+c)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin?change=1&next=%2Fincidents" {
			t.Errorf("got %d %q, want 303 to the password form", a.status, a.header.Get("Location"))
		}
	})
	t.Run("OK_SignInPageWithoutSession", func(t *testing.T) {
		a := s.send(t, "GET", "/signin?next=%2Fincidents%2F7", "")
		if a.status != http.StatusOK || !strings.Contains(a.body, `data-next="/incidents/7"`) {
			t.Fatalf("got %d %.300s", a.status, a.body)
		}
		checkPageHeaders(t, a)
		if strings.Contains(a.body, "weft-csrf") {
			t.Error("the sign-in page of no session carries a CSRF token")
		}
	})
}

// checkPageHeaders checks the headers every page carries.
func checkPageHeaders(t *testing.T, a answer) {
	t.Helper()
	csp := a.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy %q allows inline or eval'd script", csp)
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := a.header.Get(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	// No inline script or style: every script comes from /assets with its
	// hash, and there is no style attribute or element.
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(a.body, -1) {
		if !regexp.MustCompile(`^<script src="/assets/[a-z]+\.js\?v=[0-9a-f]{16}" defer>$`).MatchString(m) {
			t.Errorf("a script that is not an asset: %s", m)
		}
	}
	if strings.Contains(a.body, "<style") || strings.Contains(a.body, " style=") || regexp.MustCompile(` on[a-z]+=`).MatchString(a.body) {
		t.Error("the page has an inline style or an event handler attribute")
	}
}

func TestPageEscapesTheQuery(t *testing.T) {
	s := newAuthServer(t, Options{})
	s.createUser(t, "ana", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
	cookie, _ := s.login(t, "ana", "correct horse battery")
	payload := `"><script>alert(1)</script>`
	a := s.send(t, "GET", "/incidents?search="+url.QueryEscape(payload)+"&tags="+url.QueryEscape(payload), "", "Cookie", SessionCookie+"="+cookie)
	if a.status != http.StatusOK {
		t.Fatalf("got %d", a.status)
	}
	if strings.Contains(a.body, payload) || strings.Contains(a.body, "<script>alert") {
		t.Errorf("the query reached the page unescaped:\n%s", a.body)
	}
	if !strings.Contains(a.body, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`) {
		t.Error("the search box does not show the query as text")
	}
	a = s.send(t, "GET", "/signin?next="+url.QueryEscape(`/incidents"><script>alert(1)</script>`), "")
	if strings.Contains(a.body, "<script>alert") {
		t.Errorf("next reached the sign-in page unescaped")
	}
}

func TestAssets(t *testing.T) {
	s := newAuthServer(t, Options{})
	for name, a := range uiAssets {
		t.Run(name, func(t *testing.T) {
			got := s.send(t, "GET", "/assets/"+name+"?v="+a.hash, "")
			if got.status != http.StatusOK || got.body != string(a.body) {
				t.Fatalf("got %d, %d bytes; want 200, %d bytes", got.status, len(got.body), len(a.body))
			}
			if cc := got.header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
				t.Errorf("with its hash: Cache-Control %q, want a year", cc)
			}
			if etag := got.header.Get("ETag"); etag != `"`+a.hash+`"` {
				t.Errorf("ETag %q", etag)
			}
			stale := s.send(t, "GET", "/assets/"+name+"?v=0000", "")
			if cc := stale.header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("with another hash: Cache-Control %q, want no-cache", cc)
			}
			if nm := s.send(t, "GET", "/assets/"+name, "", "If-None-Match", `"`+a.hash+`"`); nm.status != http.StatusNotModified {
				t.Errorf("If-None-Match with its ETag: got %d, want 304", nm.status)
			}
		})
	}
	for _, js := range []string{"common.js", "signin.js", "queue.js", "incident.js"} {
		if _, ok := uiAssets[js]; !ok {
			t.Errorf("%s is not embedded", js)
		}
	}
	for _, path := range []string{"/assets/nope.js", "/assets/html/layout.tmpl", "/assets/%2e%2e/ui.go"} {
		if a := s.send(t, "GET", path, ""); a.status != http.StatusNotFound {
			t.Errorf("%s: got %d, want 404", path, a.status)
		}
	}
	// The mux sends a path with dot segments to its clean form.
	if a := s.send(t, "GET", "/assets/../ui.go", ""); a.status == http.StatusOK || strings.Contains(a.body, "package http") {
		t.Errorf("/assets/../ui.go: got %d %.100s", a.status, a.body)
	}
}

// TestScriptsNeverParseData fails when a page script hands text to the
// HTML parser: innerHTML, outerHTML, insertAdjacentHTML, document.write,
// eval or new Function. The scripts build the document with createElement
// and text nodes only (common.js, el).
func TestScriptsNeverParseData(t *testing.T) {
	banned := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setTimeout\(['"]|\.srcdoc`)
	for name, a := range uiAssets {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for i, line := range strings.Split(string(a.body), "\n") {
			if banned.MatchString(line) {
				t.Errorf("%s:%d: %s", name, i+1, strings.TrimSpace(line))
			}
		}
	}
}

func TestSafeNext(t *testing.T) {
	for _, tt := range []struct{ next, want string }{
		{"", "/incidents"},
		{"/incidents/7", "/incidents/7"},
		{"/incidents?status=resolved&tags=a%2Cb", "/incidents?status=resolved&tags=a%2Cb"},
		{"//evil.example/x", "/incidents"},
		{"/\\evil.example", "/incidents"},
		{"https://evil.example/", "/incidents"},
		{"javascript:alert(1)", "/incidents"},
		{"incidents", "/incidents"},
		{"/x\r\nSet-Cookie: a=b", "/incidents"},
	} {
		if got := safeNext(tt.next); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.next, got, tt.want)
		}
	}
}

func TestParseQueueView(t *testing.T) {
	t.Run("OK_Defaults", func(t *testing.T) {
		v := parseQueueView(url.Values{})
		if strings.Join(v.Status, ",") != "active,inProgress" || strings.Join(v.Severity, ",") != "high,medium,low,unknown" || v.Sort != "priority" || v.Page != 1 {
			t.Errorf("got %+v, want the API's default view (docs/api.md)", v)
		}
	})
	t.Run("OK_AllUnchecked", func(t *testing.T) {
		// The form sends an empty value with its checkboxes, so that
		// none checked (every status) differs from the default.
		v := parseQueueView(url.Values{"status": {""}, "severity": {"", "high"}})
		if len(v.Status) != 0 || strings.Join(v.Severity, ",") != "high" {
			t.Errorf("got %+v", v)
		}
	})
	t.Run("OK_UnknownValuesDropped", func(t *testing.T) {
		v := parseQueueView(url.Values{"status": {"resolved,closed"}, "sort": {"name"}, "since": {"1y"}, "page": {"-3"}})
		if strings.Join(v.Status, ",") != "resolved" || v.Sort != "priority" || v.Since != "" || v.Page != 1 {
			t.Errorf("got %+v", v)
		}
	})
	t.Run("OK_MoreFilters", func(t *testing.T) {
		v := parseQueueView(url.Values{"classification": {"truePositive"}, "determination": {"phishing"}, "groups": {" Finance, HR "},
			"entities": {"ws-7"}, "minPriority": {"70"}, "minAlerts": {"2"}, "multi": {"yes"}})
		if v.Classification != "truePositive" || v.Determination != "phishing" || v.Groups != "Finance, HR" || v.Entities != "ws-7" ||
			v.MinPriority != "70" || v.MinAlerts != "2" || v.Multi != "yes" {
			t.Errorf("got %+v", v)
		}
	})
	t.Run("OK_MoreFiltersOutOfRangeDropped", func(t *testing.T) {
		// A value no control can hold is dropped, not sent to the API.
		v := parseQueueView(url.Values{"classification": {"benign"}, "determination": {"truePositive"}, "minPriority": {"101"},
			"minAlerts": {"0"}, "multi": {"maybe"}})
		if v.Classification != "" || v.Determination != "" || v.MinPriority != "" || v.MinAlerts != "" || v.Multi != "" {
			t.Errorf("got %+v", v)
		}
		for _, bad := range []string{"-1", "1e2", "0x10", "7.5", " "} {
			if v := parseQueueView(url.Values{"minPriority": {bad}}); v.MinPriority != "" {
				t.Errorf("minPriority %q kept as %q", bad, v.MinPriority)
			}
		}
	})
	t.Run("OK_LongTextCutAtACharacter", func(t *testing.T) {
		v := parseQueueView(url.Values{"search": {strings.Repeat("é", 200)}})
		if len(v.Search) > 256 || !strings.HasPrefix(strings.Repeat("é", 200), v.Search) || len(v.Search) < 250 {
			t.Errorf("got %d bytes %q", len(v.Search), v.Search)
		}
	})
}

// TestPageStoreFailure: a page whose session cannot be checked because the
// store fails answers the failure (500, as text), not the sign-in page,
// which would hide it behind a request to sign in again; a rate-limited
// page answers 429 as text too.
func TestPageStoreFailure(t *testing.T) {
	t.Run("RateLimited", func(t *testing.T) {
		s := newAuthServer(t, Options{RateLimit: 0.001, RateBurst: 1})
		s.createUser(t, "ana", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
		cookie, _ := s.login(t, "ana", "correct horse battery")
		var a answer
		for range 3 {
			a = s.send(t, "GET", "/incidents", "", "Cookie", SessionCookie+"="+cookie)
		}
		if a.status != http.StatusTooManyRequests || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(a.body, "weft could not show this page") {
			t.Fatalf("got %d %s %.200s", a.status, a.header.Get("Content-Type"), a.body)
		}
	})
	t.Run("StoreClosed", func(t *testing.T) {
		s := newAuthServer(t, Options{})
		s.createUser(t, "ana", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
		cookie, _ := s.login(t, "ana", "correct horse battery")
		s.store.Close()
		a := s.send(t, "GET", "/incidents", "", "Cookie", SessionCookie+"="+cookie)
		if a.status == http.StatusSeeOther || a.status < 500 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") ||
			strings.Contains(a.body, "sqlite") {
			t.Fatalf("got %d %s %q, want a 5xx as text without driver detail", a.status, a.header.Get("Content-Type"), a.body)
		}
	})
}

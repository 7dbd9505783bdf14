package http

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/ingest"
	"github.com/weftxdr/weft/sqlite"
)

// authServer is a server on a real SQLite store (its AuthStore too), with a
// clock the test moves and the log captured.
type authServer struct {
	api   *Server
	store *sqlite.Store
	ts    *httptest.Server
	log   *syncBuffer
	mu    sync.Mutex
	now   time.Time
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func newAuthServer(t *testing.T, opts Options) *authServer {
	t.Helper()
	s := &authServer{log: &syncBuffer{}, now: time.Now().UTC()}
	clock := func() time.Time {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.now
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	b := ingest.NewBatcher(store, ingest.BatcherOptions{})
	opts.Auth, opts.Now = store, clock
	opts.Logger = slog.New(slog.NewJSONHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.RateLimit == 0 {
		opts.RateLimit, opts.RateBurst = 1e9, 1_000_000
	}
	s.api = NewServer(store, b, opts)
	s.api.SetReady(true)
	s.store = store
	s.ts = httptest.NewServer(s.api.Handler())
	t.Cleanup(func() { s.ts.Close(); s.api.Close(); b.Close(); store.Close() })
	return s
}

// advance moves the clock of the server and its store.
func (s *authServer) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// token creates an API token with grants and returns its secret.
func (s *authServer) token(t *testing.T, name string, grants ...weft.Grant) string {
	t.Helper()
	_, secret, err := s.store.CreateToken(context.Background(), &weft.Token{Name: name, Grants: grants, CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// answer is one answer of the server, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// errorCode returns the code of an error answer.
func (a answer) errorCode() string {
	var e errorBody
	_ = json.Unmarshal([]byte(a.body), &e)
	return e.Error.Code
}

// send sends a request with headers (name, value…) and reads the answer;
// a body of text/event-stream is not read (it would not end).
func (s *authServer) send(t *testing.T, method, path, body string, headers ...string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		a.body = string(raw)
	}
	return a
}

func bearer(secret string) []string { return []string{"Authorization", "Bearer " + secret} }

// login signs a user in and returns the session cookie's value and the
// CSRF token.
func (s *authServer) login(t *testing.T, name, password string) (cookie, csrf string) {
	t.Helper()
	a := s.send(t, "POST", "/api/v1/auth/login", `{"name":"`+name+`","password":"`+password+`"}`)
	if a.status != http.StatusOK {
		t.Fatalf("signing in %s: got %d %s", name, a.status, a.body)
	}
	var me meAnswer
	if err := json.Unmarshal([]byte(a.body), &me); err != nil || me.CSRFToken == "" {
		t.Fatalf("signing in %s: %v %s", name, err, a.body)
	}
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == SessionCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
			}
			return c.Value, me.CSRFToken
		}
	}
	t.Fatalf("signing in %s set no %s cookie", name, SessionCookie)
	return "", ""
}

func (s *authServer) createUser(t *testing.T, name, password string, grants ...weft.Grant) *weft.User {
	t.Helper()
	u, err := s.store.CreateUser(context.Background(), &weft.User{Name: name, Grants: grants}, password)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// matrixPath fills a route pattern's wildcards.
func matrixPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	r := strings.NewReplacer("{id}", "1", "{format}", "weft", "{type}", "device", "{$}", "", "{name...}", "app.css", "{id...}", "fqdn:ws-1.contoso.com")
	return method, r.Replace(path)
}

// TestAuthorizationMatrix calls every route of the route table as no one,
// as each role in the default tenant, and as an admin of every tenant, for
// the default tenant and another, and checks the class of each answer:
// 401 without credentials, 404 for a tenant the principal holds nothing
// in, 403 for a role too weak, and otherwise an answer of the handler.
// Since the cases come from the table, a new route is covered as soon as
// it is added.
func TestAuthorizationMatrix(t *testing.T) {
	s := newAuthServer(t, Options{})
	const own, other = weft.DefaultTenantID, "other"
	type principal struct {
		name   string
		secret string
		role   weft.Role // in own
		all    bool      // the role holds in every tenant
	}
	principals := []principal{{name: "anonymous"}}
	for _, role := range weft.Roles {
		principals = append(principals, principal{name: string(role), role: role,
			secret: s.token(t, string(role), weft.Grant{TenantID: own, Role: role})})
	}
	principals = append(principals, principal{name: "*admin", role: weft.RoleAdmin, all: true,
		secret: s.token(t, "all-admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})})
	// What a Prometheus job gets: /metrics, and no other server-wide route.
	principals = append(principals, principal{name: "*viewer", role: weft.RoleViewer, all: true,
		secret: s.token(t, "all-viewer", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleViewer})})

	routes := s.api.routeTable()
	if len(routes) < 40 {
		t.Fatalf("the route table has %d routes; want every route of the API", len(routes))
	}
	for _, rt := range routes {
		for _, p := range principals {
			for _, tenant := range []string{own, other} {
				method, path := matrixPath(rt.pattern)
				headers := []string{TenantHeader, tenant}
				if p.secret != "" {
					headers = append(headers, bearer(p.secret)...)
				}
				body := ""
				if stateChanging(method) {
					body = "{}"
				}
				a := s.send(t, method, path, body, headers...)
				tenantNotFound := a.status == http.StatusNotFound && strings.Contains(a.body, `tenant \"`+tenant+`\" not found`)

				var want string // "401", "sign in", "403", "404 tenant" or "allowed"
				switch {
				case rt.scope == scopePublic:
					want = "allowed"
				case p.secret == "" && rt.page:
					want = "sign in"
				case p.secret == "":
					want = "401"
				case rt.scope == scopeSelf:
					want = "allowed"
				case rt.scope == scopeServer:
					if p.all && p.role.Includes(rt.need) {
						want = "allowed"
					} else {
						want = "403"
					}
				case tenant == other && !p.all:
					want = "404 tenant"
				case p.role.Includes(rt.need):
					want = "allowed"
				default:
					want = "403"
				}
				var ok bool
				switch want {
				case "401":
					ok = a.status == http.StatusUnauthorized && a.header.Get("WWW-Authenticate") == "Bearer"
				case "sign in": // a page sends a browser to the sign-in page, to come back
					ok = a.status == http.StatusSeeOther && a.header.Get("Location") == "/signin?next="+url.QueryEscape(path)
				case "403":
					ok = a.status == http.StatusForbidden && a.errorCode() == weft.EFORBIDDEN
				case "404 tenant":
					ok = tenantNotFound
				case "allowed":
					ok = a.status != http.StatusUnauthorized && a.status != http.StatusForbidden && !tenantNotFound && a.status != http.StatusTooManyRequests
				}
				if !ok {
					t.Errorf("%s as %s in tenant %s: got %d %.200s, want %s", rt.pattern, p.name, tenant, a.status, a.body, want)
				}
			}
		}
	}
}

// TestEveryRouteIsInTheTable fails for a route that a file of the package
// registers on the mux directly, past the middleware: only the catch-all
// "/api/" (which answers 404) may be.
func TestEveryRouteIsInTheTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Value == `"/api/"` {
				return true
			}
			if arg, ok := call.Args[0].(*ast.SelectorExpr); ok && arg.Sel.Name == "pattern" && name == "routes.go" {
				return true // registerRoutes
			}
			t.Errorf("%s: a route registered on the mux directly, without the authentication and authorization middleware; add it to routeTable (routes.go) with the role it needs", fset.Position(call.Pos()))
			return true
		})
	}
}

// TestRouteTableRefusesIncompleteRoutes checks that registerRoutes refuses
// (panics on) a route the middleware could not decide about.
func TestRouteTableRefusesIncompleteRoutes(t *testing.T) {
	h := func(http.ResponseWriter, *http.Request) {}
	for _, tt := range []struct {
		name string
		rt   route
	}{
		{"ErrNoRole", route{pattern: "GET /api/v1/x", handler: h}},
		{"ErrUnknownRole", route{pattern: "GET /api/v1/x", need: "root", handler: h}},
		{"ErrServerWithoutRole", route{pattern: "GET /api/v1/x", scope: scopeServer, handler: h}},
		{"ErrPublicWithRole", route{pattern: "GET /api/v1/x", scope: scopePublic, need: weft.RoleViewer, handler: h}},
		{"ErrNoMethod", route{pattern: "/api/v1/x", need: weft.RoleViewer, handler: h}},
		{"ErrNoHandler", route{pattern: "GET /api/v1/x", need: weft.RoleViewer}},
		{"ErrGroupsOutsideTenant", route{pattern: "GET /api/v1/x", scope: scopeSelf, groups: groupsQuery, handler: h}},
		{"ErrMergedWrite", route{pattern: "PATCH /api/v1/x", need: weft.RoleViewer, merged: true, handler: h}},
		{"ErrMergedOutsideTenant", route{pattern: "GET /api/v1/x", need: weft.RoleAdmin, scope: scopeServer, merged: true, handler: h}},
		// A page redirects to sign-in, which a change or a role-bound
		// route must not.
		{"ErrPagePost", route{pattern: "POST /x", scope: scopeSelf, page: true, handler: h}},
		{"ErrPageWithRole", route{pattern: "GET /x", need: weft.RoleViewer, page: true, handler: h}},
		{"ErrPageServerScope", route{pattern: "GET /x", need: weft.RoleAdmin, scope: scopeServer, page: true, handler: h}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("registering %+v did not panic", tt.rt)
				}
			}()
			s := &Server{mux: http.NewServeMux()}
			s.registerRoutes([]route{tt.rt})
		})
	}
	t.Run("ErrNoAuthStore", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("NewServer without Options.Auth did not panic")
			}
		}()
		NewServer(nil, nil, Options{})
	})
}

func TestRevokedTokenRefusedAtNextRequest(t *testing.T) {
	s := newAuthServer(t, Options{})
	admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
	a := s.send(t, "POST", "/api/v1/tokens", `{"name":"soar","grants":[{"tenantId":"default","role":"viewer"}]}`, bearer(admin)...)
	var created createdToken
	if err := json.Unmarshal([]byte(a.body), &created); a.status != http.StatusCreated || err != nil {
		t.Fatalf("creating a token: got %d %s", a.status, a.body)
	}
	if got := s.send(t, "GET", "/api/v1/incidents", "", bearer(created.Secret)...); got.status != http.StatusOK {
		t.Fatalf("before revocation: got %d %s, want 200", got.status, got.body)
	}
	if got := s.send(t, "DELETE", "/api/v1/tokens/"+created.Token.ID, "", bearer(admin)...); got.status != http.StatusNoContent {
		t.Fatalf("revoking: got %d %s", got.status, got.body)
	}
	if got := s.send(t, "GET", "/api/v1/incidents", "", bearer(created.Secret)...); got.status != http.StatusUnauthorized {
		t.Errorf("after revocation: got %d %s, want 401", got.status, got.body)
	}
}

func TestSession(t *testing.T) {
	s := newAuthServer(t, Options{})
	s.createUser(t, "jane", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
	cookie, csrf := s.login(t, "jane", "correct horse battery")
	withCookie := []string{"Cookie", SessionCookie + "=" + cookie}

	t.Run("OK_Me", func(t *testing.T) {
		a := s.send(t, "GET", "/api/v1/auth/me", "", withCookie...)
		var me meAnswer
		if err := json.Unmarshal([]byte(a.body), &me); a.status != http.StatusOK || err != nil || me.Principal.Name != "jane" || me.CSRFToken != csrf {
			t.Errorf("got %d %s, want jane with the session's CSRF token", a.status, a.body)
		}
	})
	t.Run("ErrCrossSiteFormWithoutCSRF", func(t *testing.T) {
		// What a page of another site can make a browser send: a form
		// POST with the cookie, without the header.
		a := s.send(t, "POST", "/api/v1/incidents/mergeIncidents", "", append(clone(withCookie),
			"Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example")...)
		if a.status != http.StatusForbidden || !strings.Contains(a.body, CSRFHeader) {
			t.Errorf("got %d %s, want 403 naming %s", a.status, a.body, CSRFHeader)
		}
	})
	t.Run("ErrWrongCSRF", func(t *testing.T) {
		a := s.send(t, "PATCH", "/api/v1/incidents", `{}`, append(clone(withCookie), CSRFHeader, csrf+"x")...)
		if a.status != http.StatusForbidden {
			t.Errorf("got %d %s, want 403", a.status, a.body)
		}
	})
	t.Run("OK_WithCSRF", func(t *testing.T) {
		a := s.send(t, "PATCH", "/api/v1/incidents", `{}`, append(clone(withCookie), CSRFHeader, csrf)...)
		if a.status == http.StatusForbidden || a.status == http.StatusUnauthorized {
			t.Errorf("got %d %s, want the handler's answer", a.status, a.body)
		}
	})
	t.Run("ErrActorOfSomeoneElse", func(t *testing.T) {
		a := s.send(t, "PATCH", "/api/v1/incidents", `{}`, append(clone(withCookie), CSRFHeader, csrf, ActorHeader, "bob")...)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, ActorHeader) {
			t.Errorf("got %d %s, want 400 naming %s", a.status, a.body, ActorHeader)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		s.advance(weft.SessionIdle + time.Minute)
		if a := s.send(t, "GET", "/api/v1/auth/me", "", withCookie...); a.status != http.StatusUnauthorized {
			t.Errorf("after %v idle: got %d %s, want 401", weft.SessionIdle, a.status, a.body)
		}
	})
	t.Run("ErrSignedOut", func(t *testing.T) {
		cookie, csrf := s.login(t, "jane", "correct horse battery")
		withCookie := []string{"Cookie", SessionCookie + "=" + cookie}
		if a := s.send(t, "POST", "/api/v1/auth/logout", "", append(clone(withCookie), CSRFHeader, csrf)...); a.status != http.StatusNoContent {
			t.Fatalf("signing out: got %d %s", a.status, a.body)
		}
		if a := s.send(t, "GET", "/api/v1/auth/me", "", withCookie...); a.status != http.StatusUnauthorized {
			t.Errorf("after sign-out: got %d %s, want 401", a.status, a.body)
		}
	})
}

func clone(s []string) []string { return append([]string(nil), s...) }

func TestLoginThrottle(t *testing.T) {
	s := newAuthServer(t, Options{})
	s.createUser(t, "jane", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer})
	for i := range loginFreeFailures {
		if a := s.send(t, "POST", "/api/v1/auth/login", `{"name":"jane","password":"wrong password"}`); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d %s, want 401", i+1, a.status, a.body)
		}
	}
	// Even the right password waits now.
	a := s.send(t, "POST", "/api/v1/auth/login", `{"name":"jane","password":"correct horse battery"}`)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" {
		t.Fatalf("after %d failures: got %d (Retry-After %q) %s, want 429 and Retry-After 1", loginFreeFailures, a.status, a.header.Get("Retry-After"), a.body)
	}
	// Another account from the same address waits too.
	if a := s.send(t, "POST", "/api/v1/auth/login", `{"name":"bob","password":"wrong password"}`); a.status != http.StatusTooManyRequests {
		t.Errorf("another account from the same address: got %d, want 429", a.status)
	}
	s.advance(time.Second)
	s.login(t, "jane", "correct horse battery")
	var page struct {
		Value []weft.AuditEntry `json:"value"`
	}
	admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
	a = s.send(t, "GET", "/api/v1/audit?action=login", "", bearer(admin)...)
	if err := json.Unmarshal([]byte(a.body), &page); err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, e := range page.Value {
		outcomes = append(outcomes, e.Outcome+":"+e.Detail)
	}
	if len(page.Value) != loginFreeFailures+3 || page.Value[0].Outcome != "success" || page.Value[0].Actor != "jane" {
		t.Errorf("audited sign-ins, newest first: got %v, want a success after %d failures and 2 throttled attempts", outcomes, loginFreeFailures)
	}
}

func TestRateLimit(t *testing.T) {
	s := newAuthServer(t, Options{RateLimit: 1, RateBurst: 2})
	viewer := s.token(t, "viewer", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer})
	other := s.token(t, "other", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer})
	for i := range 2 {
		if a := s.send(t, "GET", "/api/v1/auth/me", "", bearer(viewer)...); a.status != http.StatusOK {
			t.Fatalf("request %d: got %d, want 200", i+1, a.status)
		}
	}
	a := s.send(t, "GET", "/api/v1/auth/me", "", bearer(viewer)...)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" {
		t.Errorf("over the burst: got %d (Retry-After %q), want 429 and Retry-After 1", a.status, a.header.Get("Retry-After"))
	}
	if a := s.send(t, "GET", "/api/v1/auth/me", "", bearer(other)...); a.status != http.StatusOK {
		t.Errorf("another token: got %d, want 200 (buckets are per token)", a.status)
	}
	s.advance(time.Second)
	if a := s.send(t, "GET", "/api/v1/auth/me", "", bearer(viewer)...); a.status != http.StatusOK {
		t.Errorf("a second later: got %d, want 200", a.status)
	}
}

func TestRateLimiterBounded(t *testing.T) {
	now := time.Unix(0, 0)
	l := newRateLimiter(1, 1, func() time.Time { return now })
	for i := range maxLimitEntries + 10 {
		l.take(string(rune(i)) + "key")
	}
	if len(l.buckets) > maxLimitEntries {
		t.Errorf("got %d buckets, want at most %d", len(l.buckets), maxLimitEntries)
	}
	th := newLoginThrottle(func() time.Time { return now })
	for i := range maxLimitEntries + 10 {
		th.fail(string(rune(i))+"name", "addr")
	}
	if len(th.failures) > maxLimitEntries {
		t.Errorf("got %d sign-in failure counts, want at most %d", len(th.failures), maxLimitEntries)
	}
}

// storeTenantAlerts stores one alert on a device per name, as its own
// incident, in tenant; it returns the incident ids by device name.
func storeTenantAlerts(t *testing.T, store *sqlite.Store, tenant string, devices ...string) map[string]int64 {
	t.Helper()
	now := time.Now().UTC()
	var alerts []*weft.Alert
	for i, d := range devices {
		created := now.Add(time.Duration(i-10) * time.Minute)
		a := &weft.Alert{TenantID: tenant, Source: "edr", ProviderAlertID: tenant + "-" + d, Title: "Suspicious PowerShell on " + d, Severity: weft.SeverityHigh,
			FirstActivityDateTime: created,
			Evidence:              []weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: d}},
			Import: &weft.IncidentImport{Source: "graph-incident", ID: tenant + "-" + d, DisplayName: "Incident on " + d,
				Status: weft.IncidentStatusActive, CreatedDateTime: &created, LastUpdateDateTime: &created}}
		if _, err := a.Normalize(now); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	res, err := store.StoreAlerts(context.Background(), alerts)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for i, r := range res {
		ids[devices[i]] = r.IncidentID
	}
	return ids
}

type incidentPage struct {
	Count *int64           `json:"@odata.count"`
	Value []*weft.Incident `json:"value"`
}

func TestFilterCannotReachAnotherTenant(t *testing.T) {
	s := newAuthServer(t, Options{})
	storeTenantAlerts(t, s.store, weft.DefaultTenantID, "ws-1.contoso.com")
	storeTenantAlerts(t, s.store, "other", "ws-2.fabrikam.com", "ws-3.fabrikam.com")
	analyst := s.token(t, "analyst", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
	for _, filter := range []string{"alertCount ge 0", "status ne 'resolved' or status eq 'resolved'", "entities/any(e: e eq 'ws-2.fabrikam.com')"} {
		a := s.send(t, "GET", "/api/v1/incidents?$count=true&$filter="+urlEscape(filter), "", bearer(analyst)...)
		var page incidentPage
		if err := json.Unmarshal([]byte(a.body), &page); a.status != http.StatusOK || err != nil {
			t.Fatalf("%s: got %d %s", filter, a.status, a.body)
		}
		for _, inc := range page.Value {
			if inc.TenantID != weft.DefaultTenantID {
				t.Errorf("%s: got incident %d of tenant %q", filter, inc.ID, inc.TenantID)
			}
		}
	}
	if a := s.send(t, "GET", "/api/v1/incidents?$filter="+urlEscape("tenantId eq 'other'"), "", bearer(analyst)...); a.status != http.StatusBadRequest {
		t.Errorf("$filter on tenantId: got %d %s, want 400", a.status, a.body)
	}
	if a := s.send(t, "GET", "/api/v1/incidents", "", append(bearer(analyst), TenantHeader, "other")...); a.status != http.StatusNotFound {
		t.Errorf("the other tenant: got %d %s, want 404", a.status, a.body)
	}
	a := s.send(t, "GET", "/api/v1/tenants", "", bearer(analyst)...)
	var tenants struct {
		Value []weft.Tenant `json:"value"`
	}
	if err := json.Unmarshal([]byte(a.body), &tenants); err != nil || len(tenants.Value) != 1 || tenants.Value[0].ID != weft.DefaultTenantID {
		t.Errorf("GET /api/v1/tenants: got %s, want only the default tenant", a.body)
	}
}

func urlEscape(s string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27", "(", "%28", ")", "%29", ":", "%3A").Replace(s)
}

func TestDeviceGroupLimits(t *testing.T) {
	s := newAuthServer(t, Options{})
	ids := storeTenantAlerts(t, s.store, weft.DefaultTenantID, "ws-fin.contoso.com", "srv-01.contoso.com", "ws-none.contoso.com")
	admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
	if a := s.send(t, "PUT", "/api/v1/assets", `[{"id":"ws-fin","kind":"device","deviceGroup":"Finance","deviceDnsName":"ws-fin.contoso.com"},`+
		`{"id":"srv-01","kind":"device","deviceGroup":"Servers","deviceDnsName":"srv-01.contoso.com"}]`, bearer(admin)...); a.status != http.StatusOK {
		t.Fatalf("storing assets: got %d %s", a.status, a.body)
	}
	finance := s.token(t, "finance", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst, DeviceGroups: []string{"Finance"}})
	id := func(device string) string { return itoa(ids[device]) }

	t.Run("OK_QueueAndCount", func(t *testing.T) {
		a := s.send(t, "GET", "/api/v1/incidents?$count=true&$filter="+urlEscape("alertCount ge 1"), "", bearer(finance)...)
		var page incidentPage
		if err := json.Unmarshal([]byte(a.body), &page); a.status != http.StatusOK || err != nil {
			t.Fatalf("got %d %s", a.status, a.body)
		}
		if len(page.Value) != 1 || page.Value[0].ID != ids["ws-fin.contoso.com"] || page.Count == nil || *page.Count != 1 {
			t.Errorf("got %s, want only the incident of ws-fin, counted once", a.body)
		}
		a = s.send(t, "GET", "/api/v1/incidents?$count=true&$filter="+urlEscape("alertCount ge 1"), "", bearer(admin)...)
		if err := json.Unmarshal([]byte(a.body), &page); err != nil || page.Count == nil || *page.Count != 3 {
			t.Errorf("the admin: got %s, want all 3", a.body)
		}
	})
	t.Run("OK_Export", func(t *testing.T) {
		a := s.send(t, "GET", "/api/v1/incidents/export.csv?$filter="+urlEscape("alertCount ge 1"), "", bearer(finance)...)
		lines := strings.Split(strings.TrimSpace(a.body), "\n")
		if a.status != http.StatusOK || len(lines) != 2 || !strings.HasPrefix(lines[1], id("ws-fin.contoso.com")+",") {
			t.Errorf("got %d %q, want the header and the incident of ws-fin", a.status, a.body)
		}
	})
	for _, tt := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"OK_IncidentInGroup", "GET", "/api/v1/incidents/" + id("ws-fin.contoso.com"), "", http.StatusOK},
		{"OK_ChangeInGroup", "PATCH", "/api/v1/incidents/" + id("ws-fin.contoso.com"), `{"status":"inProgress"}`, http.StatusOK},
		{"OK_ActivityInGroup", "GET", "/api/v1/incidents/" + id("ws-fin.contoso.com") + "/activity", "", http.StatusOK},
		{"ErrIncidentOutside", "GET", "/api/v1/incidents/" + id("srv-01.contoso.com"), "", http.StatusNotFound},
		{"ErrIncidentWithoutGroup", "GET", "/api/v1/incidents/" + id("ws-none.contoso.com"), "", http.StatusNotFound},
		{"ErrChangeOutside", "PATCH", "/api/v1/incidents/" + id("srv-01.contoso.com"), `{"status":"inProgress"}`, http.StatusNotFound},
		{"ErrCommentOutside", "POST", "/api/v1/incidents/" + id("srv-01.contoso.com") + "/comments", `{"comment":"x"}`, http.StatusNotFound},
		{"ErrStoryOutside", "GET", "/api/v1/incidents/" + id("srv-01.contoso.com") + "/story", "", http.StatusNotFound},
		// The event stream's limit is tested on a live stream
		// (TestEventStreamDeviceGroups).
		{"ErrEntitiesNotLimitable", "GET", "/api/v1/entities?search=ws", "", http.StatusForbidden},
		{"ErrBulkNotLimitable", "PATCH", "/api/v1/incidents", `{}`, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a := s.send(t, tt.method, tt.path, tt.body, bearer(finance)...); a.status != tt.want {
				t.Errorf("got %d %.300s, want %d", a.status, a.body, tt.want)
			}
		})
	}
	t.Run("OK_AlertList", func(t *testing.T) {
		// The alert list holds the alerts of the incidents in the groups:
		// the incident of ws-fin's, not those of srv-01 and ws-none.
		for _, tc := range []struct {
			name, token string
			want        []int64
		}{
			{"InGroups", finance, []int64{ids["ws-fin.contoso.com"]}},
			{"Unlimited", admin, []int64{ids["ws-fin.contoso.com"], ids["srv-01.contoso.com"], ids["ws-none.contoso.com"]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := s.send(t, "GET", "/api/v1/alerts?$count=true&$top=1000", "", bearer(tc.token)...)
				var page struct {
					Value []weft.Alert `json:"value"`
					Count *int64       `json:"@odata.count"`
				}
				if err := json.Unmarshal([]byte(a.body), &page, json.RejectUnknownMembers(false)); a.status != http.StatusOK || err != nil {
					t.Fatalf("got %d %.300s (%v)", a.status, a.body, err)
				}
				var got []int64
				for _, al := range page.Value {
					if !slices.Contains(got, al.IncidentID) {
						got = append(got, al.IncidentID)
					}
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(tc.want))
				if !slices.Equal(got, want) || page.Count == nil || *page.Count != int64(len(page.Value)) {
					t.Errorf("incidents of the alerts: got %v (count %v of %d), want %v", got, page.Count, len(page.Value), want)
				}
			})
		}
	})
	t.Run("AlertsByTheirIncident", func(t *testing.T) {
		a := s.send(t, "GET", "/api/v1/incidents/"+id("srv-01.contoso.com")+"?$expand=alerts", "", bearer(admin)...)
		var inc weft.Incident
		if err := json.Unmarshal([]byte(a.body), &inc); err != nil || len(inc.Alerts) == 0 {
			t.Fatalf("got %s", a.body)
		}
		if a := s.send(t, "GET", "/api/v1/alerts/"+inc.Alerts[0].ID, "", bearer(finance)...); a.status != http.StatusNotFound {
			t.Errorf("an alert outside the groups: got %d, want 404", a.status)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAuditOfWrites checks that a change through the API is audited once
// it has been answered, with who, what and how it ended, and that a read
// is not.
func TestAuditOfWrites(t *testing.T) {
	s := newAuthServer(t, Options{})
	ids := storeTenantAlerts(t, s.store, weft.DefaultTenantID, "ws-1.contoso.com")
	analyst := s.token(t, "analyst", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
	admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
	path := "/api/v1/incidents/" + itoa(ids["ws-1.contoso.com"])
	s.send(t, "GET", path, "", bearer(analyst)...)
	s.send(t, "PATCH", path, `{"status":"inProgress"}`, bearer(analyst)...)
	s.send(t, "PUT", "/api/v1/correlation/policy", `{}`, bearer(analyst)...) // too weak
	a := s.send(t, "GET", "/api/v1/audit?action=request", "", bearer(admin)...)
	var page struct {
		Value []weft.AuditEntry `json:"value"`
	}
	if err := json.Unmarshal([]byte(a.body), &page); err != nil {
		t.Fatal(err)
	}
	type entry struct{ actor, target, outcome, detail string }
	var got []entry
	for _, e := range page.Value {
		got = append(got, entry{e.Actor, e.Target, e.Outcome, e.Detail})
	}
	want := []entry{
		{"token:analyst", "PUT /api/v1/correlation/policy", "failure", "403 Forbidden"},
		{"token:analyst", "PATCH " + path, "success", ""},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	a = s.send(t, "GET", "/api/v1/audit?format=csv&action=request", "", bearer(admin)...)
	if a.status != http.StatusOK || !strings.HasPrefix(a.body, strings.Join(auditColumns, ",")+"\n") || strings.Count(a.body, "\n") != 3 {
		t.Errorf("the CSV export: got %d %q", a.status, a.body)
	}
}

// TestSecretsAppearNowhere runs sign-ins, token and user changes and
// failed attempts, then looks for every password, token secret and session
// secret in the log, the metrics, the audit log and every answer but the
// one that created it.
func TestSecretsAppearNowhere(t *testing.T) {
	s := newAuthServer(t, Options{})
	admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
	var secrets []string
	var answers []answer
	keep := func(a answer) answer { answers = append(answers, a); return a }

	const password, newPassword = "correct horse battery", "another long passphrase"
	secrets = append(secrets, password, newPassword, admin)
	a := s.send(t, "POST", "/api/v1/users", `{"name":"jane","password":"`+password+`","grants":[{"tenantId":"default","role":"viewer"}]}`, bearer(admin)...)
	var u weft.User
	if err := json.Unmarshal([]byte(a.body), &u); err != nil || a.status != http.StatusCreated {
		t.Fatalf("creating a user: %d %s", a.status, a.body)
	}
	answers = append(answers, a)
	keep(s.send(t, "POST", "/api/v1/auth/login", `{"name":"jane","password":"`+password+`x"}`))
	keep(s.send(t, "POST", "/api/v1/auth/login", `{"name":"`+password+`","password":"`+password+`"}`))
	cookie, csrf := s.login(t, "jane", password)
	secrets = append(secrets, cookie)
	withCookie := []string{"Cookie", SessionCookie + "=" + cookie}
	keep(s.send(t, "GET", "/api/v1/auth/me", "", withCookie...))
	keep(s.send(t, "POST", "/api/v1/auth/logout", "", append(clone(withCookie), CSRFHeader, csrf)...))
	keep(s.send(t, "GET", "/api/v1/auth/me", "", withCookie...))
	keep(s.send(t, "POST", "/api/v1/users/"+u.ID+"/password", `{"password":"`+newPassword+`"}`, bearer(admin)...))
	keep(s.send(t, "POST", "/api/v1/users/"+u.ID+"/password", `{"password":"short"}`, bearer(admin)...))

	a = s.send(t, "POST", "/api/v1/tokens", `{"name":"soar","grants":[{"tenantId":"default","role":"analyst"}]}`, bearer(admin)...)
	var created createdToken
	if err := json.Unmarshal([]byte(a.body), &created); err != nil || created.Secret == "" {
		t.Fatalf("creating a token: %d %s", a.status, a.body)
	}
	secrets = append(secrets, created.Secret)
	keep(s.send(t, "GET", "/api/v1/incidents", "", bearer(created.Secret)...))
	keep(s.send(t, "GET", "/api/v1/tokens", "", bearer(admin)...))
	keep(s.send(t, "DELETE", "/api/v1/tokens/"+created.Token.ID, "", bearer(admin)...))
	keep(s.send(t, "GET", "/api/v1/incidents", "", bearer(created.Secret)...))
	keep(s.send(t, "GET", "/api/v1/incidents", "", bearer(created.Secret+"x")...))
	keep(s.send(t, "GET", "/api/v1/incidents", "", "Authorization", "Basic "+created.Secret))
	keep(s.send(t, "GET", "/api/v1/users", "", bearer(admin)...))
	keep(s.send(t, "GET", "/api/v1/audit?$top=1000", "", bearer(admin)...))
	keep(s.send(t, "GET", "/api/v1/audit?$top=1000&format=csv", "", bearer(admin)...))
	keep(s.send(t, "GET", "/metrics", "", bearer(admin)...))

	where := map[string]string{"the log": s.log.String()}
	for i, a := range answers {
		h, _ := json.Marshal(a.header)
		where["answer "+itoa(int64(i))] = a.body + string(h)
	}
	if len(where["the log"]) == 0 && len(answers) < 10 {
		t.Fatal("nothing to scan")
	}
	for _, secret := range secrets {
		for name, text := range where {
			if strings.Contains(text, secret) {
				t.Errorf("a secret (%.8s…) is in %s: %.300s", secret, name, text)
			}
		}
	}
}

// TestIngestOnlyIntoGrantedTenants: without Weft-Tenant a record may name
// its tenant, but only one the principal may write to; the route's check
// was for the default tenant alone.
func TestIngestOnlyIntoGrantedTenants(t *testing.T) {
	s := newAuthServer(t, Options{})
	local := s.token(t, "local", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst})
	mssp := s.token(t, "mssp", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAnalyst})
	record := func(id, tenant string) string {
		return fmt.Sprintf(`{"tenantId":%q,"source":"edr","providerAlertId":%q,"title":"x","severity":"high","firstActivityDateTime":%q,"evidence":[{"entityType":"device","deviceDnsName":"ws-1.contoso.com"}]}`,
			tenant, id, time.Now().UTC().Add(-time.Hour).Format(time.RFC3339))
	}
	body := "[" + record("i1", weft.DefaultTenantID) + "," + record("i2", "victim") + "]"
	a := s.send(t, "POST", "/api/v1/alerts", body, bearer(local)...)
	var ans struct {
		Stored, Rejected int
		Results          []struct {
			Status string
			Error  *struct{ Field, Message string }
		}
	}
	if err := json.Unmarshal([]byte(a.body), &ans, json.MatchCaseInsensitiveNames(true)); err != nil || a.status != http.StatusOK {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	if ans.Stored != 1 || ans.Rejected != 1 || ans.Results[1].Error == nil || !strings.Contains(ans.Results[1].Error.Message, `names tenant "victim", which token:local may not write to`) {
		t.Fatalf("a tenant-scoped token: got %s", a.body)
	}
	// The other tenant holds nothing (it was not even created).
	if a := s.send(t, "GET", "/api/v1/alerts", "", append(bearer(mssp), "Weft-Tenant", "victim")...); a.status != http.StatusOK || strings.Contains(a.body, "i2") {
		t.Fatalf("tenant victim: got %d %s", a.status, a.body)
	}
	// A token with a grant in every tenant may feed several at once.
	a = s.send(t, "POST", "/api/v1/alerts", "["+record("i3", "victim")+"]", bearer(mssp)...)
	if err := json.Unmarshal([]byte(a.body), &ans, json.MatchCaseInsensitiveNames(true)); err != nil || ans.Stored != 1 {
		t.Fatalf("an all-tenants token: got %d %s", a.status, a.body)
	}
}

// TestMustChangePassword checks that a session of a user who must change
// their password reaches only /auth/me, /auth/logout and the change
// itself, that the change (checked, throttled and audited like a sign-in)
// lifts the limit, ends the user's other sessions and gives this browser a
// new one, and that a token is never limited.
func TestMustChangePassword(t *testing.T) {
	s := newAuthServer(t, Options{})
	ctx := context.Background()
	const onetime, chosen = "one-time password 1234", "a password of my own"
	u, err := s.store.CreateUser(ctx, &weft.User{Name: "jane", MustChangePassword: true,
		Grants: []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst}}}, onetime)
	if err != nil {
		t.Fatal(err)
	}
	cookie, csrf := s.login(t, "jane", onetime)
	other, _ := s.login(t, "jane", onetime) // another browser
	session := func(cookie, csrf string) []string {
		return []string{"Cookie", SessionCookie + "=" + cookie, CSRFHeader, csrf}
	}

	t.Run("ErrEverythingElse", func(t *testing.T) {
		for _, tt := range []struct{ method, path, body string }{
			{"GET", "/api/v1/incidents", ""},
			{"GET", "/api/v1/tenants", ""},
			{"PATCH", "/api/v1/incidents", `{}`},
			{"POST", "/api/v1/alerts", `[]`},
		} {
			a := s.send(t, tt.method, tt.path, tt.body, session(cookie, csrf)...)
			if a.status != http.StatusForbidden || !strings.Contains(a.body, "must change their password first") {
				t.Errorf("%s %s: got %d %s, want 403 saying to change the password first", tt.method, tt.path, a.status, a.body)
			}
		}
	})
	t.Run("OK_Me", func(t *testing.T) {
		a := s.send(t, "GET", "/api/v1/auth/me", "", session(cookie, csrf)...)
		var me meAnswer
		if err := json.Unmarshal([]byte(a.body), &me); a.status != http.StatusOK || err != nil || me.User == nil || !me.User.MustChangePassword {
			t.Errorf("got %d %s, want 200 with the user and mustChangePassword", a.status, a.body)
		}
	})
	t.Run("OK_TokenNotLimited", func(t *testing.T) {
		tok := s.token(t, "soar", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer})
		if a := s.send(t, "GET", "/api/v1/incidents", "", bearer(tok)...); a.status != http.StatusOK {
			t.Errorf("a token: got %d %s, want 200", a.status, a.body)
		}
		a := s.send(t, "POST", "/api/v1/auth/password", `{"currentPassword":"x","newPassword":"a password of my own"}`, bearer(tok)...)
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, "has no password") {
			t.Errorf("a token changing a password: got %d %s, want 400", a.status, a.body)
		}
	})
	for _, tt := range []struct {
		name, body string
		want       int
	}{
		{"ErrMissing", `{"newPassword":"a password of my own"}`, http.StatusBadRequest},
		{"ErrSame", `{"currentPassword":"` + onetime + `","newPassword":"` + onetime + `"}`, http.StatusBadRequest},
		{"ErrWrongCurrent", `{"currentPassword":"not my password","newPassword":"` + chosen + `"}`, http.StatusForbidden},
		{"ErrTooShort", `{"currentPassword":"` + onetime + `","newPassword":"short"}`, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a := s.send(t, "POST", "/api/v1/auth/password", tt.body, session(cookie, csrf)...); a.status != tt.want {
				t.Errorf("got %d %s, want %d", a.status, a.body, tt.want)
			}
		})
	}
	t.Run("ErrWithoutCSRF", func(t *testing.T) {
		a := s.send(t, "POST", "/api/v1/auth/password", `{"currentPassword":"`+onetime+`","newPassword":"`+chosen+`"}`, "Cookie", SessionCookie+"="+cookie)
		if a.status != http.StatusForbidden || !strings.Contains(a.body, CSRFHeader) {
			t.Errorf("got %d %s, want 403 naming %s", a.status, a.body, CSRFHeader)
		}
	})

	a := s.send(t, "POST", "/api/v1/auth/password", `{"currentPassword":"`+onetime+`","newPassword":"`+chosen+`"}`, session(cookie, csrf)...)
	var me meAnswer
	if err := json.Unmarshal([]byte(a.body), &me); a.status != http.StatusOK || err != nil || me.User == nil || me.User.MustChangePassword || me.CSRFToken == "" {
		t.Fatalf("changing the password: got %d %s, want 200 with mustChangePassword cleared and a CSRF token", a.status, a.body)
	}
	var newCookie string
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == SessionCookie && c.HttpOnly {
			newCookie = c.Value
		}
	}
	if newCookie == "" || newCookie == cookie || me.CSRFToken == csrf {
		t.Fatalf("changing the password: got cookie %t, CSRF changed %t; want a new session", newCookie != "" && newCookie != cookie, me.CSRFToken != csrf)
	}
	t.Run("OK_NewSession", func(t *testing.T) {
		if a := s.send(t, "GET", "/api/v1/incidents", "", session(newCookie, me.CSRFToken)...); a.status != http.StatusOK {
			t.Errorf("the new session: got %d %s, want 200", a.status, a.body)
		}
	})
	t.Run("ErrOldSessions", func(t *testing.T) {
		for name, c := range map[string]string{"this browser's old cookie": cookie, "another browser": other} {
			if a := s.send(t, "GET", "/api/v1/auth/me", "", "Cookie", SessionCookie+"="+c); a.status != http.StatusUnauthorized {
				t.Errorf("%s: got %d %s, want 401", name, a.status, a.body)
			}
		}
	})
	t.Run("OK_SignInWithNewPassword", func(t *testing.T) {
		s.login(t, "jane", chosen)
		if _, err := s.store.Authenticate(ctx, "jane", onetime); weft.ErrorCode(err) != weft.EUNAUTHENTICATED {
			t.Errorf("the one-time password: got %v, want it refused", err)
		}
	})
	t.Run("OK_Audited", func(t *testing.T) {
		admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
		a := s.send(t, "GET", "/api/v1/audit?action=user.password", "", bearer(admin)...)
		var page struct {
			Value []weft.AuditEntry `json:"value"`
		}
		if err := json.Unmarshal([]byte(a.body), &page); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Value {
			if e.Actor != "jane" || e.Target != u.ID {
				t.Errorf("entry %+v: want actor jane, target %s", e, u.ID)
			}
			got = append(got, e.Outcome+":"+e.Detail)
		}
		// Newest first: the change, the short password, the wrong one.
		want := []string{"success:own password; every session ended", "failure:" + weft.EINVALID, "failure:wrong current password"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

// TestPasswordChangeThrottled checks that guessing the current password
// through a stolen session is throttled like a sign-in.
func TestPasswordChangeThrottled(t *testing.T) {
	s := newAuthServer(t, Options{})
	s.createUser(t, "jane", "correct horse battery", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer})
	cookie, csrf := s.login(t, "jane", "correct horse battery")
	headers := []string{"Cookie", SessionCookie + "=" + cookie, CSRFHeader, csrf}
	for i := range loginFreeFailures {
		if a := s.send(t, "POST", "/api/v1/auth/password", `{"currentPassword":"guess `+itoa(int64(i))+`","newPassword":"a password of my own"}`, headers...); a.status != http.StatusForbidden {
			t.Fatalf("guess %d: got %d %s, want 403", i+1, a.status, a.body)
		}
	}
	a := s.send(t, "POST", "/api/v1/auth/password", `{"currentPassword":"correct horse battery","newPassword":"a password of my own"}`, headers...)
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
		t.Errorf("after %d wrong guesses: got %d %s, want 429 with Retry-After", loginFreeFailures, a.status, a.body)
	}
}

// TestTokenUseInAuditLog checks that a token's requests are in the audit
// log as token.use, once a minute, with where they came from.
func TestTokenUseInAuditLog(t *testing.T) {
	s := newAuthServer(t, Options{})
	tok := s.token(t, "soar", weft.Grant{TenantID: weft.DefaultTenantID, Role: weft.RoleViewer})
	admin := s.token(t, "admin", weft.Grant{TenantID: weft.AllTenants, Role: weft.RoleAdmin})
	s.send(t, "GET", "/api/v1/incidents", "", bearer(tok)...)
	s.send(t, "GET", "/api/v1/alerts", "", bearer(tok)...) // the same minute
	s.advance(time.Minute)
	s.send(t, "GET", "/api/v1/alerts?$top=1", "", bearer(tok)...)
	a := s.send(t, "GET", "/api/v1/audit?action=token.use&actor=token:soar", "", bearer(admin)...)
	var page struct {
		Value []weft.AuditEntry `json:"value"`
	}
	if err := json.Unmarshal([]byte(a.body), &page); a.status != http.StatusOK || err != nil {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	var got []string
	for _, e := range page.Value {
		got = append(got, e.Target+" from "+e.RemoteAddr)
	}
	want := []string{"GET /api/v1/alerts from 127.0.0.1", "GET /api/v1/incidents from 127.0.0.1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q (newest first, once a minute, no query string)", got, want)
	}
}

package http

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	stdjson "encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// TestIdentityProvider is a fake OpenID Connect provider for tests: it
// serves discovery, a JWKS of an RSA key made for the test and a token
// endpoint that checks the client, the code, the redirect URL and the PKCE
// verifier, and answers an ID token signed with that key. Authorization is
// not a page but a call, Authorize, that gives the code at once.
type TestIdentityProvider struct {
	URL                    string // the issuer
	ClientID, ClientSecret string
	// Now is the clock of the tokens it issues.
	Now func() time.Time

	srv    *httptest.Server
	key    *rsa.PrivateKey
	signer jose.Signer

	mu     sync.Mutex
	codes  map[string]testGrant
	issued []string // every code and ID token issued
}

// testGrant is a code given and not yet redeemed.
type testGrant struct {
	challenge, redirect string
	claims              map[string]any
	idToken             string // when set, answered as is
}

// NewTestIdentityProvider starts a fake provider, closed when the test
// ends.
func NewTestIdentityProvider(tb testing.TB, now func() time.Time) *TestIdentityProvider {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "test-key"))
	if err != nil {
		tb.Fatal(err)
	}
	p := &TestIdentityProvider{ClientID: "weft-test", ClientSecret: "client-secret-" + rand.Text(), Now: now,
		key: key, signer: signer, codes: map[string]testGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeStdJSON(w, http.StatusOK, map[string]any{
			"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
			"jwks_uri": p.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeStdJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "test-key", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", p.serveToken)
	p.srv = httptest.NewServer(mux)
	p.URL = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

func writeStdJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = stdjson.NewEncoder(w).Encode(v)
}

// Config returns the OIDCConfig of a weft client of the provider whose
// callback is at base.
func (p *TestIdentityProvider) Config(base string) *OIDCConfig {
	return &OIDCConfig{Issuer: p.URL, ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: base + oidcCallbackPath}
}

// Authorize plays the provider's sign-in page for the authorization URL
// weft redirected to (location): it signs in the person with sub and
// email (verified or not), and returns the callback path and query weft's
// redirect URL gets. change, when not nil, changes the ID token's claims.
func (p *TestIdentityProvider) Authorize(tb testing.TB, location, sub, email string, verified bool, change func(claims map[string]any)) string {
	tb.Helper()
	u, err := url.Parse(location)
	if err != nil || !strings.HasPrefix(location, p.URL+"/authorize?") {
		tb.Fatalf("the sign-in went to %q, not to the provider's authorization endpoint", location)
	}
	q := u.Query()
	for _, k := range []string{"state", "nonce", "code_challenge", "redirect_uri"} {
		if q.Get(k) == "" {
			tb.Fatalf("the authorization request has no %s: %s", k, location)
		}
	}
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		!strings.Contains(" "+q.Get("scope")+" ", " openid ") {
		tb.Fatalf("the authorization request is not a code flow with PKCE S256 for the client: %s", location)
	}
	now := p.Now()
	claims := map[string]any{"iss": p.URL, "sub": sub, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": q.Get("nonce")}
	if email != "" {
		claims["email"], claims["email_verified"] = email, verified
	}
	if change != nil {
		change(claims)
	}
	code := "code-" + rand.Text()
	p.mu.Lock()
	p.codes[code] = testGrant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), claims: claims}
	p.issued = append(p.issued, code)
	p.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		tb.Fatal(err)
	}
	return back.Path + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
}

// Sign signs claims as an ID token of the provider.
func (p *TestIdentityProvider) Sign(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	payload, err := stdjson.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := p.signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Secrets returns the client secret and every code and ID token issued.
func (p *TestIdentityProvider) Secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string{p.ClientSecret}, p.issued...)
}

func (p *TestIdentityProvider) serveToken(w http.ResponseWriter, r *http.Request) {
	refuse := func(code string) { writeStdJSON(w, http.StatusBadRequest, map[string]string{"error": code}) }
	if err := r.ParseForm(); err != nil {
		refuse("invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || secret != p.ClientSecret {
		writeStdJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	g, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code")) // a code is used once
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		refuse("invalid_grant")
		return
	}
	tok := g.idToken
	if tok == "" {
		payload, _ := stdjson.Marshal(g.claims)
		obj, err := p.signer.Sign(payload)
		if err != nil {
			refuse("server_error")
			return
		}
		tok, _ = obj.CompactSerialize()
	}
	p.mu.Lock()
	p.issued = append(p.issued, tok)
	p.mu.Unlock()
	writeStdJSON(w, http.StatusOK, map[string]any{"access_token": "access-" + rand.Text(), "token_type": "Bearer", "expires_in": 300, "id_token": tok})
}

// oidcServer is a weft server with OIDC sign-in through a fake provider.
type oidcServer struct {
	*authServer
	idp *TestIdentityProvider
}

func newOIDCServer(t *testing.T) *oidcServer {
	t.Helper()
	// The callback URL names the weft server, which starts after the
	// options are made: the config is filled in once it has.
	cfg := &OIDCConfig{}
	s := newAuthServer(t, Options{OIDC: cfg})
	idp := NewTestIdentityProvider(t, s.api.now)
	c := idp.Config(s.ts.URL)
	cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURL = c.Issuer, c.ClientID, c.ClientSecret, c.RedirectURL
	return &oidcServer{authServer: s, idp: idp}
}

// start begins a sign-in: it returns the provider's authorization URL and
// the flow cookie.
func (s *oidcServer) start(t *testing.T, query string) (location string, cookie []string) {
	t.Helper()
	a := s.send(t, "GET", "/api/v1/auth/oidc/login"+query, "")
	if a.status != http.StatusFound {
		t.Fatalf("starting a sign-in: got %d %s", a.status, a.body)
	}
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == oidcFlowCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != oidcCallbackPath || c.MaxAge <= 0 {
				t.Errorf("flow cookie %+v: want HttpOnly, SameSite=Lax, Path=%s, a MaxAge", c, oidcCallbackPath)
			}
			return a.header.Get("Location"), []string{"Cookie", c.Name + "=" + c.Value}
		}
	}
	t.Fatalf("starting a sign-in set no %s cookie: %v", oidcFlowCookie, a.header)
	return "", nil
}

// signIn runs a whole sign-in as sub with email and returns the callback's
// answer.
func (s *oidcServer) signIn(t *testing.T, sub, email string, verified bool, change func(map[string]any)) answer {
	t.Helper()
	loc, cookie := s.start(t, "")
	return s.send(t, "GET", s.idp.Authorize(t, loc, sub, email, verified, change), "", cookie...)
}

// sessionOf returns the session cookie a callback set, checking it is the
// password sign-in's.
func sessionOf(t *testing.T, a answer) []string {
	t.Helper()
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Errorf("session cookie %+v: want the password sign-in's (HttpOnly, SameSite=Strict, Path=/)", c)
			}
			return []string{"Cookie", c.Name + "=" + c.Value}
		}
	}
	t.Fatalf("no session cookie in %d %v %s", a.status, a.header, a.body)
	return nil
}

func (s *oidcServer) createUser(t *testing.T, name string, disabled bool) *weft.User {
	t.Helper()
	u, err := s.store.CreateUser(context.Background(), &weft.User{Name: name, Disabled: disabled,
		Grants: []weft.Grant{{TenantID: weft.DefaultTenantID, Role: weft.RoleAnalyst}}}, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// lastLogin returns the newest login audit entry.
func (s *oidcServer) lastLogin(t *testing.T) weft.AuditEntry {
	t.Helper()
	es, _, err := s.store.ListAudit(context.Background(), weft.AuditQuery{Action: "login", Top: 1})
	if err != nil || len(es) == 0 {
		t.Fatalf("no login audited: %v", err)
	}
	return es[0]
}

func TestOIDCSignIn(t *testing.T) {
	s := newOIDCServer(t)
	jane := s.createUser(t, "jane@example.com", false)

	t.Run("OK", func(t *testing.T) {
		a := s.signIn(t, "sub-jane", "Jane@Example.com", true, nil)
		if a.status != http.StatusFound || a.header.Get("Location") != "/" {
			t.Fatalf("callback: got %d Location %q %s, want 302 to /", a.status, a.header.Get("Location"), a.body)
		}
		me := s.send(t, "GET", "/api/v1/auth/me", "", sessionOf(t, a)...)
		var ans meAnswer
		if err := json.Unmarshal([]byte(me.body), &ans); me.status != http.StatusOK || err != nil || ans.Principal.Name != jane.Name || ans.CSRFToken == "" {
			t.Fatalf("the session: got %d %s, want jane's with a CSRF token", me.status, me.body)
		}
		u, err := s.store.FindUserByOIDC(context.Background(), s.idp.URL+"#sub-jane")
		if err != nil || u.ID != jane.ID {
			t.Fatalf("FindUserByOIDC after the first sign-in: got %v, %v; want jane linked", u, err)
		}
		if e := s.lastLogin(t); e.Outcome != weft.AuditSuccess || e.Actor != jane.Name || e.Detail != "oidc: linked by its verified e-mail address" {
			t.Errorf("audit: got %+v, want a successful oidc login of jane that links her", e)
		}
	})
	t.Run("LinkedWithoutEmail", func(t *testing.T) {
		// Once linked, the subject signs in whatever the e-mail claim.
		a := s.signIn(t, "sub-jane", "", false, nil)
		if a.status != http.StatusFound {
			t.Fatalf("callback: got %d %s, want 302", a.status, a.body)
		}
		sessionOf(t, a)
		if e := s.lastLogin(t); e.Outcome != weft.AuditSuccess || e.Detail != "oidc" {
			t.Errorf("audit: got %+v, want a successful oidc login", e)
		}
	})
	t.Run("ReturnPath", func(t *testing.T) {
		loc, cookie := s.start(t, "?return="+url.QueryEscape("/incidents/3?x=1"))
		a := s.send(t, "GET", s.idp.Authorize(t, loc, "sub-jane", "", false, nil), "", cookie...)
		if a.status != http.StatusFound || a.header.Get("Location") != "/incidents/3?x=1" {
			t.Fatalf("callback: got %d Location %q, want 302 to /incidents/3?x=1", a.status, a.header.Get("Location"))
		}
	})
}

func TestOIDCRefusals(t *testing.T) {
	s := newOIDCServer(t)
	s.createUser(t, "jane@example.com", false)
	s.createUser(t, "gone@example.com", true)
	mallory := s.createUser(t, "mallory@example.com", false)

	callback := func(t *testing.T, loc string, change func(map[string]any)) string {
		return s.idp.Authorize(t, loc, "sub-jane", "jane@example.com", true, change)
	}
	tests := []struct {
		name   string
		call   func(t *testing.T) answer
		status int
		detail string // in the audit entry
	}{
		{"ErrWrongState", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			path := strings.Replace(callback(t, loc, nil), "state=", "state=x", 1)
			return s.send(t, "GET", path, "", cookie...)
		}, http.StatusUnauthorized, "oidc: wrong state"},
		{"ErrNoFlowCookie", func(t *testing.T) answer {
			loc, _ := s.start(t, "")
			return s.send(t, "GET", callback(t, loc, nil), "")
		}, http.StatusUnauthorized, "oidc: no sign-in in progress"},
		{"ErrFlowOfAnotherBrowser", func(t *testing.T) answer {
			loc, _ := s.start(t, "")
			_, other := s.start(t, "")
			return s.send(t, "GET", callback(t, loc, nil), "", other...)
		}, http.StatusUnauthorized, "oidc: wrong state"},
		{"ErrFlowExpired", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			path := callback(t, loc, nil)
			s.advance(oidcFlowMax + time.Second) // the clock only goes on: the audit log is read newest first
			return s.send(t, "GET", path, "", cookie...)
		}, http.StatusUnauthorized, "oidc: sign-in expired"},
		{"ErrCallbackReplayed", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			path := callback(t, loc, nil)
			if a := s.send(t, "GET", path, "", cookie...); a.status != http.StatusFound {
				t.Fatalf("first callback: got %d %s", a.status, a.body)
			}
			return s.send(t, "GET", path, "", cookie...) // the code is used
		}, http.StatusUnauthorized, "oidc: code refused"},
		{"ErrIDTokenReplayed", func(t *testing.T) answer {
			// A valid ID token of an earlier sign-in, answered for a
			// new one: its nonce is the earlier one's.
			loc, _ := s.start(t, "")
			var old map[string]any
			callback(t, loc, func(c map[string]any) { old = c })
			loc, cookie := s.start(t, "")
			path := callback(t, loc, nil)
			code, _ := url.ParseQuery(path[strings.Index(path, "?")+1:])
			s.idp.mu.Lock()
			g := s.idp.codes[code.Get("code")]
			g.idToken = s.idp.Sign(t, old)
			s.idp.codes[code.Get("code")] = g
			s.idp.mu.Unlock()
			return s.send(t, "GET", path, "", cookie...)
		}, http.StatusUnauthorized, "oidc: ID token refused: wrong nonce"},
		{"ErrIDTokenExpired", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			return s.send(t, "GET", callback(t, loc, func(c map[string]any) {
				c["iat"], c["exp"] = s.api.now().Add(-time.Hour).Unix(), s.api.now().Add(-time.Minute).Unix()
			}), "", cookie...)
		}, http.StatusUnauthorized, "oidc: ID token refused: expired"},
		{"ErrWrongAudience", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			return s.send(t, "GET", callback(t, loc, func(c map[string]any) { c["aud"] = "another-client" }), "", cookie...)
		}, http.StatusUnauthorized, "oidc: ID token refused: audience"},
		{"ErrWrongIssuer", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			return s.send(t, "GET", callback(t, loc, func(c map[string]any) { c["iss"] = "https://evil.example" }), "", cookie...)
		}, http.StatusUnauthorized, "oidc: ID token refused: issuer"},
		{"ErrWrongNonce", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			return s.send(t, "GET", callback(t, loc, func(c map[string]any) { c["nonce"] = "another" }), "", cookie...)
		}, http.StatusUnauthorized, "oidc: ID token refused: wrong nonce"},
		{"ErrWrongSignature", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			path := callback(t, loc, nil)
			code, _ := url.ParseQuery(path[strings.Index(path, "?")+1:])
			other := NewTestIdentityProvider(t, s.api.now) // the same kid, another key
			s.idp.mu.Lock()
			g := s.idp.codes[code.Get("code")]
			g.idToken = other.Sign(t, g.claims)
			s.idp.codes[code.Get("code")] = g
			s.idp.mu.Unlock()
			return s.send(t, "GET", path, "", cookie...)
		}, http.StatusUnauthorized, "oidc: ID token refused: signature"},
		{"ErrWrongIssParameter", func(t *testing.T) answer {
			loc, cookie := s.start(t, "")
			return s.send(t, "GET", callback(t, loc, nil)+"&iss="+url.QueryEscape("https://evil.example"), "", cookie...)
		}, http.StatusUnauthorized, "oidc: wrong iss"},
		{"ErrProviderError", func(t *testing.T) answer {
			_, cookie := s.start(t, "")
			return s.send(t, "GET", oidcCallbackPath+"?error=access_denied&state=x", "", cookie...)
		}, http.StatusUnauthorized, "oidc: provider refused: access_denied"},
		{"ErrUnverifiedEmail", func(t *testing.T) answer {
			return s.signIn(t, "sub-other", "jane@example.com", false, nil)
		}, http.StatusForbidden, "oidc: no account linked, and the e-mail address is not verified"},
		{"ErrUnknownUser", func(t *testing.T) answer {
			return s.signIn(t, "sub-nobody", "nobody@example.com", true, nil)
		}, http.StatusForbidden, "oidc: no account for the e-mail address"},
		{"ErrDisabledUser", func(t *testing.T) answer {
			return s.signIn(t, "sub-gone", "gone@example.com", true, nil)
		}, http.StatusForbidden, "oidc: account disabled"},
		{"ErrAccountLinkedToAnother", func(t *testing.T) answer {
			if err := s.store.LinkOIDC(context.Background(), mallory.ID, s.idp.URL+"#sub-mallory"); err != nil {
				t.Fatal(err)
			}
			return s.signIn(t, "sub-impostor", "mallory@example.com", true, nil)
		}, http.StatusForbidden, "oidc: account linked to another identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.call(t)
			if a.status != tt.status {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tt.status)
			}
			for _, c := range (&http.Response{Header: a.header}).Cookies() {
				if c.Name == SessionCookie && c.Value != "" {
					t.Errorf("a refused sign-in set a session cookie")
				}
			}
			if e := s.lastLogin(t); e.Outcome != weft.AuditFailure || e.Detail != tt.detail {
				t.Errorf("audit: got %q %q, want failure %q", e.Outcome, e.Detail, tt.detail)
			}
		})
	}
	t.Run("UnverifiedEmailNotLinked", func(t *testing.T) {
		if u, err := s.store.FindUserByOIDC(context.Background(), s.idp.URL+"#sub-other"); err == nil {
			t.Errorf("an unverified e-mail address linked %s", u.Name)
		}
	})
	t.Run("ErrUnknownUserMessage", func(t *testing.T) {
		a := s.signIn(t, "sub-nobody", "nobody@example.com", true, nil)
		if !strings.Contains(a.body, "no weft account for nobody@example.com") || !strings.Contains(a.body, "weft admin create-user --name") {
			t.Errorf("got %s, want it to say there is no account and how to make one", a.body)
		}
	})
}

func TestOIDCOpenRedirectRefused(t *testing.T) {
	s := newOIDCServer(t)
	for _, ret := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "evil", "javascript:alert(1)", "/a\x00b", "/" + strings.Repeat("a", maxReturnBytes)} {
		a := s.send(t, "GET", "/api/v1/auth/oidc/login?return="+url.QueryEscape(ret), "")
		if a.status != http.StatusBadRequest || a.header.Get("Location") != "" {
			t.Errorf("return=%q: got %d Location %q, want 400 and no redirect", ret, a.status, a.header.Get("Location"))
		}
	}
}

func TestOIDCOff(t *testing.T) {
	s := newAuthServer(t, Options{})
	for _, path := range []string{"/api/v1/auth/oidc/login", oidcCallbackPath + "?code=x&state=y"} {
		a := s.send(t, "GET", path, "")
		if a.status != http.StatusNotFound || !strings.Contains(a.body, "OIDC sign-in is not configured") {
			t.Errorf("%s: got %d %s, want 404 saying OIDC is off", path, a.status, a.body)
		}
	}
}

// TestOIDCSecretsAppearNowhere signs in and fails to, and scans the log,
// the answers and the audit log for the client secret, the codes and the
// ID tokens, and the log and the audit log for the flow's state and nonce.
func TestOIDCSecretsAppearNowhere(t *testing.T) {
	s := newOIDCServer(t)
	s.createUser(t, "jane@example.com", false)
	var answers []answer
	var flow []string
	run := func(sub, email string, change func(map[string]any)) {
		loc, cookie := s.start(t, "")
		u, _ := url.Parse(loc)
		flow = append(flow, u.Query().Get("state"), u.Query().Get("nonce"), strings.TrimPrefix(cookie[1], oidcFlowCookie+"="))
		answers = append(answers, s.send(t, "GET", s.idp.Authorize(t, loc, sub, email, true, change), "", cookie...))
	}
	run("sub-jane", "jane@example.com", nil)
	run("sub-nobody", "nobody@example.com", nil)
	run("sub-jane", "", func(c map[string]any) { c["aud"] = "x" })
	run("sub-jane", "", func(c map[string]any) { c["exp"] = 1 })

	es, _, err := s.store.ListAudit(context.Background(), weft.AuditQuery{Top: 1000})
	if err != nil {
		t.Fatal(err)
	}
	audit, _ := json.Marshal(es)
	where := map[string]string{"the log": s.log.String(), "the audit log": string(audit)}
	for i, a := range answers {
		h, _ := json.Marshal(a.header)
		where["answer "+itoa(int64(i))] = a.body + string(h)
	}
	secrets := s.idp.Secrets()
	if len(secrets) < 8 {
		t.Fatalf("only %d secrets to look for", len(secrets))
	}
	for _, secret := range secrets {
		for name, text := range where {
			if strings.Contains(text, secret) {
				t.Errorf("a secret (%.12s…) is in %s: %.300s", secret, name, text)
			}
		}
	}
	for _, v := range flow {
		for _, name := range []string{"the log", "the audit log"} {
			if strings.Contains(where[name], v) {
				t.Errorf("a flow secret (%.8s…) is in %s", v, name)
			}
		}
	}
}

// TestOIDCLink checks the store's link of a user to an identity.
func TestOIDCLink(t *testing.T) {
	s := newAuthServer(t, Options{})
	ctx := context.Background()
	var ids []string
	for _, name := range []string{"ann", "bob"} {
		u, err := s.store.CreateUser(ctx, &weft.User{Name: name, Grants: []weft.Grant{}}, "a long enough password")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	const iss = "https://idp.example.com"
	tests := []struct {
		name, id, subject, code string
	}{
		{"OK", ids[0], iss + "#ann", ""},
		{"OKAgain", ids[0], iss + "#ann", ""},
		{"ErrUserLinkedToAnother", ids[0], iss + "#other", weft.ECONFLICT},
		{"ErrSubjectLinkedToAnother", ids[1], iss + "#ann", weft.ECONFLICT},
		{"ErrUnknownUser", "nobody", iss + "#x", weft.ENOTFOUND},
		{"ErrEmptySubject", ids[1], "", weft.EINVALID},
		{"ErrLongSubject", ids[1], iss + "#" + strings.Repeat("x", 3000), weft.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.store.LinkOIDC(ctx, tt.id, tt.subject)
			if got := weft.ErrorCode(err); err != nil && got != tt.code || err == nil && tt.code != "" {
				t.Fatalf("got %v, want code %q", err, tt.code)
			}
		})
	}
	u, err := s.store.FindUserByOIDC(ctx, iss+"#ann")
	if err != nil || u.ID != ids[0] || u.OIDCSubject != iss+"#ann" {
		t.Fatalf("FindUserByOIDC: got %+v, %v; want ann with her subject", u, err)
	}
	for _, subject := range []string{iss + "#bob", ""} {
		if _, err := s.store.FindUserByOIDC(ctx, subject); weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("FindUserByOIDC(%q): got %v, want not found", subject, err)
		}
	}
}

// TestOIDCProviderDown: a provider that cannot be reached answers 503, and
// is tried again at the next sign-in.
func TestOIDCProviderDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	s := newAuthServer(t, Options{OIDC: &OIDCConfig{Issuer: down.URL, ClientID: "weft", ClientSecret: "x", RedirectURL: "http://127.0.0.1/api/v1/auth/oidc/callback"}})
	for range 2 {
		a := s.send(t, "GET", "/api/v1/auth/oidc/login", "")
		if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "identity provider cannot be reached") {
			t.Errorf("got %d %s, want 503 saying the provider cannot be reached", a.status, a.body)
		}
	}
}

package http

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/weftxdr/weft"
)

// OpenID Connect sign-in (docs/security.md, "OIDC sign-in"): the
// authorization code flow with PKCE (S256), a state and a nonce.
//
//  1. GET /api/v1/auth/oidc/login makes a random state, nonce and PKCE
//     verifier, keeps them in a short-lived cookie (oidcFlowCookie:
//     HttpOnly, SameSite=Lax so that the provider's redirect back, a
//     cross-site top-level navigation, carries it) and redirects to the
//     provider.
//  2. GET /api/v1/auth/oidc/callback deletes that cookie, compares the
//     state in constant time, exchanges the code with the verifier,
//     verifies the ID token (signature, issuer, audience, expiry) with
//     go-oidc and its nonce, and maps the identity to a local user: the one
//     linked to it (weft.User.OIDCSubject), else — only when the provider
//     says the e-mail address is verified — the user whose name is that
//     address, which is then linked. Users are never created here: an
//     account and its grants come from an admin.
//  3. A session starts exactly as with a password (CreateSession, the
//     session cookie), and the browser is sent to "/" or to the relative
//     path the sign-in began with.
//
// Every attempt is audited as a login whose detail begins "oidc"; the code,
// the tokens, the state, the nonce and the client secret are never logged,
// audited or answered.

// OIDCConfig configures OpenID Connect sign-in (Options.OIDC; nil: off).
// The provider's discovery document is fetched at the first sign-in, not
// at start, so that a provider that is down does not keep weft from
// starting; a failed fetch is tried again at the next sign-in. An
// OIDCConfig is safe for concurrent use once passed to NewServer, and must
// not be changed after.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, as its ID tokens name it.
	Issuer string
	// ClientID and ClientSecret are weft's client at the provider.
	ClientID     string
	ClientSecret string
	// RedirectURL is the public URL of GET /api/v1/auth/oidc/callback, as
	// registered at the provider.
	RedirectURL string
	// Scopes asked for (nil: openid, email, profile); openid is always
	// asked for.
	Scopes []string
	// HTTPClient makes the calls to the provider (nil: a client with a
	// 10-second timeout).
	HTTPClient *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

// DefaultOIDCScopes are the scopes asked for when OIDCConfig.Scopes is nil.
var DefaultOIDCScopes = []string{oidc.ScopeOpenID, "email", "profile"}

const (
	// oidcFlowCookie keeps a sign-in's state, nonce, PKCE verifier, start
	// time and return path between the two routes.
	oidcFlowCookie = "weft_oidc"
	// oidcFlowMax is how long a sign-in may take at the provider.
	oidcFlowMax = 10 * time.Minute
	// oidcCallbackPath is the path the flow cookie is sent to.
	oidcCallbackPath = "/api/v1/auth/oidc/callback"
	// maxReturnBytes bounds the return path of a sign-in.
	maxReturnBytes = 1024
)

// errOIDCOff answers both routes when OIDC is not configured.
func errOIDCOff() error {
	return weft.Errorf(weft.ENOTFOUND, "OIDC sign-in is not configured on this server (weft serve --oidc-issuer); sign in with a password (POST /api/v1/auth/login)")
}

func (c *OIDCConfig) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// ctx returns a context whose calls to the provider go through the
// config's client (go-oidc and oauth2 take the client from the context).
func (c *OIDCConfig) ctx(parent context.Context) context.Context {
	return oidc.ClientContext(parent, c.client())
}

// discover returns the provider, fetching its discovery document once;
// sign-ins that arrive meanwhile wait for that fetch (at most the
// client's timeout).
func (c *OIDCConfig) discover(ctx context.Context) (*oidc.Provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, nil
	}
	// The key set the provider keeps fetches keys with this context's
	// client for as long as the provider lives; it ignores cancellation.
	p, err := oidc.NewProvider(c.ctx(ctx), c.Issuer)
	if err != nil {
		return nil, err
	}
	c.provider = p
	return p, nil
}

func (c *OIDCConfig) oauth2(p *oidc.Provider) *oauth2.Config {
	scopes := c.Scopes
	if scopes == nil {
		scopes = DefaultOIDCScopes
	}
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: scopes}
}

// providerUnavailable is the answer when the provider cannot be reached;
// the cause is logged.
func (s *Server) providerUnavailable(what string, err error) error {
	s.logger.Error("OIDC provider", "what", what, "issuer", s.opts.OIDC.Issuer, "err", err)
	return weft.Errorf(weft.EUNAVAILABLE, "the identity provider cannot be reached (%s); try again later", what)
}

// handleOIDCLogin serves GET /api/v1/auth/oidc/login[?return=/path]: it
// starts a sign-in at the provider (see the top of this file). return,
// where the browser goes after signing in, must be a path of this server
// ("/…", not "//…"): anything else is refused (400), so the route is no
// open redirect.
func (s *Server) handleOIDCLogin(w http.ResponseWriter, r *http.Request) {
	cfg := s.opts.OIDC
	if cfg == nil {
		s.writeError(w, r, errOIDCOff())
		return
	}
	ret := r.URL.Query().Get("return")
	if ret == "" {
		ret = "/"
	} else if err := checkReturnPath(ret); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := cfg.discover(r.Context())
	if err != nil {
		s.writeError(w, r, s.providerUnavailable("discovery", err))
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	f := oidcFlow{state: state, nonce: nonce, verifier: verifier, started: s.now(), ret: ret}
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Value: f.encode(), Path: oidcCallbackPath,
		MaxAge: int(oidcFlowMax / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	w.Header().Set("Cache-Control", "no-store")
	redirect(w, cfg.oauth2(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// checkReturnPath returns an EINVALID error unless ret is a path of this
// server: it begins with one "/" (not "//" or "/\", which browsers take
// for another host), has no scheme, host or control character, and is at
// most maxReturnBytes long.
func checkReturnPath(ret string) error {
	bad := weft.Errorf(weft.EINVALID, "return: must be a path of this server, as \"/incidents\", at most %d bytes", maxReturnBytes)
	if len(ret) > maxReturnBytes || !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") || strings.HasPrefix(ret, "/\\") ||
		strings.IndexFunc(ret, unicode.IsControl) >= 0 || strings.ContainsRune(ret, '\\') {
		return bad
	}
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return bad
	}
	return nil
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcFlow is what the flow cookie keeps. It is not signed: it holds only
// values the browser had to be given anyway (the state travels in the
// URL) or that are worthless without the provider's answer, and a browser
// that changes its own cookie only breaks its own sign-in.
type oidcFlow struct {
	state, nonce, verifier string
	started                time.Time
	ret                    string
}

func (f oidcFlow) encode() string {
	return strings.Join([]string{f.state, f.nonce, f.verifier, strconv.FormatInt(f.started.Unix(), 10),
		base64.RawURLEncoding.EncodeToString([]byte(f.ret))}, ".")
}

func decodeOIDCFlow(v string) (oidcFlow, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 5 {
		return oidcFlow{}, false
	}
	secs, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return oidcFlow{}, false
	}
	ret, err := base64.RawURLEncoding.DecodeString(parts[4])
	if err != nil || checkReturnPath(string(ret)) != nil {
		return oidcFlow{}, false
	}
	f := oidcFlow{state: parts[0], nonce: parts[1], verifier: parts[2], started: time.Unix(secs, 0), ret: string(ret)}
	if f.state == "" || f.nonce == "" || f.verifier == "" {
		return oidcFlow{}, false
	}
	return f, true
}

// oidcClaims are the claims of an ID token that weft reads.
type oidcClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"` // a boolean; some providers send "true"
}

func (c oidcClaims) verified() bool {
	switch v := c.EmailVerified.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// oidcRefusal is a failed sign-in: the error answered and the detail
// audited (after "oidc: ").
type oidcRefusal struct {
	err    error
	detail string
	actor  string // the user, when the identity was mapped to one
}

// handleOIDCCallback serves GET /api/v1/auth/oidc/callback?code&state: it
// ends a sign-in (see the top of this file) with a session and a redirect
// (302) to the return path, or refuses it: 401 for a flow that fails (no
// or a stale flow cookie, a wrong state, a code the provider refuses, an
// ID token that does not verify), 403 for an identity that maps to no
// account or to a disabled one. Every attempt is audited.
func (s *Server) handleOIDCCallback(w http.ResponseWriter, r *http.Request) {
	cfg := s.opts.OIDC
	if cfg == nil {
		s.writeError(w, r, errOIDCOff())
		return
	}
	// The flow is used once, whatever happens.
	http.SetCookie(w, &http.Cookie{Name: oidcFlowCookie, Value: "", Path: oidcCallbackPath, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	w.Header().Set("Cache-Control", "no-store")
	ctx := context.WithoutCancel(r.Context())
	entry := weft.AuditEntry{Kind: weft.PrincipalUser, Action: "login", RemoteAddr: remoteHost(r), Outcome: weft.AuditFailure}
	u, ret, linked, refusal := s.oidcSignIn(ctx, r, cfg)
	if refusal != nil {
		entry.Actor, entry.Detail = refusal.actor, "oidc: "+refusal.detail
		s.audit(ctx, entry)
		s.writeError(w, r, refusal.err)
		return
	}
	secret, _, err := s.auth.CreateSession(ctx, u.ID, remoteHost(r), truncateForMessage(r.UserAgent()))
	if err != nil {
		entry.Actor, entry.Detail = u.Name, "oidc: no session: "+weft.ErrorMessage(err)
		s.audit(ctx, entry)
		if weft.ErrorCode(err) == weft.EUNAUTHENTICATED {
			err = weft.Errorf(weft.EFORBIDDEN, "the weft account %s is disabled", u.Name)
		}
		s.writeError(w, r, err)
		return
	}
	entry.Actor, entry.Outcome, entry.Detail = u.Name, weft.AuditSuccess, "oidc"
	if linked {
		entry.Detail = "oidc: linked by its verified e-mail address"
	}
	s.audit(ctx, entry)
	http.SetCookie(w, s.sessionCookie(r, secret, int(weft.SessionMax/time.Second)))
	redirect(w, ret)
}

// redirect answers 302 to location, without a body.
func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusFound)
}

// oidcSignIn checks a callback and returns the user it signs in, the path
// to send the browser to, and whether the identity was linked to the user
// just now.
func (s *Server) oidcSignIn(ctx context.Context, r *http.Request, cfg *OIDCConfig) (*weft.User, string, bool, *oidcRefusal) {
	unauth := func(detail, msg string) *oidcRefusal {
		return &oidcRefusal{err: weft.Errorf(weft.EUNAUTHENTICATED, "%s; sign in again (GET /api/v1/auth/oidc/login)", msg), detail: detail}
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		// The provider's error code (RFC 6749 §4.1.2.1) is a short ASCII
		// word; it is kept only if it looks like one.
		e = truncateForMessage(strings.Map(func(c rune) rune {
			if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
				return c
			}
			return -1
		}, e))
		return nil, "", false, unauth("provider refused: "+e, "the identity provider refused the sign-in ("+e+")")
	}
	// RFC 9207: a provider that names itself in the redirect names the
	// configured issuer, or the answer is another provider's (mix-up).
	if iss := q.Get("iss"); iss != "" && iss != cfg.Issuer {
		return nil, "", false, unauth("wrong iss", "iss: the answer comes from another identity provider")
	}
	c, err := r.Cookie(oidcFlowCookie)
	if err != nil {
		return nil, "", false, unauth("no sign-in in progress", "no sign-in is in progress in this browser")
	}
	f, ok := decodeOIDCFlow(c.Value)
	if !ok {
		return nil, "", false, unauth("malformed flow cookie", "no sign-in is in progress in this browser")
	}
	if age := s.now().Sub(f.started); age < 0 || age > oidcFlowMax {
		return nil, "", false, unauth("sign-in expired", "the sign-in took longer than "+oidcFlowMax.String())
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		return nil, "", false, unauth("wrong state", "state: does not match the sign-in in progress in this browser")
	}
	code := q.Get("code")
	if code == "" {
		return nil, "", false, unauth("no code", "code: the identity provider sent no code")
	}
	p, err := cfg.discover(ctx)
	if err != nil {
		return nil, "", false, &oidcRefusal{err: s.providerUnavailable("discovery", err), detail: "provider unreachable"}
	}
	tok, err := cfg.oauth2(p).Exchange(cfg.ctx(ctx), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		// An oauth2 error may quote the provider's answer; only its
		// error code and status are logged.
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			s.logger.Warn("OIDC code exchange refused", "issuer", cfg.Issuer, "status", re.Response.StatusCode, "error", truncateForMessage(re.ErrorCode))
			return nil, "", false, unauth("code refused", "the identity provider refused the code")
		}
		return nil, "", false, &oidcRefusal{err: s.providerUnavailable("token", errors.New("the token request failed")), detail: "provider unreachable"}
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, "", false, unauth("no ID token", "the identity provider sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: s.now}).Verify(cfg.ctx(ctx), raw)
	if err != nil {
		return nil, "", false, unauth("ID token refused: "+idTokenProblem(err), "the ID token does not verify ("+idTokenProblem(err)+")")
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.nonce)) != 1 {
		return nil, "", false, unauth("ID token refused: wrong nonce", "the ID token does not verify (nonce)")
	}
	var claims oidcClaims
	if err := idt.Claims(&claims); err != nil {
		return nil, "", false, unauth("ID token refused: claims", "the ID token does not verify (claims)")
	}
	u, linked, refusal := s.oidcUser(ctx, idt.Issuer+"#"+idt.Subject, claims)
	if refusal != nil {
		return nil, "", false, refusal
	}
	return u, f.ret, linked, nil
}

// idTokenProblem names what go-oidc refused in an ID token, without
// quoting the token.
func idTokenProblem(err error) string {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return "expired"
	case strings.Contains(msg, "audience"):
		return "audience"
	case strings.Contains(msg, "different provider"):
		return "issuer"
	case strings.Contains(msg, "nbf"):
		return "not yet valid"
	case strings.Contains(msg, "signature"):
		return "signature"
	}
	return "malformed"
}

// oidcUser maps a verified identity to a local user (see the top of this
// file), and reports whether it linked the identity to the user.
func (s *Server) oidcUser(ctx context.Context, subject string, claims oidcClaims) (*weft.User, bool, *oidcRefusal) {
	who := truncateForMessage(claims.Email)
	if who == "" {
		who = truncateForMessage(subject)
	}
	noAccount := func(detail string) *oidcRefusal {
		return &oidcRefusal{err: weft.Errorf(weft.EFORBIDDEN, "no weft account for %s; an admin creates one (weft admin create-user --name <email>)", who), detail: detail}
	}
	linked := false
	u, err := s.auth.FindUserByOIDC(ctx, subject)
	switch {
	case err == nil:
	case weft.ErrorCode(err) != weft.ENOTFOUND:
		return nil, false, &oidcRefusal{err: err, detail: "store error"}
	case claims.Email == "":
		return nil, false, noAccount("no account linked, and no e-mail address")
	case !claims.verified():
		return nil, false, &oidcRefusal{err: weft.Errorf(weft.EFORBIDDEN, "no weft account for %s; its e-mail address is not verified by the identity provider, so it is not matched to an account", who),
			detail: "no account linked, and the e-mail address is not verified"}
	case weft.CheckUserName(claims.Email) != nil:
		return nil, false, noAccount("no account linked, and the e-mail address is no user name")
	default:
		u, err = s.auth.FindUser(ctx, claims.Email)
		if weft.ErrorCode(err) == weft.ENOTFOUND || err == nil && !strings.EqualFold(u.Name, claims.Email) {
			return nil, false, noAccount("no account for the e-mail address")
		} else if err != nil {
			return nil, false, &oidcRefusal{err: err, detail: "store error"}
		}
		if u.Disabled {
			return nil, false, &oidcRefusal{err: weft.Errorf(weft.EFORBIDDEN, "the weft account %s is disabled", u.Name), detail: "account disabled", actor: u.Name}
		}
		if err := s.auth.LinkOIDC(ctx, u.ID, subject); err != nil {
			if weft.ErrorCode(err) == weft.ECONFLICT {
				return nil, false, &oidcRefusal{err: weft.Errorf(weft.EFORBIDDEN, "the weft account %s is linked to another identity", u.Name), detail: "account linked to another identity", actor: u.Name}
			}
			return nil, false, &oidcRefusal{err: err, detail: "store error", actor: u.Name}
		}
		s.logger.Info("OIDC identity linked", "user", u.Name)
		linked = true
	}
	if u.Disabled {
		return nil, false, &oidcRefusal{err: weft.Errorf(weft.EFORBIDDEN, "the weft account %s is disabled", u.Name), detail: "account disabled", actor: u.Name}
	}
	return u, linked, nil
}

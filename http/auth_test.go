package http

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/weftxdr/weft"
)

// This file holds what every test of the package needs to run
// authenticated: TestCredentials, which signs the requests of a test
// client in: with a "*" admin token, or, for a request that names an actor
// (Weft-Actor), with a session of a user of that name, so that the activity
// log records the actor the test expects.

// NewTestCredentials returns credentials kept in auth (the test's SQLite
// store), with a new server-wide admin token.
func NewTestCredentials(tb testing.TB, auth weft.AuthStore) *TestCredentials {
	tb.Helper()
	_, secret, err := auth.CreateToken(context.Background(), &weft.Token{Name: "test-admin",
		Grants: []weft.Grant{{TenantID: weft.AllTenants, Role: weft.RoleAdmin}}, CreatedBy: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	return &TestCredentials{Auth: auth, Admin: secret, tb: tb, actors: map[string]actorSession{}}
}

// Options returns o with the credentials' AuthStore and, unless o sets
// them, a rate limit that no test reaches (tests send requests as fast as
// the server answers them, with one token).
func (c *TestCredentials) Options(o Options) Options {
	o.Auth = c.Auth
	if o.RateLimit == 0 && o.RateBurst == 0 {
		o.RateLimit, o.RateBurst = 1e9, 1_000_000
	}
	return o
}

// TestCredentials signs test requests in. It is safe for concurrent use.
type TestCredentials struct {
	Auth  weft.AuthStore
	Admin string // the secret of a "*" admin token

	tb     testing.TB
	mu     sync.Mutex
	actors map[string]actorSession
}

type actorSession struct{ secret, csrf string }

// AnonymousHeader, set to any value on a test request, keeps
// TestCredentials from adding credentials (and is removed).
const AnonymousHeader = "Weft-Test-Anonymous"

// apply adds credentials to a request that has none of its own: a session
// of the user Weft-Actor names (a "*" admin, created at first use), or the
// admin token.
func (c *TestCredentials) apply(r *http.Request) {
	if r.Header.Get(AnonymousHeader) != "" {
		r.Header.Del(AnonymousHeader)
		return
	}
	if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
		return
	}
	actor := r.Header.Get(ActorHeader)
	if actor == "" {
		r.Header.Set("Authorization", "Bearer "+c.Admin)
		return
	}
	s := c.session(actor)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: s.secret})
	r.Header.Set(CSRFHeader, s.csrf)
}

func (c *TestCredentials) session(actor string) actorSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := strings.ToLower(actor)
	if s, ok := c.actors[key]; ok {
		return s
	}
	ctx := context.Background()
	u, err := c.Auth.CreateUser(ctx, &weft.User{Name: actor, Grants: []weft.Grant{{TenantID: weft.AllTenants, Role: weft.RoleAdmin}}}, "correct horse battery staple")
	if err != nil {
		c.tb.Fatalf("creating the test user %q: %v", actor, err)
	}
	secret, sess, err := c.Auth.CreateSession(ctx, u.ID, "", "")
	if err != nil {
		c.tb.Fatalf("creating a session of %q: %v", actor, err)
	}
	s := actorSession{secret, sess.CSRF}
	c.actors[key] = s
	return s
}

// Transport returns a RoundTripper that signs requests in and sends them
// through base.
func (c *TestCredentials) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &credentialTransport{c, base}
}

// Handler returns h behind a handler that signs requests in, for tests
// that call a handler directly.
func (c *TestCredentials) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.apply(r)
		h.ServeHTTP(w, r)
	})
}

type credentialTransport struct {
	c    *TestCredentials
	base http.RoundTripper
}

func (t *credentialTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	t.c.apply(r)
	return t.base.RoundTrip(r)
}

// CloseIdleConnections lets httptest.Server.Close close the base's
// connections.
func (t *credentialTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

package http

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// Authentication and authorization (design §12, docs/security.md). Every
// route of the route table (routes.go) but the public ones passes through
// guard, which, in this order:
//
//  1. finds out who asks: an API token (Authorization: Bearer weft_…) or,
//     without one, the session cookie (SessionCookie); no credentials, or
//     credentials the AuthStore does not know, answer 401 with
//     WWW-Authenticate: Bearer;
//  2. for a state-changing request (POST, PUT, PATCH, DELETE) that the
//     cookie authenticates, checks that CSRFHeader carries the session's
//     CSRF token (403 otherwise): a page of another site can make the
//     browser send the cookie, never read or set the header;
//  3. takes one token from the principal's rate-limit bucket (429), and
//     refuses a session whose user must change their password every route
//     but passwordChangeRoutes (403, checkPasswordChange);
//  4. decides with weft.Authorize whether the principal holds the route's
//     role where the route needs it (403 too weak, 404 a tenant it holds
//     nothing in), refuses a disabled tenant (403, tenants.go) and the
//     tenant "*" outside the merged queue (400), and applies its
//     device-group limit (routes.go);
//  5. checks that Weft-Actor, when sent, names the principal (400): the
//     actor of every change is the principal's name;
//  6. runs the handler with the principal in the request's context and,
//     for a state-changing request, appends an audit entry once the
//     handler has answered (audit.go).

// SessionCookie is the cookie that carries a browser session's secret:
// HttpOnly, SameSite=Strict, Secure when the request came over TLS, Path=/.
const SessionCookie = "weft_session"

// CSRFHeader carries the session's CSRF token on every state-changing
// request that the session cookie authenticates. The token is in the
// answers of POST /api/v1/auth/login and GET /api/v1/auth/me.
const CSRFHeader = "X-CSRF-Token"

// authInfo is what guard learned about a request.
type authInfo struct {
	principal *weft.Principal
	session   *weft.Session // nil for a token
	secret    string        // the session cookie's value, for sign-out
	access    weft.Access   // in the request's tenant, for scopeTenant routes
	// tenants are the tenants of the merged queue (Weft-Tenant: *), for a
	// route that serves it (route.merged); nil otherwise.
	tenants []string
}

type authKey struct{}

// authOf returns what guard learned about the request; nil on a public route.
func authOf(r *http.Request) *authInfo {
	a, _ := r.Context().Value(authKey{}).(*authInfo)
	return a
}

// actorOf returns the name that the activity log records for a change: the
// principal's name. guard has refused a Weft-Actor header that names anyone
// else.
func actorOf(r *http.Request) string {
	if a := authOf(r); a != nil {
		return a.principal.Name
	}
	return ""
}

// principalOf returns the request's principal; nil on a public route.
func principalOf(r *http.Request) *weft.Principal {
	if a := authOf(r); a != nil {
		return a.principal
	}
	return nil
}

// principalName is the principal's name for a message ("no one" when
// there is none).
func principalName(r *http.Request) string {
	if p := principalOf(r); p != nil {
		return p.Name
	}
	return "no one"
}

// stateChanging reports whether a request of this method may change state,
// and so needs the CSRF token (with a cookie) and is audited.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// guard wraps a route's handler in the middleware described at the top of
// this file. Public routes are served as they are. Every answer, public or
// not, refused or not, carries the security headers (setSecurityHeaders).
func (s *Server) guard(rt route) http.Handler {
	if rt.scope == scopePublic {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setSecurityHeaders(w.Header())
			rt.handler(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		info, err := s.authenticate(r)
		if info == nil {
			switch {
			case rt.page && weft.ErrorCode(err) == weft.EUNAUTHENTICATED:
				redirectToSignIn(w, r)
			case rt.page:
				// Not a missing session but a failure (the store):
				// sending the browser to sign in again would hide it.
				s.writePageError(w, r, err)
			default:
				s.writeError(w, r, err)
			}
			return
		}
		if stateChanging(r.Method) {
			rec := &statusRecorder{ResponseWriter: w}
			defer s.auditRequest(r, rt.scope, info, rec)
			w = rec
		}
		if err == nil {
			if wait := s.limiter.take(info.rateKey()); wait > 0 {
				w.Header().Set("Retry-After", retryAfter(wait))
				err = weft.Errorf(weft.ETOOMANY, "more than %v requests a second for this session or token; retry in %s", s.opts.RateLimit, wait.Round(time.Millisecond))
			}
		}
		if err == nil {
			err = s.checkPasswordChange(r, rt, info)
			if err != nil && rt.page {
				// The sign-in page asks for the new password.
				redirectToPasswordChange(w, r)
				return
			}
		}
		if err == nil {
			err = s.authorize(r, rt, info)
		}
		if err != nil {
			if rt.page {
				s.writePageError(w, r, err)
				return
			}
			s.writeError(w, r, err)
			return
		}
		rt.handler(w, r.WithContext(context.WithValue(r.Context(), authKey{}, info)))
	})
}

// rateKey names the principal's rate-limit bucket: its session or token.
func (a *authInfo) rateKey() string {
	if a.session != nil {
		return "session:" + a.session.ID
	}
	return string(a.principal.Kind) + ":" + a.principal.ID
}

// authenticate finds the principal of a request. It returns a nil info and
// an EUNAUTHENTICATED error when the request proves no one, and the info
// with an EFORBIDDEN error when a cookie-authenticated state-changing
// request lacks the CSRF token (so that the attempt is audited). Errors of
// the AuthStore's own are never shown: their messages could name what was
// sent.
func (s *Server) authenticate(r *http.Request) (*authInfo, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		secret = strings.TrimSpace(secret)
		if !strings.EqualFold(scheme, "Bearer") || secret == "" {
			return nil, weft.Errorf(weft.EUNAUTHENTICATED, "Authorization: send an API token as \"Bearer weft_…\"")
		}
		p, err := s.auth.TokenPrincipalFrom(ctx, secret, remoteHost(r), auditTarget(r))
		if err != nil {
			return nil, s.authError(r, err, "the API token is unknown, expired or revoked")
		}
		return &authInfo{principal: p}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, weft.Errorf(weft.EUNAUTHENTICATED, "sign in (POST /api/v1/auth/login) or send an API token (Authorization: Bearer)")
	}
	p, sess, err := s.auth.SessionPrincipal(ctx, c.Value)
	if err != nil {
		return nil, s.authError(r, err, "the session has ended or is unknown; sign in again")
	}
	info := &authInfo{principal: p, session: sess, secret: c.Value}
	if stateChanging(r.Method) {
		got := r.Header.Get(CSRFHeader)
		if sess.CSRF == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
			return info, weft.Errorf(weft.EFORBIDDEN, "%s: a change made with the session cookie must carry the session's CSRF token (from POST /api/v1/auth/login or GET /api/v1/auth/me)", CSRFHeader)
		}
	}
	return info, nil
}

// passwordChangeRoutes are the routes a session of a user who must change
// their password may call: who am I, sign out, and the change itself.
var passwordChangeRoutes = []string{"GET /api/v1/auth/me", "POST /api/v1/auth/logout", "POST /api/v1/auth/password"}

// checkPasswordChange refuses (403) every route but passwordChangeRoutes to
// a session whose user must change their password (weft.User.
// MustChangePassword: an account made with a one-time password, or reset
// by an admin with mustChangePassword). It reads the user's row, so the
// flag that POST /api/v1/auth/password clears applies at the next request;
// the read is one primary-key lookup on the read pool, made only for
// cookie-authenticated requests to the other routes. Tokens belong to no
// user's password and are never refused here.
func (s *Server) checkPasswordChange(r *http.Request, rt route, info *authInfo) error {
	if info.session == nil || slices.Contains(passwordChangeRoutes, rt.pattern) {
		return nil
	}
	if info.principal.MustChangePassword {
		return weft.Errorf(weft.EFORBIDDEN, "%s must change their password first: POST /api/v1/auth/password {\"currentPassword\",\"newPassword\"}", info.principal.Name)
	}
	return nil
}

// authError turns an AuthStore error about credentials into the
// EUNAUTHENTICATED error msg; any other error is logged (it is the store's,
// not the client's) and becomes an internal error.
func (s *Server) authError(r *http.Request, err error, msg string) error {
	if weft.ErrorCode(err) == weft.EUNAUTHENTICATED {
		return weft.Errorf(weft.EUNAUTHENTICATED, "%s", msg)
	}
	s.logger.Error("authenticating a request", "method", r.Method, "path", r.URL.Path, "err", err)
	return errInternal
}

// errInternal is an error that writeError shows as "internal error"
// without logging it again.
var errInternal = &weft.Error{Code: weft.EINTERNAL, Message: "internal error"}

// authorize decides whether the principal may call the route (see
// routeScope and groupLimit), and records its access in the request's
// tenant in info.
func (s *Server) authorize(r *http.Request, rt route, info *authInfo) error {
	p := info.principal
	switch rt.scope {
	case scopeServer:
		a, ok := p.AccessIn(weft.AllTenants)
		if !ok || !a.Role.Includes(rt.need) {
			return weft.Errorf(weft.EFORBIDDEN, "this needs the %s role in every tenant (a %q grant); %s holds no such grant", rt.need, weft.AllTenants, p.Name)
		}
	case scopeTenant:
		tenant := tenantOf(r)
		if tenant == weft.AllTenants {
			// "*" names every tenant in a grant; as the request's tenant
			// it is the merged queue, and nothing else (tenants.go).
			if !rt.merged {
				return weft.Errorf(weft.EINVALID, "%s: %q (every tenant) is accepted only by the merged queue, GET /api/v1/incidents and its CSV export; name one tenant here", TenantHeader, weft.AllTenants)
			}
			ts, err := s.mergedTenants(r.Context(), p, rt.need)
			if err != nil {
				return err
			}
			info.tenants = ts
			break
		}
		if err := weft.Authorize(p, tenant, rt.need); err != nil {
			return err
		}
		info.access, _ = p.AccessIn(tenant)
		if err := s.checkEnabled(r, p, tenant); err != nil {
			return err
		}
		if err := s.checkGroups(r, rt.groups, tenant, info.access.DeviceGroups); err != nil {
			return err
		}
	}
	if v := r.Header.Get(ActorHeader); v != "" && !strings.EqualFold(v, p.Name) {
		return weft.Errorf(weft.EINVALID, "%s: %q is not who signed in (%s); the actor of a change is the signed-in principal, so leave the header out", ActorHeader, truncateForMessage(v), p.Name)
	}
	// Handlers that read the header see the principal's name.
	r.Header.Set(ActorHeader, p.Name)
	return nil
}

// handleLogin serves POST /api/v1/auth/login {"name","password"}: it checks
// the password, starts a session, sets its cookie and answers the
// principal and the session's CSRF token. Failed attempts are throttled per
// account and per remote address (loginThrottle); every attempt is
// audited, never with the password.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Name == "" || b.Password == "" {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "name and password: both are required"))
		return
	}
	ctx := context.WithoutCancel(r.Context())
	name, addr := truncateForMessage(b.Name), remoteHost(r)
	entry := weft.AuditEntry{Actor: name, Kind: weft.PrincipalUser, Action: "login", RemoteAddr: addr, Outcome: "failure"}
	if wait := s.logins.wait(strings.ToLower(b.Name), addr); wait > 0 {
		entry.Detail = "throttled"
		if _, err := s.auth.FindUser(ctx, b.Name); err != nil {
			entry.Actor = ""
		}
		s.audit(ctx, entry)
		w.Header().Set("Retry-After", retryAfter(wait))
		s.writeError(w, r, weft.Errorf(weft.ETOOMANY, "too many failed sign-ins for this account or address; retry in %s", wait.Round(time.Second)))
		return
	}
	u, err := s.auth.Authenticate(ctx, b.Name, b.Password)
	if err != nil {
		if weft.ErrorCode(err) != weft.EUNAUTHENTICATED {
			s.writeError(w, r, err)
			return
		}
		s.logins.fail(strings.ToLower(b.Name), addr)
		entry.Detail = "wrong name or password"
		// A name that is no account's is often a password typed into
		// the wrong field: it is not recorded.
		if _, err := s.auth.FindUser(ctx, b.Name); err != nil {
			entry.Actor, entry.Detail = "", "unknown account"
		}
		s.audit(ctx, entry)
		s.writeError(w, r, weft.Errorf(weft.EUNAUTHENTICATED, "wrong name or password"))
		return
	}
	s.logins.succeed(strings.ToLower(b.Name))
	secret, sess, err := s.auth.CreateSession(ctx, u.ID, addr, truncateForMessage(r.UserAgent()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	entry.Actor, entry.Outcome, entry.Detail = u.Name, "success", ""
	s.audit(ctx, entry)
	http.SetCookie(w, s.sessionCookie(r, secret, int(weft.SessionMax/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, meAnswer{
		Principal: &weft.Principal{Kind: weft.PrincipalUser, ID: u.ID, Name: u.Name, Grants: u.Grants},
		User:      u,
		CSRFToken: sess.CSRF,
	})
}

// sessionCookie returns the session cookie with value, kept maxAge
// seconds (negative: deleted).
func (s *Server) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}

// meAnswer answers sign-in and GET /api/v1/auth/me: who is signed in, and
// for a session its CSRF token.
type meAnswer struct {
	Principal *weft.Principal `json:"principal"`
	User      *weft.User      `json:"user,omitempty"`
	CSRFToken string          `json:"csrfToken,omitempty"`
}

// handleLogout serves POST /api/v1/auth/logout: it ends the session
// server-side and deletes its cookie. A token is not signed out but
// revoked (DELETE /api/v1/tokens/{id}).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	a := authOf(r)
	if a.session == nil {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "an API token does not sign out; an admin revokes it (DELETE /api/v1/tokens/{id})"))
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if err := s.auth.DeleteSession(ctx, a.secret); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.audit(ctx, weft.AuditEntry{Actor: a.principal.Name, Kind: a.principal.Kind, Action: "logout", RemoteAddr: remoteHost(r), Outcome: "success"})
	http.SetCookie(w, s.sessionCookie(r, "", -1))
	w.WriteHeader(http.StatusNoContent)
}

// handleMe serves GET /api/v1/auth/me: the principal, its grants and, for a
// session, its CSRF token and its user (whose mustChangePassword tells a
// client to ask for a new password before anything else).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	a := authOf(r)
	ans := meAnswer{Principal: a.principal}
	if a.session != nil {
		ans.CSRFToken = a.session.CSRF
		u, err := s.auth.FindUser(r.Context(), a.principal.ID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ans.User = u
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, ans)
}

// handleListTenants serves GET /api/v1/tenants: the tenants the principal
// holds a grant in (every tenant for a "*" grant), so that the list does
// not disclose the others.
func (s *Server) handleListTenants(w http.ResponseWriter, r *http.Request) {
	ts, err := s.store.ListTenants(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := authOf(r).principal
	ts = slices.DeleteFunc(ts, func(t *weft.Tenant) bool {
		_, ok := p.AccessIn(t.ID)
		return !ok
	})
	s.writeJSON(w, http.StatusOK, listResponse[*weft.Tenant]{Value: ts})
}

// queryGroups ANDs the device-group limit of the request's principal, if it
// has one, into an incident filter: deviceGroups/any(g: g in (…)).
func queryGroups(r *http.Request, f *weft.IncidentFilter) *weft.IncidentFilter {
	a := authOf(r)
	if a == nil || len(a.access.DeviceGroups) == 0 {
		return f
	}
	limit := groupFilter(a.access.DeviceGroups)
	if f == nil {
		return limit
	}
	return &weft.IncidentFilter{Op: weft.FilterAnd, Terms: []*weft.IncidentFilter{f, limit}}
}

func groupFilter(groups []string) *weft.IncidentFilter {
	vals := make([]any, len(groups))
	for i, g := range groups {
		vals[i] = g
	}
	return &weft.IncidentFilter{Op: weft.FilterAny, Field: "deviceGroups", Values: vals}
}

// checkGroups applies a route's device-group limit for a principal limited
// to groups (none: nothing to check).
func (s *Server) checkGroups(r *http.Request, limit groupLimit, tenant string, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	switch limit {
	case groupsQuery:
		return nil // the handler limits what it serves (queryGroups; the event stream: streamAccess)
	case groupsIncident:
		id, err := parseIncidentID(r.PathValue("id"))
		if err != nil {
			return err
		}
		return s.incidentInGroups(r.Context(), tenant, id, groups)
	case groupsAlert:
		a, err := s.store.FindAlert(r.Context(), tenant, r.PathValue("id"))
		if err != nil {
			return err
		}
		if a.IncidentID == 0 {
			return weft.Errorf(weft.ENOTFOUND, "alert %q not found", truncateForMessage(r.PathValue("id")))
		}
		if err := s.incidentInGroups(r.Context(), tenant, a.IncidentID, groups); err != nil {
			return weft.Errorf(weft.ENOTFOUND, "alert %q not found", truncateForMessage(r.PathValue("id")))
		}
		return nil
	}
	return weft.Errorf(weft.EFORBIDDEN, "this route cannot yet be limited to device groups, and the grant in tenant %q is limited to %s",
		truncateForMessage(tenant), strings.Join(groups, ", "))
}

// incidentInGroups returns nil when incident id of the tenant touches a
// device of one of groups, and ENOTFOUND otherwise (also for a missing
// incident, so that the two are not told apart). It asks the queue for the
// incidents of the groups created within a second of this one, which the
// queue's indexes answer quickly, and looks for id among them.
func (s *Server) incidentInGroups(ctx context.Context, tenant string, id int64, groups []string) error {
	notFound := weft.Errorf(weft.ENOTFOUND, "incident %d not found", id)
	inc, err := s.store.FindIncident(ctx, tenant, id, false)
	if err != nil {
		return err
	}
	created := inc.CreatedDateTime.UTC()
	q := weft.IncidentQuery{TenantID: tenant, Top: weft.MaxPageSize, Filter: &weft.IncidentFilter{Op: weft.FilterAnd, Terms: []*weft.IncidentFilter{
		groupFilter(groups),
		{Op: weft.FilterGe, Field: "createdDateTime", Values: []any{created.Add(-time.Second)}},
		{Op: weft.FilterLe, Field: "createdDateTime", Values: []any{created.Add(time.Second)}},
	}}}
	for range maxGroupPages {
		page, err := s.store.ListIncidents(ctx, q)
		if err != nil {
			return err
		}
		for _, x := range page.Incidents {
			if x.ID == id {
				return nil
			}
		}
		if !page.More {
			break
		}
		q.Skip += q.Top
	}
	return notFound
}

// maxGroupPages bounds the pages incidentInGroups reads.
const maxGroupPages = 20

// remoteHost returns the host of the request's remote address, without the
// port.
func remoteHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// retryAfter formats a wait as Retry-After seconds, rounded up.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

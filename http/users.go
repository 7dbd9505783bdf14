package http

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// Users and API tokens are server-wide: their routes need the admin role
// in every tenant (a "*" grant; routes.go), since a user or a token may be
// granted any tenant. Every change is audited by its own action
// (user.create, user.update, user.password, token.create, token.revoke)
// besides the "request" entry of guard; no entry and no answer but the one
// that creates a token holds a secret.
//
//	GET    /api/v1/users                 {"value":[User…]}
//	POST   /api/v1/users                 {"name","displayName","password","grants","mustChangePassword"} → 201 User
//	PATCH  /api/v1/users/{id}            {"displayName","grants","disabled"} → User
//	POST   /api/v1/users/{id}/password   {"password","mustChangePassword"} → 204
//	GET    /api/v1/tokens                {"value":[Token…]}
//	POST   /api/v1/tokens                {"name","grants","expiresDateTime"} → 201 {"token":Token,"secret":"weft_…"}
//	DELETE /api/v1/tokens/{id}           → 204
//
// and, for any signed-in user, their own password:
//
//	POST   /api/v1/auth/password         {"currentPassword","newPassword"} → 200 {"principal","user","csrfToken"}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	if _, err := parseListParams(r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	users, err := s.auth.ListUsers(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if users == nil {
		users = []*weft.User{}
	}
	s.writeJSON(w, http.StatusOK, listResponse[*weft.User]{Value: users})
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name               string       `json:"name"`
		DisplayName        string       `json:"displayName"`
		Password           string       `json:"password"`
		Grants             []weft.Grant `json:"grants"`
		MustChangePassword bool         `json:"mustChangePassword"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkGrants(b.Grants); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	u, err := s.auth.CreateUser(ctx, &weft.User{Name: b.Name, DisplayName: b.DisplayName, Grants: b.Grants, MustChangePassword: b.MustChangePassword}, b.Password)
	s.auditChange(r, "user.create", b.Name, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, u)
}

func (s *Server) handlePatchUser(w http.ResponseWriter, r *http.Request) {
	var b struct {
		DisplayName *string       `json:"displayName"`
		Grants      *[]weft.Grant `json:"grants"`
		Disabled    *bool         `json:"disabled"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.DisplayName == nil && b.Grants == nil && b.Disabled == nil {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "the body changes nothing; give one or more of displayName, grants, disabled"))
		return
	}
	if b.Grants != nil {
		if err := checkGrants(*b.Grants); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	id := r.PathValue("id")
	u, err := s.auth.UpdateUser(context.WithoutCancel(r.Context()), id, b.DisplayName, b.Grants, b.Disabled)
	s.auditChange(r, "user.update", id, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, u)
}

func (s *Server) handleSetPassword(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Password           string `json:"password"`
		MustChangePassword bool   `json:"mustChangePassword"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	err := s.auth.SetPassword(context.WithoutCancel(r.Context()), id, b.Password, b.MustChangePassword)
	s.auditChange(r, "user.password", id, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	if _, err := parseListParams(r.URL.Query()); err != nil {
		s.writeError(w, r, err)
		return
	}
	tokens, err := s.auth.ListTokens(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if tokens == nil {
		tokens = []*weft.Token{}
	}
	s.writeJSON(w, http.StatusOK, listResponse[*weft.Token]{Value: tokens})
}

// createdToken answers POST /api/v1/tokens: the token and its secret, which
// is never shown again.
type createdToken struct {
	Token  *weft.Token `json:"token"`
	Secret string      `json:"secret"`
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name    string       `json:"name"`
		Grants  []weft.Grant `json:"grants"`
		Expires *time.Time   `json:"expiresDateTime"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if strings.TrimSpace(b.Name) == "" {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "name: is required"))
		return
	}
	if len(b.Grants) == 0 {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "grants: a token needs at least one grant"))
		return
	}
	if err := checkGrants(b.Grants); err != nil {
		s.writeError(w, r, err)
		return
	}
	if b.Expires != nil && !b.Expires.After(s.now()) {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "expiresDateTime: must be in the future"))
		return
	}
	t, secret, err := s.auth.CreateToken(context.WithoutCancel(r.Context()), &weft.Token{Name: b.Name, Grants: b.Grants, CreatedBy: actorOf(r), Expires: b.Expires})
	target := b.Name
	if t != nil {
		target = t.ID
	}
	s.auditChange(r, "token.create", target, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusCreated, createdToken{Token: t, Secret: secret})
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := s.auth.RevokeToken(context.WithoutCancel(r.Context()), id)
	s.auditChange(r, "token.revoke", id, err)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// auditChange audits a change of a user or token by the request's
// principal, a failure with the error's code.
func (s *Server) auditChange(r *http.Request, action, target string, err error) {
	p := authOf(r).principal
	e := weft.AuditEntry{Actor: p.Name, Kind: p.Kind, Action: action, Target: truncateForMessage(target), RemoteAddr: remoteHost(r), Outcome: "success"}
	if err != nil {
		e.Outcome, e.Detail = "failure", weft.ErrorCode(err)
	}
	s.audit(context.WithoutCancel(r.Context()), e)
}

// checkGrants refuses a grant without a tenant, with an unknown role, or
// an admin grant limited to device groups (which AccessIn would ignore),
// naming the grant.
func checkGrants(grants []weft.Grant) error {
	for i, g := range grants {
		switch {
		case strings.TrimSpace(g.TenantID) == "":
			return weft.Errorf(weft.EINVALID, "grants[%d].tenantId: is required (a tenant id, or %q for every tenant)", i, weft.AllTenants)
		case !slices.Contains(weft.Roles, g.Role):
			return weft.Errorf(weft.EINVALID, "grants[%d].role: %q is not a role; allowed: viewer, analyst, responder, admin", i, truncateForMessage(string(g.Role)))
		case g.Role == weft.RoleAdmin && len(g.DeviceGroups) > 0:
			return weft.Errorf(weft.EINVALID, "grants[%d].deviceGroups: an admin grant is never limited to device groups", i)
		}
	}
	return nil
}

// handleChangePassword serves POST /api/v1/auth/password
// {"currentPassword","newPassword"}: a signed-in user changes their own
// password, which is how a user who must change it (an account made with a
// one-time password) gets past checkPasswordChange. The current password is
// checked like a sign-in — throttled per account and per address
// (loginThrottle), a failure counted there — so a stolen session cannot be
// used to guess it. The change ends every session of the user, this one
// included (the store's SetPassword), and clears mustChangePassword; the
// request's browser is then given a new session (a new cookie and CSRF
// token, in the answer as at sign-in), so whoever held another session,
// or this one's old cookie, is signed out. An API token has no password:
// 400. Audited as user.password (target the user's id), failures too,
// never with a password.
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) {
	a := authOf(r)
	if a.session == nil {
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "an API token has no password; an admin revokes it and creates another (DELETE, POST /api/v1/tokens)"))
		return
	}
	var b struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := readManageBody(w, r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case b.CurrentPassword == "" || b.NewPassword == "":
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "currentPassword and newPassword: both are required"))
		return
	case b.CurrentPassword == b.NewPassword:
		s.writeError(w, r, weft.Errorf(weft.EINVALID, "newPassword: must differ from the current password"))
		return
	}
	ctx := context.WithoutCancel(r.Context())
	p, addr := a.principal, remoteHost(r)
	key := strings.ToLower(p.Name)
	entry := weft.AuditEntry{Actor: p.Name, Kind: p.Kind, Action: "user.password", Target: p.ID, RemoteAddr: addr, Outcome: weft.AuditFailure}
	if wait := s.logins.wait(key, addr); wait > 0 {
		entry.Detail = "throttled"
		s.audit(ctx, entry)
		w.Header().Set("Retry-After", retryAfter(wait))
		s.writeError(w, r, weft.Errorf(weft.ETOOMANY, "too many failed attempts for this account or address; retry in %s", wait.Round(time.Second)))
		return
	}
	if _, err := s.auth.Authenticate(ctx, p.Name, b.CurrentPassword); err != nil {
		if weft.ErrorCode(err) != weft.EUNAUTHENTICATED {
			s.writeError(w, r, err)
			return
		}
		s.logins.fail(key, addr)
		entry.Detail = "wrong current password"
		s.audit(ctx, entry)
		// 403, not 401: the session is valid, and a client must not take
		// the answer for a sign-out.
		s.writeError(w, r, weft.Errorf(weft.EFORBIDDEN, "currentPassword: is not the password of %s", p.Name))
		return
	}
	s.logins.succeed(key)
	if err := s.auth.SetPassword(ctx, p.ID, b.NewPassword, false); err != nil {
		entry.Detail = weft.ErrorCode(err)
		s.audit(ctx, entry)
		if code := weft.ErrorCode(err); code == weft.EINVALID {
			// The store names the field "password".
			err = weft.Errorf(code, "newPassword: %s", strings.TrimPrefix(weft.ErrorMessage(err), "password: "))
		}
		s.writeError(w, r, err)
		return
	}
	entry.Outcome, entry.Detail = weft.AuditSuccess, "own password; every session ended"
	s.audit(ctx, entry)
	secret, sess, err := s.auth.CreateSession(ctx, p.ID, addr, truncateForMessage(r.UserAgent()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.auth.FindUser(ctx, p.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, s.sessionCookie(r, secret, int(weft.SessionMax/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, http.StatusOK, meAnswer{
		Principal: &weft.Principal{Kind: weft.PrincipalUser, ID: u.ID, Name: u.Name, Grants: u.Grants},
		User:      u,
		CSRFToken: sess.CSRF,
	})
}

package weft

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Accounts, roles and tenants (design §12; docs/security.md). Every request
// is made by a Principal — a user signed in with a password (a browser
// session) or an API token — that holds Grants: a role in a tenant, or in
// every tenant, optionally limited to device groups. What a role may do is
// decided in one place (Authorize, below the HTTP handlers); the HTTP layer
// only finds out who is asking.

// Role is what a principal may do in a tenant. Each role includes the ones
// before it: viewer < analyst < responder < admin.
type Role string

// Roles.
const (
	// RoleViewer reads incidents, alerts, entities and the activity log.
	RoleViewer Role = "viewer"
	// RoleAnalyst also manages incidents and alerts: status, assignment,
	// classification, comments, move, merge, split; ingests alerts.
	RoleAnalyst Role = "analyst"
	// RoleResponder also requests, approves and undoes response actions.
	RoleResponder Role = "responder"
	// RoleAdmin also changes settings (correlation policy, assets,
	// connectors), users, tokens and tenants, and reads the audit log.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, weakest first.
var Roles = []Role{RoleViewer, RoleAnalyst, RoleResponder, RoleAdmin}

// Includes reports whether role r may do what role need may.
func (r Role) Includes(need Role) bool {
	i, j := slices.Index(Roles, r), slices.Index(Roles, need)
	return i >= 0 && j >= 0 && i >= j
}

// AllTenants is the TenantID of a grant that holds in every tenant (an
// MSSP's analysts, the first admin).
const AllTenants = "*"

// Grant gives a role in a tenant (or AllTenants). DeviceGroups, when not
// empty, limits the grant to the incidents and alerts that touch a device
// of one of those groups (Asset.DeviceGroup); an admin grant is never
// limited.
type Grant struct {
	TenantID     string   `json:"tenantId"`
	Role         Role     `json:"role"`
	DeviceGroups []string `json:"deviceGroups,omitempty"`
}

// PrincipalKind says how a principal proved who it is.
type PrincipalKind string

// Principal kinds.
const (
	PrincipalUser  PrincipalKind = "user"  // a password, then a session cookie
	PrincipalToken PrincipalKind = "token" // an API token (Authorization: Bearer)
)

// Principal is who makes a request: its name is what activity and audit
// logs record as the actor.
type Principal struct {
	Kind PrincipalKind `json:"kind"`
	// ID is the user's or the token's id; Name the user's login name or
	// the token's name ("token:soar-playbook").
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Grants []Grant `json:"grants"`
	// Owner is, for a token, the name of the user who created it ("" for
	// one created with `weft admin` or the bootstrap).
	Owner string `json:"-"`
	// SessionID is set for a user signed in through a session.
	SessionID string `json:"-"`
	// MustChangePassword is set for a session of a user who must change
	// their password before anything else.
	MustChangePassword bool `json:"mustChangePassword,omitzero"`
}

// Access is what a principal may do in one tenant: its strongest role
// there, and the device groups it is limited to (nil: not limited).
type Access struct {
	Role         Role
	DeviceGroups []string
}

// AccessIn returns the principal's access in a tenant, and false when it
// has none. Grants for the tenant and for AllTenants combine: the strongest
// role wins, and a grant without device groups lifts the limit of one with.
func (p *Principal) AccessIn(tenantID string) (Access, bool) {
	var a Access
	found, limited := false, true
	for _, g := range p.Grants {
		if g.TenantID != tenantID && g.TenantID != AllTenants {
			continue
		}
		if !found || g.Role.Includes(a.Role) {
			a.Role = g.Role
		}
		found = true
		if len(g.DeviceGroups) == 0 || g.Role == RoleAdmin {
			limited = false
		} else {
			a.DeviceGroups = append(a.DeviceGroups, g.DeviceGroups...)
		}
	}
	if !found {
		return Access{}, false
	}
	if !limited {
		a.DeviceGroups = nil
	} else {
		slices.Sort(a.DeviceGroups)
		a.DeviceGroups = slices.Compact(a.DeviceGroups)
	}
	return a, true
}

// Authorize returns nil when the principal holds at least role need in the
// tenant, an EFORBIDDEN error naming the role needed when it holds a
// weaker one, and an ENOTFOUND error for a tenant it holds nothing in (so
// that the tenant's existence is not disclosed).
func Authorize(p *Principal, tenantID string, need Role) error {
	if p == nil {
		return Errorf(EUNAUTHENTICATED, "sign in or send an API token")
	}
	a, ok := p.AccessIn(tenantID)
	if !ok {
		return Errorf(ENOTFOUND, "tenant %q not found", truncate(tenantID, 64))
	}
	if !a.Role.Includes(need) {
		return Errorf(EFORBIDDEN, "this needs the %s role in tenant %q; %s holds %s", need, truncate(tenantID, 64), p.Name, a.Role)
	}
	return nil
}

// User is a local account.
type User struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"` // login name, unique, case-insensitive
	DisplayName string     `json:"displayName,omitempty"`
	Grants      []Grant    `json:"grants"`
	Disabled    bool       `json:"disabled"`
	Created     time.Time  `json:"createdDateTime"`
	LastLogin   *time.Time `json:"lastLoginDateTime,omitempty"`
	// MustChangePassword is set for an account created with a one-time
	// password.
	MustChangePassword bool `json:"mustChangePassword"`
	// OIDCSubject is the OpenID Connect identity the user signs in with,
	// "<issuer>#<sub>" ("": none). It is set at the user's first OIDC
	// sign-in, by a verified e-mail address equal to the user's name.
	OIDCSubject string `json:"oidcSubject,omitempty"`
}

// Token is an API token as stored: its secret is shown once, when it is
// created, and kept only as a hash.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Grants    []Grant    `json:"grants"`
	CreatedBy string     `json:"createdBy"`
	Created   time.Time  `json:"createdDateTime"`
	Expires   *time.Time `json:"expiresDateTime,omitempty"`
	Revoked   *time.Time `json:"revokedDateTime,omitempty"`
	LastUsed  *time.Time `json:"lastUsedDateTime,omitempty"`
}

// AuditEntry is one line of the audit log: who did what, from where, when,
// and how it ended. Audit entries are append-only.
type AuditEntry struct {
	ID       int64         `json:"id,string"`
	Time     time.Time     `json:"createdDateTime"`
	Actor    string        `json:"actor"` // principal name; the name tried for a failed login
	Kind     PrincipalKind `json:"actorKind,omitempty"`
	TenantID string        `json:"tenantId,omitempty"`
	// Action: login, logout, token.create, token.revoke, user.create,
	// user.update, request (a write through the API: Method and Path), …
	Action     string `json:"action"`
	Target     string `json:"target,omitempty"`
	RemoteAddr string `json:"remoteAddr,omitempty"`
	// Outcome is "success" or "failure"; Detail says why it failed,
	// never with a secret in it.
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// Session is a signed-in browser session as stored (its secret only as a
// hash). CSRF is the token a state-changing request authenticated by the
// session's cookie must echo (X-CSRF-Token).
type Session struct {
	ID         string    `json:"id"`
	UserID     string    `json:"userId"`
	CSRF       string    `json:"-"`
	Created    time.Time `json:"createdDateTime"`
	LastSeen   time.Time `json:"lastSeenDateTime"`
	RemoteAddr string    `json:"remoteAddr,omitempty"`
	UserAgent  string    `json:"userAgent,omitempty"`
}

// Session limits: a session ends after SessionIdle without a request, and
// SessionMax after it began, whichever comes first.
const (
	SessionIdle = 30 * time.Minute
	SessionMax  = 12 * time.Hour
)

// AuditQuery selects audit entries, newest first: Actor, Action and
// TenantID match exactly; Since is inclusive and Until exclusive; Top is
// the page size (0: 100; at most 1000) after Skip entries.
type AuditQuery struct {
	Actor, Action, TenantID string // "": any
	Since, Until            time.Time
	Top, Skip               int
}

// AuthStore keeps users, tokens, sessions and the audit log.
// Implementations are safe for concurrent use, never store a password or a
// secret in a recoverable form, and compare secrets in constant time.
// Errors are weft errors: EINVALID naming the field, ENOTFOUND, ECONFLICT,
// EUNAUTHENTICATED.
type AuthStore interface {
	// CreateUser adds a user with a password (argon2id); ECONFLICT when
	// the name is taken (names compare case-insensitively), EINVALID for
	// a password under 12 characters or a bad grant.
	CreateUser(ctx context.Context, u *User, password string) (*User, error)
	// UpdateUser changes a user's display name, grants and disabled flag
	// (nil: unchanged); disabling ends the user's sessions.
	UpdateUser(ctx context.Context, id string, displayName *string, grants *[]Grant, disabled *bool) (*User, error)
	// SetPassword replaces a user's password and ends their sessions.
	SetPassword(ctx context.Context, id, password string, mustChange bool) error
	// FindUser returns a user by id or by name.
	FindUser(ctx context.Context, idOrName string) (*User, error)
	// ListUsers lists users by name.
	ListUsers(ctx context.Context) ([]*User, error)
	// Authenticate checks a user's password; an EUNAUTHENTICATED error,
	// the same whether the user is unknown, disabled or the password
	// wrong, and taking the same time. It records the login time.
	Authenticate(ctx context.Context, name, password string) (*User, error)

	// CreateToken stores a token (Name, Grants, CreatedBy, Expires) and
	// returns it with its secret — the whole token string
	// "weft_<id>_<secret>" that a client sends as a Bearer token — which
	// is never shown again.
	CreateToken(ctx context.Context, t *Token) (*Token, string, error)
	// TokenPrincipal returns the principal of a token (the whole string
	// CreateToken returned) and records its use (the last-used time at
	// most once a minute); EUNAUTHENTICATED for an unknown, malformed,
	// expired or revoked token.
	TokenPrincipal(ctx context.Context, secret string) (*Principal, error)
	// TokenPrincipalFrom is TokenPrincipal for a request from remoteAddr
	// to target ("METHOD path"): the use it records (at most once a
	// minute per token) is also a token.use audit entry naming them.
	TokenPrincipalFrom(ctx context.Context, secret, remoteAddr, target string) (*Principal, error)
	// ListTokens lists tokens (never their secrets), newest first.
	ListTokens(ctx context.Context) ([]*Token, error)
	// RevokeToken revokes a token at once; revoking it again is no error.
	RevokeToken(ctx context.Context, id string) error

	// CreateSession starts a session for a user and returns its secret
	// (the cookie's value) and the session.
	CreateSession(ctx context.Context, userID, remoteAddr, userAgent string) (string, *Session, error)
	// FindUserByOIDC returns the user linked to an OpenID Connect
	// identity, "<issuer>#<sub>" (User.OIDCSubject); ENOTFOUND when none.
	FindUserByOIDC(ctx context.Context, subject string) (*User, error)
	// LinkOIDC links a user to an OpenID Connect identity; linking it again
	// to the same one is no error. ECONFLICT when the user is linked to
	// another identity or the identity to another user, ENOTFOUND for an
	// unknown user.
	LinkOIDC(ctx context.Context, userID, subject string) error

	// SessionPrincipal returns the principal and session of a session
	// secret and extends its idle time; EUNAUTHENTICATED when unknown,
	// idle past SessionIdle, older than SessionMax, or its user disabled.
	SessionPrincipal(ctx context.Context, secret string) (*Principal, *Session, error)
	// DeleteSession ends a session (sign-out); unknown is no error.
	DeleteSession(ctx context.Context, secret string) error

	// HasAccounts reports whether any user that is not disabled, or any
	// token neither revoked nor expired, exists — whether anyone can sign
	// in: a server without one prints a one-time bootstrap token at start.
	HasAccounts(ctx context.Context) (bool, error)

	// AppendAudit appends entries to the audit log; each needs an Action
	// and an Outcome (AuditSuccess or AuditFailure). A zero Time is the
	// store's clock.
	AppendAudit(ctx context.Context, entries ...AuditEntry) error
	// ListAudit reads the audit log, newest first, and reports whether
	// more entries follow the page.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, bool, error)
}

// Limits of accounts and grants, checked by CheckUserName and
// NormalizeGrants.
const (
	MaxUserNameBytes     = 64  // login names: ASCII, see CheckUserName
	MaxAccountNameBytes  = 256 // a user's display name, a token's name
	MaxGrants            = 100 // grants of one user or token
	MaxGrantDeviceGroups = 100 // device groups of one grant
)

// Outcomes of an audit entry.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
)

// CheckUserName returns an EINVALID error naming the field "name" unless
// name is 1–MaxUserNameBytes characters of [a-zA-Z0-9._@+-] starting with a
// letter or digit. Login names are ASCII so that comparing them without
// case is exact (SQLite's NOCASE folds ASCII only) and no two names look
// alike in another script; an e-mail address fits.
func CheckUserName(name string) error {
	if name == "" || len(name) > MaxUserNameBytes {
		return Errorf(EINVALID, "name: must be 1 to %d characters long", MaxUserNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("._@+-", rune(c))) {
			return Errorf(EINVALID, "name: %q may contain only letters, digits and . _ @ + - (starting with a letter or digit)", truncate(name, 80))
		}
	}
	return nil
}

// NormalizeGrants checks grants and returns them in the form stored: each
// role one of Roles, each tenant a valid tenant id or AllTenants, device
// groups trimmed, without repeats, sorted, each 1–MaxAssetNameBytes of
// UTF-8 without control characters, at most MaxGrantDeviceGroups per grant
// and MaxGrants grants. An admin grant limited to device groups is refused
// rather than silently widened (AccessIn never limits an admin). Errors are
// EINVALID and name the field, as "grants[1].role".
func NormalizeGrants(grants []Grant) ([]Grant, error) {
	if len(grants) > MaxGrants {
		return nil, Errorf(EINVALID, "grants: %d grants; at most %d", len(grants), MaxGrants)
	}
	out := make([]Grant, 0, len(grants))
	for i, g := range grants {
		if !slices.Contains(Roles, g.Role) {
			return nil, Errorf(EINVALID, "grants[%d].role: %q is not one of viewer, analyst, responder, admin", i, truncate(string(g.Role), 40))
		}
		if g.TenantID != AllTenants {
			if err := ValidateTenantID(g.TenantID); err != nil {
				return nil, Errorf(EINVALID, "grants[%d].tenantId: %s, or %q for every tenant", i, ErrorMessage(err), AllTenants)
			}
		}
		if len(g.DeviceGroups) > MaxGrantDeviceGroups {
			return nil, Errorf(EINVALID, "grants[%d].deviceGroups: %d groups; at most %d", i, len(g.DeviceGroups), MaxGrantDeviceGroups)
		}
		var groups []string
		for j, dg := range g.DeviceGroups {
			v, err := cleanText("deviceGroups", dg, MaxAssetNameBytes)
			if err != nil {
				return nil, Errorf(EINVALID, "grants[%d].deviceGroups[%d]: %s", i, j, strings.TrimPrefix(ErrorMessage(err), "deviceGroups: "))
			}
			if v == "" {
				return nil, Errorf(EINVALID, "grants[%d].deviceGroups[%d]: is empty", i, j)
			}
			groups = append(groups, v)
		}
		slices.Sort(groups)
		groups = slices.Compact(groups)
		if g.Role == RoleAdmin && len(groups) > 0 {
			return nil, Errorf(EINVALID, "grants[%d].deviceGroups: an admin grant cannot be limited to device groups", i)
		}
		out = append(out, Grant{TenantID: g.TenantID, Role: g.Role, DeviceGroups: groups})
	}
	return out, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/auth"
	sqlite3 "modernc.org/sqlite/lib"
)

// Accounts (weft.AuthStore): users, API tokens, sessions and the audit log,
// in the tables of migration/0012_accounts.sql. The credential primitives
// (argon2id, token format, random secrets, their hashes) are package auth's;
// this file decides what is stored and when.
//
// Writes run like every other write: in a transaction on the writer, under
// the write lock (authWrite). Two things are kept off that path:
//
//   - The argon2id computation of a sign-in or a new password (tens of
//     milliseconds, auth.DefaultParams) runs before the lock is taken, so a
//     sign-in never holds up a batch of alerts, and a burst of sign-ins
//     only queues for auth's hashing slots.
//   - TokenPrincipal and SessionPrincipal, called on every API request,
//     read on the read pool. They write only to record use — a token's
//     last-used or a session's last-seen time — and only when the stored
//     time is touchEvery or more behind, so a credential costs at most one
//     small write a minute however many requests it makes; a token's
//     write also appends its token.use audit entry (TokenPrincipalFrom),
//     so the audit log has one per token per minute of use. The write is
//     conditional (it changes nothing if another request wrote first), so
//     concurrent requests that all saw an old time are harmless. The
//     write waits for the write lock like any other, so once a minute one
//     request of a credential may wait for a batch in progress. A
//     session's idle time is therefore measured from a last-seen time up to
//     a minute old: a session idle for SessionIdle minus one minute may
//     end.
//
// Expired sessions are deleted lazily, by the SessionPrincipal that finds
// one expired, and swept at every CreateSession (a sign-in): the table only
// grows by CreateSession, so sweeping there keeps it to the sessions begun
// within SessionMax, without a timer goroutine. Revocation and disabling
// need no cache invalidation: every request reads the token's or user's
// row.

var _ weft.AuthStore = (*Store)(nil)

const (
	// touchEvery is how stale a token's last-used or a session's last-seen
	// time may be before a request writes it.
	touchEvery = time.Minute
	// maxSessionsPerUser bounds one user's live sessions; a new sign-in
	// ends the oldest beyond it.
	maxSessionsPerUser = 50
	// maxAuditPerCall bounds one AppendAudit call; maxAuditTop one page of
	// ListAudit.
	maxAuditPerCall = 1000
	maxAuditTop     = 1000
	defaultAuditTop = 100
)

// Bounds of the free-text fields of sessions and audit entries, which hold
// what a client sent (a user agent, the name tried at a failed sign-in):
// they are cut, never refused, so an audit entry is always written.
const (
	maxRemoteAddrBytes = 256
	maxUserAgentBytes  = 512
	maxAuditFieldBytes = 1024 // actor, target
	maxAuditDetail     = 2048
	maxAuditWordBytes  = 64 // action, tenant, actor kind, outcome
)

// errBadLogin is Authenticate's one refusal: it does not say whether the
// name exists, the account is disabled or the password is wrong.
func errBadLogin() error {
	return weft.Errorf(weft.EUNAUTHENTICATED, "wrong user name or password")
}

// authWrite runs op in a write transaction under the write lock.
func (s *Store) authWrite(ctx context.Context, what string, op func(tx *sql.Tx, now int64) error) error {
	return s.manageAll(ctx, what, func(tx *sql.Tx, now int64) (managed, error) {
		return managed{}, op(tx, now)
	})
}

// cleanName trims a name and checks it: valid UTF-8, no control
// characters, at most max bytes, not empty when required.
func cleanName(field, s string, max int, required bool) (string, error) {
	v := strings.TrimSpace(s)
	switch {
	case required && v == "":
		return "", weft.Errorf(weft.EINVALID, "%s: is required", field)
	case !utf8.ValidString(v):
		return "", weft.Errorf(weft.EINVALID, "%s: is not valid UTF-8", field)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "", weft.Errorf(weft.EINVALID, "%s: must not contain control characters", field)
	case len(v) > max:
		return "", weft.Errorf(weft.EINVALID, "%s: is %d bytes; at most %d", field, len(v), max)
	}
	return v, nil
}

// cut makes client-sent text storable: valid UTF-8, at most n bytes.
func cut(s string, n int) string {
	return truncate(strings.ToValidUTF8(s, "\uFFFD"), n)
}

func marshalGrants(gs []weft.Grant) (string, error) {
	if gs == nil {
		gs = []weft.Grant{}
	}
	b, err := jsonv2.Marshal(gs)
	if err != nil {
		return "", fmt.Errorf("encode grants: %w", err)
	}
	return string(b), nil
}

func unmarshalGrants(js string) ([]weft.Grant, error) {
	gs := []weft.Grant{}
	if err := jsonv2.Unmarshal([]byte(js), &gs); err != nil {
		return nil, fmt.Errorf("decode grants: %w", err)
	}
	return gs, nil
}

// Users.

const userColumns = `id, name, display_name, grants, disabled, must_change, created, last_login, coalesce(oidc_subject, '')`

type rowScanner interface{ Scan(dest ...any) error }

func scanUser(r rowScanner, extra ...any) (*weft.User, error) {
	var u weft.User
	var grants string
	var created int64
	var lastLogin sql.NullInt64
	dest := append([]any{&u.ID, &u.Name, &u.DisplayName, &grants, &u.Disabled, &u.MustChangePassword, &created, &lastLogin, &u.OIDCSubject}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if u.Grants, err = unmarshalGrants(grants); err != nil {
		return nil, err
	}
	u.Created, u.LastLogin = fromNanos(created), fromNullNanos(lastLogin)
	return &u, nil
}

// CreateUser implements weft.AuthStore. It takes u's Name, DisplayName,
// Grants, Disabled and MustChangePassword; the id and creation time are
// the store's. The password is checked (auth.CheckPassword) and hashed
// before the write lock is taken. Errors: EINVALID naming the field,
// ECONFLICT for a name taken (without regard to case).
func (s *Store) CreateUser(ctx context.Context, u *weft.User, password string) (*weft.User, error) {
	if err := weft.CheckUserName(u.Name); err != nil {
		return nil, err
	}
	display, err := cleanName("displayName", u.DisplayName, weft.MaxAccountNameBytes, false)
	if err != nil {
		return nil, err
	}
	grants, err := weft.NormalizeGrants(u.Grants)
	if err != nil {
		return nil, err
	}
	grantsJS, err := marshalGrants(grants)
	if err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return nil, err
	}
	out := &weft.User{ID: auth.NewID(), Name: u.Name, DisplayName: display, Grants: grants,
		Disabled: u.Disabled, MustChangePassword: u.MustChangePassword}
	err = s.authWrite(ctx, "create user", func(tx *sql.Tx, now int64) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, name, display_name, password_hash, grants, disabled, must_change, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, out.ID, out.Name, out.DisplayName, hash, grantsJS, out.Disabled, out.MustChangePassword, now)
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			return weft.Errorf(weft.ECONFLICT, "name: a user named %q already exists", out.Name)
		} else if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		out.Created = fromNanos(now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateUser implements weft.AuthStore: a nil argument leaves its field as
// it is. Disabling a user deletes their sessions in the same transaction;
// a change of grants applies to their sessions from the next request, which
// reads them. Errors: EINVALID naming the field, ENOTFOUND.
func (s *Store) UpdateUser(ctx context.Context, id string, displayName *string, grants *[]weft.Grant, disabled *bool) (*weft.User, error) {
	var display, grantsJS string
	var err error
	if displayName != nil {
		if display, err = cleanName("displayName", *displayName, weft.MaxAccountNameBytes, false); err != nil {
			return nil, err
		}
	}
	if grants != nil {
		gs, err := weft.NormalizeGrants(*grants)
		if err != nil {
			return nil, err
		}
		if grantsJS, err = marshalGrants(gs); err != nil {
			return nil, err
		}
	}
	var out *weft.User
	err = s.authWrite(ctx, "update user", func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET
			display_name = CASE WHEN ?2 THEN ?3 ELSE display_name END,
			grants = CASE WHEN ?4 THEN ?5 ELSE grants END,
			disabled = coalesce(?6, disabled)
			WHERE id = ?1`, id, displayName != nil, display, grants != nil, grantsJS, disabled)
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update user: %w", err)
		} else if n == 0 {
			return weft.Errorf(weft.ENOTFOUND, "user %q not found", truncate(id, 80))
		}
		if disabled != nil && *disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		out, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetPassword implements weft.AuthStore. The new password is checked and
// hashed before the write lock is taken; the user's sessions are deleted
// with the change, so a stolen session does not outlive a password reset
// (the caller starts a new one for the user who changed it). Errors:
// EINVALID naming "password", ENOTFOUND.
func (s *Store) SetPassword(ctx context.Context, id, password string, mustChange bool) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	return s.authWrite(ctx, "set password", func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, must_change = ? WHERE id = ?`, hash, mustChange, id)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set password: %w", err)
		} else if n == 0 {
			return weft.Errorf(weft.ENOTFOUND, "user %q not found", truncate(id, 80))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return nil
	})
}

// FindUser implements weft.AuthStore. An id is tried before a name (the
// name compared without case), so a user whose name has the form of an id
// cannot shadow another user's id. Errors: ENOTFOUND.
func (s *Store) FindUser(ctx context.Context, idOrName string) (*weft.User, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE id = ?1 OR name = ?1 ORDER BY id = ?1 DESC LIMIT 1`, idOrName))
	if errNotFound(err) {
		return nil, weft.Errorf(weft.ENOTFOUND, "user %q not found", truncate(idOrName, 80))
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: find user: %w", err)
	}
	return u, nil
}

// FindUserByOIDC implements weft.AuthStore: the user linked to subject
// ("<issuer>#<sub>"), through the unique index of the link. Errors:
// ENOTFOUND, also for an empty subject.
func (s *Store) FindUserByOIDC(ctx context.Context, subject string) (*weft.User, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE oidc_subject = ?`, subject))
	if errNotFound(err) || subject == "" {
		return nil, weft.Errorf(weft.ENOTFOUND, "no user is linked to the identity %q", truncate(subject, 200))
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: find user by oidc subject: %w", err)
	}
	return u, nil
}

// LinkOIDC implements weft.AuthStore: it links user id to subject. Linking
// a user again to the subject it has is no error; a link is never replaced
// here, so that an identity cannot take over an account linked to another.
// Errors: EINVALID for an empty or over-long subject, ENOTFOUND, ECONFLICT
// when the user is linked to another subject or the subject to another
// user.
func (s *Store) LinkOIDC(ctx context.Context, id, subject string) error {
	if subject == "" || len(subject) > maxOIDCSubjectBytes {
		return weft.Errorf(weft.EINVALID, "oidcSubject: must be 1 to %d bytes long", maxOIDCSubjectBytes)
	}
	return s.authWrite(ctx, "link oidc", func(tx *sql.Tx, now int64) error {
		var linked string
		err := tx.QueryRowContext(ctx, `SELECT coalesce(oidc_subject, '') FROM users WHERE id = ?`, id).Scan(&linked)
		if errNotFound(err) {
			return weft.Errorf(weft.ENOTFOUND, "user %q not found", truncate(id, 80))
		} else if err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		switch linked {
		case subject:
			return nil
		case "":
		default:
			return weft.Errorf(weft.ECONFLICT, "oidcSubject: user %q is linked to another identity", truncate(id, 80))
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET oidc_subject = ? WHERE id = ?`, subject, id)
		if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
			return weft.Errorf(weft.ECONFLICT, "oidcSubject: the identity is linked to another user")
		} else if err != nil {
			return fmt.Errorf("link oidc: %w", err)
		}
		return nil
	})
}

// maxOIDCSubjectBytes bounds a stored OIDC subject: an issuer URL and a
// sub of at most 255 ASCII characters (OpenID Connect Core §2).
const maxOIDCSubjectBytes = 2048

// ListUsers implements weft.AuthStore: every user, by name without case.
func (s *Store) ListUsers(ctx context.Context) ([]*weft.User, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var us []*weft.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return us, nil
}

// Authenticate implements weft.AuthStore. Every refusal is the same
// EUNAUTHENTICATED error after the same work — one argon2id verification:
// against the user's hash for a known name (disabled or not), against
// auth.VerifyDummy's for an unknown one. The verification runs on the read
// pool's answer, outside the write lock; only a success writes (the login
// time, and a new hash when the stored one was made with parameters weaker
// than auth.DefaultParams). A stored hash that cannot be read is an
// internal error.
func (s *Store) Authenticate(ctx context.Context, name, password string) (*weft.User, error) {
	if len(password) > auth.MaxPasswordBytes {
		// No stored password is this long (CreateUser refuses it); do
		// the work of a verification anyway, on a bounded input.
		auth.VerifyDummy(password[:auth.MaxPasswordBytes])
		return nil, errBadLogin()
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	var hash string
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE name = ?`, name), &hash)
	s.leave()
	if errNotFound(err) {
		auth.VerifyDummy(password)
		return nil, errBadLogin()
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: authenticate: %w", err)
	}
	ok, err := auth.VerifyPassword(hash, password)
	if err != nil {
		return nil, fmt.Errorf("sqlite: authenticate user %s: %w", u.ID, err)
	}
	if !ok || u.Disabled {
		return nil, errBadLogin()
	}
	var rehash string
	if auth.NeedsRehash(hash) {
		if rehash, err = auth.HashPassword(password); err != nil {
			rehash = "" // a password from before today's rules: keep its hash
		}
	}
	err = s.authWrite(ctx, "record login", func(tx *sql.Tx, now int64) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login = ? WHERE id = ?`, now, u.ID); err != nil {
			return err
		}
		if rehash != "" {
			// Only if no one changed the password meanwhile.
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`,
				rehash, u.ID, hash); err != nil {
				return err
			}
		}
		t := fromNanos(now)
		u.LastLogin = &t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Tokens.

// CreateToken implements weft.AuthStore. It takes t's Name (required),
// Grants, CreatedBy and Expires (nil: never; else in the future), and
// returns the token as stored with the whole token string
// (weft_<id>_<secret>, auth.NewToken), the only time it is available: the
// store keeps SHA-256 of its secret. Errors: EINVALID naming the field.
func (s *Store) CreateToken(ctx context.Context, t *weft.Token) (*weft.Token, string, error) {
	name, err := cleanName("name", t.Name, weft.MaxAccountNameBytes, true)
	if err != nil {
		return nil, "", err
	}
	createdBy, err := cleanName("createdBy", t.CreatedBy, weft.MaxActorBytes, false)
	if err != nil {
		return nil, "", err
	}
	grants, err := weft.NormalizeGrants(t.Grants)
	if err != nil {
		return nil, "", err
	}
	grantsJS, err := marshalGrants(grants)
	if err != nil {
		return nil, "", err
	}
	id, secret, full := auth.NewToken()
	out := &weft.Token{ID: id, Name: name, Grants: grants, CreatedBy: createdBy}
	err = s.authWrite(ctx, "create token", func(tx *sql.Tx, now int64) error {
		if t.Expires != nil {
			if !t.Expires.After(fromNanos(now)) {
				return weft.Errorf(weft.EINVALID, "expiresDateTime: %s is not in the future", t.Expires.UTC().Format(time.RFC3339))
			}
			e := t.Expires.UTC()
			out.Expires = &e
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, name, token_hash, grants, created_by, created, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, name, auth.HashSecret(secret), grantsJS, createdBy, now, nullNanos(out.Expires)); err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		out.Created = fromNanos(now)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, full, nil
}

// dummySecretHash is compared with a presented secret when its token id is
// unknown, so that the comparison is always made.
var dummySecretHash = auth.HashSecret(auth.NewSecret())

// TokenPrincipal implements weft.AuthStore. The token is the whole string
// weft_<id>_<secret>: its id finds the row on the read pool, and the
// SHA-256 of its secret is compared with the stored one in constant time.
// A malformed, unknown or wrong token is "not valid"; a revoked or expired
// one says so (only once its secret is proved, so the answer discloses
// nothing to whoever does not hold it). Revocation takes effect at the
// next call: nothing is cached. Use is recorded at most once a minute (see
// the top of this file and TokenPrincipalFrom); a failure to record it does
// not fail the call.
func (s *Store) TokenPrincipal(ctx context.Context, token string) (*weft.Principal, error) {
	return s.TokenPrincipalFrom(ctx, token, "", "")
}

// TokenPrincipalFrom is TokenPrincipal for a request from remoteAddr to
// target ("GET /api/v1/incidents"): when it records the token's use — at
// most once a minute per token, the write TokenPrincipal makes anyway — it
// appends, in the same transaction, the audit entry token.use (actor
// "token:NAME", the remote address, the target). So the audit log holds
// one entry per token per minute of use, naming the first request of that
// minute, at no cost to the other requests; the entry and the last-used
// time are written together or not at all. remoteAddr and target are cut
// to the audit log's bounds.
func (s *Store) TokenPrincipalFrom(ctx context.Context, token, remoteAddr, target string) (*weft.Principal, error) {
	id, secret, ok := auth.ParseToken(token)
	if !ok {
		return nil, weft.Errorf(weft.EUNAUTHENTICATED, "the API token is not valid")
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	var (
		name, grantsJS, createdBy string
		stored                    []byte
		expires, revoked, lastUse sql.NullInt64
	)
	err := s.read.QueryRowContext(ctx, `SELECT name, token_hash, grants, created_by, expires, revoked, last_used FROM tokens WHERE id = ?`, id).
		Scan(&name, &stored, &grantsJS, &createdBy, &expires, &revoked, &lastUse)
	s.leave()
	if errNotFound(err) {
		auth.SecretsEqual(dummySecretHash, auth.HashSecret(secret))
		return nil, weft.Errorf(weft.EUNAUTHENTICATED, "the API token is not valid")
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: token principal: %w", err)
	}
	if !auth.SecretsEqual(stored, auth.HashSecret(secret)) {
		return nil, weft.Errorf(weft.EUNAUTHENTICATED, "the API token is not valid")
	}
	now := s.now()
	if revoked.Valid {
		return nil, weft.Errorf(weft.EUNAUTHENTICATED, "the API token %s was revoked", id)
	}
	if expires.Valid && !now.Before(fromNanos(expires.Int64)) {
		return nil, weft.Errorf(weft.EUNAUTHENTICATED, "the API token %s expired at %s", id, fromNanos(expires.Int64).Format(time.RFC3339))
	}
	grants, err := unmarshalGrants(grantsJS)
	if err != nil {
		return nil, fmt.Errorf("sqlite: token %s: %w", id, err)
	}
	p := &weft.Principal{Kind: weft.PrincipalToken, ID: id, Name: "token:" + name, Grants: grants, Owner: createdBy}
	if !lastUse.Valid || now.Sub(fromNanos(lastUse.Int64)) >= touchEvery {
		s.touchToken(ctx, p, remoteAddr, target)
	}
	return p, nil
}

// touchToken records a token's use: its last-used time and, when this
// request is the one that wrote it (the update is conditional, so of
// concurrent requests that saw an old time only one does), the token.use
// audit entry. Best-effort, like touch.
func (s *Store) touchToken(ctx context.Context, p *weft.Principal, remoteAddr, target string) {
	_ = s.authWrite(ctx, "record token use", func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used = ?1 WHERE id = ?2 AND (last_used IS NULL OR last_used <= ?1 - ?3)`,
			now, p.ID, int64(touchEvery))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (time, actor, actor_kind, tenant_id, action, target, remote_addr, outcome, detail)
			VALUES (?, ?, ?, '', 'token.use', ?, ?, ?, '')`, now, cut(p.Name, maxAuditFieldBytes), string(weft.PrincipalToken),
			cut(target, maxAuditFieldBytes), cut(remoteAddr, maxRemoteAddrBytes), weft.AuditSuccess)
		return err
	})
}

// touch runs a use-recording update, (now, id, touchEvery) its arguments.
// It is best-effort: a failure (a cancelled request, a busy file) leaves
// the old time, which the next request tries again to replace.
func (s *Store) touch(ctx context.Context, what, query, id string) {
	_ = s.authWrite(ctx, what, func(tx *sql.Tx, now int64) error {
		_, err := tx.ExecContext(ctx, query, now, id, int64(touchEvery))
		return err
	})
}

const tokenColumns = `id, name, grants, created_by, created, expires, revoked, last_used`

// ListTokens implements weft.AuthStore: every token, revoked and expired
// ones too, newest first, without secrets or their hashes.
func (s *Store) ListTokens(ctx context.Context) ([]*weft.Token, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tokens: %w", err)
	}
	defer rows.Close()
	var ts []*weft.Token
	for rows.Next() {
		var t weft.Token
		var grants string
		var created int64
		var expires, revoked, lastUsed sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Name, &grants, &t.CreatedBy, &created, &expires, &revoked, &lastUsed); err != nil {
			return nil, fmt.Errorf("sqlite: list tokens: %w", err)
		}
		if t.Grants, err = unmarshalGrants(grants); err != nil {
			return nil, fmt.Errorf("sqlite: list tokens: %w", err)
		}
		t.Created, t.Expires, t.Revoked, t.LastUsed = fromNanos(created), fromNullNanos(expires), fromNullNanos(revoked), fromNullNanos(lastUsed)
		ts = append(ts, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list tokens: %w", err)
	}
	return ts, nil
}

// RevokeToken implements weft.AuthStore. The revocation time of a token
// revoked before is kept. Errors: ENOTFOUND.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.authWrite(ctx, "revoke token", func(tx *sql.Tx, now int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = coalesce(revoked, ?) WHERE id = ?`, now, id)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		} else if n == 0 {
			return weft.Errorf(weft.ENOTFOUND, "token %q not found", truncate(id, 80))
		}
		return nil
	})
}

// Sessions.

// CreateSession implements weft.AuthStore. The secret (the cookie's value)
// and the CSRF token are 256 random bits each; the store keeps SHA-256 of
// the secret and the CSRF token as is. In the same transaction it deletes
// every expired session (the sweep) and the user's oldest sessions beyond
// maxSessionsPerUser. remoteAddr and userAgent are kept cut to a bound.
// Errors: ENOTFOUND for an unknown user, EUNAUTHENTICATED for a disabled
// one.
func (s *Store) CreateSession(ctx context.Context, userID, remoteAddr, userAgent string) (string, *weft.Session, error) {
	secret := auth.NewSecret()
	sess := &weft.Session{ID: auth.NewID(), UserID: userID, CSRF: auth.NewSecret(),
		RemoteAddr: cut(remoteAddr, maxRemoteAddrBytes), UserAgent: cut(userAgent, maxUserAgentBytes)}
	err := s.authWrite(ctx, "create session", func(tx *sql.Tx, now int64) error {
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = ?`, userID).Scan(&disabled)
		if errNotFound(err) {
			return weft.Errorf(weft.ENOTFOUND, "user %q not found", truncate(userID, 80))
		} else if err != nil {
			return fmt.Errorf("read user: %w", err)
		} else if disabled {
			return weft.Errorf(weft.EUNAUTHENTICATED, "the account is disabled")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen <= ? OR created <= ?`,
			now-int64(weft.SessionIdle), now-int64(weft.SessionMax)); err != nil {
			return fmt.Errorf("sweep sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id IN (SELECT id FROM sessions
			WHERE user_id = ? ORDER BY created DESC LIMIT -1 OFFSET ?)`, userID, maxSessionsPerUser-1); err != nil {
			return fmt.Errorf("end old sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, secret_hash, user_id, csrf, created, last_seen, remote_addr, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sess.ID, auth.HashSecret(secret), userID, sess.CSRF, now, now,
			sess.RemoteAddr, sess.UserAgent); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		sess.Created = fromNanos(now)
		sess.LastSeen = sess.Created
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

// SessionPrincipal implements weft.AuthStore. The session is found by the
// SHA-256 of its secret through a unique index; the time of that lookup
// depends on the hash, which tells a guesser nothing about a secret that
// would match. A session idle for SessionIdle or begun SessionMax ago is
// deleted and refused, as is one whose user is disabled; every refusal is
// the same EUNAUTHENTICATED error. The user's name and grants are read
// with the session, so a change of grants applies at once. The last-seen
// time is written at most once a minute (see the top of this file).
func (s *Store) SessionPrincipal(ctx context.Context, secret string) (*weft.Principal, *weft.Session, error) {
	ended := weft.Errorf(weft.EUNAUTHENTICATED, "the session has ended; sign in again")
	if !auth.ValidSessionSecret(secret) {
		return nil, nil, ended
	}
	hash := auth.HashSecret(secret)
	if err := s.enter(); err != nil {
		return nil, nil, err
	}
	var (
		sess           weft.Session
		stored         []byte
		created, seen  int64
		name, grantsJS string
		disabled, must bool
	)
	err := s.read.QueryRowContext(ctx, `SELECT s.id, s.secret_hash, s.user_id, s.csrf, s.created, s.last_seen, s.remote_addr, s.user_agent,
		u.name, u.grants, u.disabled, u.must_change FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.secret_hash = ?`, hash).
		Scan(&sess.ID, &stored, &sess.UserID, &sess.CSRF, &created, &seen, &sess.RemoteAddr, &sess.UserAgent, &name, &grantsJS, &disabled, &must)
	s.leave()
	if errNotFound(err) {
		return nil, nil, ended
	} else if err != nil {
		return nil, nil, fmt.Errorf("sqlite: session principal: %w", err)
	}
	if !auth.SecretsEqual(stored, hash) {
		return nil, nil, ended // cannot happen: found by this hash
	}
	now := s.now()
	sess.Created, sess.LastSeen = fromNanos(created), fromNanos(seen)
	if disabled || now.Sub(sess.LastSeen) >= weft.SessionIdle || now.Sub(sess.Created) >= weft.SessionMax {
		_ = s.authWrite(ctx, "end session", func(tx *sql.Tx, _ int64) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, sess.ID)
			return err
		}) // best-effort: CreateSession's sweep deletes it otherwise
		return nil, nil, ended
	}
	grants, err := unmarshalGrants(grantsJS)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: user %s: %w", sess.UserID, err)
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		s.touch(ctx, "record session use", `UPDATE sessions SET last_seen = ?1 WHERE id = ?2 AND last_seen <= ?1 - ?3`, sess.ID)
		sess.LastSeen = now.UTC()
	}
	return &weft.Principal{Kind: weft.PrincipalUser, ID: sess.UserID, Name: name, Grants: grants, SessionID: sess.ID,
		MustChangePassword: must}, &sess, nil
}

// DeleteSession implements weft.AuthStore: sign-out. A secret that is not
// a session's is no error.
func (s *Store) DeleteSession(ctx context.Context, secret string) error {
	if !auth.ValidSessionSecret(secret) {
		return nil
	}
	return s.authWrite(ctx, "delete session", func(tx *sql.Tx, now int64) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE secret_hash = ?`, auth.HashSecret(secret)); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	})
}

// HasAccounts implements weft.AuthStore: whether any user that is not
// disabled, or any token that is neither revoked nor expired, exists — that
// is, whether anyone at all can sign in.
func (s *Store) HasAccounts(ctx context.Context) (bool, error) {
	if err := s.enter(); err != nil {
		return false, err
	}
	defer s.leave()
	var has bool
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE NOT disabled)
		OR EXISTS (SELECT 1 FROM tokens WHERE revoked IS NULL AND (expires IS NULL OR expires > ?))`,
		nanos(s.now())).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("sqlite: has accounts: %w", err)
	}
	return has, nil
}

// The audit log.

// AppendAudit implements weft.AuthStore: it appends entries in one
// transaction. Each needs an Action and an Outcome (weft.AuditSuccess or
// weft.AuditFailure), else EINVALID; a zero Time is the store's clock. The
// free-text fields are made valid UTF-8 and cut to a bound rather than
// refused, so that a sign-in attempt with an absurd name is still
// recorded. More than 1000 entries in one call is ETOOLARGE. Nothing
// updates or deletes an entry (migration 0012 forbids it).
func (s *Store) AppendAudit(ctx context.Context, entries ...weft.AuditEntry) error {
	if len(entries) > maxAuditPerCall {
		return weft.Errorf(weft.ETOOLARGE, "audit: %d entries in one call; at most %d", len(entries), maxAuditPerCall)
	}
	for i, e := range entries {
		if strings.TrimSpace(e.Action) == "" {
			return weft.Errorf(weft.EINVALID, "audit[%d].action: is required", i)
		}
		if e.Outcome != weft.AuditSuccess && e.Outcome != weft.AuditFailure {
			return weft.Errorf(weft.EINVALID, "audit[%d].outcome: must be %q or %q, not %q", i, weft.AuditSuccess, weft.AuditFailure, truncate(e.Outcome, 40))
		}
	}
	if len(entries) == 0 {
		return nil
	}
	return s.authWrite(ctx, "append audit", func(tx *sql.Tx, now int64) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_log (time, actor, actor_kind, tenant_id, action, target, remote_addr, outcome, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
		defer stmt.Close()
		for _, e := range entries {
			at := now
			if !e.Time.IsZero() {
				at = nanos(e.Time)
			}
			if _, err := stmt.ExecContext(ctx, at, cut(e.Actor, maxAuditFieldBytes), cut(string(e.Kind), maxAuditWordBytes),
				cut(e.TenantID, maxAuditWordBytes), cut(strings.TrimSpace(e.Action), maxAuditWordBytes), cut(e.Target, maxAuditFieldBytes),
				cut(e.RemoteAddr, maxRemoteAddrBytes), e.Outcome, cut(e.Detail, maxAuditDetail)); err != nil {
				return fmt.Errorf("append audit: %w", err)
			}
		}
		return nil
	})
}

// ListAudit implements weft.AuthStore: entries newest first (by time, then
// by the order they were appended), filtered by exact actor, action and
// tenant, Since (inclusive) and Until (exclusive); Top entries (default
// 100, at most 1000) after Skip, and whether more follow. Errors: EINVALID
// for a Top or Skip out of range.
func (s *Store) ListAudit(ctx context.Context, q weft.AuditQuery) ([]weft.AuditEntry, bool, error) {
	top := q.Top
	switch {
	case top == 0:
		top = defaultAuditTop
	case top < 0 || top > maxAuditTop:
		return nil, false, weft.Errorf(weft.EINVALID, "$top: must be 1 to %d, not %d", maxAuditTop, q.Top)
	}
	if q.Skip < 0 {
		return nil, false, weft.Errorf(weft.EINVALID, "$skip: must not be negative, not %d", q.Skip)
	}
	where, args := []string{"1"}, []any{}
	for _, f := range []struct{ col, v string }{{"actor", q.Actor}, {"action", q.Action}, {"tenant_id", q.TenantID}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, nanos(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time < ?"), append(args, nanos(q.Until))
	}
	args = append(args, top+1, q.Skip)
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer s.leave()
	rows, err := s.read.QueryContext(ctx, `SELECT id, time, actor, actor_kind, tenant_id, action, target, remote_addr, outcome, detail
		FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY time DESC, id DESC LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: list audit: %w", err)
	}
	defer rows.Close()
	var out []weft.AuditEntry
	for rows.Next() {
		var e weft.AuditEntry
		var at int64
		var kind string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &kind, &e.TenantID, &e.Action, &e.Target, &e.RemoteAddr, &e.Outcome, &e.Detail); err != nil {
			return nil, false, fmt.Errorf("sqlite: list audit: %w", err)
		}
		e.Time, e.Kind = fromNanos(at), weft.PrincipalKind(kind)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlite: list audit: %w", err)
	}
	more := len(out) > top
	if more {
		out = out[:top]
	}
	return out, more, nil
}

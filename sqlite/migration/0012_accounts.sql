-- 0012_accounts: users, API tokens, sessions and the audit log
-- (weft.AuthStore, sqlite/auth.go; docs/security.md).
--
-- These tables are the one exception to 0001's rule that every table
-- carries tenant_id: an account is not in a tenant, it holds grants in
-- tenants (grants: a JSON array of weft.Grant, normalized by
-- weft.NormalizeGrants). The audit log carries the tenant of an entry where
-- it has one ('' otherwise).
--
-- No secret is kept in a form that gives it back: password_hash is an
-- argon2id hash in PHC form (auth.HashPassword); token_hash and secret_hash
-- are SHA-256 of 256-bit random secrets (auth.HashSecret). Ids are 12
-- random characters (auth.NewID). Times are nanoseconds, NULL for never.

-- name is unique without case. Login names are ASCII (weft.CheckUserName),
-- so NOCASE, which folds ASCII only, is exact. Users are never deleted
-- (they are disabled), so that the audit log's actors keep their meaning.
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
	display_name  TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	grants        TEXT NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0,
	must_change   INTEGER NOT NULL DEFAULT 0,
	created       INTEGER NOT NULL,
	last_login    INTEGER
) WITHOUT ROWID;

-- A token is found by its id (the middle of weft_<id>_<secret>), and its
-- secret checked against token_hash in constant time. Revoked and expired
-- tokens are kept, for the list and the audit log.
CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	token_hash BLOB NOT NULL,
	grants     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created    INTEGER NOT NULL,
	expires    INTEGER,
	revoked    INTEGER,
	last_used  INTEGER
) WITHOUT ROWID;

-- ListTokens: newest first.
CREATE INDEX tokens_created ON tokens (created);

-- A session is found by the hash of its cookie (secret_hash, unique: the
-- index is the lookup). csrf is kept as is: it is no credential without
-- the cookie, and the UI needs it back. Sessions are deleted when they
-- expire (lazily and at each new sign-in; sqlite/auth.go), at sign-out,
-- and when their user is disabled or changes password.
CREATE TABLE sessions (
	id          TEXT PRIMARY KEY,
	secret_hash BLOB NOT NULL UNIQUE,
	user_id     TEXT NOT NULL REFERENCES users (id),
	csrf        TEXT NOT NULL,
	created     INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL,
	remote_addr TEXT NOT NULL DEFAULT '',
	user_agent  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Ending a user's sessions; the sweep of expired sessions.
CREATE INDEX sessions_user ON sessions (user_id, created);
CREATE INDEX sessions_last_seen ON sessions (last_seen);

-- The audit log is append-only: the store has no statement that updates or
-- deletes a row of it. ListAudit reads newest first (time, then id) with
-- optional filters on actor, action and tenant, each served by an index
-- that ends in time (and the rowid), so a filtered page is read in order
-- without sorting.
CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY,
	time        INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	actor_kind  TEXT NOT NULL DEFAULT '',
	tenant_id   TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL,
	target      TEXT NOT NULL DEFAULT '',
	remote_addr TEXT NOT NULL DEFAULT '',
	outcome     TEXT NOT NULL,
	detail      TEXT NOT NULL DEFAULT ''
);

CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_actor ON audit_log (actor, time);
CREATE INDEX audit_log_action ON audit_log (action, time);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, time);

-- The schema holds the log append-only too: a bug, or a later method,
-- cannot change or remove an entry without a migration that drops these
-- triggers (a retention policy, when there is one, will need that).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

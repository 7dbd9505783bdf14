-- 0014_actions: response actions (issue 7, docs/respond.md; weft.ActionStore,
-- sqlite/actions.go): the actions, their append-only logs and the tenants'
-- approval policies.
--
-- Times are Unix nanoseconds (UTC); 0 is "not set" for not_before and
-- lease_until. incident_id, undo_of and undone_by are 0 when there is none.
-- parameters is a JSON object of strings; requested_by and decided_by are
-- JSON weft.ActionActor values (decided_by NULL when nobody decided).
-- contains is the containment state a success leaves the target in ('' for
-- none), fixed at the request from the catalogue.
CREATE TABLE actions (
	id           INTEGER PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	type         TEXT NOT NULL,
	entity_type  TEXT NOT NULL,
	target       TEXT NOT NULL,
	target_name  TEXT NOT NULL DEFAULT '',
	parameters   TEXT NOT NULL DEFAULT '{}',
	incident_id  INTEGER NOT NULL DEFAULT 0,
	comment      TEXT NOT NULL DEFAULT '',
	dedupe_key   TEXT NOT NULL,
	status       TEXT NOT NULL,
	version      INTEGER NOT NULL,
	requested_by TEXT NOT NULL,
	decided_by   TEXT,
	connector    TEXT NOT NULL,
	attempt      INTEGER NOT NULL DEFAULT 0,
	not_before   INTEGER NOT NULL DEFAULT 0,
	lease_until  INTEGER NOT NULL DEFAULT 0,
	expires      INTEGER NOT NULL,
	external_id  TEXT NOT NULL DEFAULT '',
	message      TEXT NOT NULL DEFAULT '',
	undo_of      INTEGER NOT NULL DEFAULT 0,
	undone_by    INTEGER NOT NULL DEFAULT 0,
	contains     TEXT NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	updated      INTEGER NOT NULL
);

-- Invariant 1 (once): among the actions that are not final, one per
-- (tenant, type, target, dedupe key). A final action leaves the index, so
-- the same request may run again once the first is over.
CREATE UNIQUE INDEX actions_once ON actions (tenant_id, type, target, dedupe_key)
	WHERE status IN ('requested', 'pendingApproval', 'approved', 'dispatched');

-- The worker's scans (ClaimDue, ExpireDue, NextDue) look up the open
-- statuses only. (Not a partial index: SQLite uses a partial index only
-- when the query's WHERE repeats the index's, and status = 'approved' does
-- not repeat status IN (...).)
CREATE INDEX actions_status ON actions (status, not_before);

-- The action center lists a tenant's actions newest first; containment and
-- undo look up a target's succeeded actions.
CREATE INDEX actions_tenant ON actions (tenant_id, id);
CREATE INDEX actions_target ON actions (tenant_id, target, status);
CREATE INDEX actions_incident ON actions (tenant_id, incident_id) WHERE incident_id != 0;

-- action_log: every transition of every action, who made it and why.
CREATE TABLE action_log (
	id          INTEGER PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	action_id   INTEGER NOT NULL,
	time        INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	from_status TEXT NOT NULL,
	to_status   TEXT NOT NULL,
	attempt     INTEGER NOT NULL DEFAULT 0,
	message     TEXT NOT NULL DEFAULT ''
);

CREATE INDEX action_log_action ON action_log (tenant_id, action_id, id);

CREATE TRIGGER action_log_no_update BEFORE UPDATE ON action_log
BEGIN
	SELECT RAISE(ABORT, 'the action log is append-only');
END;

CREATE TRIGGER action_log_no_delete BEFORE DELETE ON action_log
BEGIN
	SELECT RAISE(ABORT, 'the action log is append-only');
END;

-- response_policies: a tenant's approval policy (weft.ResponsePolicy); a
-- tenant without a row has the default. require_approval is a JSON array.
CREATE TABLE response_policies (
	tenant_id                    TEXT PRIMARY KEY,
	require_approval             TEXT NOT NULL DEFAULT '[]',
	automation_requires_approval INTEGER NOT NULL,
	updated                      INTEGER NOT NULL
);

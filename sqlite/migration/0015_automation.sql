-- 0015_automation: automation rules and their run log, notification rules
-- and their deliveries, and the cursors of the event-log consumers
-- (weft.AutomationStore, weft.NotificationStore; sqlite/automation.go).
--
-- A rule is kept as its JSON (body: weft.AutomationRule or
-- weft.NotificationRule) with the columns queries need beside it. Ids are
-- shared by all tenants; times are nanoseconds.

CREATE TABLE automation_rules (
	id        INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	ord       INTEGER NOT NULL,
	version   INTEGER NOT NULL,
	body      TEXT NOT NULL
);
CREATE INDEX automation_rules_tenant ON automation_rules (tenant_id, ord, id);

-- The run log is append-only, like the activity log.
CREATE TABLE automation_runs (
	id           INTEGER PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	rule_id      INTEGER NOT NULL,
	rule_version INTEGER NOT NULL,
	incident_id  INTEGER NOT NULL,
	outcome      TEXT NOT NULL,
	time         INTEGER NOT NULL,
	body         TEXT NOT NULL
);
CREATE INDEX automation_runs_tenant ON automation_runs (tenant_id, id);
CREATE INDEX automation_runs_incident ON automation_runs (tenant_id, incident_id, id);

CREATE TABLE notification_rules (
	id        INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	version   INTEGER NOT NULL,
	body      TEXT NOT NULL
);
CREATE INDEX notification_rules_tenant ON notification_rules (tenant_id, id);

-- One row per (rule, incident, kind), written before anything is sent: the
-- unique key is what makes a notification go out at most once.
CREATE TABLE notification_deliveries (
	id           INTEGER PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	rule_id      INTEGER NOT NULL,
	rule_version INTEGER NOT NULL,
	incident_id  INTEGER NOT NULL,
	kind         TEXT NOT NULL,
	event_id     INTEGER NOT NULL,
	state        TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	last_error   TEXT NOT NULL DEFAULT '',
	created      INTEGER NOT NULL,
	updated      INTEGER NOT NULL,
	UNIQUE (rule_id, incident_id, kind)
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (state, next_attempt);
CREATE INDEX notification_deliveries_tenant ON notification_deliveries (tenant_id, id);

-- How far each consumer has read each tenant's events (activities.id).
CREATE TABLE event_cursors (
	tenant_id TEXT NOT NULL,
	consumer  TEXT NOT NULL,
	after     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, consumer)
) WITHOUT ROWID;

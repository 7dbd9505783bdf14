-- 0001_init: the first schema of weft's embedded store.
--
-- Conventions, kept by every later migration:
--   * Every table carries tenant_id, and every index starts with it (or with
--     the id of a row that belongs to one tenant), so that no query crosses
--     tenants by accident and a tenant's rows are contiguous.
--   * Times are INTEGER nanoseconds since the Unix epoch (UTC): exact to the
--     nanosecond, compact, and ordered as numbers.
--   * Severities are stored as their rank (0 unknown, 1 informational, 2 low,
--     3 medium, 4 high, see weft.Severity.Rank) so that they sort.
--   * List and object fields are JSON text, NULL when empty.
--   * Raw originals and additional data are BLOBs, kept byte for byte.
--
-- The store writes everything in one transaction per batch, on one writer
-- connection; see sqlite/alert.go for why the shapes below are what they are.

CREATE TABLE tenants (
	tenant_id    TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	disabled     INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL
) WITHOUT ROWID;

-- incidents: one row per incident with its aggregates, maintained by the
-- store in the transaction that changes the incident's alerts. The id is
-- global (the rowid), allocated by the store; incidents are never deleted
-- (a merged one is redirected), so ids are never reused.
CREATE TABLE incidents (
	id                   INTEGER PRIMARY KEY,
	tenant_id            TEXT NOT NULL REFERENCES tenants (tenant_id),
	display_name         TEXT NOT NULL,
	-- name_locked is 1 once an analyst has named the incident; the engine
	-- renames only incidents whose name it generated.
	name_locked          INTEGER NOT NULL DEFAULT 0,
	description          TEXT NOT NULL DEFAULT '',
	severity             INTEGER NOT NULL,
	status               TEXT NOT NULL,
	classification       TEXT NOT NULL,
	determination        TEXT NOT NULL,
	assigned_to          TEXT NOT NULL DEFAULT '',
	custom_tags          TEXT,
	system_tags          TEXT,
	comments             TEXT,
	resolving_comment    TEXT NOT NULL DEFAULT '',
	redirect_incident_id INTEGER,
	priority_score       INTEGER,
	priority_factors     TEXT,
	created              INTEGER NOT NULL,
	last_update          INTEGER NOT NULL,
	first_activity       INTEGER NOT NULL,
	last_activity        INTEGER NOT NULL,
	last_modified_by     TEXT NOT NULL DEFAULT '',
	alert_count          INTEGER NOT NULL,
	categories           TEXT,
	service_sources      TEXT,
	detection_sources    TEXT,
	impacted_entities    TEXT,
	version              INTEGER NOT NULL
);

-- The incident queue: most recently updated first, optionally by status; by
-- severity; by priority. The rowid (id) is the implicit last column of every
-- index and breaks ties. priority_score is NULL until scored, and the partial
-- index costs nothing until then.
CREATE INDEX incidents_tenant_updated ON incidents (tenant_id, last_update);
CREATE INDEX incidents_tenant_status ON incidents (tenant_id, status, last_update);
CREATE INDEX incidents_tenant_severity ON incidents (tenant_id, severity, last_update);
CREATE INDEX incidents_tenant_priority ON incidents (tenant_id, priority_score, last_update)
	WHERE priority_score IS NOT NULL;

-- alerts: one row per alert. seq is an internal rowid, allocated by the
-- store in insertion order, so that inserts append to the table b-tree.
--
-- The alert's identity is (tenant_id, id). The id is a hash (weft.AlertID),
-- so an index on it is written at a random place for every new alert, which
-- makes it the most expensive index of the write path; it is kept small by
-- indexing id_hash, a 64-bit hash of the id, and checking id on lookup. The
-- store guarantees that (tenant_id, id) is unique: it looks every alert up in
-- the write transaction that stores it, and write transactions are serialized
-- (BEGIN IMMEDIATE), also across processes.
--
-- The columns before evidence are small and queryable; evidence (JSON) and
-- raw (the original as sent) come last so that reading the others does not
-- walk their overflow pages. content_hash identifies the content without
-- ingest times (see contentHash in sqlite/encode.go) and decides duplicate
-- versus update together with provider_last_update.
CREATE TABLE alerts (
	seq                  INTEGER PRIMARY KEY,
	tenant_id            TEXT NOT NULL REFERENCES tenants (tenant_id),
	id                   TEXT NOT NULL,
	id_hash              INTEGER NOT NULL,
	source               TEXT NOT NULL,
	provider_alert_id    TEXT NOT NULL,
	-- incident_id is NULL only while an alert awaits correlation.
	incident_id          INTEGER,
	title                TEXT NOT NULL,
	severity             INTEGER NOT NULL,
	status               TEXT NOT NULL,
	classification       TEXT NOT NULL,
	determination        TEXT NOT NULL,
	assigned_to          TEXT NOT NULL,
	category             TEXT NOT NULL,
	service_source       TEXT NOT NULL,
	detection_source     TEXT NOT NULL,
	product_name         TEXT NOT NULL,
	detector_id          TEXT NOT NULL,
	first_activity       INTEGER NOT NULL,
	last_activity        INTEGER NOT NULL,
	created              INTEGER NOT NULL,
	last_update          INTEGER NOT NULL,
	resolved             INTEGER,
	provider_created     INTEGER,
	provider_last_update INTEGER,
	content_hash         BLOB NOT NULL,
	alert_policy_id      TEXT NOT NULL,
	actor_display_name   TEXT NOT NULL,
	threat_display_name  TEXT NOT NULL,
	threat_family_name   TEXT NOT NULL,
	alert_web_url        TEXT NOT NULL,
	mitre_techniques     TEXT,
	system_tags          TEXT,
	correlation_reasons  TEXT,
	correlation          TEXT NOT NULL,
	comments             TEXT,
	description          TEXT NOT NULL,
	recommended_actions  TEXT NOT NULL,
	additional_data      BLOB,
	evidence             TEXT,
	raw                  BLOB
);

CREATE INDEX alerts_tenant_id ON alerts (tenant_id, id_hash);
CREATE INDEX alerts_tenant_incident ON alerts (tenant_id, incident_id, first_activity);
CREATE INDEX alerts_tenant_created ON alerts (tenant_id, created, id);

-- entities: every entity a tenant's alerts have referred to, by its key
-- (weft.Evidence.Key), with the event-time range over which it was seen and
-- its latest readable name. id is a compact handle for alert_entities.
CREATE TABLE entities (
	id          INTEGER PRIMARY KEY,
	tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id),
	entity_key  TEXT NOT NULL,
	entity_type TEXT NOT NULL,
	name        TEXT NOT NULL,
	first_seen  INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL
);

CREATE UNIQUE INDEX entities_tenant_key ON entities (tenant_id, entity_key);

-- alert_entities: which entities an alert's evidence refers to (one row per
-- distinct entity, as weft.Alert.Entities), keyed for the lookup that
-- correlation and entity pages make: the alerts of one entity, in event-time
-- order. The key is all integers (an entity's id, which belongs to one
-- tenant, the alert's first activity and its seq) and so are the roles (a bit
-- set: bit i is weft.EvidenceRoles[i]), because five or so rows are written
-- for every alert at places all over the b-tree: integer keys compare fast and
-- small rows keep the pages that a batch dirties few. tenant_id is carried for
-- filtering. The table is derived from alerts.evidence by the store and has
-- no index by alert: an updated alert's rows are found from its stored
-- evidence.
CREATE TABLE alert_entities (
	entity_id      INTEGER NOT NULL,
	first_activity INTEGER NOT NULL,
	alert_seq      INTEGER NOT NULL,
	tenant_id      TEXT NOT NULL,
	roles          INTEGER NOT NULL,
	PRIMARY KEY (entity_id, first_activity, alert_seq)
) WITHOUT ROWID;

-- activities: the append-only log of every change to an incident.
CREATE TABLE activities (
	id          INTEGER PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	incident_id INTEGER NOT NULL,
	time        INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	type        TEXT NOT NULL,
	message     TEXT NOT NULL,
	alert_id    TEXT,
	before      TEXT,
	after       TEXT
);

CREATE INDEX activities_tenant_incident ON activities (tenant_id, incident_id);

CREATE TRIGGER activities_no_update BEFORE UPDATE ON activities
BEGIN
	SELECT RAISE(ABORT, 'activities are append-only');
END;

CREATE TRIGGER activities_no_delete BEFORE DELETE ON activities
BEGIN
	SELECT RAISE(ABORT, 'activities are append-only');
END;

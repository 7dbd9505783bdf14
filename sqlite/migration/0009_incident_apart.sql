-- 0009_incident_apart: analysts' separations of incidents (weft's
-- IncidentRestructurer: move alerts, split). incident_relations gains the
-- kind 'apart': an analyst moved alerts from incident_id to related_id (or
-- split them off into it), and correlation must never merge the two (design
-- §4.7). The store hands these back to the Correlator at start-up
-- (IncidentState.Apart), following redirects to the incidents merged ones
-- went into. SQLite cannot change a CHECK constraint in place, so the table
-- is rebuilt with its rows.
CREATE TABLE incident_relations_new (
	tenant_id   TEXT NOT NULL,
	incident_id INTEGER NOT NULL,
	related_id  INTEGER NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('related', 'continues', 'apart')),
	created     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, incident_id, related_id, kind)
) WITHOUT ROWID;

INSERT INTO incident_relations_new (tenant_id, incident_id, related_id, kind, created)
	SELECT tenant_id, incident_id, related_id, kind, created FROM incident_relations;

DROP TABLE incident_relations;

ALTER TABLE incident_relations_new RENAME TO incident_relations;

-- The rebuild reads a tenant's 'apart' relations alone.
CREATE INDEX incident_relations_kind ON incident_relations (tenant_id, kind);

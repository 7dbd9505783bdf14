-- 0003_correlation: what the correlation engine (Options.Correlator) needs
-- of the store besides incidents and alerts.
--
-- incident_relations: links between incidents that the engine found but did
-- not turn into a merge. kind 'related': an alert of incident_id shares an
-- entity with related_id, which was resolved or kept apart by a blocker;
-- 'continues': incident_id was created for an alert that belonged in
-- related_id, which had reached the size cap. A pair is recorded once.
CREATE TABLE incident_relations (
	tenant_id   TEXT NOT NULL,
	incident_id INTEGER NOT NULL,
	related_id  INTEGER NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('related', 'continues')),
	created     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, incident_id, related_id, kind)
) WITHOUT ROWID;

-- The rebuild of the engine at start-up reads a tenant's newest event time
-- and the alerts within the engine's window of it (see Store.rebuild).
-- last_activity mostly grows with seq, so the index is appended to, not
-- written all over.
CREATE INDEX alerts_tenant_last_activity ON alerts (tenant_id, last_activity);

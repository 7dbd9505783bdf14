-- 0006_incident_imports: incidents imported from another system with their
-- alerts (weft.IncidentImport: a Microsoft Graph incident export).
--
-- incident_imports: which weft incident stands for a source incident of a
-- tenant. source_key is weft.IncidentImport.Key ("graph-incident/123").
-- The row is written with the incident, by the first alert of the source
-- incident the store sees, or by the first one already stored (whose
-- incident it then adopts); a re-import finds it, so that the same export
-- imported twice makes no second incident. incident_id is the incident as
-- first mapped; the store follows redirect_incident_id from it when the
-- incident was merged since. source_last_update is the source's
-- lastUpdateDateTime of the state last applied (nanoseconds, NULL when the
-- source gave none): a re-import applies the state again only when it is
-- later.
CREATE TABLE incident_imports (
	tenant_id          TEXT NOT NULL REFERENCES tenants (tenant_id),
	source_key         TEXT NOT NULL,
	incident_id        INTEGER NOT NULL,
	source_last_update INTEGER,
	created            INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, source_key)
) WITHOUT ROWID;

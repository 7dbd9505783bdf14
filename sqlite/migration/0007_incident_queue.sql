-- 0007_incident_queue: what the incident queue's $filter and $orderby need
-- (weft.IncidentQuery; sqlite/queue.go).
--
-- incident_terms: one row per element of an incident's collections, so that
-- customTags/any(t: t eq 'x') is an index range, not a JSON scan of every
-- incident. field: 1 customTags, 2 systemTags, 3 categories,
-- 4 serviceSources, 5 detectionSources (queueCollections in sqlite/queue.go).
-- It is derived from the incidents' JSON columns by the triggers below, so
-- that every writer of those columns (correlation, import, manage) keeps it
-- right without knowing it exists; an update that leaves a column as it was
-- costs nothing.
CREATE TABLE incident_terms (
	tenant_id   TEXT NOT NULL,
	field       INTEGER NOT NULL,
	value       TEXT NOT NULL,
	incident_id INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, field, value, incident_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO incident_terms (tenant_id, field, value, incident_id)
	SELECT i.tenant_id, 1, j.value, i.id FROM incidents i, json_each(i.custom_tags) j WHERE j.type = 'text'
	UNION ALL SELECT i.tenant_id, 2, j.value, i.id FROM incidents i, json_each(i.system_tags) j WHERE j.type = 'text'
	UNION ALL SELECT i.tenant_id, 3, j.value, i.id FROM incidents i, json_each(i.categories) j WHERE j.type = 'text'
	UNION ALL SELECT i.tenant_id, 4, j.value, i.id FROM incidents i, json_each(i.service_sources) j WHERE j.type = 'text'
	UNION ALL SELECT i.tenant_id, 5, j.value, i.id FROM incidents i, json_each(i.detection_sources) j WHERE j.type = 'text';

CREATE TRIGGER incident_terms_insert AFTER INSERT ON incidents
BEGIN
	INSERT OR IGNORE INTO incident_terms (tenant_id, field, value, incident_id)
		SELECT NEW.tenant_id, 1, value, NEW.id FROM json_each(NEW.custom_tags) WHERE type = 'text'
		UNION ALL SELECT NEW.tenant_id, 2, value, NEW.id FROM json_each(NEW.system_tags) WHERE type = 'text'
		UNION ALL SELECT NEW.tenant_id, 3, value, NEW.id FROM json_each(NEW.categories) WHERE type = 'text'
		UNION ALL SELECT NEW.tenant_id, 4, value, NEW.id FROM json_each(NEW.service_sources) WHERE type = 'text'
		UNION ALL SELECT NEW.tenant_id, 5, value, NEW.id FROM json_each(NEW.detection_sources) WHERE type = 'text';
END;

CREATE TRIGGER incident_terms_custom_tags AFTER UPDATE OF custom_tags ON incidents
	WHEN NEW.custom_tags IS NOT OLD.custom_tags
BEGIN
	DELETE FROM incident_terms WHERE tenant_id = OLD.tenant_id AND field = 1
		AND value IN (SELECT value FROM json_each(OLD.custom_tags)) AND incident_id = OLD.id;
	INSERT OR IGNORE INTO incident_terms (tenant_id, field, value, incident_id)
		SELECT NEW.tenant_id, 1, value, NEW.id FROM json_each(NEW.custom_tags) WHERE type = 'text';
END;

CREATE TRIGGER incident_terms_system_tags AFTER UPDATE OF system_tags ON incidents
	WHEN NEW.system_tags IS NOT OLD.system_tags
BEGIN
	DELETE FROM incident_terms WHERE tenant_id = OLD.tenant_id AND field = 2
		AND value IN (SELECT value FROM json_each(OLD.system_tags)) AND incident_id = OLD.id;
	INSERT OR IGNORE INTO incident_terms (tenant_id, field, value, incident_id)
		SELECT NEW.tenant_id, 2, value, NEW.id FROM json_each(NEW.system_tags) WHERE type = 'text';
END;

CREATE TRIGGER incident_terms_categories AFTER UPDATE OF categories ON incidents
	WHEN NEW.categories IS NOT OLD.categories
BEGIN
	DELETE FROM incident_terms WHERE tenant_id = OLD.tenant_id AND field = 3
		AND value IN (SELECT value FROM json_each(OLD.categories)) AND incident_id = OLD.id;
	INSERT OR IGNORE INTO incident_terms (tenant_id, field, value, incident_id)
		SELECT NEW.tenant_id, 3, value, NEW.id FROM json_each(NEW.categories) WHERE type = 'text';
END;

CREATE TRIGGER incident_terms_service_sources AFTER UPDATE OF service_sources ON incidents
	WHEN NEW.service_sources IS NOT OLD.service_sources
BEGIN
	DELETE FROM incident_terms WHERE tenant_id = OLD.tenant_id AND field = 4
		AND value IN (SELECT value FROM json_each(OLD.service_sources)) AND incident_id = OLD.id;
	INSERT OR IGNORE INTO incident_terms (tenant_id, field, value, incident_id)
		SELECT NEW.tenant_id, 4, value, NEW.id FROM json_each(NEW.service_sources) WHERE type = 'text';
END;

CREATE TRIGGER incident_terms_detection_sources AFTER UPDATE OF detection_sources ON incidents
	WHEN NEW.detection_sources IS NOT OLD.detection_sources
BEGIN
	DELETE FROM incident_terms WHERE tenant_id = OLD.tenant_id AND field = 5
		AND value IN (SELECT value FROM json_each(OLD.detection_sources)) AND incident_id = OLD.id;
	INSERT OR IGNORE INTO incident_terms (tenant_id, field, value, incident_id)
		SELECT NEW.tenant_id, 5, value, NEW.id FROM json_each(NEW.detection_sources) WHERE type = 'text';
END;

-- Sort orders of the queue. Each ends, implicitly, with the rowid (id), which
-- breaks ties in the same direction as the key, so that one index walk, in
-- either direction, gives ORDER BY key, id. The partial priority index of
-- 0001 orders by last update within a score and cannot list unscored
-- incidents; it is replaced.
DROP INDEX incidents_tenant_priority;
CREATE INDEX incidents_queue_priority ON incidents (tenant_id, priority_score);
CREATE INDEX incidents_queue_created ON incidents (tenant_id, created);
CREATE INDEX incidents_queue_alert_count ON incidents (tenant_id, alert_count);
CREATE INDEX incidents_queue_severity ON incidents (tenant_id, severity);
-- Counts ($count=true) of the usual views read only this index: status,
-- severity and assignment without a row lookup.
CREATE INDEX incidents_queue_status ON incidents (tenant_id, status, severity, assigned_to);
-- "Assigned to me", most recently updated first.
CREATE INDEX incidents_queue_assigned ON incidents (tenant_id, assigned_to, last_update);
-- The default view (status active or inProgress, not informational) in
-- priority order and in last-update order: small when most incidents are
-- resolved, as they are in a queue that is worked. The query repeats these
-- WHERE terms literally (queueDefaultTerms) so that SQLite can use them.
CREATE INDEX incidents_queue_open_priority ON incidents (tenant_id, priority_score)
	WHERE status IN ('active', 'inProgress') AND severity <> 1;
CREATE INDEX incidents_queue_open_updated ON incidents (tenant_id, last_update)
	WHERE status IN ('active', 'inProgress') AND severity <> 1;

-- 0011_incident_name_search: the incident queue's $search finds incidents
-- whose name contains the text (sqlite/queue.go, writeNameMatch) through a
-- trigram full-text index instead of a LIKE '%…%' on every candidate's name,
-- which made counting a search over a broad view slow; and two covering
-- indexes for the queue's usual counts (docs/benchmarks.md, "Incident queue
-- latency", with what they cost the write path: about 14 CPU µs and 178
-- bytes an alert when every alert makes an incident, 5 µs and 123 bytes of
-- it the name index).
--
-- incident_names holds no text of its own (content=''): only the trigrams of
-- each incident's display_name, under the incident's id as rowid. incidents.id
-- is the incidents table's rowid (INTEGER PRIMARY KEY), unique across
-- tenants, so a match is joined to incidents by rowid and held to the tenant
-- there. A phrase of three or more characters matches exactly the names that
-- contain it as a substring; case_sensitive 0 folds case, for non-ASCII
-- letters too (LIKE folds only ASCII); diacritics are kept (é is not e).
-- contentless_delete lets the triggers remove a name's trigrams by rowid.
-- detail=full (the default) is needed: a substring is a phrase of trigrams.
CREATE VIRTUAL TABLE incident_names USING fts5(
	name, tokenize = 'trigram case_sensitive 0', content = '', contentless_delete = 1);

INSERT INTO incident_names (rowid, name) SELECT id, display_name FROM incidents;

-- Kept by triggers, like incident_terms (0007), so that every writer of
-- incidents (correlation, which renames incidents as alerts join; import;
-- the manage API) keeps it right without knowing it exists. An update that
-- leaves the name as it was (most updates: status, counts, scores) costs
-- nothing.
CREATE TRIGGER incident_names_insert AFTER INSERT ON incidents
BEGIN
	INSERT INTO incident_names (rowid, name) VALUES (NEW.id, NEW.display_name);
END;

CREATE TRIGGER incident_names_update AFTER UPDATE OF display_name ON incidents
	WHEN NEW.display_name IS NOT OLD.display_name
BEGIN
	DELETE FROM incident_names WHERE rowid = OLD.id;
	INSERT INTO incident_names (rowid, name) VALUES (NEW.id, NEW.display_name);
END;

CREATE TRIGGER incident_names_delete AFTER DELETE ON incidents
BEGIN
	DELETE FROM incident_names WHERE rowid = OLD.id;
END;

-- Counting a priority range ($count=true with priorityScore gt 85, say)
-- read every candidate's row for the terms that (tenant_id, priority_score)
-- lacks: status (no filter lists redirected incidents) and often
-- alertCount. This index answers such counts alone. It does not replace
-- incidents_queue_priority, whose order (score, then id) pages need. An
-- alert joining an incident rewrites its entry (the alert count changes).
CREATE INDEX incidents_queue_score_count ON incidents (tenant_id, priority_score, alert_count, status);

-- Likewise "assigned to me" ($filter=assignedTo eq '…' and status ne
-- 'resolved'): counted from this index alone instead of a walk of the whole
-- status index. incidents_queue_assigned (0007) keeps the pages' order
-- (last update, then id). Assignment and status change seldom, so that an
-- alert joining an incident does not rewrite this entry.
CREATE INDEX incidents_queue_assigned_status ON incidents (tenant_id, assigned_to, status);

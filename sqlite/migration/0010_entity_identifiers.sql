-- 0010_entity_identifiers: an index from every identifier an evidence record
-- carried to the entity row of that record (entities, keyed by the record's
-- preferred identifier, weft.Evidence.Key), so that an entity page finds an
-- entity by any identifier it ever had and lists all its aliases (design
-- §6, docs/api.md "Entity pages"). identifier is weft.Identifier.String(),
-- "kind:value". The record's key itself is not repeated here: it is
-- entities.entity_key. Rows are only added (INSERT OR IGNORE), like entities.
CREATE TABLE entity_identifiers (
	tenant_id  TEXT NOT NULL,
	identifier TEXT NOT NULL,
	entity_id  INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, identifier, entity_id)
) WITHOUT ROWID;

-- The alias lookup reads the identifiers of entity rows.
CREATE INDEX entity_identifiers_entity ON entity_identifiers (entity_id);

-- entity_identifiers_backfill: alerts stored before this migration carry
-- their evidence in packed blobs that SQL cannot read, so Open fills
-- entity_identifiers from them in Go (backfillEntityIdentifiers in
-- sqlite/entities_backfill.go), in alert seq order, recording after each
-- chunk the last seq done so that an interrupted backfill resumes. The row
-- exists only while a backfill is pending; a new database never has it.
CREATE TABLE entity_identifiers_backfill (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	done_seq INTEGER NOT NULL,
	last_seq INTEGER NOT NULL
);

INSERT INTO entity_identifiers_backfill (id, done_seq, last_seq)
	SELECT 1, 0, max(seq) FROM alerts HAVING count(*) > 0;

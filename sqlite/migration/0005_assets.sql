-- 0005_assets: the asset inventory (weft.AssetStore) and the detector
-- counts behind the priority score's detector rarity.
--
-- assets: one row per tenant and asset id. body is the normalized asset as
-- JSON (its names, tags and derived identifiers), kept whole so that what
-- was put is what is read back; kind, display_name and criticality are
-- columns too, for lists and filters. identifiers is the JSON array of the
-- asset's normalized identifiers ({"kind","value"}), which the store hands
-- to the correlation engine at start-up and keeps in memory to look up the
-- criticality of an incident's entities.
CREATE TABLE assets (
	tenant_id    TEXT NOT NULL REFERENCES tenants (tenant_id),
	asset_id     TEXT NOT NULL,
	kind         TEXT NOT NULL CHECK (kind IN ('device', 'user')),
	display_name TEXT NOT NULL,
	criticality  INTEGER NOT NULL CHECK (criticality BETWEEN 0 AND 3),
	identifiers  TEXT NOT NULL,
	body         TEXT NOT NULL,
	updated      INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, asset_id)
) WITHOUT ROWID;

-- detector_counts: how many new alerts each detector raised in a tenant per
-- day of ingest (day = unix nanoseconds / 86400e9, on the store's clock),
-- written once per batch; the row with detector '' holds the tenant's total
-- of the day. detector is the key of priority.DetectorKey: the lower-case
-- source, "/", and the detector id, or "title:" and the title. Rows older
-- than the prevalence window are deleted as days pass.
CREATE TABLE detector_counts (
	tenant_id TEXT NOT NULL,
	detector  TEXT NOT NULL,
	day       INTEGER NOT NULL,
	alerts    INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, detector, day)
) WITHOUT ROWID;

-- The counts of the alerts stored before this migration, by their ingest
-- time. (SQLite's lower() folds only ASCII; sources are ASCII names.)
INSERT INTO detector_counts (tenant_id, detector, day, alerts)
	SELECT tenant_id,
		lower(source) || '/' || CASE WHEN detector_id != '' THEN detector_id ELSE 'title:' || title END,
		created / 86400000000000, count(*)
	FROM alerts GROUP BY 1, 2, 3;
INSERT INTO detector_counts (tenant_id, detector, day, alerts)
	SELECT tenant_id, '', created / 86400000000000, count(*) FROM alerts GROUP BY 1, 3;

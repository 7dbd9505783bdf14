-- 0002_packed_blobs: smaller alert rows and a smaller alert index, for the
-- write path (see sqlite/blob.go and StoreAlerts).
--
-- blob_format says how the row's additional_data, evidence and raw are
-- stored: 0 as the values themselves (every row written before this
-- migration, which keeps them readable as they are), 1 packed: a format byte
-- and the value, compressed when that pays (see packBlob). The store writes 1.
-- The values 0 and 1 take no space in a row beyond its header.
ALTER TABLE alerts ADD COLUMN blob_format INTEGER NOT NULL DEFAULT 0;

-- The alert list (newest first) is ordered by created and then by seq, the
-- rowid, which every index of alerts carries as its implicit last column:
-- the index no longer carries the 28-character alert id, so the index entry
-- every new alert writes is about half as large.
DROP INDEX alerts_tenant_created;
CREATE INDEX alerts_tenant_created ON alerts (tenant_id, created);

-- 0008_queue_entity_name: the incident queue's entity filter and its search
-- by impacted asset find an entity by its readable name, case-insensitively
-- (writeEntityMatch in sqlite/queue.go), as well as by its key
-- (entities_tenant_key).
CREATE INDEX entities_tenant_name ON entities (tenant_id, name COLLATE NOCASE);

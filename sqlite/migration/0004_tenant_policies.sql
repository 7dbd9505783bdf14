-- 0004_tenant_policies: correlation policies set through the API, one per
-- tenant (weft.PolicyStore). policy is the JSON the API was given, in the
-- form of a correlation policy file; settings it leaves out keep the default
-- policy's values, so it is kept as given rather than expanded.
CREATE TABLE tenant_policies (
	tenant_id TEXT PRIMARY KEY REFERENCES tenants (tenant_id),
	policy    TEXT NOT NULL,
	updated   INTEGER NOT NULL
) WITHOUT ROWID;

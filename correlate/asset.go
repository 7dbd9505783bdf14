package correlate

import "github.com/weftxdr/weft"

// AddAsset records that aliases, the normalized identifiers of one entry of
// a tenant's asset inventory (weft.Asset.Identifiers), name one device or
// user: they become one identity as if they had appeared together in one
// evidence record, with the same rules (Identities.AddAsset: a union that
// would give an identity two values of a single-valued kind, or join two
// entity classes, is refused and counted). Alerts that name the asset by any
// of its aliases then share an identity, from the tenant's next alert on;
// what the engine remembers of alerts already indexed under those aliases is
// joined too.
//
// Reset forgets asset aliases with everything else: whoever rebuilds the
// engine adds the assets again before restoring alerts (the SQLite store
// does). A union cannot be undone, so an asset that loses aliases needs a
// rebuild.
func (e *Engine) AddAsset(tenantID string, aliases []weft.Identifier) {
	if len(aliases) == 0 {
		return
	}
	e.ids.AddAsset(tenantID, aliases)
}

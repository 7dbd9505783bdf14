package correlate

// Bounded identity state (design §13: "bounded memory, state only for the
// windows").
//
// Pruning (index.go) forgets sightings, principals, incidents and repeat
// groups that left the windows, but not identifiers: the union-find keeps
// every identifier it has seen, because an alias learnt once (a host's MDE
// id and its FQDN) must keep resolving. Left alone it grows with the
// distinct identifiers of the tenant's whole history. The engine cannot
// compact it by itself — which aliases still matter depends on the alerts
// and assets the store holds — so it says when it has outgrown its windows
// (NeedsRebuild) and the store rebuilds it (Reset, then Restore of the
// alerts within the windows and the assets), as at start-up: a rebuilt
// engine decides as an uninterrupted one would, except through aliases
// learnt only from alerts older than the windows, which it no longer knows
// (docs/correlation.md §6). The thresholds keep such rebuilds rare.

// rebuildMinIdentifiers and rebuildFactor decide when a tenant's identifier
// table has outgrown its windows: more than rebuildMinIdentifiers
// identifiers (about 90 bytes each plus their values: BenchmarkPlace's
// 77,861 took 7.1 MB besides the values, which its alerts share),
// and more than rebuildFactor times the identities the windows still
// indexed after the last prune. Variables so that tests can lower them.
var (
	rebuildMinIdentifiers = 250_000
	rebuildFactor         = 8
)

// NeedsRebuild reports whether some tenant's identifier table has grown
// well beyond what the windows refer to, so that a rebuild from the store
// (Reset, then Restore) would free most of it. The store checks it after
// each committed batch; it costs O(tenants).
func (e *Engine) NeedsRebuild() bool {
	for id, t := range e.tenants {
		n := e.ids.identifiers(id)
		if t.pruned && n > rebuildMinIdentifiers && n > rebuildFactor*max(1, t.liveAfterPrune) {
			return true
		}
	}
	return false
}

// identifiers returns the number of identifiers tenantID's table holds.
func (x *Identities) identifiers(tenantID string) int {
	if t := x.tenants[tenantID]; t != nil {
		return len(t.nodes)
	}
	return 0
}

package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

var _ weft.EntityStore = (*Store)(nil)

// Bounds of identity resolution on the read path (see FindEntity).
const (
	// resolveSample is how many of an entity row's newest alerts are read
	// to learn the other names its evidence records carried.
	resolveSample = 25
	// resolveRows bounds the entity rows one page merges.
	resolveRows = 32
	// resolveRounds bounds the rounds of "names found → rows keyed by
	// them → their evidence".
	resolveRounds = 3
	// resolveIncidents bounds the incidents whose newest resolveSample
	// alerts are read too.
	resolveIncidents = 8
	// resolveRecent is how many of the tenant's newest alerts a request
	// that matched nothing else reads (scanRecent).
	resolveRecent = 2000
)

// FindEntity returns the entity page of an entity of a tenant (see
// weft.EntityStore), read in one read transaction. It is safe for
// concurrent use and never waits for the writer.
//
// The store keeps an entity under the key of each evidence record
// (weft.Evidence.Key, table entities): a device named by its MDE id and FQDN
// is stored under its MDE id, and named by its FQDN alone under its FQDN.
// FindEntity resolves the request into one identity as correlation's
// identity resolution does, from what the store holds:
//
//  1. Seeds: the entity rows keyed by an identifier that id may be
//     (weft.EntityIdentifiers), the rows whose readable name is id or the
//     value of such an identifier (ASCII case-insensitively), for a short
//     host name the rows of the FQDNs it starts (key and name ranges),
//     and the assets of the tenant whose id, display name or an
//     identifier is id. When there is none, the row of the first record
//     among the tenant's newest resolveRecent alerts that carries such an
//     identifier (scanRecent).
//  2. Names: the evidence records, of the entity's class (a user and a
//     mailbox are one), of the newest resolveSample alerts of each row and
//     of each of the first resolveIncidents incidents those alerts are in
//     (correlation put the alerts that name one identity by different
//     names together, so a DOMAIN\sam seen only next to a SID is found
//     from either). The records keyed like a row found, or that share a
//     strong identifier with one, apply: identifiers that appear together
//     in one record, or in one asset, are one identity (a union-find; a
//     UPN and the mail address of the same value too). The rows keyed by
//     the identifiers learnt are read and sampled in turn, at most
//     resolveRounds times and resolveRows rows.
//  3. Choice: the identities that contain a seed. One is the answer;
//     of several, the one that contains an identifier id names exactly
//     (not only by readable name or as a short host name); otherwise the
//     request is ambiguous (EINVALID, naming the candidates).
//  4. Weak names: a row keyed by a short host name or a bare account name
//     belongs to the identity only when its name appeared with that
//     identity and with no other one found, and, for a host name, no FQDN
//     row of another device starts with it. A request for such a name
//     with no identity behind it gets the page of the weak row itself.
//
// The sample makes this bounded whatever the entity's alert count, at the
// price of what it does not read: the store has no index from an
// identifier to the rows whose records carried it besides their key, so a
// name is found from another only through a sampled record, a row's
// readable name, an asset or the recent alerts (an FQDN seen with the MDE
// id only in older alerts outside every sample finds the FQDN's own row,
// if it has one, and otherwise nothing). Unlike
// the engine, it does not refuse a union that would give one identity two
// values of a single-valued kind (rule 3): two devices that once shared an
// FQDN show as one. The lookups are index searches: entities by (tenant,
// key) and (tenant, name), alert_entities by entity, alerts by rowid and
// by incident; only the assets are walked (per tenant, as
// criticalityLookup does).
//
// The page then reads, for the identity's rows: the counts (alerts
// from alert_entities; incidents from the alerts' rows, one rowid lookup
// per alert, nothing loaded), the requested page of alerts (each row's
// newest skip+top+1 from alert_entities, merged), and the
// MaxEntityIncidents incidents it was most recently seen in (see
// incidents).
func (s *Store) FindEntity(ctx context.Context, tenantID string, typ weft.EntityType, id string, q weft.EntityAlertQuery) (*weft.EntityView, error) {
	id, err := weft.CheckEntityRequest(typ, id)
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(q.Top, q.Skip)
	if err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: find entity: %w", err)
	}
	defer tx.Rollback()
	r := &resolver{ctx: ctx, tx: tx, tenant: tenantID, typ: typ, class: weft.EntityClass(typ),
		rows: map[int64]*entityRow{}, byKey: map[string]*entityRow{}, looked: map[string]bool{},
		parent: map[weft.Identifier]weft.Identifier{}, weakWith: map[weft.Identifier][]weft.Identifier{},
		weakSeeds: map[weft.Identifier]bool{}, assets: map[string]*weft.Asset{}, seedAsst: map[string]bool{},
		recSeen: map[string]bool{}, incSeen: map[int64]bool{}, incDone: map[int64]bool{}}
	ident, err := r.resolve(id)
	if err != nil {
		return nil, wrapEntityErr(err)
	}
	v, err := r.view(ident, q.Skip, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find entity %s %q: %w", typ, truncate(id, 80), err)
	}
	return v, nil
}

func wrapEntityErr(err error) error {
	if weft.ErrorCode(err) != weft.EINTERNAL {
		return err
	}
	return fmt.Errorf("sqlite: find entity: %w", err)
}

// entityRow is one row of entities.
type entityRow struct {
	id          int64
	typ         weft.EntityType
	key         string
	name        string
	first, last int64
	seed        bool // found by the request itself, not through identity
	sampled     bool
}

// resolver resolves one entity page request (see FindEntity).
type resolver struct {
	ctx    context.Context
	tx     *sql.Tx
	tenant string
	typ    weft.EntityType
	class  []weft.EntityType

	rows   map[int64]*entityRow
	byKey  map[string]*entityRow
	parent map[weft.Identifier]weft.Identifier // union-find over strong identifiers
	looked map[string]bool                     // keys already looked up
	// weakWith records, for each weak identifier, the strong identifiers
	// it appeared with in one record.
	weakWith map[weft.Identifier][]weft.Identifier
	assets   map[string]*weft.Asset
	seedAsst map[string]bool

	// weakSeeds are the weak names of the rows the request matched.
	weakSeeds map[weft.Identifier]bool
	records   []*evRecord
	recSeen   map[string]bool
	incSeen   map[int64]bool
	incOrder  []int64 // incidents of the sampled alerts, in order of sighting
	incDone   map[int64]bool
}

// identity is the answer of resolve: the rows of one entity, its
// identifiers, and the assets that name it.
type identity struct {
	rows   []*entityRow
	ids    []weft.Identifier
	assets []*weft.Asset
}

// find returns the root of x's identity, adding x as an identity of its
// own when it is new.
func (r *resolver) find(x weft.Identifier) weft.Identifier {
	p, ok := r.parent[x]
	if !ok {
		r.parent[x] = x
		return x
	}
	if p == x {
		return x
	}
	root := r.find(p)
	r.parent[x] = root
	return root
}

// union makes ids one identity.
func (r *resolver) union(ids []weft.Identifier) {
	var first weft.Identifier
	for i, x := range ids {
		if i == 0 {
			first = r.find(x)
			continue
		}
		if root := r.find(x); root != first {
			r.parent[root] = first
		}
	}
}

// strong returns the identifiers of ids that are not weak names.
func strong(ids []weft.Identifier) []weft.Identifier {
	var out []weft.Identifier
	for _, x := range ids {
		if !weft.WeakIdentifier(x.Kind) {
			out = append(out, x)
		}
	}
	return out
}

// resolve finds the identity that id names (FindEntity, steps 1 to 4). It
// returns ENOTFOUND when there is none and EINVALID when id is ambiguous.
func (r *resolver) resolve(id string) (*identity, error) {
	cands := weft.EntityIdentifiers(r.typ, id)
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.String()
	}

	// 1. Seeds.
	if err := r.rowsByKey(keys, true); err != nil {
		return nil, err
	}
	// By readable name: id as given, and the values of the strong
	// identifiers it may be ("device.fqdn:ws-1.contoso.com" names the
	// device whose evidence names it WS-1.contoso.com).
	names := []any{id}
	for _, c := range cands {
		if !weft.WeakIdentifier(c.Kind) && !slices.Contains(names, any(c.Value)) {
			names = append(names, c.Value)
		}
	}
	if err := r.rowsWhere(true, `tenant_id = ? AND name COLLATE NOCASE IN (?`+repeatParams(len(names)-1)+`)`, append([]any{r.tenant}, names...)...); err != nil {
		return nil, err
	}
	shortHost := ""
	if r.typ == weft.EntityDevice && !strings.Contains(id, ".") {
		for _, c := range cands {
			if c.Kind == weft.IDDeviceHost {
				shortHost = c.Value
			}
		}
	}
	if shortHost != "" {
		if err := r.fqdnRows(shortHost, true); err != nil {
			return nil, err
		}
	}
	if err := r.readAssets(id, cands, true); err != nil {
		return nil, err
	}
	if len(r.rows) == 0 && len(r.assets) == 0 {
		if err := r.scanRecent(cands); err != nil {
			return nil, err
		}
	}

	// 2. Names.
	for round := 0; round < resolveRounds; round++ {
		for _, row := range r.sortedRows() {
			if row.sampled {
				continue
			}
			row.sampled = true
			if err := r.sampleRow(row); err != nil {
				return nil, err
			}
		}
		for _, inc := range r.incOrder {
			if r.incDone[inc] || len(r.incDone) >= resolveIncidents {
				continue
			}
			r.incDone[inc] = true
			if err := r.sampleIncident(inc); err != nil {
				return nil, err
			}
		}
		for _, a := range r.assets {
			r.union(strong(a.Identifiers))
		}
		r.apply()
		var fresh []string
		for x := range r.parent {
			if k := x.String(); !r.looked[k] {
				fresh = append(fresh, k)
			}
		}
		if len(fresh) == 0 || len(r.rows) >= resolveRows {
			break
		}
		slices.Sort(fresh)
		if err := r.rowsByKey(fresh, false); err != nil {
			return nil, err
		}
	}
	// Assets that carry a name learnt since the seeds.
	var all []weft.Identifier
	for x := range r.parent {
		all = append(all, x)
	}
	if err := r.readAssets("", all, false); err != nil {
		return nil, err
	}
	for _, a := range r.assets {
		r.union(strong(a.Identifiers))
	}
	r.apply()

	// 3. Choice.
	exact := map[weft.Identifier]bool{}
	for _, c := range cands {
		if !weft.WeakIdentifier(c.Kind) {
			exact[c] = true
		}
	}
	matched := map[weft.Identifier]bool{} // roots of identities with a seed
	hasExact := map[weft.Identifier]bool{}
	for _, row := range r.rows {
		x, ok := weft.ParseIdentifier(row.key)
		if !ok || weft.WeakIdentifier(x.Kind) {
			continue
		}
		root := r.find(x)
		if row.seed {
			matched[root] = true
		}
	}
	for aid, a := range r.assets {
		if s := strong(a.Identifiers); len(s) > 0 && r.seedAsst[aid] {
			matched[r.find(s[0])] = true
		}
	}
	for x := range exact {
		if _, ok := r.parent[x]; ok {
			hasExact[r.find(x)] = true
		}
	}
	roots := sortedRoots(matched)
	if len(roots) > 1 {
		var narrowed []weft.Identifier
		for _, root := range roots {
			if hasExact[root] {
				narrowed = append(narrowed, root)
			}
		}
		if len(narrowed) == 0 {
			return nil, weft.EntityAmbiguous(r.typ, id, r.rootKeys(roots))
		}
		roots = narrowed
		if len(roots) > 1 {
			return nil, weft.EntityAmbiguous(r.typ, id, r.rootKeys(roots))
		}
	}
	if len(roots) == 0 {
		// Only weak rows matched: the name resolves to the one identity it
		// was seen with, if there is one (rule 2 of correlate's identity
		// resolution).
		with := map[weft.Identifier]bool{}
		for w := range r.weakSeeds {
			for _, x := range r.weakWith[w] {
				with[r.find(x)] = true
			}
		}
		roots = sortedRoots(with)
		if len(roots) > 1 {
			return nil, weft.EntityAmbiguous(r.typ, id, r.rootKeys(roots))
		}
	}
	if len(roots) == 0 {
		return r.weakOnly(id, cands)
	}
	return r.identityOf(id, roots[0])
}

// sortedRoots returns the keys of m in a fixed order.
func sortedRoots(m map[weft.Identifier]bool) []weft.Identifier {
	out := make([]weft.Identifier, 0, len(m))
	for x := range m {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b weft.Identifier) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// rootKeys returns the canonical key of each identity.
func (r *resolver) rootKeys(roots []weft.Identifier) []string {
	keys := make([]string, len(roots))
	for i, root := range roots {
		keys[i] = canonicalKey(r.members(root))
	}
	return keys
}

// members returns the strong identifiers of the identity of root.
func (r *resolver) members(root weft.Identifier) []weft.Identifier {
	var out []weft.Identifier
	for x := range r.parent {
		if r.find(x) == root {
			out = append(out, x)
		}
	}
	return out
}

// canonicalKey is the most preferred of ids, as a key.
func canonicalKey(ids []weft.Identifier) string {
	if len(ids) == 0 {
		return ""
	}
	best := slices.MinFunc(ids, func(a, b weft.Identifier) int {
		return cmp.Or(cmp.Compare(weft.IdentifierRank(a.Kind), weft.IdentifierRank(b.Kind)), strings.Compare(a.Value, b.Value))
	})
	return best.String()
}

// identityOf collects the identity of root: its strong rows, the weak rows
// that belong to it (FindEntity, rule 4) and its assets.
func (r *resolver) identityOf(id string, root weft.Identifier) (*identity, error) {
	ident := &identity{ids: r.members(root)}
	inIdent := map[weft.Identifier]bool{}
	keys := make([]string, 0, len(ident.ids))
	for _, x := range ident.ids {
		inIdent[x] = true
		keys = append(keys, x.String())
	}
	// Names only an asset gave since the last round.
	if err := r.rowsByKey(keys, false); err != nil {
		return nil, err
	}
	// Weak names seen with this identity and with no other found.
	var weak []string
	for w, with := range r.weakWith {
		mine, other := false, false
		for _, x := range with {
			if inIdent[x] {
				mine = true
			} else {
				other = true
			}
		}
		if !mine || other {
			continue
		}
		if w.Kind == weft.IDDeviceHost {
			clash, err := r.otherFQDN(w.Value, inIdent)
			if err != nil {
				return nil, err
			}
			if clash {
				continue
			}
		}
		ident.ids = append(ident.ids, w)
		weak = append(weak, w.String())
	}
	if err := r.rowsByKey(weak, false); err != nil {
		return nil, err
	}
	for _, x := range ident.ids {
		if row := r.byKey[x.String()]; row != nil {
			ident.rows = append(ident.rows, row)
		}
	}
	for _, a := range r.sortedAssets() {
		for _, x := range a.Identifiers {
			if inIdent[x] {
				ident.assets = append(ident.assets, a)
				break
			}
		}
	}
	if len(ident.rows) == 0 {
		// An asset with no alert yet: there is no entity to show.
		return nil, weft.EntityNotFound(r.typ, id)
	}
	return ident, nil
}

// weakOnly answers a request that matched no identity with a strong name:
// the rows keyed by the weak names id may be.
func (r *resolver) weakOnly(id string, cands []weft.Identifier) (*identity, error) {
	ident := &identity{}
	for _, c := range cands {
		if row := r.byKey[c.String()]; row != nil && weft.WeakIdentifier(c.Kind) {
			ident.rows = append(ident.rows, row)
			ident.ids = append(ident.ids, c)
		}
	}
	if len(ident.rows) == 0 {
		return nil, weft.EntityNotFound(r.typ, id)
	}
	return ident, nil
}

// otherFQDN reports whether a row keyed by, or named, an FQDN that starts
// with the short host name h belongs to another identity than mine.
func (r *resolver) otherFQDN(h string, mine map[weft.Identifier]bool) (bool, error) {
	if err := r.fqdnRows(h, false); err != nil {
		return false, err
	}
	for _, row := range r.rows {
		x, ok := weft.ParseIdentifier(row.key)
		if !ok {
			continue
		}
		if !(x.Kind == weft.IDDeviceFQDN && strings.HasPrefix(x.Value, h+".")) && !strings.HasPrefix(weft.NormalizeHost(row.name), h+".") {
			continue
		}
		if weft.WeakIdentifier(x.Kind) || !mine[r.find(x)] {
			return true, nil
		}
	}
	return false, nil
}

// fqdnRows reads the rows keyed by, or named, an FQDN that starts with the
// short host name h.
func (r *resolver) fqdnRows(h string, seed bool) error {
	lo, hi := string(weft.IDDeviceFQDN)+":"+h+".", string(weft.IDDeviceFQDN)+":"+h+"/"
	if err := r.rowsWhere(seed, `tenant_id = ? AND entity_key >= ? AND entity_key < ? LIMIT 64`, r.tenant, lo, hi); err != nil {
		return err
	}
	return r.rowsWhere(seed, `tenant_id = ? AND name COLLATE NOCASE >= ? AND name COLLATE NOCASE < ? LIMIT 64`, r.tenant, h+".", h+"/")
}

func (r *resolver) sortedRows() []*entityRow {
	out := make([]*entityRow, 0, len(r.rows))
	for _, row := range r.rows {
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b *entityRow) int { return cmp.Compare(a.id, b.id) })
	return out
}

func (r *resolver) sortedAssets() []*weft.Asset {
	out := make([]*weft.Asset, 0, len(r.assets))
	for _, a := range r.assets {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b *weft.Asset) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// rowsByKey reads the rows keyed by keys not yet looked up.
func (r *resolver) rowsByKey(keys []string, seed bool) error {
	var args []any
	for _, k := range keys {
		if !r.looked[k] {
			r.looked[k] = true
			args = append(args, k)
		}
	}
	for len(args) > 0 {
		n := min(len(args), 100)
		err := r.rowsWhere(seed, `tenant_id = ? AND entity_key IN (?`+repeatParams(n-1)+`)`, append([]any{r.tenant}, args[:n]...)...)
		if err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}

// rowsWhere reads the rows of the entities of the class that match where.
func (r *resolver) rowsWhere(seed bool, where string, args ...any) error {
	rows, err := r.tx.QueryContext(r.ctx, `SELECT id, entity_type, entity_key, name, first_seen, last_seen
		FROM entities WHERE `+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e entityRow
		if err := rows.Scan(&e.id, &e.typ, &e.key, &e.name, &e.first, &e.last); err != nil {
			return err
		}
		if !slices.Contains(r.class, e.typ) {
			continue
		}
		if old := r.rows[e.id]; old != nil {
			old.seed = old.seed || seed
			continue
		}
		if len(r.rows) >= resolveRows {
			continue
		}
		e.seed = seed
		r.rows[e.id], r.byKey[e.key] = &e, &e
		r.looked[e.key] = true
		if x, ok := weft.ParseIdentifier(e.key); ok && !weft.WeakIdentifier(x.Kind) {
			r.find(x)
		} else if ok && seed {
			r.weakSeeds[x] = true
		}
	}
	return rows.Err()
}

// scanRecent looks for an evidence record of the class that carries one of
// the strong identifiers cands among the tenant's newest resolveRecent
// alerts (alerts_tenant_created, backwards), and takes the row keyed like
// the first it finds as a seed. It is the last resort of a request that
// matched nothing: a name that is neither a key nor a readable name (a SID
// of a user whose records also carry an Entra object id, and so are keyed
// by it) is in no index.
func (r *resolver) scanRecent(cands []weft.Identifier) error {
	want := map[weft.Identifier]bool{}
	for _, c := range strong(cands) {
		want[c] = true
	}
	if len(want) == 0 {
		return nil
	}
	rows, err := r.tx.QueryContext(r.ctx, `SELECT blob_format, evidence FROM alerts
		WHERE tenant_id = ? ORDER BY created DESC LIMIT ?`, r.tenant, resolveRecent)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var format int64
		var js []byte
		if err := rows.Scan(&format, &js); err != nil {
			return err
		}
		if js, err = unpackBlob(format, js); err != nil {
			return fmt.Errorf("evidence: %w", err)
		}
		var evs []weft.Evidence
		if err := unmarshalNonEmpty(js, &evs); err != nil {
			return fmt.Errorf("evidence: %w", err)
		}
		for i := range evs {
			ev := &evs[i]
			if !slices.Contains(r.class, ev.EntityType) {
				continue
			}
			if ids := ev.Identifiers(); slices.ContainsFunc(ids, func(x weft.Identifier) bool { return want[x] }) {
				rows.Close()
				return r.rowsByKey([]string{ids[0].String()}, true)
			}
		}
	}
	return rows.Err()
}

// evRecord is the identifiers of one evidence record of the class that
// a sampled alert carried.
type evRecord struct {
	key     string
	ids     []weft.Identifier
	applied bool
}

// sampleRow reads the evidence of the newest resolveSample alerts of row,
// and notes their incidents.
func (r *resolver) sampleRow(row *entityRow) error {
	return r.sampleAlerts(`SELECT a.incident_id, a.blob_format, a.evidence FROM alert_entities AS ae
		CROSS JOIN alerts AS a ON a.seq = ae.alert_seq
		WHERE ae.entity_id = ? AND a.tenant_id = ?
		ORDER BY ae.first_activity DESC, ae.alert_seq DESC LIMIT ?`, row.id, r.tenant, resolveSample)
}

// sampleIncident reads the evidence of the newest resolveSample alerts of
// an incident: correlation put alerts that name one identity under
// different names together, so that a name seen only with another one (a
// DOMAIN\sam record next to the SID record of the same sign-in) is found
// from either.
func (r *resolver) sampleIncident(id int64) error {
	return r.sampleAlerts(`SELECT incident_id, blob_format, evidence FROM alerts INDEXED BY alerts_tenant_incident
		WHERE tenant_id = ? AND incident_id = ?
		ORDER BY first_activity DESC LIMIT ?`, r.tenant, id, resolveSample)
}

// sampleAlerts collects the evidence records of the class of the alerts a
// query returns (incident_id, blob_format, evidence), without repeats.
func (r *resolver) sampleAlerts(query string, args ...any) error {
	rows, err := r.tx.QueryContext(r.ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var incident sql.NullInt64
		var format int64
		var js []byte
		if err := rows.Scan(&incident, &format, &js); err != nil {
			return err
		}
		if incident.Valid && !r.incSeen[incident.Int64] {
			r.incSeen[incident.Int64] = true
			r.incOrder = append(r.incOrder, incident.Int64)
		}
		if js, err = unpackBlob(format, js); err != nil {
			return fmt.Errorf("evidence: %w", err)
		}
		var evs []weft.Evidence
		if err := unmarshalNonEmpty(js, &evs); err != nil {
			return fmt.Errorf("evidence: %w", err)
		}
		for i := range evs {
			ev := &evs[i]
			if !slices.Contains(r.class, ev.EntityType) {
				continue
			}
			ids := ev.Identifiers()
			if len(ids) == 0 {
				continue
			}
			var sig strings.Builder
			for _, x := range ids {
				sig.WriteString(x.String())
				sig.WriteByte(0)
			}
			if r.recSeen[sig.String()] {
				continue
			}
			r.recSeen[sig.String()] = true
			r.records = append(r.records, &evRecord{key: ids[0].String(), ids: slices.Clone(ids)})
		}
	}
	return rows.Err()
}

// apply applies the records collected so far that name what was found:
// those keyed like a row found, and those that share a strong identifier
// with one or a weak name with a row the request matched; the others are of other entities of the class in the same
// alerts (the victim next to the attacker). Their strong identifiers are
// united and their weak ones noted with them, until no record is left
// that the last ones made relevant. A UPN and the mail address with the
// same value are one identity (rule 5 of correlate's identity resolution).
func (r *resolver) apply() {
	for changed := true; changed; {
		changed = false
		for _, rec := range r.records {
			if rec.applied {
				continue
			}
			st := strong(rec.ids)
			if r.byKey[rec.key] == nil && !slices.ContainsFunc(rec.ids, func(x weft.Identifier) bool { _, ok := r.parent[x]; return ok || r.weakSeeds[x] }) {
				continue
			}
			rec.applied, changed = true, true
			r.union(st)
			for _, x := range rec.ids {
				if weft.WeakIdentifier(x.Kind) {
					for _, s := range st {
						if !slices.Contains(r.weakWith[x], s) {
							r.weakWith[x] = append(r.weakWith[x], s)
						}
					}
				}
			}
		}
		for x := range r.parent {
			var twin weft.Identifier
			switch x.Kind {
			case weft.IDUserUPN:
				twin = weft.Identifier{Kind: weft.IDUserEmail, Value: x.Value}
			case weft.IDUserEmail:
				twin = weft.Identifier{Kind: weft.IDUserUPN, Value: x.Value}
			default:
				continue
			}
			if _, ok := r.parent[twin]; ok && r.find(x) != r.find(twin) {
				r.union([]weft.Identifier{x, twin})
				changed = true
			}
		}
	}
}

// readAssets reads the tenant's assets of the class's kind whose id or
// display name is id (when id is set) or that carry one of ids. The query
// walks the tenant's assets (assets are few next to alerts; the same walk
// as criticalityLookup).
func (r *resolver) readAssets(id string, ids []weft.Identifier, seed bool) error {
	var kind weft.AssetKind
	switch r.typ {
	case weft.EntityDevice:
		kind = weft.AssetDevice
	case weft.EntityUser, weft.EntityMailbox:
		kind = weft.AssetUser
	default:
		return nil
	}
	names := make([]string, 0, len(ids))
	for _, x := range ids {
		names = append(names, x.String())
	}
	list, err := jsonv2.Marshal(names)
	if err != nil {
		return err
	}
	rows, err := r.tx.QueryContext(r.ctx, `SELECT asset_id, body, updated FROM assets
		WHERE tenant_id = ? AND kind = ? AND (asset_id = ? OR display_name = ? COLLATE NOCASE
			OR EXISTS (SELECT 1 FROM json_each(assets.identifiers) AS j
				WHERE (j.value ->> 'kind') || ':' || (j.value ->> 'value') IN (SELECT value FROM json_each(?))))
		ORDER BY asset_id LIMIT 64`,
		r.tenant, string(kind), nullIfEmpty(id), nullIfEmpty(id), string(list))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var assetID, body string
		var updated int64
		if err := rows.Scan(&assetID, &body, &updated); err != nil {
			return err
		}
		if r.assets[assetID] != nil {
			continue
		}
		a, err := readAsset(r.tenant, body, updated)
		if err != nil {
			return err
		}
		r.assets[assetID] = a
		r.seedAsst[assetID] = seed
		for _, x := range strong(a.Identifiers) {
			r.find(x)
		}
	}
	return rows.Err()
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// view reads the entity page of ident.
func (r *resolver) view(ident *identity, skip, limit int) (*weft.EntityView, error) {
	v := &weft.EntityView{EntityType: r.typ, Key: canonicalKey(strong(ident.ids)), ContainmentState: weft.ContainmentNone,
		Aliases: []string{}, Alerts: []weft.EntityAlert{}, Incidents: []weft.EntityIncident{}}
	if v.Key == "" {
		v.Key = canonicalKey(ident.ids)
	}
	slices.SortFunc(ident.rows, func(a, b *entityRow) int { return cmp.Compare(a.id, b.id) })
	latest := ident.rows[0]
	for _, row := range ident.rows {
		if row.last > latest.last {
			latest = row
		}
	}
	v.Name = latest.name
	first, last := ident.rows[0].first, ident.rows[0].last
	aliases := map[string]bool{}
	for _, row := range ident.rows {
		first, last = min(first, row.first), max(last, row.last)
		aliases[row.key] = true
	}
	v.FirstSeen, v.LastSeen = fromNanos(first), fromNanos(last)
	for _, x := range ident.ids {
		aliases[x.String()] = true
	}

	// Criticality as the incident graph computes it, over every name.
	if len(ident.assets) > 0 {
		index := assetIndex{}
		for _, a := range ident.assets {
			index.put(r.tenant, a.ID, a.Criticality, a.Identifiers)
		}
		v.Criticality = index[r.tenant].criticality(ident.ids)
		best := ident.assets[0]
		for _, a := range ident.assets[1:] {
			if a.Criticality > best.Criticality {
				best = a
			}
		}
		v.AssetID, v.DeviceGroup = best.ID, best.DeviceGroup
		for _, a := range ident.assets {
			aliases[a.DisplayName] = true
		}
	}
	delete(aliases, v.Key)
	delete(aliases, "")
	for a := range aliases {
		v.Aliases = append(v.Aliases, a)
	}
	slices.Sort(v.Aliases)
	v.AliasCount = len(v.Aliases)
	if len(v.Aliases) > weft.MaxEntityAliases {
		v.Aliases = v.Aliases[:weft.MaxEntityAliases]
	}

	ids := make([]any, len(ident.rows))
	for i, row := range ident.rows {
		ids[i] = row.id
	}
	in := `(?` + repeatParams(len(ids)-1) + `)`
	count := `SELECT count(*) FROM alert_entities WHERE entity_id = ?`
	if len(ids) > 1 {
		count = `SELECT count(*) FROM (SELECT DISTINCT alert_seq FROM alert_entities WHERE entity_id IN ` + in + `)`
	}
	if err := r.tx.QueryRowContext(r.ctx, count, ids...).Scan(&v.AlertCount); err != nil {
		return nil, fmt.Errorf("count alerts: %w", err)
	}
	var err error
	if v.Alerts, v.MoreAlerts, err = r.alertPage(ident.rows, skip, limit); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	if v.Incidents, v.IncidentCount, err = r.incidents(ident.rows, ids, in); err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	return v, nil
}

// pageEntry is one alert of an entity row, as alert_entities holds it.
type pageEntry struct {
	first, seq, roles int64
}

// alertPage reads the alerts skip to skip+limit of the rows, newest first:
// each row's newest skip+limit+1 from alert_entities (an index walk from
// the end of the row's range), merged, without repeats (an alert whose
// evidence names two of the rows), then their columns by rowid.
func (r *resolver) alertPage(rows []*entityRow, skip, limit int) ([]weft.EntityAlert, bool, error) {
	want := skip + limit + 1
	bySeq := map[int64]*pageEntry{}
	var all []*pageEntry
	for _, row := range rows {
		rs, err := r.tx.QueryContext(r.ctx, `SELECT first_activity, alert_seq, roles FROM alert_entities
			WHERE entity_id = ? ORDER BY first_activity DESC, alert_seq DESC LIMIT ?`, row.id, want)
		if err != nil {
			return nil, false, err
		}
		for rs.Next() {
			var e pageEntry
			if err := rs.Scan(&e.first, &e.seq, &e.roles); err != nil {
				rs.Close()
				return nil, false, err
			}
			if old := bySeq[e.seq]; old != nil {
				old.roles |= e.roles
				continue
			}
			bySeq[e.seq] = &e
			all = append(all, &e)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, false, err
		}
	}
	slices.SortFunc(all, func(a, b *pageEntry) int { return cmp.Or(cmp.Compare(b.first, a.first), cmp.Compare(b.seq, a.seq)) })
	if skip >= len(all) {
		return []weft.EntityAlert{}, false, nil
	}
	all = all[skip:]
	more := len(all) > limit
	if more {
		all = all[:limit]
	}
	seqs := make([]any, 0, len(all)+1)
	seqs = append(seqs, r.tenant)
	for _, e := range all {
		seqs = append(seqs, e.seq)
	}
	rs, err := r.tx.QueryContext(r.ctx, `SELECT seq, id, title, severity, status, first_activity, incident_id
		FROM alerts WHERE tenant_id = ? AND seq IN (?`+repeatParams(len(all)-1)+`)`, seqs...)
	if err != nil {
		return nil, false, err
	}
	defer rs.Close()
	found := map[int64]weft.EntityAlert{}
	for rs.Next() {
		var seq, severity, first int64
		var status string
		var incident sql.NullInt64
		var a weft.EntityAlert
		if err := rs.Scan(&seq, &a.ID, &a.Title, &severity, &status, &first, &incident); err != nil {
			return nil, false, err
		}
		a.Severity, a.Status, a.FirstActivityDateTime, a.IncidentID = severityOf(severity), weft.AlertStatus(status), fromNanos(first), incident.Int64
		found[seq] = a
	}
	if err := rs.Err(); err != nil {
		return nil, false, err
	}
	out := make([]weft.EntityAlert, 0, len(all))
	for _, e := range all {
		a, ok := found[e.seq]
		if !ok {
			continue // not of this tenant: cannot happen, entity ids are per tenant
		}
		a.Roles = rolesOf(e.roles)
		if a.Roles == nil {
			a.Roles = []weft.EvidenceRole{}
		}
		slices.Sort(a.Roles)
		out = append(out, a)
	}
	return out, more, nil
}

// incidents reads the incidents of the entity's alerts: their number, a
// count of the distinct incidents of all its alerts (one rowid lookup per
// alert, nothing loaded), and the MaxEntityIncidents in which it was most
// recently seen. Those are found by walking each row's alerts newest first
// (alert_entities) until it has named MaxEntityIncidents incidents: the
// union of the rows' walks holds the answer. Ordering by the incidents'
// own last activity instead would read every incident of the entity (an
// entity seen in 100,000 alerts may be in as many).
func (r *resolver) incidents(rows []*entityRow, ids []any, in string) ([]weft.EntityIncident, int64, error) {
	var total int64
	err := r.tx.QueryRowContext(r.ctx, `SELECT count(DISTINCT a.incident_id)
		FROM alert_entities AS ae CROSS JOIN alerts AS a ON a.seq = ae.alert_seq
		WHERE ae.entity_id IN `+in+` AND a.tenant_id = ?`, append(slices.Clone(ids), r.tenant)...).Scan(&total)
	if err != nil {
		return nil, 0, err
	}
	latest := map[int64]int64{} // incident → the entity's latest first activity in it
	for _, row := range rows {
		if err := r.walkIncidents(row, latest); err != nil {
			return nil, 0, err
		}
	}
	order := make([]int64, 0, len(latest))
	for id := range latest {
		order = append(order, id)
	}
	slices.SortFunc(order, func(a, b int64) int { return cmp.Or(cmp.Compare(latest[b], latest[a]), cmp.Compare(b, a)) })
	if len(order) > weft.MaxEntityIncidents {
		order = order[:weft.MaxEntityIncidents]
	}
	out := make([]weft.EntityIncident, 0, len(order))
	for _, id := range order {
		var inc weft.EntityIncident
		var status string
		var severity, first, last int64
		var score sql.NullInt64
		err := r.tx.QueryRowContext(r.ctx, `SELECT id, display_name, status, severity, priority_score, first_activity, last_activity
			FROM incidents WHERE tenant_id = ? AND id = ?`, r.tenant, id).
			Scan(&inc.ID, &inc.DisplayName, &status, &severity, &score, &first, &last)
		if errNotFound(err) {
			continue // cannot happen: an alert's incident exists in its tenant
		} else if err != nil {
			return nil, 0, err
		}
		inc.Status, inc.Severity = weft.IncidentStatus(status), severityOf(severity)
		inc.FirstActivityDateTime, inc.LastActivityDateTime = fromNanos(first), fromNanos(last)
		if score.Valid {
			n := int(score.Int64)
			inc.PriorityScore = &n
		}
		if inc.AlertIDs, inc.AlertCount, err = r.incidentAlerts(id, ids, in); err != nil {
			return nil, 0, err
		}
		out = append(out, inc)
	}
	return out, total, nil
}

// walkIncidents reads row's alerts newest first until they have named
// MaxEntityIncidents incidents, and records in latest the first activity
// of the newest alert of each.
func (r *resolver) walkIncidents(row *entityRow, latest map[int64]int64) error {
	rows, err := r.tx.QueryContext(r.ctx, `SELECT a.incident_id, ae.first_activity
		FROM alert_entities AS ae CROSS JOIN alerts AS a ON a.seq = ae.alert_seq
		WHERE ae.entity_id = ? AND a.tenant_id = ? AND a.incident_id IS NOT NULL
		ORDER BY ae.first_activity DESC, ae.alert_seq DESC`, row.id, r.tenant)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := 0
	for seen < weft.MaxEntityIncidents && rows.Next() {
		var id, first int64
		if err := rows.Scan(&id, &first); err != nil {
			return err
		}
		if old, ok := latest[id]; !ok || first > old {
			if !ok {
				seen++
			}
			latest[id] = first
		}
	}
	return rows.Err()
}

// incidentAlerts returns the ids of the earliest MaxEntityIncidentAlerts
// of the entity's alerts in one incident, and how many there are: the
// incident's alerts in order (alerts_tenant_incident), each checked against
// alert_entities' primary key.
func (r *resolver) incidentAlerts(incident int64, ids []any, in string) ([]string, int, error) {
	args := append([]any{r.tenant, incident}, ids...)
	rows, err := r.tx.QueryContext(r.ctx, `SELECT a.id FROM alerts AS a INDEXED BY alerts_tenant_incident
		WHERE a.tenant_id = ? AND a.incident_id = ? AND EXISTS (SELECT 1 FROM alert_entities AS ae
			WHERE ae.entity_id IN `+in+` AND ae.first_activity = a.first_activity AND ae.alert_seq = a.seq)
		ORDER BY a.first_activity, a.seq`, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []string{}
	n := 0
	for rows.Next() {
		n++
		if len(out) == weft.MaxEntityIncidentAlerts {
			continue
		}
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, 0, err
		}
		out = append(out, id)
	}
	return out, n, rows.Err()
}

// SearchEntities returns the tenant's entities whose readable name, or the
// value of whose key, starts with q.Text, case-insensitively (see
// weft.EntityStore), in one read transaction. It is safe for concurrent use.
//
// Names are matched by a range of entities_tenant_name (migration 0008),
// keys by a range of entities_tenant_key for each identifier kind the text
// may be a value of (normalized as queue's entity filter does); each range
// gives at most q.Top rows, and the union is ordered and cut. The alert
// count of each result is a count of its alert_entities range.
func (s *Store) SearchEntities(ctx context.Context, tenantID string, q weft.EntitySearch) ([]weft.EntitySummary, error) {
	q, err := weft.CheckEntitySearch(q)
	if err != nil {
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: search entities: %w", err)
	}
	defer tx.Rollback()

	typeTerm, typeArgs := "", []any{}
	if q.Type != "" {
		class := weft.EntityClass(q.Type)
		typeTerm = ` AND entity_type IN (?` + repeatParams(len(class)-1) + `)`
		for _, t := range class {
			typeArgs = append(typeArgs, string(t))
		}
	}
	// A prefix range: [p, p + U+10FFFF), checked exactly with substr, as
	// NOCASE folds only ASCII.
	const top = "\U0010FFFF"
	var parts []string
	var args []any
	parts = append(parts, `SELECT * FROM (SELECT id FROM entities WHERE tenant_id = ?
		AND name COLLATE NOCASE >= ? AND name COLLATE NOCASE < ?
		AND substr(name, 1, length(?)) = ? COLLATE NOCASE`+typeTerm+` LIMIT ?)`)
	args = append(args, tenantID, q.Text, q.Text+top, q.Text, q.Text)
	args = append(append(args, typeArgs...), q.Top)
	seen := map[string]bool{}
	for _, k := range entityKeys(q.Text) {
		if seen[k] {
			continue
		}
		seen[k] = true
		if x, ok := weft.ParseIdentifier(k); ok && q.Type != "" && !kindOfClass(x.Kind, q.Type) {
			continue
		}
		parts = append(parts, `SELECT * FROM (SELECT id FROM entities WHERE tenant_id = ?
			AND entity_key >= ? AND entity_key < ?`+typeTerm+` LIMIT ?)`)
		args = append(args, tenantID, k, k+top)
		args = append(append(args, typeArgs...), q.Top)
	}
	rows, err := tx.QueryContext(ctx, `SELECT e.entity_type, e.entity_key, e.name, e.last_seen,
			(SELECT count(*) FROM alert_entities AS ae WHERE ae.entity_id = e.id)
		FROM entities AS e WHERE e.id IN (`+strings.Join(parts, " UNION ")+`)
		ORDER BY e.name COLLATE NOCASE, e.entity_key LIMIT ?`, append(args, q.Top)...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search entities: %w", err)
	}
	defer rows.Close()
	out := []weft.EntitySummary{}
	for rows.Next() {
		var e weft.EntitySummary
		var last int64
		if err := rows.Scan(&e.EntityType, &e.Key, &e.Name, &last, &e.AlertCount); err != nil {
			return nil, fmt.Errorf("sqlite: search entities: %w", err)
		}
		e.LastSeen = fromNanos(last)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: search entities: %w", err)
	}
	return out, nil
}

// kindOfClass reports whether identifiers of kind k can name an entity of
// type t: whether some evidence of t's class yields that kind.
func kindOfClass(k weft.IdentifierKind, t weft.EntityType) bool {
	prefix, _, _ := strings.Cut(string(k), ".")
	switch t {
	case weft.EntityDevice:
		return prefix == "device"
	case weft.EntityUser, weft.EntityMailbox:
		return prefix == "user"
	case weft.EntityEmailMessage:
		return prefix == "message"
	case weft.EntityFile:
		return prefix == "file"
	case weft.EntityCloudApplication, weft.EntityOAuthApplication:
		return k == weft.IDApp
	}
	return string(k) == string(t)
}

package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// Name resolution of the entity pages (FindEntity, steps 1 to 4): from the
// name a request gives to the entity rows of one identity, over the
// identifier index (entity_identifiers, migration 0010).

// Bounds of identity resolution on the read path (see FindEntity).
const (
	// resolveRows bounds the entity rows one request gathers.
	resolveRows = 64
	// resolveRounds bounds the rounds of "identifiers → the rows keyed by
	// them or that carried them → those rows' identifiers".
	resolveRounds = 3
	// resolveWeakRows bounds the rows read that carried one weak name: a
	// name carried by more is taken as ambiguous (a hub name such as
	// "administrator").
	resolveWeakRows = 64
	// resolveWeakNames bounds the weak names of an identity that are
	// checked (one index range each).
	resolveWeakNames = 16
)

// entityRow is one row of entities, with the identifiers its records
// carried besides its key (entity_identifiers).
type entityRow struct {
	id          int64
	typ         weft.EntityType
	key         string
	name        string
	first, last int64
	seed        bool // found by the request itself, not through identity
	ids         []weft.Identifier
	read        bool // ids read
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
	looked map[weft.Identifier]bool // strong identifiers whose rows were looked up
	assets map[string]*weft.Asset
	// seedAsst marks the assets the request named (by id, display name
	// or identifier).
	seedAsst map[string]bool
	// capped makes rowsWhere keep to resolveRows; truncated records that
	// resolution stopped at a bound (EntityView.IdentityTruncated).
	capped    bool
	truncated bool

	// The partition of the strong identifiers found (see partition).
	parent map[weft.Identifier]weft.Identifier
	single map[weft.Identifier]uint64 // root → singleBits of its members
}

func newResolver(ctx context.Context, tx *sql.Tx, tenant string, typ weft.EntityType) *resolver {
	return &resolver{ctx: ctx, tx: tx, tenant: tenant, typ: typ, class: weft.EntityClass(typ),
		rows: map[int64]*entityRow{}, byKey: map[string]*entityRow{}, looked: map[weft.Identifier]bool{},
		assets: map[string]*weft.Asset{}, seedAsst: map[string]bool{}, capped: true}
}

// identity is the answer of resolve: the rows of one entity, its
// identifiers, and the assets that name it.
type identity struct {
	rows   []*entityRow
	ids    []weft.Identifier
	assets []*weft.Asset
}

// resolve finds the identity that id names (FindEntity, steps 1 to 4). It
// returns ENOTFOUND when there is none and EINVALID when id is ambiguous.
func (r *resolver) resolve(id string) (*identity, error) {
	cands := weft.EntityIdentifiers(r.typ, id)
	var strongCands, weakCands []weft.Identifier
	keys := make([]string, len(cands))
	for i, c := range cands {
		keys[i] = c.String()
		if weft.WeakIdentifier(c.Kind) {
			weakCands = append(weakCands, c)
		} else if kindOfClass(c.Kind, r.typ) {
			strongCands = append(strongCands, c)
		}
	}

	// 1. Seeds: rows keyed by a candidate (weak ones included), rows that
	// carried a strong candidate, rows by readable name, assets.
	if err := r.rowsByKey(keys, true); err != nil {
		return nil, err
	}
	if err := r.follow(strongCands); err != nil {
		return nil, err
	}
	// By readable name: id as given, and the values of the strong
	// identifiers it may be ("device.fqdn:ws-1.contoso.com" names the
	// device whose evidence names it WS-1.contoso.com).
	names := []any{id}
	for _, c := range strongCands {
		if !slices.Contains(names, any(c.Value)) {
			names = append(names, c.Value)
		}
	}
	if err := r.rowsWhere(true, `tenant_id = ? AND name COLLATE NOCASE IN (?`+repeatParams(len(names)-1)+`)`, append([]any{r.tenant}, names...)...); err != nil {
		return nil, err
	}
	if err := r.readAssets(id, cands, true); err != nil {
		return nil, err
	}

	// 2. Names.
	if err := r.gather(); err != nil {
		return nil, err
	}
	r.partition()

	// 3. Choice. An identifier id names exactly decides.
	exact := map[weft.Identifier]bool{}
	for _, c := range strongCands {
		if _, ok := r.parent[c]; ok {
			exact[r.find(c)] = true
		}
	}
	if roots := sortedRoots(exact); len(roots) == 1 {
		return r.identityOf(id, roots[0])
	} else if len(roots) > 1 {
		return nil, weft.EntityAmbiguous(r.typ, id, r.rootKeys(roots))
	}
	// Otherwise the identities of the rows and assets it named, and those
	// its weak names were seen with (rule 2 of correlate's identity
	// resolution): one is the answer.
	weakRoots, err := r.weakSeeds(weakCands)
	if err != nil {
		return nil, err
	}
	matched := map[weft.Identifier]bool{}
	for _, row := range r.rows {
		if x, ok := weft.ParseIdentifier(row.key); ok && row.seed && !weft.WeakIdentifier(x.Kind) {
			matched[r.find(x)] = true
		}
	}
	for aid, a := range r.assets {
		if s := r.strongOf(a.Identifiers); len(s) > 0 && r.seedAsst[aid] {
			matched[r.find(s[0])] = true
		}
	}
	for _, x := range weakRoots {
		matched[r.find(x)] = true
	}
	roots := sortedRoots(matched)
	if len(roots) > 1 {
		if x, ok := weft.ParseIdentifier(id); ok && weft.WeakIdentifier(x.Kind) {
			// A weak key names its own row (its value normalized).
			own := slices.DeleteFunc(slices.Clone(weakCands), func(c weft.Identifier) bool { return c.Kind != x.Kind })
			if ident, err := r.weakOnly(id, own); err == nil {
				return ident, nil
			}
		}
		return nil, weft.EntityAmbiguous(r.typ, id, r.rootKeys(roots))
	}
	if len(roots) == 0 {
		return r.weakOnly(id, weakCands)
	}
	return r.identityOf(id, roots[0])
}

// weakSeeds reads the rows that carried the weak names of the request
// (cands), gathers their identities, and returns the strong key of each:
// the identities the names were seen with.
func (r *resolver) weakSeeds(cands []weft.Identifier) ([]weft.Identifier, error) {
	var ids []any
	for _, w := range cands {
		cs, err := r.carriers(w)
		if err != nil {
			return nil, err
		}
		if len(cs) > resolveWeakRows {
			r.truncated = true
			cs = cs[:resolveWeakRows]
		}
		for _, c := range cs {
			ids = append(ids, c.id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	before := len(r.rows)
	if err := r.rowsWhere(false, `id IN (?`+repeatParams(len(ids)-1)+`)`, ids...); err != nil {
		return nil, err
	}
	if len(r.rows) > before {
		if err := r.gather(); err != nil {
			return nil, err
		}
		r.partition()
	}
	var out []weft.Identifier
	for _, id := range ids {
		if row := r.rows[id.(int64)]; row != nil {
			if x, ok := weft.ParseIdentifier(row.key); ok && !weft.WeakIdentifier(x.Kind) {
				out = append(out, x)
			}
		}
	}
	return out, nil
}

// gather follows the strong identifiers of the rows and assets found to
// the rows keyed by them or that carried them, and those rows' identifiers
// in turn, at most resolveRounds times and resolveRows rows; it sets
// truncated when it stops with identifiers left to follow.
func (r *resolver) gather() error {
	for round := 0; ; round++ {
		if err := r.readIdentifiers(); err != nil {
			return err
		}
		var fresh []weft.Identifier
		add := func(x weft.Identifier) {
			if !weft.WeakIdentifier(x.Kind) && kindOfClass(x.Kind, r.typ) && !r.looked[x] && !slices.Contains(fresh, x) {
				fresh = append(fresh, x)
			}
		}
		for _, row := range r.sortedRows() {
			if x, ok := weft.ParseIdentifier(row.key); ok {
				add(x)
			}
			for _, x := range row.ids {
				add(x)
			}
		}
		for _, a := range r.sortedAssets() {
			for _, x := range a.Identifiers {
				add(x)
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		if round == resolveRounds || len(r.rows) >= resolveRows {
			r.truncated = true
			return nil
		}
		if err := r.readAssets("", fresh, false); err != nil {
			return err
		}
		if err := r.follow(fresh); err != nil {
			return err
		}
	}
}

// follow reads the rows keyed by the strong identifiers xs and the rows
// whose records carried one of them (entity_identifiers), and marks xs
// looked up.
func (r *resolver) follow(xs []weft.Identifier) error {
	var args []any
	for _, x := range xs {
		if !r.looked[x] {
			r.looked[x] = true
			args = append(args, x.String())
		}
	}
	for len(args) > 0 {
		n := min(len(args), 100)
		in := `(?` + repeatParams(n-1) + `)`
		chunk := append([]any{r.tenant}, args[:n]...)
		if err := r.rowsWhere(false, `tenant_id = ? AND entity_key IN `+in, chunk...); err != nil {
			return err
		}
		if err := r.rowsWhere(false, `id IN (SELECT entity_id FROM entity_identifiers
			WHERE tenant_id = ? AND identifier IN `+in+`)`, chunk...); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}

// readIdentifiers reads the identifiers of the rows not yet read, from
// entity_identifiers_entity, in chunks.
func (r *resolver) readIdentifiers() error {
	var ids []any
	for _, row := range r.sortedRows() {
		if !row.read {
			row.read = true
			ids = append(ids, row.id)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), 100)
		rows, err := r.tx.QueryContext(r.ctx, `SELECT entity_id, identifier FROM entity_identifiers
			WHERE entity_id IN (?`+repeatParams(n-1)+`) AND tenant_id = ? ORDER BY entity_id, identifier`,
			append(slices.Clone(ids[:n]), r.tenant)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var s string
			if err := rows.Scan(&id, &s); err != nil {
				rows.Close()
				return err
			}
			if x, ok := weft.ParseIdentifier(s); ok && r.rows[id] != nil {
				r.rows[id].ids = append(r.rows[id].ids, x)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// carrier is an entity row that carried a given identifier.
type carrier struct {
	id  int64
	key string
}

// carriers returns the rows of the class whose records carried x, at most
// resolveWeakRows+1 of them (more means "more than resolveWeakRows").
func (r *resolver) carriers(x weft.Identifier) ([]carrier, error) {
	types := make([]any, 0, len(r.class))
	for _, t := range r.class {
		types = append(types, string(t))
	}
	rows, err := r.tx.QueryContext(r.ctx, `SELECT e.id, e.entity_key FROM entity_identifiers AS ei
		CROSS JOIN entities AS e ON e.id = ei.entity_id
		WHERE ei.tenant_id = ? AND ei.identifier = ? AND e.entity_type IN (?`+repeatParams(len(types)-1)+`)
		ORDER BY ei.entity_id LIMIT ?`, append(append([]any{r.tenant, x.String()}, types...), resolveWeakRows+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []carrier
	for rows.Next() {
		var c carrier
		if err := rows.Scan(&c.id, &c.key); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// identityOf collects the identity of root: its strong rows, the weak names
// that belong to it with their rows (FindEntity, step 4) and its assets.
func (r *resolver) identityOf(id string, root weft.Identifier) (*identity, error) {
	ident := &identity{ids: r.members(root)}
	inIdent := map[weft.Identifier]bool{}
	keys := make([]string, 0, len(ident.ids))
	for _, x := range ident.ids {
		inIdent[x] = true
		keys = append(keys, x.String())
	}
	// The weak names the identity's rows carried (and, for a weak-keyed
	// row, its key): each belongs to it when every row that carried it is
	// of the identity.
	var weak []weft.Identifier
	for _, row := range r.sortedRows() {
		x, ok := weft.ParseIdentifier(row.key)
		if !ok || !inIdent[x] {
			continue
		}
		for _, w := range row.ids {
			if weft.WeakIdentifier(w.Kind) && !slices.Contains(weak, w) {
				weak = append(weak, w)
			}
		}
	}
	if len(weak) > resolveWeakNames {
		r.truncated = true
		weak = weak[:resolveWeakNames]
	}
	for _, w := range weak {
		cs, err := r.carriers(w)
		if err != nil {
			return nil, err
		}
		if len(cs) > resolveWeakRows || slices.ContainsFunc(cs, func(c carrier) bool {
			x, ok := weft.ParseIdentifier(c.key)
			return !ok || !inIdent[x]
		}) {
			continue // seen with another identity too: ambiguous
		}
		ident.ids = append(ident.ids, w)
		keys = append(keys, w.String())
	}
	// The rows keyed by its names (those only an asset gave, and weak
	// rows, may not be read yet).
	r.capped = false
	if err := r.rowsByKey(keys, false); err != nil {
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
		if row := r.byKey[c.String()]; row != nil {
			ident.rows = append(ident.rows, row)
			ident.ids = append(ident.ids, c)
		}
	}
	if len(ident.rows) == 0 {
		return nil, weft.EntityNotFound(r.typ, id)
	}
	return ident, nil
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

// rowsByKey reads the rows keyed by keys.
func (r *resolver) rowsByKey(keys []string, seed bool) error {
	args := make([]any, 0, len(keys))
	for _, k := range keys {
		if r.byKey[k] == nil {
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

// rowsWhere reads the rows of the entities of the class that match where,
// at most resolveRows in all while capped (it sets truncated when it
// leaves one out).
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
		if r.capped && len(r.rows) >= resolveRows {
			r.truncated = true
			continue
		}
		e.seed = seed
		r.rows[e.id], r.byKey[e.key] = &e, &e
	}
	return rows.Err()
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
			r.seedAsst[assetID] = r.seedAsst[assetID] || seed
			continue
		}
		a, err := readAsset(r.tenant, body, updated)
		if err != nil {
			return err
		}
		r.assets[assetID] = a
		r.seedAsst[assetID] = seed
	}
	return rows.Err()
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

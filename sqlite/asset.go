package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// AssetAliaser is a Correlator that takes the names of inventory assets
// (correlate.Engine is one): the identifiers of one asset name one device or
// user, as if they had appeared together in one evidence record. Without it
// assets still count in priority, but not in correlation.
type AssetAliaser interface {
	AddAsset(tenantID string, aliases []weft.Identifier)
}

var _ weft.AssetStore = (*Store)(nil)

// PutAssets normalizes and stores a batch of assets in one transaction and
// returns one result per asset, in order: created, updated, or unchanged
// when the stored asset is the same. It does not modify the assets. An
// invalid asset fails the batch with EINVALID naming its index and field.
// The tenants the assets name are created if they do not exist yet, as
// ingest does.
//
// After the commit, the names of every created or changed asset are handed
// to the Correlator (AssetAliaser) and apply from the tenant's next alert.
// A union of identities cannot be undone, so an asset that lost names makes
// the Correlator be rebuilt (from the stored assets and alerts) before the
// next batch. Criticality applies to incidents scored from then on; it does
// not rescore incidents that gain no alerts.
func (s *Store) PutAssets(ctx context.Context, assets []*weft.Asset) ([]weft.AssetResult, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	norm := make([]*weft.Asset, len(assets))
	bodies := make([][]byte, len(assets))
	for i, a := range assets {
		if a == nil {
			return nil, weft.Errorf(weft.EINVALID, "asset %d: is nil", i)
		}
		c := *a
		c.Tags, c.Accounts, c.MailAddresses = slices.Clone(a.Tags), slices.Clone(a.Accounts), slices.Clone(a.MailAddresses)
		if err := c.Normalize(); err != nil {
			return nil, weft.Errorf(weft.EINVALID, "asset %d: %s", i, err)
		}
		c.LastUpdateDateTime = s.now().UTC()
		body, err := assetBody(&c)
		if err != nil {
			return nil, fmt.Errorf("sqlite: put assets: %w", err)
		}
		norm[i], bodies[i] = &c, body
	}
	if len(assets) == 0 {
		return []weft.AssetResult{}, nil
	}
	if err := s.lockWriter(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: put assets: %w", err)
	}
	defer s.unlockWriter()

	results := make([]weft.AssetResult, len(norm))
	type change struct {
		a    *weft.Asset
		lost bool // the asset lost identifiers it had
	}
	var changes []change
	now := nanos(s.now())
	err := func() error {
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		tenants := map[string]bool{}
		for i, a := range norm {
			if i%64 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if !tenants[a.TenantID] {
				tenants[a.TenantID] = true
				if _, err := tx.ExecContext(bg, `INSERT INTO tenants (tenant_id, display_name, disabled, created)
					VALUES (?1, ?1, 0, ?2) ON CONFLICT (tenant_id) DO NOTHING`, a.TenantID, now); err != nil {
					return err
				}
			}
			var oldBody string
			err := tx.QueryRowContext(bg, `SELECT body FROM assets WHERE tenant_id = ? AND asset_id = ?`,
				a.TenantID, a.ID).Scan(&oldBody)
			res := weft.AssetResult{ID: a.ID, Outcome: weft.AssetCreated}
			var old weft.Asset
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			default:
				if err := jsonv2.Unmarshal([]byte(oldBody), &old, jsonOpts); err != nil {
					return fmt.Errorf("read stored asset %q: %w", a.ID, err)
				}
				res.Outcome = weft.AssetUpdated
				if sameAsset(&old, a) {
					res.Outcome = weft.AssetUnchanged
				}
			}
			results[i] = res
			if res.Outcome == weft.AssetUnchanged {
				continue
			}
			ids, err := jsonv2.Marshal(a.Identifiers, jsonOpts)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(bg, `INSERT INTO assets (tenant_id, asset_id, kind, display_name,
				criticality, identifiers, body, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (tenant_id, asset_id) DO UPDATE SET kind = excluded.kind,
				display_name = excluded.display_name, criticality = excluded.criticality,
				identifiers = excluded.identifiers, body = excluded.body, updated = excluded.updated`,
				a.TenantID, a.ID, string(a.Kind), a.DisplayName, a.Criticality, string(ids), string(bodies[i]), now); err != nil {
				return err
			}
			lost := false
			for _, id := range old.Identifiers {
				lost = lost || !slices.Contains(a.Identifiers, id)
			}
			changes = append(changes, change{a, lost})
		}
		return tx.Commit()
	}()
	if err != nil {
		return nil, fmt.Errorf("sqlite: put assets: %w", err)
	}
	if s.corr != nil {
		aa, _ := s.corr.(AssetAliaser)
		for _, c := range changes {
			s.assets.put(c.a.TenantID, c.a.ID, c.a.Criticality, c.a.Identifiers)
			switch {
			case c.lost:
				s.corrStale = true
			case aa != nil && !s.corrStale:
				aa.AddAsset(c.a.TenantID, c.a.Identifiers)
			}
		}
	}
	return results, nil
}

// assetBody is the stored JSON of a normalized asset: everything but the
// tenant and the update time, which are columns.
func assetBody(a *weft.Asset) ([]byte, error) {
	c := *a
	c.TenantID, c.LastUpdateDateTime = "", time.Time{}
	return jsonv2.Marshal(&c, jsonOpts)
}

// sameAsset reports whether two normalized assets say the same, their update
// times aside.
func sameAsset(x, y *weft.Asset) bool {
	bx, err1 := assetBody(x)
	by, err2 := assetBody(y)
	return err1 == nil && err2 == nil && string(bx) == string(by)
}

// FindAsset returns one asset of a tenant, or an ENOTFOUND error.
func (s *Store) FindAsset(ctx context.Context, tenantID, id string) (*weft.Asset, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var body string
	var updated int64
	err := s.read.QueryRowContext(ctx, `SELECT body, updated FROM assets WHERE tenant_id = ? AND asset_id = ?`,
		tenantID, id).Scan(&body, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, weft.Errorf(weft.ENOTFOUND, "asset %q not found", truncate(id, 80))
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: find asset: %w", err)
	}
	a, err := readAsset(tenantID, body, updated)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find asset: %w", err)
	}
	return a, nil
}

func readAsset(tenantID, body string, updated int64) (*weft.Asset, error) {
	var a weft.Asset
	if err := jsonv2.Unmarshal([]byte(body), &a, jsonOpts); err != nil {
		return nil, err
	}
	a.TenantID, a.LastUpdateDateTime = tenantID, fromNanos(updated)
	if a.Tags == nil {
		a.Tags = []string{}
	}
	return &a, nil
}

// ListAssets returns a page of a tenant's assets ordered by id. Top 0 means
// weft.DefaultPageSize and a Top above weft.MaxPageSize is cut to it; a
// negative Top or Skip is EINVALID. The page and the count are read from one
// snapshot.
func (s *Store) ListAssets(ctx context.Context, q weft.AssetQuery) (weft.AssetPage, error) {
	if err := s.enter(); err != nil {
		return weft.AssetPage{}, err
	}
	defer s.leave()
	limit, err := pageLimit(q.Top, q.Skip)
	if err != nil {
		return weft.AssetPage{}, err
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return weft.AssetPage{}, fmt.Errorf("sqlite: list assets: %w", err)
	}
	defer tx.Rollback()
	page := weft.AssetPage{Assets: []*weft.Asset{}, Count: -1}
	rows, err := tx.QueryContext(ctx, `SELECT body, updated FROM assets WHERE tenant_id = ?
		ORDER BY asset_id LIMIT ? OFFSET ?`, q.TenantID, limit+1, q.Skip)
	if err != nil {
		return weft.AssetPage{}, fmt.Errorf("sqlite: list assets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if len(page.Assets) == limit {
			page.More = true
			break
		}
		var body string
		var updated int64
		if err := rows.Scan(&body, &updated); err != nil {
			return weft.AssetPage{}, fmt.Errorf("sqlite: list assets: %w", err)
		}
		a, err := readAsset(q.TenantID, body, updated)
		if err != nil {
			return weft.AssetPage{}, fmt.Errorf("sqlite: list assets: %w", err)
		}
		page.Assets = append(page.Assets, a)
	}
	if err := rows.Err(); err != nil {
		return weft.AssetPage{}, fmt.Errorf("sqlite: list assets: %w", err)
	}
	rows.Close()
	if q.Count {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM assets WHERE tenant_id = ?`, q.TenantID).Scan(&page.Count); err != nil {
			return weft.AssetPage{}, fmt.Errorf("sqlite: count assets: %w", err)
		}
	}
	return page, nil
}

// DeleteAsset removes an asset of a tenant, or returns an ENOTFOUND error.
// The identities its names joined stay joined in the Correlator until it is
// rebuilt, which happens before the next batch.
func (s *Store) DeleteAsset(ctx context.Context, tenantID, id string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := s.lockWriter(ctx); err != nil {
		return fmt.Errorf("sqlite: delete asset: %w", err)
	}
	defer s.unlockWriter()
	res, err := s.write.ExecContext(ctx, `DELETE FROM assets WHERE tenant_id = ? AND asset_id = ?`, tenantID, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete asset: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete asset: %w", err)
	} else if n == 0 {
		return weft.Errorf(weft.ENOTFOUND, "asset %q not found", truncate(id, 80))
	}
	if s.corr != nil {
		s.assets.remove(tenantID, id)
		s.corrStale = true
	}
	return nil
}

// loadAssets reads every stored asset into the in-memory index and hands its
// names to the Correlator, when it takes them; rebuild calls it after
// resetting the Correlator and before restoring alerts, so that restored
// alerts meet the assets' names as live ones do.
func (s *Store) loadAssets(ctx context.Context) error {
	aa, _ := s.corr.(AssetAliaser)
	index := assetIndex{}
	rows, err := s.read.QueryContext(ctx, `SELECT tenant_id, asset_id, criticality, identifiers FROM assets
		ORDER BY tenant_id, asset_id`)
	if err != nil {
		return fmt.Errorf("sqlite: load assets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tenant, id, js string
		var crit int
		if err := rows.Scan(&tenant, &id, &crit, &js); err != nil {
			return fmt.Errorf("sqlite: load assets: %w", err)
		}
		var ids []weft.Identifier
		if err := jsonv2.Unmarshal([]byte(js), &ids, jsonOpts); err != nil {
			return fmt.Errorf("sqlite: load assets: asset %q of tenant %q: %w", id, tenant, err)
		}
		index.put(tenant, id, crit, ids)
		if aa != nil {
			aa.AddAsset(tenant, ids)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: load assets: %w", err)
	}
	s.assets = index
	return nil
}

// assetIndex holds the tenants' asset names and criticality in memory, to
// give Describe the criticality of an incident's entities without a query.
// It is guarded by the write lock, like the Correlator.
type assetIndex map[string]*tenantAssets

// tenantAssets is one tenant's share of the index.
type tenantAssets struct {
	assets map[string]indexedAsset      // by asset id
	byName map[weft.Identifier][]string // identifier → the assets that carry it
}

type indexedAsset struct {
	criticality int
	ids         []weft.Identifier
}

func (x assetIndex) put(tenant, id string, criticality int, ids []weft.Identifier) {
	x.remove(tenant, id)
	t := x[tenant]
	if t == nil {
		t = &tenantAssets{assets: map[string]indexedAsset{}, byName: map[weft.Identifier][]string{}}
		x[tenant] = t
	}
	t.assets[id] = indexedAsset{criticality, ids}
	for _, n := range ids {
		t.byName[n] = append(t.byName[n], id)
	}
}

func (x assetIndex) remove(tenant, id string) {
	t := x[tenant]
	if t == nil {
		return
	}
	old, ok := t.assets[id]
	if !ok {
		return
	}
	delete(t.assets, id)
	for _, n := range old.ids {
		ids := slices.DeleteFunc(t.byName[n], func(s string) bool { return s == id })
		if len(ids) == 0 {
			delete(t.byName, n)
		} else {
			t.byName[n] = ids
		}
	}
	if len(t.assets) == 0 {
		delete(x, tenant)
	}
}

// criticality returns the criticality of the entity an evidence record with
// identifiers ids names: the highest of the assets that carry one of its
// strong identifiers, or that carry one of its weak names (a short host name,
// a bare account name) alone among the tenant's assets and contradict none
// of its strong identifiers (ws-01.fabrikam.com is not the asset
// ws-01.contoso.com, though both are "ws-01").
func (t *tenantAssets) criticality(ids []weft.Identifier) int {
	best := 0
	for _, n := range ids {
		owners := t.byName[n]
		if len(owners) == 0 {
			continue
		}
		if !weakName(n.Kind) {
			for _, id := range owners {
				best = max(best, t.assets[id].criticality)
			}
			continue
		}
		if len(owners) == 1 && !contradicts(t.assets[owners[0]].ids, ids) {
			best = max(best, t.assets[owners[0]].criticality)
		}
	}
	return best
}

// criticalityOf returns Describe's Criticality for an incident's alerts:
// for the key of each device, user and mailbox their evidence names (the key
// priority scores by, weft.EntityRef.Key), the criticality of the assets any
// of the evidence's identifiers names.
func (t *tenantAssets) criticalityOf(alerts []*weft.Alert) func(weft.EntityRef) int {
	crit := map[string]int{}
	for _, a := range alerts {
		for i := range a.Evidence {
			ev := &a.Evidence[i]
			switch ev.EntityType {
			case weft.EntityDevice, weft.EntityUser, weft.EntityMailbox:
			default:
				continue
			}
			ids := ev.Identifiers()
			if len(ids) == 0 {
				continue
			}
			key := ids[0].String()
			crit[key] = max(crit[key], t.criticality(ids))
		}
	}
	return func(r weft.EntityRef) int { return crit[r.Key] }
}

// weakName reports whether identifiers of kind k are short names that
// different devices or users share across domains.
func weakName(k weft.IdentifierKind) bool {
	return k == weft.IDDeviceHost || k == weft.IDUserSam
}

// singleValued are the identifier kinds an entity has at most one of.
var singleValued = map[weft.IdentifierKind]bool{
	weft.IDDeviceMde: true, weft.IDDeviceAad: true, weft.IDDeviceFQDN: true,
	weft.IDUserAad: true, weft.IDUserSid: true, weft.IDUserUPN: true,
}

// contradicts reports whether evidence identifiers give a single-valued kind
// another value than the asset's.
func contradicts(asset, evidence []weft.Identifier) bool {
	for _, e := range evidence {
		if !singleValued[e.Kind] {
			continue
		}
		for _, a := range asset {
			if a.Kind == e.Kind && a.Value != e.Value {
				return true
			}
		}
	}
	return false
}

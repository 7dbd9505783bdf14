package sqlite

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/weftxdr/weft"
)

// maxCachedEntities bounds the entity cache; past it the cache starts over.
// An entry costs about 100 bytes, plus 8 per identifier it remembers.
const maxCachedEntities = 1 << 18

// maxCachedIdentifiers bounds the identifiers the cache remembers per
// entity (entityState.written). An entity with more (a mailbox with many
// proxy addresses) writes the others again, as INSERT OR IGNORE, in each
// batch that shows them.
const maxCachedIdentifiers = 32

// entityCache remembers, for the entities this store has written, their id,
// the event-time range the entities table is known to hold for them and the
// identifiers entity_identifiers is known to hold for them, so that a batch
// writes an entity only when it is new or its range grows, an identifier of
// it only when it is new to the cache, and never looks up an id it has
// seen. It holds committed state only: a batch stages its changes
// (entityWriter) and merges them after its commit.
//
// Another process writing the same file cannot make it wrong: entities and
// their identifier rows are never deleted, so an id stays valid and a
// remembered identifier stays written, and ranges only grow and are
// written with min/max, so a range the cache remembers too small only
// costs an unnecessary write. It is guarded by the Store's write lock.
type entityCache struct {
	m map[entityKey]entityState
}

// entityKey identifies an entity: a struct rather than one string, so that
// looking an entity up allocates nothing.
type entityKey struct{ tenant, key string }

// entityState is what the cache knows of one entity. written holds the
// weft.Identifier.Hash of identifiers that entity_identifiers holds for it
// (at most maxCachedIdentifiers); the hashes are of this process, and two
// identifiers of one entity whose 64-bit hashes collide would lose the
// second one's row (a chance of about 2⁻⁶⁴ per pair).
type entityState struct {
	id, first, last int64
	written         []uint64
}

// entityWriter tracks the entities of one batch.
type entityWriter struct {
	cache  *entityCache
	staged map[entityKey]*stagedEntity
	order  []*stagedEntity // in order of first sighting, for a deterministic flush
	// idents are the entity_identifiers rows the batch has yet to write
	// (see identifiers), written by flush in key order.
	idents []identifierRow
}

// identifierRow is one row of entity_identifiers.
type identifierRow struct {
	tenant, identifier string
	entity             int64
}

// stagedEntity is an entity seen in the batch: the range its sightings cover
// merged with what the table holds (first, last, with the name of the latest
// sighting), and what the table holds now (dbFirst, dbLast).
type stagedEntity struct {
	cacheKey        entityKey
	id              int64
	name            string
	first, last     int64
	dbFirst, dbLast int64
	// written is the cache's entityState.written; added the hashes of the
	// identifiers this batch writes, merged into the cache on commit.
	written, added []uint64
}

func (w *entityWriter) init(c *entityCache) {
	if c.m == nil {
		c.m = make(map[entityKey]entityState)
	}
	w.cache = c
	w.staged = make(map[entityKey]*stagedEntity)
}

// sighting records that an alert whose activity spans [first, last] refers to
// entity ref, and returns the entity's id. A new entity is written at once
// (its id is needed for alert_entities); a known one only by flush, once per
// batch, if its range grew.
func (w *entityWriter) sighting(st *writeStmts, tenant string, ref weft.EntityRef, first, last int64) (int64, error) {
	k := entityKey{tenant, ref.Key}
	if e := w.staged[k]; e != nil {
		e.extend(ref.Name, first, last)
		return e.id, nil
	}
	e := &stagedEntity{cacheKey: k}
	if c, ok := w.cache.m[k]; ok {
		e.id, e.first, e.last, e.dbFirst, e.dbLast, e.written = c.id, c.first, c.last, c.first, c.last, c.written
		e.extend(ref.Name, first, last)
	} else {
		err := st.upsertEntity.QueryRowContext(bg, tenant, ref.Key, string(ref.Type), ref.Name, first, last).
			Scan(&e.id, &e.dbFirst, &e.dbLast)
		if err != nil {
			return 0, fmt.Errorf("upsert entity: %w", err)
		}
		e.first, e.last = e.dbFirst, e.dbLast
	}
	w.staged[k] = e
	w.order = append(w.order, e)
	return e.id, nil
}

// identifiers records that an evidence record keyed by key, whose entity
// the batch has seen (sighting), carried the identifiers ids besides its key
// (Evidence.Identifiers()[1:], with their hashes hs), and stages a row of
// entity_identifiers for each that the cache and the batch do not know yet
// for the entity. Known identifiers cost a scan of a few hashes and write
// nothing.
func (w *entityWriter) identifiers(tenant, key string, ids []weft.Identifier, hs []uint64) {
	e := w.staged[entityKey{tenant, key}]
	if e == nil {
		return // cannot happen: insertEntities sights every key first
	}
	for i, x := range ids {
		h := hs[i]
		if slices.Contains(e.written, h) || slices.Contains(e.added, h) {
			continue
		}
		e.added = append(e.added, h)
		w.idents = append(w.idents, identifierRow{tenant: tenant, identifier: x.String(), entity: e.id})
	}
}

func (e *stagedEntity) extend(name string, first, last int64) {
	e.first = min(e.first, first)
	if last > e.last {
		e.last, e.name = last, name
	}
}

// find returns the id of a tenant's entity, and false if there is none.
func (w *entityWriter) find(st *writeStmts, tenant, key string) (int64, bool, error) {
	k := entityKey{tenant, key}
	if e := w.staged[k]; e != nil {
		return e.id, true, nil
	}
	if c, ok := w.cache.m[k]; ok {
		return c.id, true, nil
	}
	var id int64
	err := st.findEntity.QueryRowContext(bg, tenant, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, fmt.Errorf("find entity: %w", err)
	}
	return id, true, nil
}

// flush writes the grown ranges of the batch's entities, and their new
// identifier rows in key order (consecutive rows then mostly go to the same
// b-tree page), a chunk of rows per statement.
func (w *entityWriter) flush(st *writeStmts) error {
	if len(w.idents) > 0 {
		slices.SortFunc(w.idents, func(x, y identifierRow) int {
			return cmp.Or(strings.Compare(x.tenant, y.tenant), strings.Compare(x.identifier, y.identifier), cmp.Compare(x.entity, y.entity))
		})
		b := newInsertBuffer("entity_identifiers", st.insertEntityIdentifier, st.insertEntityIdentifiers,
			entityIdentifierParams, chunkEntityIdentifiers)
		for _, r := range w.idents {
			if err := b.add(r.tenant, r.identifier, r.entity); err != nil {
				return err
			}
		}
		if err := b.flush(); err != nil {
			return err
		}
		w.idents = w.idents[:0]
	}
	for _, e := range w.order {
		if e.first >= e.dbFirst && e.last <= e.dbLast {
			continue
		}
		if _, err := st.extendEntity.ExecContext(bg, e.first, e.last, e.name, e.id, e.cacheKey.tenant); err != nil {
			return fmt.Errorf("update entity: %w", err)
		}
		e.dbFirst, e.dbLast = e.first, e.last
	}
	return nil
}

// commit merges the batch's entities into the cache, after the batch has
// committed.
func (w *entityWriter) commit() {
	if len(w.cache.m)+len(w.order) > maxCachedEntities {
		clear(w.cache.m)
	}
	for _, e := range w.order {
		written := e.written
		if n := min(len(e.added), maxCachedIdentifiers-len(written)); n > 0 {
			// A new slice: the old one may be shared with the entry of
			// an earlier state.
			written = append(slices.Clip(written), e.added[:n]...)
		}
		w.cache.m[e.cacheKey] = entityState{id: e.id, first: e.dbFirst, last: e.dbLast, written: written}
	}
}

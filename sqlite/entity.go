package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/weftxdr/weft"
)

// maxCachedEntities bounds the entity cache; past it the cache starts over.
// An entry costs about 100 bytes.
const maxCachedEntities = 1 << 18

// entityCache remembers, for the entities this store has written, their id
// and the event-time range the entities table is known to hold for them, so
// that a batch writes an entity only when it is new or its range grows, and
// never looks up an id it has seen. It holds committed state only: a batch
// stages its changes (entityWriter) and merges them after its commit.
//
// Another process writing the same file cannot make it wrong: entities are
// never deleted, so an id stays valid, and ranges only grow and are written
// with min/max, so a range the cache remembers too small only costs an
// unnecessary write. It is guarded by the Store's write lock.
type entityCache struct {
	m map[entityKey]entityState
}

// entityKey identifies an entity: a struct rather than one string, so that
// looking an entity up allocates nothing.
type entityKey struct{ tenant, key string }

type entityState struct{ id, first, last int64 }

// entityWriter tracks the entities of one batch.
type entityWriter struct {
	cache  *entityCache
	staged map[entityKey]*stagedEntity
	order  []*stagedEntity // in order of first sighting, for a deterministic flush
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
		e.id, e.first, e.last, e.dbFirst, e.dbLast = c.id, c.first, c.last, c.first, c.last
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

// flush writes the grown ranges of the batch's entities.
func (w *entityWriter) flush(st *writeStmts) error {
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
		w.cache.m[e.cacheKey] = entityState{id: e.id, first: e.dbFirst, last: e.dbLast}
	}
}

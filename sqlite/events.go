package sqlite

import (
	"context"
	"fmt"
	"sync"

	"github.com/weftxdr/weft"
)

// The event log (weft.EventStore) is the activities table read in id order.
//
// Why the ids increase in commit order: activities.id is an INTEGER PRIMARY
// KEY, the table's rowid, without AUTOINCREMENT, so SQLite gives a new row
// the largest rowid in the table plus one. Rows are never deleted (trigger
// activities_no_delete), so no id is ever given out again after a commit.
// Every write transaction begins IMMEDIATE, taking the database's one write
// lock at BEGIN — the Store's single writer connection, and any other
// process sharing the file, queue for it — so transactions that add
// activities run one after the other, and each one's ids are greater than
// every id committed before it. A reader's snapshot (WAL) holds every commit
// up to some point and none after, so once a read has seen id N, every id a
// later commit adds is greater than N: reading "id > N" again yields exactly
// what was committed since. (A transaction that rolls back gives its ids to
// the next one, but nobody saw them. The only exception, ids past the
// largest int64, is 9.2e18 activities away.)

var _ weft.EventStore = (*Store)(nil)

// Events implements weft.EventStore. The query walks the table by rowid
// from after, skipping other tenants' rows, rather than the
// (tenant_id, incident_id) index, which would read and sort every entry of
// the tenant: a live reader asks for the last few rows of the table.
func (s *Store) Events(ctx context.Context, tenantID string, after int64, limit int) ([]weft.Event, error) {
	if after < 0 {
		return nil, weft.Errorf(weft.EINVALID, "after: event ids are not negative, got %d", after)
	}
	if limit <= 0 {
		limit = weft.DefaultEventBatch
	}
	limit = min(limit, weft.MaxEventBatch)
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	// The unary + keeps the planner off the tenant index (see above).
	rows, err := s.read.QueryContext(ctx, `SELECT id, incident_id, time, actor, type, message, coalesce(alert_id, '')
		FROM activities WHERE id > ? AND +tenant_id = ? ORDER BY id LIMIT ?`, after, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read events: %w", err)
	}
	defer rows.Close()
	var evs []weft.Event
	for rows.Next() {
		a := weft.Activity{TenantID: tenantID}
		var t int64
		if err := rows.Scan(&a.ID, &a.IncidentID, &t, &a.Actor, &a.Type, &a.Message, &a.AlertID); err != nil {
			return nil, fmt.Errorf("sqlite: read events: %w", err)
		}
		a.Time = fromNanos(t)
		evs = append(evs, weft.EventOf(&a))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read events: %w", err)
	}
	return evs, nil
}

// LastEventID implements weft.EventStore. It is the largest id in the
// table, whichever tenant's, which SQLite finds at the end of the rowid
// b-tree without a scan; the tenant's own last id would take a scan of its
// entries, and serves no better as a starting point.
func (s *Store) LastEventID(ctx context.Context, tenantID string) (int64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	var id int64
	if err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM activities`).Scan(&id); err != nil {
		return 0, fmt.Errorf("sqlite: read last event id: %w", err)
	}
	return id, nil
}

// EventsChanged implements weft.EventStore. Every commit of the write path
// that may add activities (StoreAlerts, the manage operations) tells the
// checkpointer (committed), which closes the channel; Close closes it too.
// Commits by another process sharing the file are not seen here.
func (s *Store) EventsChanged() <-chan struct{} { return s.ckpt.commits.wait() }

// commitSignal broadcasts commits to any number of waiters: wait returns a
// channel that notify closes; the next wait gets a new one. It costs a
// commit nothing but a lock when nobody waits. The zero value is ready to
// use; it is safe for concurrent use.
type commitSignal struct {
	mu     sync.Mutex
	ch     chan struct{} // closed by the next notify; nil while nobody waits
	closed bool
}

// closedChan is returned to waiters of a closed commitSignal.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *commitSignal) wait() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return closedChan
	}
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// notify wakes the current waiters.
func (c *commitSignal) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// close wakes the current waiters, and every later wait returns at once.
func (c *commitSignal) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

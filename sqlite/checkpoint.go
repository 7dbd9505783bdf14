package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
)

// A checkpoint copies the pages that commits appended to the write-ahead log
// back into the database file, so that the log can start over. By default
// SQLite runs one inside the commit that takes the log past 1,000 pages, on
// the writer's time: with batches of a thousand alerts that is nearly every
// commit, and it costs about as much as writing the log. The store instead
// runs checkpoints on a connection of their own, on another goroutine, after
// every commit, so that the copying runs on another core while the writer
// writes the next batch.
//
// The log can only start over (rewind) when a write transaction begins while
// the log is fully copied, and a writer with batches queued begins its next
// transaction right after a commit, before the background checkpoint of that
// commit is done. So the log grows while the background copies it, until the
// writer's own automatic checkpoint, with a threshold of walLimitBytes rather
// than 4 MB, runs inside a commit: by then the background has copied all but
// the last batch, so it is cheap, and the next transaction rewinds the log.
// journal_size_limit cuts the log file back to walLimitBytes when it rewinds.
// The log therefore stays under walLimitBytes plus one batch, and the writer
// pays for about one batch's copying per walLimitBytes of log.
//
// The background checkpoints are PASSIVE: they never block readers or the
// writer. If they fall behind (a slow disk, readers holding old snapshots),
// the writer's automatic checkpoint does the copying, as SQLite would by
// default.
const walLimitBytes = 64 << 20

// checkpointer runs background checkpoints.
type checkpointer struct {
	db   *sql.DB       // one connection of its own
	kick chan struct{} // a commit happened; capacity 1, so kicks coalesce
	wg   sync.WaitGroup
	// commits wakes the readers of the event log (events.go) at every
	// commit, which is why it lives here, and ends their waits at close.
	commits commitSignal
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1)}
	c.wg.Go(c.run)
	return c
}

func (c *checkpointer) run() {
	for range c.kick {
		var busy, logPages, copied int64
		err := c.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &copied)
		if err != nil {
			// Not fatal: the next commit tries again, and the writer's
			// automatic checkpoint bounds the log meanwhile.
			slog.Warn("sqlite: background checkpoint failed", "err", err)
		}
	}
}

// committed tells the checkpointer that a commit appended to the log.
func (c *checkpointer) committed() {
	c.commits.notify()
	select {
	case c.kick <- struct{}{}:
	default: // a checkpoint is already due; it will include this commit
	}
}

// close stops the checkpointer and closes its connection. The final
// checkpoint is SQLite's own, when the store's last connection closes.
func (c *checkpointer) close() error {
	c.commits.close()
	close(c.kick)
	c.wg.Wait()
	return c.db.Close()
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/weftxdr/weft"
)

// backfillChunk is how many alerts one transaction of the identifier
// backfill reads: small enough that a crash loses little work and that
// another process waiting for the writer lock waits little, large enough
// that the per-transaction cost (a commit, a checkpoint) is small next to
// decoding the alerts' evidence.
const backfillChunk = 2000

// backfillEntityIdentifiers fills entity_identifiers (migration 0010) from
// the alerts stored before it, when that migration left the pending row of
// entity_identifiers_backfill: their evidence is in packed blobs that SQL
// cannot read. It reads the alerts of seq done_seq+1 to last_seq in seq
// order, backfillChunk at a time, and writes for each evidence record the
// identifiers it carried besides its key under the entity row of its key,
// as the write path does (entityWriter.identifiers); each chunk is one
// write transaction that also advances done_seq, and the last one deletes
// the pending row. A backfill that a crash or a cancelled ctx interrupts
// therefore resumes at the next Open where it stopped; the rows are
// written with INSERT OR IGNORE, so a chunk done twice (by two processes
// opening the file at once) does no harm. Alerts stored after the
// migration (seq > last_seq) were indexed by the write path.
//
// It logs its progress with slog ("writes" counts the rows offered to
// INSERT OR IGNORE: an identifier of an entity seen in several chunks
// counts once per chunk), and returns wrapped driver errors and the errors
// of evidence that does not decode. On this 2-core machine it takes about
// 60 µs per alert (storetest alerts), a minute per million alerts.
func (s *Store) backfillEntityIdentifiers(ctx context.Context) error {
	start := time.Now()
	var alerts, writes int64
	for chunk := 0; ; chunk++ {
		p, err := s.backfillOnce(ctx)
		if err != nil {
			return fmt.Errorf("sqlite: index entity identifiers: %w", err)
		}
		if !p.found {
			return nil // none pending (or another process finished it)
		}
		if chunk == 0 {
			msg := "sqlite: indexing the entity identifiers of the alerts stored before schema version 10"
			if p.from > 0 {
				msg = "sqlite: resuming the indexing of the entity identifiers of the alerts stored before schema version 10"
			}
			s.logger.Info(msg, "from_seq", p.from, "to_seq", p.last)
		}
		alerts, writes = alerts+p.alerts, writes+p.writes
		if !p.pending {
			s.logger.Info("sqlite: entity identifiers indexed", "alerts", alerts, "writes", writes,
				"elapsed", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if chunk%25 == 24 {
			s.logger.Info("sqlite: indexing entity identifiers", "done_seq", p.done, "to_seq", p.last,
				"alerts", alerts, "writes", writes)
		}
	}
}

// backfillProgress is what one backfill transaction did: whether it found
// a pending backfill, the alerts it read and the rows it offered, the seq
// range it covered (from, done] of the whole (…, last], and whether alerts
// remain.
type backfillProgress struct {
	found            bool
	alerts, writes   int64
	from, done, last int64
	pending          bool
}

// backfillOnce runs one chunk of backfillEntityIdentifiers in a write
// transaction.
func (s *Store) backfillOnce(ctx context.Context) (backfillProgress, error) {
	var p backfillProgress
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return p, err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT done_seq, last_seq FROM entity_identifiers_backfill WHERE id = 1`).Scan(&p.from, &p.last)
	if errNotFound(err) {
		return p, nil
	} else if err != nil {
		return p, err
	}
	p.found, p.done = true, p.from
	rs, err := tx.QueryContext(ctx, `SELECT seq, tenant_id, blob_format, evidence FROM alerts
		WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, p.from, p.last, backfillChunk)
	if err != nil {
		return p, err
	}
	var pending []identifierRow
	keys := map[entityKey][]weft.Identifier{}
	for rs.Next() {
		var seq, format int64
		var tenant string
		var js []byte
		if err := rs.Scan(&seq, &tenant, &format, &js); err != nil {
			rs.Close()
			return p, err
		}
		p.alerts++
		p.done = seq
		if js, err = unpackBlob(format, js); err != nil {
			rs.Close()
			return p, fmt.Errorf("alert seq %d: evidence: %w", seq, err)
		}
		var evs []weft.Evidence
		if err := unmarshalNonEmpty(js, &evs); err != nil {
			rs.Close()
			return p, fmt.Errorf("alert seq %d: evidence: %w", seq, err)
		}
		for i := range evs {
			xs := evs[i].Identifiers()
			if len(xs) < 2 {
				continue
			}
			k := entityKey{tenant, xs[0].String()}
			for _, x := range xs[1:] {
				if !slices.Contains(keys[k], x) {
					keys[k] = append(keys[k], x)
				}
			}
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return p, err
	}
	find, err := tx.PrepareContext(ctx, `SELECT id FROM entities WHERE tenant_id = ? AND entity_key = ?`)
	if err != nil {
		return p, err
	}
	defer find.Close()
	for k, xs := range keys {
		var id int64
		err := find.QueryRowContext(ctx, k.tenant, k.key).Scan(&id)
		if errNotFound(err) {
			continue // cannot happen: the alert's entity rows were written with it
		} else if err != nil {
			return p, err
		}
		for _, x := range xs {
			pending = append(pending, identifierRow{tenant: k.tenant, identifier: x.String(), entity: id})
		}
	}
	// The write path's order and statement (entityWriter.flush).
	w := entityWriter{idents: pending}
	if err := w.flush(s.bindTx(ctx, tx)); err != nil {
		return p, err
	}
	p.writes = int64(len(pending))
	p.pending = p.alerts == backfillChunk && p.done < p.last
	if p.pending {
		_, err = tx.ExecContext(ctx, `UPDATE entity_identifiers_backfill SET done_seq = ? WHERE id = 1`, p.done)
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM entity_identifiers_backfill WHERE id = 1`)
	}
	if err != nil {
		return p, err
	}
	if err := tx.Commit(); err != nil {
		return p, err
	}
	s.ckpt.committed()
	return p, nil
}

// bindTx returns the two statements of entityWriter.flush's identifier
// rows bound to tx (the others stay unbound: flush writes no range for an
// entityWriter with no staged entity).
func (s *Store) bindTx(ctx context.Context, tx *sql.Tx) *writeStmts {
	return &writeStmts{
		insertEntityIdentifier:  tx.StmtContext(ctx, s.stmts.insertEntityIdentifier),
		insertEntityIdentifiers: tx.StmtContext(ctx, s.stmts.insertEntityIdentifiers),
	}
}

package sqlite

import (
	"database/sql"
	"fmt"
)

// insertBuffer collects the rows of one insert and writes them a chunk of
// rows per statement. Per statement, database/sql and the driver cost a few
// µs (locking, binding, stepping, resetting), as much as SQLite's own work
// for a small row; with a chunk of rows per statement it is paid once per
// chunk. A full chunk is written as soon as it is complete, so that writing
// keeps overlapping the encoding of later alerts; the rest by flush, which
// the writer calls before the transaction commits and before anything reads
// the tables the rows go to.
type insertBuffer struct {
	name      string    // the table, for errors
	one, many *sql.Stmt // a single row; chunk rows
	cols      int       // parameters per row
	chunk     int       // rows of many
	args      []any     // the pending rows' parameters, row after row
}

func newInsertBuffer(name string, one, many *sql.Stmt, cols, chunk int) insertBuffer {
	return insertBuffer{name: name, one: one, many: many, cols: cols, chunk: chunk}
}

// add appends a row of b.cols parameters, and writes the pending rows when
// they make a chunk.
func (b *insertBuffer) add(row ...any) error {
	if len(row) != b.cols {
		panic(fmt.Sprintf("sqlite: insert into %s: got %d values, want %d", b.name, len(row), b.cols))
	}
	b.args = append(b.args, row...)
	if len(b.args) < b.chunk*b.cols {
		return nil
	}
	return b.flush()
}

// flush writes the pending rows, in the order they were added.
func (b *insertBuffer) flush() error {
	args := b.args
	for len(args) > 0 {
		st, n := b.many, b.chunk*b.cols
		if len(args) < n {
			st, n = b.one, b.cols
		}
		if _, err := st.ExecContext(bg, args[:n]...); err != nil {
			return fmt.Errorf("insert into %s: %w", b.name, err)
		}
		args = args[n:]
	}
	clear(b.args) // let the values go
	b.args = b.args[:0]
	return nil
}

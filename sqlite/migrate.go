package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/weftxdr/weft"
)

// Migrations are the files migration/NNNN_name.sql, embedded in the binary and
// applied in order of their number, each in its own transaction together with
// its row in schema_migrations. They are forward-only: a released migration is
// never edited, a change is a new file. Numbers start at 1 and have no gaps.
//
//go:embed migration/*.sql
var migrationFiles embed.FS

// migration is one schema step.
type migration struct {
	version int
	name    string // file name, for messages
	sql     string
}

// migrations are the embedded migrations, loaded once.
var migrations = mustLoadMigrations(migrationFiles, "migration")

// SchemaVersion returns the schema version this binary migrates databases
// to: the number of its last migration.
func SchemaVersion() int { return len(migrations) }

func mustLoadMigrations(fsys fs.FS, dir string) []migration {
	ms, err := loadMigrations(fsys, dir)
	if err != nil {
		panic(err) // a build defect, caught by every test of this package
	}
	return ms
}

// loadMigrations reads the migrations in dir and checks that they are
// numbered 1, 2, 3… without gaps or duplicates.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrations: %w", err)
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlite: migration %s: name must be NNNN_name.sql", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("sqlite: migration %s: %w", base, err)
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlite: migration %s: expected number %d (numbers start at 1, without gaps or repeats)", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate brings the database up to the last of ms. Each migration runs in a
// write transaction (BEGIN IMMEDIATE on the writer) that first re-reads the
// schema version, so two processes opening a new file at once apply each
// migration once.
//
// A database whose version is higher than the last of ms was written by a
// newer weft: migrate refuses it with an EUNSUPPORTED error naming both
// versions rather than risk misreading it.
func migrate(ctx context.Context, db *sql.DB, ms []migration, now func() time.Time) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	latest := len(ms)
	for {
		done, err := migrateOne(ctx, db, ms, latest, now)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next migration, or reports that there is none.
func migrateOne(ctx context.Context, db *sql.DB, ms []migration, latest int, now func() time.Time) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	current, err := schemaVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	if current > latest {
		return false, weft.Errorf(weft.EUNSUPPORTED,
			"the database has schema version %d, newer than version %d that this weft (%s) knows; upgrade weft, or restore a backup taken before the upgrade",
			current, latest, weft.Version)
	}
	if current == latest {
		return true, nil
	}
	m := ms[current] // version current+1
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.version, now().UnixNano()); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: migration %s: commit: %w", m.name, err)
	}
	return false, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion returns the highest applied migration, 0 for a new database.
func schemaVersion(ctx context.Context, q queryer) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	return v, nil
}

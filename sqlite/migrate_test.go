package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// schemaRows reads schema_migrations directly from the file.
func schemaRows(t *testing.T, path string) map[int]int64 {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]int64{}
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		got[v] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMigrate(t *testing.T) {
	t.Run("FreshDatabaseGetsAll", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "weft.db")
		at := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
		s := mustOpen(t, path, sqlite.Options{Now: func() time.Time { return at }})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got := schemaRows(t, path)
		if len(got) != sqlite.SchemaVersion() {
			t.Fatalf("got versions %v, want 1..%d", got, sqlite.SchemaVersion())
		}
		for v := 1; v <= sqlite.SchemaVersion(); v++ {
			if got[v] != at.UnixNano() {
				t.Errorf("version %d: got applied_at %d, want %d", v, got[v], at.UnixNano())
			}
		}
	})

	t.Run("ReopenIsNoOp", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "weft.db")
		s := mustOpen(t, path, sqlite.Options{})
		s.Close()
		before := schemaRows(t, path)
		later := func() time.Time { return time.Now().Add(time.Hour) }
		s = mustOpen(t, path, sqlite.Options{Now: later})
		s.Close()
		after := schemaRows(t, path)
		if len(after) != len(before) {
			t.Fatalf("got %v after reopening, want %v", after, before)
		}
		for v, at := range before {
			if after[v] != at {
				t.Fatalf("version %d: applied again (%d, was %d)", v, after[v], at)
			}
		}
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "weft.db")
		s := mustOpen(t, path, sqlite.Options{})
		s.Close()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		newer := sqlite.SchemaVersion() + 7
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, newer); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s2, err := sqlite.Open(path, sqlite.Options{})
		if err == nil {
			s2.Close()
			t.Fatal("opened a database with a newer schema")
		}
		msg := weft.ErrorMessage(err)
		if weft.ErrorCode(err) != weft.EUNSUPPORTED ||
			!strings.Contains(msg, "version "+strconv.Itoa(newer)) || !strings.Contains(msg, "version "+strconv.Itoa(sqlite.SchemaVersion())) {
			t.Fatalf("got %v, want EUNSUPPORTED naming versions %d and %d", err, newer, sqlite.SchemaVersion())
		}
	})
}

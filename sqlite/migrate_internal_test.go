package sqlite

import (
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("CREATE TABLE t (x);")}
	t.Run("OK", func(t *testing.T) {
		ms, err := loadMigrations(fstest.MapFS{"m/0002_b.sql": file, "m/0001_a.sql": file, "m/README": file}, "m")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[0].version != 1 || ms[1].name != "0002_b.sql" {
			t.Fatalf("got %+v, want 0001_a.sql, 0002_b.sql", ms)
		}
	})
	for name, fsys := range map[string]fstest.MapFS{
		"ErrGap":       {"m/0001_a.sql": file, "m/0003_c.sql": file},
		"ErrRepeat":    {"m/0001_a.sql": file, "m/001_b.sql": file},
		"ErrNoNumber":  {"m/init.sql": file},
		"ErrZero":      {"m/0000_zero.sql": file},
		"ErrNotFirst":  {"m/0002_b.sql": file},
		"ErrBadNumber": {"m/00x1_a.sql": file},
	} {
		t.Run(name, func(t *testing.T) {
			if ms, err := loadMigrations(fsys, "m"); err == nil {
				t.Fatalf("got %+v, want an error", ms)
			}
		})
	}
	t.Run("EmbeddedOK", func(t *testing.T) {
		if _, err := loadMigrations(migrationFiles, "migration"); err != nil {
			t.Fatal(err)
		}
	})
}

package sqlite

import (
	"path/filepath"
	"testing"
)

// TestPragmas checks that the settings the store relies on are in force: the
// driver applies DSN parameters in an order of its own, which is easy to get
// wrong.
func TestPragmas(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		sync int // PRAGMA synchronous: 1 normal, 2 full
		page int
	}{
		{"Default", Options{}, 2, 4096},
		{"NormalBigPages", Options{Synchronous: "NORMAL", PageSize: 16384}, 1, 16384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(filepath.Join(t.TempDir(), "weft.db"), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, p := range []struct {
				pragma string
				want   any
			}{
				{"journal_mode", "wal"},
				{"synchronous", int64(tc.sync)},
				{"foreign_keys", int64(1)},
				{"page_size", int64(tc.page)},
				{"wal_autocheckpoint", int64(walLimitBytes / tc.page)},
				{"journal_size_limit", int64(walLimitBytes)},
			} {
				var got any
				if err := s.write.QueryRow("PRAGMA " + p.pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != p.want {
					t.Errorf("writer: PRAGMA %s: got %v, want %v", p.pragma, got, p.want)
				}
			}
			var queryOnly int64
			if err := s.read.QueryRow("PRAGMA query_only").Scan(&queryOnly); err != nil || queryOnly != 1 {
				t.Errorf("readers: PRAGMA query_only: got %d, %v; want 1", queryOnly, err)
			}
		})
	}
}

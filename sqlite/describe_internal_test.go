package sqlite

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

// TestDetectorCountsBackfill checks that migration 0005 counts the alerts
// stored before it with the detector keys the write path uses: the counts
// the store kept and the counts the migration's SQL derives from the same
// alerts are the same.
func TestDetectorCountsBackfill(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s, err := Open(filepath.Join(t.TempDir(), "weft.db"), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var alerts []*weft.Alert
	for i := range 40 {
		a := &weft.Alert{Source: []string{"MicrosoftDefenderForEndpoint", "suricata"}[i%2], ProviderAlertID: fmt.Sprint(i),
			Title: fmt.Sprintf("Title %d", i%5), DetectorID: []string{"", "Det-A", "det-b"}[i%3], TenantID: []string{"default", "other"}[i%4/3]}
		if _, err := a.Normalize(now); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	if _, err := s.StoreAlerts(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	read := func() map[string]int64 {
		rows, err := s.read.QueryContext(ctx, `SELECT tenant_id, detector, day, alerts FROM detector_counts`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]int64{}
		for rows.Next() {
			var tenant, detector string
			var day, n int64
			if err := rows.Scan(&tenant, &detector, &day, &n); err != nil {
				t.Fatal(err)
			}
			got[fmt.Sprintf("%s|%s|%d", tenant, detector, day)] = n
		}
		return got
	}
	kept := read()
	if len(kept) < 10 {
		t.Fatalf("got %d count rows, want one per tenant, detector and total", len(kept))
	}
	var backfill string
	for _, m := range migrations {
		if m.version == 5 {
			_, backfill, _ = strings.Cut(m.sql, "-- The counts of the alerts stored before this migration")
			_, backfill, _ = strings.Cut(backfill, "names.)\n")
		}
	}
	if backfill == "" {
		t.Fatal("migration 0005 has no backfill")
	}
	if _, err := s.write.ExecContext(ctx, `DELETE FROM detector_counts`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, backfill); err != nil {
		t.Fatal(err)
	}
	if got := read(); !maps.Equal(got, kept) {
		t.Errorf("backfill gave\n%v\nthe write path\n%v", got, kept)
	}
}

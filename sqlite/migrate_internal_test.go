package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/storetest"
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

// TestMigratePackedBlobs checks that alerts written by the first schema, with
// their evidence, additional data and raw original stored plain, read back
// the same after migration 2, and that updating them stores them packed.
func TestMigratePackedBlobs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	now := func() time.Time { return storetest.Base }
	alerts := []*weft.Alert{storetest.NewRichAlert(), storetest.NewAlert(1), storetest.NewAlert(2)}
	for _, a := range alerts {
		a.Identify() // as alerts are read back
	}

	// A database at schema version 1 holding the alerts as version 1 wrote
	// them.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, db, migrations[:1], now); err != nil {
		t.Fatal(err)
	}
	v1Columns := strings.Replace(alertColumns, "blob_format, ", "", 1)
	enc := encoderPool.Get().(*encoder)
	defer encoderPool.Put(enc)
	for i, a := range alerts {
		var e encodedAlert
		if err := enc.encodeContent(i, a, &e); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO tenants (tenant_id, display_name, created) VALUES (?, ?, 0)
			ON CONFLICT DO NOTHING`, a.TenantID, a.TenantID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(insertIncidentSQL, i+1, a.TenantID, a.Title, e.severity, 0, 0,
			nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime), jsonText(e.categories),
			jsonText(e.serviceSources), jsonText(e.detectionSources), jsonText(e.impacted)); err != nil {
			t.Fatal(err)
		}
		// The values of version 1: e.cols without blob_format, with the
		// large values plain.
		cols := append(slices.Clone(e.cols[:alertColumnCount-4]),
			nullBytes(a.AdditionalData), jsonText(e.evidence), nullBytes(a.Raw))
		args := append([]any{i + 1, a.TenantID, a.ID, e.idHash, a.Source, a.ProviderAlertID, i + 1, nanos(a.CreatedDateTime)}, cols...)
		if _, err := db.Exec(`INSERT INTO alerts (seq, tenant_id, id, id_hash, source, provider_alert_id, incident_id, created, `+
			v1Columns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?`+repeatParams(len(cols))+`)`, args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(path, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(t *testing.T, want *weft.Alert, incident int64) {
		t.Helper()
		got, err := s.FindAlert(ctx, want.TenantID, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		want = ptrTo(*want)
		want.IncidentID = incident
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("alert %s:\n got %+v\nwant %+v", want.ID, got, want)
		}
		if !bytes.Equal(got.Raw, want.Raw) {
			t.Fatalf("alert %s: got raw %q, want %q", want.ID, got.Raw, want.Raw)
		}
	}
	t.Run("ReadOld", func(t *testing.T) {
		for i, a := range alerts {
			check(t, a, int64(i+1))
		}
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, 2, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(inc.Alerts) != 1 || !reflect.DeepEqual(inc.Alerts[0].Evidence, alerts[1].Evidence) {
			t.Fatalf("incident 2: got alerts %+v, want alert %s with its evidence", inc.Alerts, alerts[1].ID)
		}
		p, err := s.ListAlerts(ctx, weft.AlertQuery{TenantID: weft.DefaultTenantID})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Alerts) != len(alerts) {
			t.Fatalf("got %d alerts, want %d", len(p.Alerts), len(alerts))
		}
	})
	t.Run("UpdateOld", func(t *testing.T) {
		// An update reads the old row's evidence (for its alert_entities
		// and its incident) and writes the new version packed.
		a := ptrTo(*alerts[1])
		later := a.LastUpdateDateTime.Add(time.Hour)
		if v := a.ProviderLastUpdateDateTime; v != nil {
			later = v.Add(time.Hour)
		}
		a.ProviderLastUpdateDateTime = &later
		a.Evidence = a.Evidence[:2]
		a.Raw = append(slices.Clone(a.Raw), ' ')
		res, err := s.StoreAlerts(ctx, []*weft.Alert{a})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Outcome != weft.OutcomeUpdated {
			t.Fatalf("got %+v, want updated", res[0])
		}
		check(t, a, 2)
		var format int64
		if err := s.read.QueryRow(`SELECT blob_format FROM alerts WHERE seq = 2`).Scan(&format); err != nil || format != blobFormatPacked {
			t.Fatalf("got blob_format %d (%v), want %d", format, err, blobFormatPacked)
		}
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, 2, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := a.Entities(); !reflect.DeepEqual(inc.ImpactedEntities, want) {
			t.Fatalf("incident 2: got entities %v, want %v", inc.ImpactedEntities, want)
		}
	})
}

func ptrTo[T any](v T) *T { return &v }

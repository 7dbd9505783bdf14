package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// TestUpdateRemovesLegacyRegistryRows: alerts stored before registry
// identities were scoped to their device have entity rows under the path
// alone; when such an alert is updated, those rows go like the others.
func TestUpdateRemovesLegacyRegistryRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path, sqlite.Options{Synchronous: "normal"})
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	alert := func(title string, updated time.Time) *weft.Alert {
		a := &weft.Alert{TenantID: weft.DefaultTenantID, Source: "test", ProviderAlertID: "reg-1", Title: title,
			Severity: weft.SeverityHigh, FirstActivityDateTime: at, LastActivityDateTime: at, LastUpdateDateTime: updated,
			Evidence: []weft.Evidence{{EntityType: weft.EntityRegistryValue, RegistryHive: "HKEY_CURRENT_USER",
				RegistryKey: `Software\Microsoft\Windows\CurrentVersion\Run`, RegistryValueName: "Updater", MdeDeviceID: "abc123"}}}
		if _, err := a.Normalize(at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return a
	}
	mustStoreAlerts(t, s, alert("first", at))
	// Make the stored row look as the previous identity rule wrote it.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	legacy := `registryValue:hkey_current_user\software\microsoft\windows\currentversion\run|updater`
	if _, err := db.Exec(`UPDATE entities SET entity_key = ? WHERE entity_type = 'registryValue'`, legacy); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, path, sqlite.Options{Synchronous: "normal"})
	res := mustStoreAlerts(t, s, alert("second", at.Add(time.Minute)))
	if res[0].Outcome != weft.OutcomeUpdated {
		t.Fatalf("got %s, want updated", res[0].Outcome)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM alert_entities ae JOIN entities e ON e.id = ae.entity_id
		WHERE e.entity_key = ?`, legacy).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the updated alert is still listed under the legacy registry entity (%d rows)", n)
	}
}

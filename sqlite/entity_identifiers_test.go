package sqlite_test

import (
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// identifierRows returns the rows of entity_identifiers with their
// entities' keys, sorted.
func identifierRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT ei.tenant_id, e.entity_key, ei.identifier FROM entity_identifiers AS ei
		JOIN entities AS e ON e.id = ei.entity_id ORDER BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tenant, key, ident string
		if err := rows.Scan(&tenant, &key, &ident); err != nil {
			t.Fatal(err)
		}
		out = append(out, tenant+" "+key+" "+ident)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEntityIdentifierBackfill checks that a store whose alerts were stored
// before the identifier index (the index emptied and the backfill pending,
// as migration 0010 leaves such a store) gets the index the write path
// would have written, and the same entity pages, at Open; and that a
// backfill interrupted after its first chunk resumes where it stopped.
func TestEntityIdentifierBackfill(t *testing.T) {
	f := newEntityFixture(t)
	at := f.at.Add(-240 * time.Hour)
	var alerts []*weft.Alert
	for i := range 4500 { // three chunks of the backfill
		d := dev(weft.Evidence{MdeDeviceID: fmt.Sprint("MDE-X", i%700), DeviceDNSName: fmt.Sprintf("pc-%d.fabrikam.com", i%700)}, "compromised")
		u := usr(weft.UserAccount{AzureAdUserID: fmt.Sprint("aad-", i%400), UserSid: fmt.Sprint("S-1-5-21-5-", i%400),
			AccountName: fmt.Sprint("u", i%400), DomainName: "FABRIKAM"}, "attacked")
		if i%3 == 0 {
			d = dev(weft.Evidence{DeviceDNSName: fmt.Sprintf("pc-%d.fabrikam.com", i%700)}, "source")
		}
		alerts = append(alerts, entityAlert(t, "", fmt.Sprint("x-", i), at.Add(time.Duration(i)*time.Second), d, u))
	}
	storeInBatches(t, f.s, alerts)

	type request struct {
		typ weft.EntityType
		id  string
	}
	requests := []request{{weft.EntityDevice, "ws-042"}, {weft.EntityDevice, "mde-43"}, {weft.EntityUser, `contoso\jdoe`},
		{weft.EntityUser, "S-1-5-21-1-1104"}, {weft.EntityDevice, "pc-17"}, {weft.EntityDevice, "pc-17.fabrikam.com"},
		{weft.EntityUser, "S-1-5-21-5-399"}, {weft.EntityUser, `fabrikam\u3`}}
	pages := func(s *sqlite.Store) []*weft.EntityView {
		t.Helper()
		var out []*weft.EntityView
		for _, r := range requests {
			v, err := s.FindEntity(ctx, weft.DefaultTenantID, r.typ, r.id, weft.EntityAlertQuery{Top: 5})
			if err != nil {
				t.Fatalf("%s %q: %v", r.typ, r.id, err)
			}
			out = append(out, v)
		}
		return out
	}
	live := pages(f.s)
	path := f.s.Path()
	if err := f.s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	liveRows := identifierRows(t, db)
	if len(liveRows) < 1100 {
		t.Fatalf("got %d identifier rows from the write path, want at least one per device and user", len(liveRows))
	}
	// As a store written before migration 0010 looks once it has run; the
	// trigger fails the second chunk, as a crash would.
	for _, q := range []string{
		`DELETE FROM entity_identifiers`,
		`INSERT INTO entity_identifiers_backfill (id, done_seq, last_seq) SELECT 1, 0, max(seq) FROM alerts`,
		`CREATE TRIGGER crash BEFORE UPDATE ON entity_identifiers_backfill WHEN OLD.done_seq > 0
			BEGIN SELECT RAISE(ABORT, 'simulated crash'); END`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	opts := sqlite.Options{Correlator: newEngine(t)}
	if _, err := sqlite.Open(path, opts); err == nil || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("open with the crashing trigger: got %v, want the simulated crash", err)
	}
	var done, last, indexed int64
	if err := db.QueryRow(`SELECT done_seq, last_seq, (SELECT count(*) FROM entity_identifiers) FROM entity_identifiers_backfill`).
		Scan(&done, &last, &indexed); err != nil {
		t.Fatal(err)
	}
	if done != 2000 || last != int64(len(alerts)+7) || indexed == 0 {
		t.Fatalf("after the crash: got done_seq %d of %d with %d rows; want 2000 of %d with some", done, last, indexed, len(alerts)+7)
	}
	if _, err := db.Exec(`DROP TRIGGER crash`); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, path, opts)
	var pending int
	if err := db.QueryRow(`SELECT count(*) FROM entity_identifiers_backfill`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if pending != 0 {
		t.Errorf("the backfill is still pending after Open")
	}
	if got := identifierRows(t, db); !reflect.DeepEqual(got, liveRows) {
		t.Errorf("backfill wrote %d rows, the write path %d; they differ", len(got), len(liveRows))
	}
	for i, v := range pages(s) {
		if !reflect.DeepEqual(v, live[i]) {
			t.Errorf("%s %q: after the backfill got %+v, want the live page %+v", requests[i].typ, requests[i].id, v, live[i])
		}
	}
}

// TestEntityIdentifierRows checks the rows the write path writes: one per
// entity and identifier its records carried besides its key, whatever the
// number of alerts and batches that show it, including the new identifiers
// of an entity the entity cache knows.
func TestEntityIdentifierRows(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	path := t.TempDir() + "/weft.db"
	s := mustOpen(t, path, sqlite.Options{})
	jo := func(id string, acct weft.UserAccount) *weft.Alert {
		acct.AzureAdUserID = "aad-jo"
		return entityAlert(t, "", id, at, usr(acct))
	}
	mustStoreAlerts(t, s, jo("1", weft.UserAccount{UserSid: "S-1-5-21-2-77"}), jo("2", weft.UserAccount{UserSid: "S-1-5-21-2-77"}))
	mustStoreAlerts(t, s, jo("3", weft.UserAccount{UserSid: "S-1-5-21-2-77"}), jo("4", weft.UserAccount{UserPrincipalName: "jo@contoso.com"}))
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := identifierRows(t, db)
	want := []string{"default user.aadId:aad-jo user.sid:S-1-5-21-2-77", "default user.aadId:aad-jo user.upn:jo@contoso.com"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got rows %q, want %q", got, want)
	}
}

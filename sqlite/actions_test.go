package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
	"github.com/weftxdr/weft/storetest"
)

func TestStoreActions(t *testing.T) {
	storetest.RunActionTests(t, func(t *testing.T) weft.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	})
}

// TestActionLogAppendOnly checks that the action log, like the activity
// log, refuses to be rewritten, and that actions survive a reopen.
func TestActionLogAppendOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s := mustOpen(t, path, sqlite.Options{})
	a, _, err := s.CreateAction(ctx, &weft.Action{TenantID: weft.DefaultTenantID, Type: "disable",
		EntityType: weft.EntityUser, Target: "user.upn:alice@contoso.com", DedupeKey: "k",
		ActionStatus: weft.ActionApproved, RequestedBy: weft.ActionActor{Kind: weft.ActorUser, Name: "bob"},
		Connector: "simulator", ExpiresAt: storetest.Base.Add(time.Hour), Created: storetest.Base})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, sqlite.Options{})
	got, err := s.FindAction(ctx, weft.DefaultTenantID, a.ID)
	if err != nil || got.Version != a.Version || got.Target != a.Target {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{`UPDATE action_log SET message = 'x'`, `DELETE FROM action_log`} {
		if _, err := db.ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want append-only", stmt, err)
		}
	}
}

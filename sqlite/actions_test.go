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

// TestListActionsRequestedByIgnoresCase: the requestedBy filter compares
// names ignoring case, as the action service compares people (a user who
// signs in as Alice@Contoso.com and as alice@contoso.com is one person).
func TestListActionsRequestedByIgnoresCase(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	var ids []int64
	for i, by := range []string{"Alice@Contoso.com", "bob@contoso.com", "alice@contoso.com"} {
		a, _, err := s.CreateAction(ctx, &weft.Action{TenantID: weft.DefaultTenantID, Type: "disable",
			EntityType: weft.EntityUser, Target: "user.upn:eve@contoso.com", DedupeKey: "k" + by,
			ActionStatus: weft.ActionApproved, RequestedBy: weft.ActionActor{Kind: weft.ActorUser, Name: by},
			Connector: "simulator", ExpiresAt: storetest.Base.Add(time.Hour), Created: storetest.Base.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	for _, q := range []string{"alice@contoso.com", "ALICE@CONTOSO.COM", "Alice@Contoso.com"} {
		page, err := s.ListActions(ctx, weft.ActionQuery{TenantID: weft.DefaultTenantID, RequestedBy: q, Top: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, a := range page.Actions {
			got = append(got, a.ID)
		}
		if len(got) != 2 || got[0] != ids[2] || got[1] != ids[0] {
			t.Errorf("requestedBy %q: actions %v; want %v", q, got, []int64{ids[2], ids[0]})
		}
	}
}

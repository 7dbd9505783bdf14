package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// TestStoreAlertsDisabledTenant checks that the store itself refuses the
// alerts of a disabled tenant, naming the alert and the tenant, stores
// nothing of such a batch, and takes them again once the tenant is enabled.
func TestStoreAlertsDisabledTenant(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateTenant(ctx, &weft.Tenant{ID: "acme", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		alerts   []*weft.Alert
		wantCode string
		wantMsg  string
	}{
		{name: "ErrDisabled", alerts: []*weft.Alert{entityAlert(t, "acme", "a1", at)},
			wantCode: weft.EINVALID, wantMsg: `alert 0: tenant "acme" is disabled`},
		{name: "ErrDisabledInMixedBatch", alerts: []*weft.Alert{entityAlert(t, weft.DefaultTenantID, "d1", at), entityAlert(t, "acme", "a2", at)},
			wantCode: weft.EINVALID, wantMsg: `alert 1: tenant "acme" is disabled`},
		{name: "OK_Enabled", alerts: []*weft.Alert{entityAlert(t, weft.DefaultTenantID, "d2", at)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.StoreAlerts(ctx, tc.alerts)
			if got := weft.ErrorCode(err); got != tc.wantCode {
				t.Fatalf("code: got %q (%v), want %q", got, err, tc.wantCode)
			}
			if msg := weft.ErrorMessage(err); tc.wantMsg != "" && !strings.Contains(msg, tc.wantMsg) {
				t.Fatalf("message: got %q, want it to contain %q", msg, tc.wantMsg)
			}
			for _, a := range tc.alerts {
				_, ferr := s.FindAlert(ctx, a.TenantID, a.ID)
				if stored := ferr == nil; stored != (tc.wantCode == "") {
					t.Fatalf("alert %s of %s: stored %v, want %v", a.ID, a.TenantID, stored, tc.wantCode == "")
				}
			}
		})
	}
	if _, err := s.UpdateTenant(ctx, "acme", nil, new(false)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StoreAlerts(ctx, []*weft.Alert{entityAlert(t, "acme", "a3", at)}); err != nil {
		t.Fatalf("enabled again: got %v, want the alert stored", err)
	}
}

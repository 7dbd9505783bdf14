package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
)

func testTenants(t *testing.T, open func(t *testing.T) weft.Store) {
	ctx := context.Background()

	t.Run("DefaultExists", func(t *testing.T) {
		s := open(t)
		got, err := s.FindTenant(ctx, weft.DefaultTenantID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != weft.DefaultTenantID || got.Disabled || got.Created.IsZero() {
			t.Fatalf("got %+v, want the enabled default tenant", got)
		}
	})

	t.Run("CreateOK", func(t *testing.T) {
		s := open(t)
		created := time.Date(2026, 3, 4, 5, 6, 7, 891, time.UTC)
		want := &weft.Tenant{ID: "Acme-Corp_1.eu", DisplayName: "Acme <Corp>", Disabled: true, Created: created}
		if err := s.CreateTenant(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindTenant(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *got != *want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})

	t.Run("CreateSetsDefaults", func(t *testing.T) {
		s := open(t)
		tn := &weft.Tenant{ID: "beta"}
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindTenant(ctx, "beta")
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName == "" || got.Created.IsZero() || got.Created.Location() != time.UTC {
			t.Fatalf("got %+v, want a display name and a UTC creation time", got)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		s := open(t)
		if err := s.CreateTenant(ctx, &weft.Tenant{ID: "acme"}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.CreateTenant(ctx, &weft.Tenant{ID: "acme"}), weft.ECONFLICT)
		wantCode(t, s.CreateTenant(ctx, &weft.Tenant{ID: weft.DefaultTenantID}), weft.ECONFLICT)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"", strings.Repeat("a", 65), "a b", "acme/eu", "ünï", "a\x00b", "a;DROP TABLE tenants"} {
			wantCode(t, s.CreateTenant(ctx, &weft.Tenant{ID: id}), weft.EINVALID)
		}
		if err := s.CreateTenant(ctx, &weft.Tenant{ID: strings.Repeat("a", 64)}); err != nil {
			t.Fatalf("64 characters: %v", err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.FindTenant(ctx, "nobody")
		wantCode(t, err, weft.ENOTFOUND)
	})

	t.Run("ListOrderedByID", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"zeta", "alpha", "mid"} {
			if err := s.CreateTenant(ctx, &weft.Tenant{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		ts, err := s.ListTenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tn := range ts {
			got = append(got, tn.ID)
		}
		want := []string{"alpha", weft.DefaultTenantID, "mid", "zeta"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("got %v, want %v", got, want)
		}
	})

	t.Run("AutoCreatedByAlert", func(t *testing.T) {
		s := open(t)
		mustStore(t, s, InTenant(NewAlert(1), "auto-1"), InTenant(NewAlert(2), "auto-1"))
		tn, err := s.FindTenant(ctx, "auto-1")
		if err != nil {
			t.Fatalf("tenant named by an alert: %v", err)
		}
		if tn.Disabled {
			t.Fatalf("got %+v, want an enabled tenant", tn)
		}
	})

	t.Run("AlertErrInvalidTenant", func(t *testing.T) {
		s := open(t)
		_, err := s.StoreAlerts(ctx, []*weft.Alert{InTenant(NewAlert(1), "no spaces allowed")})
		wantCode(t, err, weft.EINVALID)
	})
}

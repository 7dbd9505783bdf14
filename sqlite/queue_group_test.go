package sqlite

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

// TestDeviceGroupFilter checks deviceGroups/any: an incident matches when
// its alerts name a device the asset inventory puts in the group, whether
// the entity is keyed by one of the asset's identifiers or only named like
// one of its host names; the inventory is read at query time and per
// tenant.
func TestDeviceGroupFilter(t *testing.T) {
	s, _ := openQueueMore(t)
	ctx := context.Background()
	put := func(tenant string, assets ...*weft.Asset) {
		t.Helper()
		for _, a := range assets {
			a.TenantID = tenant
		}
		if _, err := s.PutAssets(ctx, assets); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateTenant(ctx, &weft.Tenant{ID: "other"}); err != nil && weft.ErrorCode(err) != weft.ECONFLICT {
		t.Fatal(err)
	}
	put(weft.DefaultTenantID,
		// Keyed: the entity's key is device.fqdn:ws-0.contoso.com.
		&weft.Asset{ID: "srv-0", Kind: weft.AssetDevice, DeviceDNSName: "WS-0.contoso.com", DeviceGroup: "Servers"},
		// Named: the entity is keyed by its Defender id; the asset knows
		// only the host's FQDN, which is the entity's name.
		&weft.Asset{ID: "laptop-9", Kind: weft.AssetDevice, DeviceDNSName: "laptop-9.contoso.com", DeviceGroup: "Finance"},
		// In the group but named by no alert.
		&weft.Asset{ID: "idle", Kind: weft.AssetDevice, HostName: "idle-host", DeviceGroup: "Finance"},
		// A user asset in a "group" is not a device.
		&weft.Asset{ID: "carol", Kind: weft.AssetUser, UserPrincipalName: "carol@contoso.com"})
	// Another tenant puts ws-2 in Finance: it must not count here (ws-2
	// is named by an incident of the default tenant); its ws-7 is a server
	// of its own.
	put("other", &weft.Asset{ID: "ws-2", Kind: weft.AssetDevice, DeviceDNSName: "ws-2.contoso.com", DeviceGroup: "Finance"},
		&weft.Asset{ID: "ws-7", Kind: weft.AssetDevice, DeviceDNSName: "ws-7.contoso.com", DeviceGroup: "Servers"})

	for _, tc := range []struct {
		name, filter string
		want         []string
	}{
		{"Keyed", "deviceGroups/any(g: g eq 'Servers')", []string{"Ransomware on ws-001"}},
		{"Named", "deviceGroups/any(g: g eq 'finance')", []string{"Phishing campaign"}},
		{"Either", "deviceGroups/any(g: g in ('Finance', 'SERVERS'))", []string{"Phishing campaign", "Ransomware on ws-001"}},
		{"And", "deviceGroups/any(g: g eq 'Finance') and multipleSources eq true", []string{"Phishing campaign"}},
		{"Unknown", "deviceGroups/any(g: g eq 'Nowhere')", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := weft.ParseIncidentFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := queueAll(t, s, weft.IncidentQuery{Filter: f}); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}

	// The inventory is read at query time: moving the asset moves the
	// incident.
	put(weft.DefaultTenantID, &weft.Asset{ID: "srv-0", Kind: weft.AssetDevice, DeviceDNSName: "WS-0.contoso.com", DeviceGroup: "Finance"})
	f, err := weft.ParseIncidentFilter("deviceGroups/any(g: g eq 'Finance')")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := queueAll(t, s, weft.IncidentQuery{Filter: f}), []string{"Phishing campaign", "Ransomware on ws-001"}; !slices.Equal(got, want) {
		t.Fatalf("after the move: got %q, want %q", got, want)
	}
	if got := queueAll(t, s, weft.IncidentQuery{TenantID: "other", Filter: f}); len(got) != 0 {
		t.Fatalf("tenant other, Finance: got %q; its ws-2 asset names no alert of its own", got)
	}
	servers, err := weft.ParseIncidentFilter("deviceGroups/any(g: g eq 'Servers')")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := queueAll(t, s, weft.IncidentQuery{TenantID: "other", Filter: servers}), []string{"Other tenant VIP"}; !slices.Equal(got, want) {
		t.Fatalf("tenant other, Servers: got %q, want %q", got, want)
	}
}

func TestDeviceGroupFilterNeedsValue(t *testing.T) {
	_, err := weft.ParseIncidentFilter("deviceGroups/any()")
	if weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(weft.ErrorMessage(err), "deviceGroups/any(e: e eq 'Finance')") {
		t.Fatalf("err = %v", err)
	}
}

// TestDeviceGroupMatchUsesIndexes: the group's devices are found through the
// tenant's assets, their entities by key and by name, their alerts by
// alert_entities' primary key; no alerts or entities scan.
func TestDeviceGroupMatchUsesIndexes(t *testing.T) {
	s, _ := openQueueMore(t)
	f, err := weft.ParseIncidentFilter("deviceGroups/any(g: g eq 'Finance')")
	if err != nil {
		t.Fatal(err)
	}
	where, args, err := incidentWhere(weft.IncidentQuery{TenantID: "default", Filter: f}, false)
	if err != nil {
		t.Fatal(err)
	}
	plan := queryPlan(t, s, "SELECT id FROM incidents WHERE "+where, args)
	all := strings.Join(plan, "\n")
	for _, want := range []string{"entities_tenant_key (tenant_id=? AND entity_key=?)", "ae USING PRIMARY KEY (entity_id=?)", "s USING PRIMARY KEY (tenant_id=?)"} {
		if !strings.Contains(all, want) {
			t.Errorf("plan lacks %q:\n%s", want, all)
		}
	}
	for _, p := range plan {
		if strings.HasPrefix(p, "SCAN") && !strings.Contains(p, "incidents") && !strings.Contains(p, "json_each") && !strings.Contains(p, "VIRTUAL TABLE") {
			t.Errorf("plan scans a table: %q\n%s", p, all)
		}
	}
}

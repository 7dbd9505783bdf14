package weft_test

import (
	"slices"
	"testing"

	"github.com/weftxdr/weft"
)

// TestAssetNormalize checks that an asset's identifiers are those an alert's
// evidence gives for the same names, so that the two meet.
func TestAssetNormalize(t *testing.T) {
	for _, c := range []struct {
		name  string
		asset weft.Asset
		ev    []weft.Evidence
	}{
		{"Device", weft.Asset{ID: "1", Kind: "Device", DeviceDNSName: " WS-042.Contoso.com. ", MdeDeviceID: "ABC", AzureAdDeviceID: "D-1"},
			[]weft.Evidence{{EntityType: weft.EntityDevice, DeviceDNSName: "ws-042.contoso.com", MdeDeviceID: "abc", AzureAdDeviceID: "d-1"}}},
		{"DeviceHostName", weft.Asset{ID: "2", Kind: "device", HostName: "KIOSK-7"},
			[]weft.Evidence{{EntityType: weft.EntityDevice, HostName: "kiosk-7"}}},
		{"User", weft.Asset{ID: "3", Kind: "user", UserPrincipalName: "JDoe@Contoso.com", UserSid: "s-1-5-21-9", AzureAdUserID: "AAD-1",
			Accounts: []string{`CONTOSO\jdoe`, "jdoe"}, MailAddresses: []string{"SMTP:Jane.Doe@contoso.com"}},
			[]weft.Evidence{
				{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{UserPrincipalName: "jdoe@contoso.com", UserSid: "S-1-5-21-9", AzureAdUserID: "aad-1"}},
				{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: "jdoe", DomainName: "contoso"}},
				{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: "jdoe"}},
				{EntityType: weft.EntityMailbox, PrimaryAddress: "jane.doe@contoso.com"},
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := c.asset
			if err := a.Normalize(); err != nil {
				t.Fatal(err)
			}
			var want []weft.Identifier
			for i := range c.ev {
				want = append(want, c.ev[i].Identifiers()...)
			}
			if !slices.Equal(a.Identifiers, want) {
				t.Errorf("got %v, want %v", a.Identifiers, want)
			}
			if a.DisplayName == "" || a.TenantID != weft.DefaultTenantID || a.Tags == nil {
				t.Errorf("got display name %q, tenant %q, tags %v; want defaults", a.DisplayName, a.TenantID, a.Tags)
			}
			again := a
			again.Identifiers = nil
			if err := again.Normalize(); err != nil || !slices.Equal(again.Identifiers, a.Identifiers) || again.DisplayName != a.DisplayName {
				t.Errorf("normalizing again: got %+v, %v; want the same", again, err)
			}
		})
	}
}

func TestAssetNormalizeErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		asset weft.Asset
		field string
	}{
		{"NoID", weft.Asset{Kind: "device", HostName: "x"}, "id"},
		{"SlashInID", weft.Asset{ID: "a/b", Kind: "device", HostName: "x"}, "id"},
		{"Kind", weft.Asset{ID: "x", Kind: "server", HostName: "x"}, "kind"},
		{"CriticalityLow", weft.Asset{ID: "x", Kind: "device", HostName: "x", Criticality: -1}, "criticality"},
		{"CriticalityHigh", weft.Asset{ID: "x", Kind: "device", HostName: "x", Criticality: 4}, "criticality"},
		{"DeviceWithoutName", weft.Asset{ID: "x", Kind: "device"}, "deviceDnsName"},
		{"UserWithoutName", weft.Asset{ID: "x", Kind: "user"}, "userPrincipalName"},
		{"DeviceNameOnUser", weft.Asset{ID: "x", Kind: "user", UserSid: "S-1", HostName: "x"}, "hostName"},
		{"UPN", weft.Asset{ID: "x", Kind: "user", UserPrincipalName: "jdoe"}, "userPrincipalName"},
		{"Account", weft.Asset{ID: "x", Kind: "user", Accounts: []string{`\jdoe`}}, "accounts[0]"},
		{"Mail", weft.Asset{ID: "x", Kind: "user", MailAddresses: []string{"a@b.c", "nobody@"}}, "mailAddresses[1]"},
		{"Tenant", weft.Asset{TenantID: "a/b", ID: "x", Kind: "device", HostName: "x"}, "tenantId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := c.asset
			err := a.Normalize()
			fe, ok := err.(*weft.FieldError)
			if !ok || fe.Field != c.field || fe.Message == "" {
				t.Errorf("got %v, want a FieldError on %q", err, c.field)
			}
		})
	}
}

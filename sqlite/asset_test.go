package sqlite_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/priority"
	"github.com/weftxdr/weft/sqlite"
)

func deviceAsset(id string, criticality int, fqdn, mde string) *weft.Asset {
	return &weft.Asset{ID: id, Kind: weft.AssetDevice, Criticality: criticality, DeviceDNSName: fqdn, MdeDeviceID: mde}
}

func TestAssets(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
		dc := deviceAsset("dc01", 3, "DC01.contoso.com.", "MDE-1")
		dc.Tags = []string{" domain controller ", "domain controller"}
		ceo := &weft.Asset{ID: "jdoe", Kind: "User", Criticality: 2, UserPrincipalName: "JDoe@Contoso.com",
			UserSid: "s-1-5-21-1-1104", Accounts: []string{`CONTOSO\jdoe`}, MailAddresses: []string{"jane.doe@contoso.com"}}
		res, err := s.PutAssets(ctx, []*weft.Asset{dc, ceo})
		if err != nil {
			t.Fatal(err)
		}
		want := []weft.AssetResult{{ID: "dc01", Outcome: weft.AssetCreated}, {ID: "jdoe", Outcome: weft.AssetCreated}}
		if !slices.Equal(res, want) {
			t.Fatalf("got %v, want %v", res, want)
		}
		if dc.Identifiers != nil || len(dc.Tags) != 2 {
			t.Errorf("PutAssets modified its argument: %+v", dc)
		}
		got, err := s.FindAsset(ctx, weft.DefaultTenantID, "jdoe")
		if err != nil {
			t.Fatal(err)
		}
		wantIDs := []weft.Identifier{{Kind: weft.IDUserSid, Value: "S-1-5-21-1-1104"}, {Kind: weft.IDUserUPN, Value: "jdoe@contoso.com"},
			{Kind: weft.IDUserDomainSam, Value: `contoso\jdoe`}, {Kind: weft.IDUserEmail, Value: "jane.doe@contoso.com"}}
		if got.Kind != weft.AssetUser || got.Criticality != 2 || got.DisplayName != "JDoe@Contoso.com" || !slices.Equal(got.Identifiers, wantIDs) ||
			got.TenantID != weft.DefaultTenantID || got.LastUpdateDateTime.IsZero() {
			t.Errorf("got %+v, want user jdoe, criticality 2, identifiers %v", got, wantIDs)
		}
		got, err = s.FindAsset(ctx, weft.DefaultTenantID, "dc01")
		if err != nil {
			t.Fatal(err)
		}
		wantIDs = []weft.Identifier{{Kind: weft.IDDeviceMde, Value: "mde-1"}, {Kind: weft.IDDeviceFQDN, Value: "dc01.contoso.com"}, {Kind: weft.IDDeviceHost, Value: "dc01"}}
		if !slices.Equal(got.Identifiers, wantIDs) || !slices.Equal(got.Tags, []string{"domain controller"}) {
			t.Errorf("got identifiers %v, tags %q; want %v, [domain controller]", got.Identifiers, got.Tags, wantIDs)
		}

		// The same again is unchanged; a change is an update.
		dc2 := *dc
		dc2.Criticality = 2
		res, err = s.PutAssets(ctx, []*weft.Asset{ceo, &dc2})
		if err != nil {
			t.Fatal(err)
		}
		want = []weft.AssetResult{{ID: "jdoe", Outcome: weft.AssetUnchanged}, {ID: "dc01", Outcome: weft.AssetUpdated}}
		if !slices.Equal(res, want) {
			t.Fatalf("got %v, want %v", res, want)
		}

		// Pages, ordered by id.
		var more []*weft.Asset
		for i := range 5 {
			more = append(more, deviceAsset(fmt.Sprintf("ws-%02d", i), 0, fmt.Sprintf("ws-%02d.contoso.com", i), ""))
		}
		if _, err := s.PutAssets(ctx, more); err != nil {
			t.Fatal(err)
		}
		page, err := s.ListAssets(ctx, weft.AssetQuery{TenantID: weft.DefaultTenantID, Top: 3, Skip: 2, Count: true})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range page.Assets {
			ids = append(ids, a.ID)
		}
		if !slices.Equal(ids, []string{"ws-00", "ws-01", "ws-02"}) || page.Count != 7 || !page.More {
			t.Errorf("got %v, count %d, more %v; want [ws-00 ws-01 ws-02], 7, true", ids, page.Count, page.More)
		}

		if err := s.DeleteAsset(ctx, weft.DefaultTenantID, "dc01"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindAsset(ctx, weft.DefaultTenantID, "dc01"); weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("FindAsset after DeleteAsset: got %v, want ENOTFOUND", err)
		}
		if err := s.DeleteAsset(ctx, weft.DefaultTenantID, "dc01"); weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("DeleteAsset twice: got %v, want ENOTFOUND", err)
		}
	})

	t.Run("TenantsApart", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
		a := deviceAsset("srv", 1, "srv.fabrikam.com", "")
		a.TenantID = "fabrikam"
		if _, err := s.PutAssets(ctx, []*weft.Asset{a}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FindAsset(ctx, weft.DefaultTenantID, "srv"); weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("FindAsset in another tenant: got %v, want ENOTFOUND", err)
		}
		if err := s.DeleteAsset(ctx, weft.DefaultTenantID, "srv"); weft.ErrorCode(err) != weft.ENOTFOUND {
			t.Errorf("DeleteAsset in another tenant: got %v, want ENOTFOUND", err)
		}
		page, err := s.ListAssets(ctx, weft.AssetQuery{TenantID: weft.DefaultTenantID, Count: true})
		if err != nil || len(page.Assets) != 0 || page.Count != 0 {
			t.Errorf("ListAssets in another tenant: got %d assets, count %d, %v; want none", len(page.Assets), page.Count, err)
		}
		if got, err := s.FindAsset(ctx, "fabrikam", "srv"); err != nil || got.TenantID != "fabrikam" {
			t.Errorf("FindAsset: got %+v, %v", got, err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
		for _, c := range []struct {
			name  string
			asset *weft.Asset
			want  string
		}{
			{"NoID", &weft.Asset{Kind: weft.AssetDevice, HostName: "x"}, "asset 1: id: "},
			{"Kind", &weft.Asset{ID: "x", Kind: "printer", HostName: "x"}, "asset 1: kind: "},
			{"Criticality", &weft.Asset{ID: "x", Kind: weft.AssetDevice, HostName: "x", Criticality: 4}, "asset 1: criticality: "},
			{"NoName", &weft.Asset{ID: "x", Kind: weft.AssetDevice}, "asset 1: deviceDnsName: "},
			{"UserNameOnDevice", &weft.Asset{ID: "x", Kind: weft.AssetDevice, HostName: "x", UserSid: "S-1"}, "asset 1: userSid: "},
			{"Mail", &weft.Asset{ID: "x", Kind: weft.AssetUser, MailAddresses: []string{"nobody"}}, "asset 1: mailAddresses[0]: "},
			{"Tenant", &weft.Asset{TenantID: "a b", ID: "x", Kind: weft.AssetDevice, HostName: "x"}, "asset 1: tenantId: "},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.PutAssets(ctx, []*weft.Asset{deviceAsset("ok", 1, "ok.contoso.com", ""), c.asset})
				if weft.ErrorCode(err) != weft.EINVALID || !strings.HasPrefix(weft.ErrorMessage(err), c.want) {
					t.Errorf("got %v, want EINVALID starting %q", err, c.want)
				}
			})
		}
		if page, _ := s.ListAssets(ctx, weft.AssetQuery{TenantID: weft.DefaultTenantID}); len(page.Assets) != 0 {
			t.Errorf("got %d assets stored by failed batches, want none", len(page.Assets))
		}
	})
}

// aliasAlert is a high-severity alert whose only evidence is a device
// named as dev gives it.
func aliasAlert(t *testing.T, id string, at time.Time, dev weft.Evidence) *weft.Alert {
	t.Helper()
	dev.EntityType = weft.EntityDevice
	a := &weft.Alert{Source: "edr", ProviderAlertID: id, Title: "Suspicious activity " + id, Severity: weft.SeverityHigh,
		DetectorID: "det-" + id, FirstActivityDateTime: at, Evidence: []weft.Evidence{dev}}
	if _, err := a.Normalize(at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAssetAliasesJoinIncidents checks that two alerts that name one device
// by two names that only an asset ties together land in one incident, live
// and after a restart, and not without the asset.
func TestAssetAliasesJoinIncidents(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	byMde := weft.Evidence{MdeDeviceID: "6f1c2a"}
	byName := weft.Evidence{DeviceDNSName: "srv-9.contoso.com"}
	asset := deviceAsset("srv-9", 2, "srv-9.contoso.com", "6f1c2a")

	t.Run("WithoutAsset", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t)})
		res := mustStoreAlerts(t, s, aliasAlert(t, "1", at, byMde), aliasAlert(t, "2", at.Add(10*time.Minute), byName))
		if res[0].IncidentID == res[1].IncidentID {
			t.Fatalf("got one incident %d without the asset, want two", res[0].IncidentID)
		}
	})
	t.Run("Live", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t)})
		first := mustStoreAlerts(t, s, aliasAlert(t, "1", at, byMde))
		if _, err := s.PutAssets(ctx, []*weft.Asset{asset}); err != nil {
			t.Fatal(err)
		}
		second := mustStoreAlerts(t, s, aliasAlert(t, "2", at.Add(10*time.Minute), byName))
		if first[0].IncidentID != second[0].IncidentID {
			t.Fatalf("got incidents %d and %d, want one", first[0].IncidentID, second[0].IncidentID)
		}
	})
	t.Run("AfterRestart", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "weft.db")
		s, err := sqlite.Open(path, sqlite.Options{Correlator: newEngine(t)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutAssets(ctx, []*weft.Asset{asset}); err != nil {
			t.Fatal(err)
		}
		first := mustStoreAlerts(t, s, aliasAlert(t, "1", at, byMde))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = mustOpen(t, path, sqlite.Options{Correlator: newEngine(t)})
		second := mustStoreAlerts(t, s, aliasAlert(t, "2", at.Add(10*time.Minute), byName))
		if first[0].IncidentID != second[0].IncidentID {
			t.Fatalf("got incidents %d and %d, want one", first[0].IncidentID, second[0].IncidentID)
		}
	})
	t.Run("DeletedAssetLinksNoMore", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t)})
		if _, err := s.PutAssets(ctx, []*weft.Asset{asset}); err != nil {
			t.Fatal(err)
		}
		first := mustStoreAlerts(t, s, aliasAlert(t, "1", at, byMde))
		if err := s.DeleteAsset(ctx, weft.DefaultTenantID, "srv-9"); err != nil {
			t.Fatal(err)
		}
		second := mustStoreAlerts(t, s, aliasAlert(t, "2", at.Add(10*time.Minute), byName))
		if first[0].IncidentID == second[0].IncidentID {
			t.Fatalf("got one incident %d after the asset was deleted, want two", first[0].IncidentID)
		}
	})
}

// describeWithPriority is how "weft serve" names and scores incidents.
func describeWithPriority(in sqlite.DescribeInput) (string, *int, []weft.PriorityFactor) {
	score, factors := priority.Score(priority.Input{Alerts: in.Alerts, Now: in.Now,
		Criticality: in.Criticality, DetectorPrevalence: in.Prevalence})
	return priority.Name(in.Alerts), &score, factors
}

func factorOf(inc *weft.Incident, name string) (weft.PriorityFactor, bool) {
	for _, f := range inc.PriorityFactors {
		if f.Name == name {
			return f, true
		}
	}
	return weft.PriorityFactor{}, false
}

// TestDescribePriorityFactors checks that an incident's priority counts the
// criticality of the assets it touches and the rarity of its detectors, on
// the store's clock.
func TestDescribePriorityFactors(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	now := at.Add(30 * time.Minute)
	open := func(t *testing.T) *sqlite.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t),
			Describe: describeWithPriority, Now: func() time.Time { return now }})
	}
	find := func(t *testing.T, s *sqlite.Store, id int64) *weft.Incident {
		t.Helper()
		inc, err := s.FindIncident(ctx, weft.DefaultTenantID, id, false)
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}

	t.Run("AssetCriticality", func(t *testing.T) {
		s := open(t)
		// The asset knows the device by its FQDN; the alert names it by
		// its MDE id too, and its key is the MDE id.
		if _, err := s.PutAssets(ctx, []*weft.Asset{deviceAsset("dc01", 3, "dc01.contoso.com", "")}); err != nil {
			t.Fatal(err)
		}
		res := mustStoreAlerts(t, s, aliasAlert(t, "1", at, weft.Evidence{MdeDeviceID: "77aa", DeviceDNSName: "DC01.contoso.com"}),
			aliasAlert(t, "2", at.Add(time.Hour), weft.Evidence{DeviceDNSName: "ws-1.fabrikam.com", HostName: "dc01"}))
		f, ok := factorOf(find(t, s, res[0].IncidentID), priority.FactorAsset)
		if !ok || f.Points != 18 || !strings.Contains(f.Detail, "criticality 3") {
			t.Errorf("got factor %+v (found %v), want assetCriticality 18 points, criticality 3", f, ok)
		}
		// A short name alone does not make ws-1.fabrikam.com the asset.
		if f, ok := factorOf(find(t, s, res[1].IncidentID), priority.FactorAsset); ok {
			t.Errorf("got factor %+v for another domain's dc01, want none", f)
		}
		// Recency is on the store's clock: 30 minutes.
		if f, ok := factorOf(find(t, s, res[0].IncidentID), priority.FactorRecency); !ok || f.Points != 5 {
			t.Errorf("got recency %+v, want 5 points (last activity 30 minutes before the store's now)", f)
		}
	})

	t.Run("DetectorRarity", func(t *testing.T) {
		s := open(t)
		common := func(n int) []*weft.Alert {
			var alerts []*weft.Alert
			for i := range n {
				a := aliasAlert(t, fmt.Sprintf("c%d", i), at, weft.Evidence{DeviceDNSName: fmt.Sprintf("ws-%d.contoso.com", i)})
				a.DetectorID = "common"
				alerts = append(alerts, a)
			}
			return alerts
		}
		// Too few alerts to judge: no rarity factor.
		res := mustStoreAlerts(t, s, common(50)...)
		if f, ok := factorOf(find(t, s, res[0].IncidentID), priority.FactorRarity); ok {
			t.Errorf("with 50 alerts: got %+v, want no rarity factor", f)
		}
		res = mustStoreAlerts(t, s, common(150)[50:]...)
		if f, ok := factorOf(find(t, s, res[0].IncidentID), priority.FactorRarity); !ok || f.Points != -8 {
			t.Errorf("common detector: got %+v, want -8 points", f)
		}
		res = mustStoreAlerts(t, s, aliasAlert(t, "rare", at, weft.Evidence{DeviceDNSName: "lonely.contoso.com"}))
		if f, ok := factorOf(find(t, s, res[0].IncidentID), priority.FactorRarity); !ok || f.Points != 4 {
			t.Errorf("rare detector (1 of 151 alerts): got %+v, want +4 points", f)
		}
	})
}

// TestAssetsConcurrentWithIngest puts assets while batches of alerts are
// stored, for the race detector: the Correlator and the in-memory asset
// index are shared by both under the write lock.
func TestAssetsConcurrentWithIngest(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t), Describe: describeWithPriority})
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	done := make(chan error, 1)
	go func() {
		for i := range 20 {
			a := deviceAsset(fmt.Sprintf("srv-%d", i%5), i%4, fmt.Sprintf("srv-%d.contoso.com", i%5), fmt.Sprintf("m%d", i%5))
			if i%7 == 6 {
				a.MdeDeviceID = "" // lost a name: a rebuild before the next batch
			}
			if _, err := s.PutAssets(ctx, []*weft.Asset{a}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for i := range 20 {
		mustStoreAlerts(t, s, aliasAlert(t, fmt.Sprint("m", i), at.Add(time.Duration(i)*time.Minute), weft.Evidence{MdeDeviceID: fmt.Sprintf("m%d", i%5)}),
			aliasAlert(t, fmt.Sprint("f", i), at.Add(time.Duration(i)*time.Minute), weft.Evidence{DeviceDNSName: fmt.Sprintf("srv-%d.contoso.com", i%5)}))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

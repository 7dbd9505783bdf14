package sqlite_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/sqlite"
)

// entityAlert is a high-severity alert of a tenant with the given evidence,
// normalized.
func entityAlert(t testing.TB, tenant, id string, at time.Time, evs ...weft.Evidence) *weft.Alert {
	t.Helper()
	a := &weft.Alert{TenantID: tenant, Source: "edr", ProviderAlertID: id, Title: "Suspicious activity " + id,
		Severity: weft.SeverityHigh, DetectorID: "det-" + id, FirstActivityDateTime: at, Evidence: evs}
	if _, err := a.Normalize(at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	return a
}

func dev(e weft.Evidence, roles ...weft.EvidenceRole) weft.Evidence {
	e.EntityType, e.Roles = weft.EntityDevice, roles
	return e
}

func usr(a weft.UserAccount, roles ...weft.EvidenceRole) weft.Evidence {
	return weft.Evidence{EntityType: weft.EntityUser, UserAccount: &a, Roles: roles}
}

// entityFixture is a store with the alerts of a device and a user named in
// several ways, over several days, with an asset for the device; alerts
// maps provider ids to stored ids and incidents.
type entityFixture struct {
	s         *sqlite.Store
	at        time.Time
	ids       map[string]string
	incidents map[string]int64
}

func newEntityFixture(t *testing.T) *entityFixture {
	t.Helper()
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t)})
	laptop := deviceAsset("laptop-jane", 3, "", "mde-42")
	laptop.DisplayName, laptop.DeviceGroup = "Jane's laptop", "Finance"
	if _, err := s.PutAssets(ctx, []*weft.Asset{laptop}); err != nil {
		t.Fatal(err)
	}
	jdoe := weft.UserAccount{UserSid: "S-1-5-21-1-1104", UserPrincipalName: "JDoe@contoso.com", AccountName: "jdoe", DomainName: "CONTOSO"}
	alerts := []*weft.Alert{
		// Day 1: the device under its MDE id with its FQDN, then by the
		// FQDN alone, then by the short name; the user by SID, UPN and
		// DOMAIN\sam, then by DOMAIN\sam alone.
		entityAlert(t, "", "d1", at, dev(weft.Evidence{MdeDeviceID: "MDE-42", DeviceDNSName: "WS-042.contoso.com"}, "compromised"),
			usr(jdoe, "compromised")),
		entityAlert(t, "", "d2", at.Add(time.Hour), dev(weft.Evidence{DeviceDNSName: "ws-042.contoso.com"}, "source")),
		entityAlert(t, "", "d3", at.Add(2*time.Hour), dev(weft.Evidence{HostName: "WS-042"}, "destination")),
		entityAlert(t, "", "u2", at.Add(3*time.Hour), usr(weft.UserAccount{AccountName: `CONTOSO\jdoe`}, "attacked")),
		// Day 4: the device again, in a new incident, with another device.
		entityAlert(t, "", "d4", at.Add(72*time.Hour), dev(weft.Evidence{MdeDeviceID: "mde-42", DeviceDNSName: "ws-042.contoso.com"}, "compromised"),
			dev(weft.Evidence{MdeDeviceID: "mde-43", DeviceDNSName: "ws-043.contoso.com"}, "contextual")),
		// Day 8: the device once more.
		entityAlert(t, "", "d5", at.Add(168*time.Hour), dev(weft.Evidence{MdeDeviceID: "mde-42"}, "compromised")),
		// Another tenant's device of the same names.
		entityAlert(t, "other", "o1", at, dev(weft.Evidence{MdeDeviceID: "mde-42", DeviceDNSName: "ws-042.contoso.com"}, "compromised")),
	}
	f := &entityFixture{s: s, at: at, ids: map[string]string{}, incidents: map[string]int64{}}
	for _, a := range alerts {
		res := mustStoreAlerts(t, s, a)
		f.ids[a.ProviderAlertID], f.incidents[a.ProviderAlertID] = a.ID, res[0].IncidentID
	}
	return f
}

func (f *entityFixture) find(t *testing.T, typ weft.EntityType, id string, q weft.EntityAlertQuery) *weft.EntityView {
	t.Helper()
	v, err := f.s.FindEntity(ctx, weft.DefaultTenantID, typ, id, q)
	if err != nil {
		t.Fatalf("FindEntity(%s, %q): %v", typ, id, err)
	}
	return v
}

func viewAlertIDs(v *weft.EntityView) []string {
	var out []string
	for _, a := range v.Alerts {
		out = append(out, a.ID)
	}
	return out
}

func TestFindEntity(t *testing.T) {
	f := newEntityFixture(t)

	t.Run("DeviceByEveryName", func(t *testing.T) {
		want := f.find(t, weft.EntityDevice, "device.mdeId:mde-42", weft.EntityAlertQuery{})
		if want.Key != "device.mdeId:mde-42" || want.AlertCount != 5 {
			t.Fatalf("got key %q, %d alerts; want device.mdeId:mde-42, 5", want.Key, want.AlertCount)
		}
		for _, id := range []string{"MDE-42", "ws-042", "WS-042.contoso.com", "ws-042.contoso.com.", "laptop-jane", "jane's laptop",
			"device.fqdn:ws-042.contoso.com", "device.hostname:ws-042"} {
			got := f.find(t, weft.EntityDevice, id, weft.EntityAlertQuery{})
			if got.Key != want.Key || got.AlertCount != want.AlertCount || got.IncidentCount != want.IncidentCount ||
				!slices.Equal(got.Aliases, want.Aliases) || !slices.Equal(viewAlertIDs(got), viewAlertIDs(want)) {
				t.Errorf("by %q: got %s, %d alerts, %d incidents, aliases %v; want %s, %d, %d, %v", id,
					got.Key, got.AlertCount, got.IncidentCount, got.Aliases, want.Key, want.AlertCount, want.IncidentCount, want.Aliases)
			}
		}
	})
	t.Run("DeviceView", func(t *testing.T) {
		v := f.find(t, weft.EntityDevice, "ws-042", weft.EntityAlertQuery{})
		wantAliases := []string{"Jane's laptop", "device.fqdn:ws-042.contoso.com", "device.hostname:ws-042"}
		if !slices.Equal(v.Aliases, wantAliases) || v.AliasCount != len(wantAliases) {
			t.Errorf("got aliases %q (%d), want %q", v.Aliases, v.AliasCount, wantAliases)
		}
		if v.Criticality != 3 || v.DeviceGroup != "Finance" || v.AssetID != "laptop-jane" {
			t.Errorf("got criticality %d, group %q, asset %q; want 3, Finance, laptop-jane", v.Criticality, v.DeviceGroup, v.AssetID)
		}
		if v.Name != "mde-42" || v.ContainmentState != weft.ContainmentNone || v.EntityType != weft.EntityDevice {
			t.Errorf("got name %q, containment %q, type %q; want mde-42 (latest sighting), none, device", v.Name, v.ContainmentState, v.EntityType)
		}
		if !v.FirstSeen.Equal(f.at) || !v.LastSeen.Equal(f.at.Add(168*time.Hour)) {
			t.Errorf("got seen %v–%v, want %v–%v", v.FirstSeen, v.LastSeen, f.at, f.at.Add(168*time.Hour))
		}
		want := []string{f.ids["d5"], f.ids["d4"], f.ids["d3"], f.ids["d2"], f.ids["d1"]}
		if got := viewAlertIDs(v); !slices.Equal(got, want) {
			t.Errorf("got alerts %v, want newest first %v", got, want)
		}
		if a := v.Alerts[3]; a.Title != "Suspicious activity d2" || a.Severity != weft.SeverityHigh || a.IncidentID != f.incidents["d2"] ||
			!slices.Equal(a.Roles, []weft.EvidenceRole{"source"}) || !a.FirstActivityDateTime.Equal(f.at.Add(time.Hour)) {
			t.Errorf("got alert %+v, want d2's title, severity, incident %d and role source", a, f.incidents["d2"])
		}
		// Incidents: day 8's, day 4's, day 1's (the three device alerts of
		// day 1 are one incident when correlation joins them).
		var incs []int64
		for _, d := range []string{"d5", "d4", "d1", "d2", "d3"} {
			if !slices.Contains(incs, f.incidents[d]) {
				incs = append(incs, f.incidents[d])
			}
		}
		var got []int64
		alerts := 0
		for _, inc := range v.Incidents {
			got = append(got, inc.ID)
			alerts += inc.AlertCount
			if len(inc.AlertIDs) != inc.AlertCount {
				t.Errorf("incident %d: got alert ids %v for %d alerts", inc.ID, inc.AlertIDs, inc.AlertCount)
			}
		}
		slices.Sort(incs)
		slices.Sort(got)
		if !slices.Equal(got, incs) || v.IncidentCount != int64(len(incs)) || alerts != 5 {
			t.Errorf("got incidents %v (count %d, %d alerts), want %v, 5 alerts", got, v.IncidentCount, alerts, incs)
		}
		for i := 1; i < len(v.Incidents); i++ {
			if v.Incidents[i].LastActivityDateTime.After(v.Incidents[i-1].LastActivityDateTime) {
				t.Errorf("incidents not ordered by last activity: %v", v.Incidents)
			}
		}
		if first := v.Incidents[0]; first.ID != f.incidents["d5"] || !slices.Equal(first.AlertIDs, []string{f.ids["d5"]}) || first.DisplayName == "" || first.Status != weft.IncidentStatusActive {
			t.Errorf("got first incident %+v, want day 8's (%d) with alert d5", first, f.incidents["d5"])
		}
	})
	t.Run("OtherDeviceApart", func(t *testing.T) {
		v := f.find(t, weft.EntityDevice, "ws-043.contoso.com", weft.EntityAlertQuery{})
		if v.Key != "device.mdeId:mde-43" || v.AlertCount != 1 || v.Criticality != 0 || v.DeviceGroup != "" {
			t.Errorf("got %s, %d alerts, criticality %d, group %q; want device.mdeId:mde-43, 1, 0, none", v.Key, v.AlertCount, v.Criticality, v.DeviceGroup)
		}
		if !slices.Equal(viewAlertIDs(v), []string{f.ids["d4"]}) || !slices.Equal(v.Alerts[0].Roles, []weft.EvidenceRole{"contextual"}) {
			t.Errorf("got alerts %+v, want d4 with role contextual", v.Alerts)
		}
	})
	t.Run("UserByEveryName", func(t *testing.T) {
		var first *weft.EntityView
		for _, id := range []string{"S-1-5-21-1-1104", "s-1-5-21-1-1104", "jdoe@contoso.com", `CONTOSO\jdoe`, `contoso\JDOE`, "user.sid:S-1-5-21-1-1104"} {
			v := f.find(t, weft.EntityUser, id, weft.EntityAlertQuery{})
			if first == nil {
				first = v
				want := []string{`user.domainSam:contoso\jdoe`, "user.upn:jdoe@contoso.com"}
				if v.Key != "user.sid:S-1-5-21-1-1104" || v.AlertCount != 2 || !slices.Equal(v.Aliases, want) {
					t.Fatalf("by %q: got %s, %d alerts, aliases %q; want user.sid:S-1-5-21-1-1104, 2, %q", id, v.Key, v.AlertCount, v.Aliases, want)
				}
				if !slices.Equal(viewAlertIDs(v), []string{f.ids["u2"], f.ids["d1"]}) || !slices.Equal(v.Alerts[0].Roles, []weft.EvidenceRole{"attacked"}) {
					t.Errorf("got alerts %+v, want u2 (attacked), d1", v.Alerts)
				}
				continue
			}
			if v.Key != first.Key || v.AlertCount != first.AlertCount || !slices.Equal(v.Aliases, first.Aliases) {
				t.Errorf("by %q: got %s, %d alerts, aliases %q; want %s, %d, %q", id, v.Key, v.AlertCount, v.Aliases, first.Key, first.AlertCount, first.Aliases)
			}
		}
		// A mailbox page of the same address is the same identity.
		if v := f.find(t, weft.EntityMailbox, "JDoe@Contoso.com", weft.EntityAlertQuery{}); v.Key != first.Key || v.EntityType != weft.EntityMailbox {
			t.Errorf("mailbox: got %s (%s), want %s", v.Key, v.EntityType, first.Key)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		all := viewAlertIDs(f.find(t, weft.EntityDevice, "mde-42", weft.EntityAlertQuery{}))
		var got []string
		for skip := 0; ; skip += 2 {
			v := f.find(t, weft.EntityDevice, "mde-42", weft.EntityAlertQuery{Top: 2, Skip: skip})
			got = append(got, viewAlertIDs(v)...)
			if v.AlertCount != 5 {
				t.Errorf("skip %d: got alert count %d, want 5 on every page", skip, v.AlertCount)
			}
			if wantMore := skip+2 < 5; v.MoreAlerts != wantMore {
				t.Errorf("skip %d: got more %v, want %v", skip, v.MoreAlerts, wantMore)
			}
			if !v.MoreAlerts {
				break
			}
		}
		if !slices.Equal(got, all) {
			t.Errorf("got pages %v, want %v", got, all)
		}
		if v := f.find(t, weft.EntityDevice, "mde-42", weft.EntityAlertQuery{Skip: 10}); len(v.Alerts) != 0 || v.MoreAlerts || v.AlertCount != 5 {
			t.Errorf("past the end: got %d alerts, more %v, count %d; want none, false, 5", len(v.Alerts), v.MoreAlerts, v.AlertCount)
		}
	})
	t.Run("OtherTenant", func(t *testing.T) {
		v, err := f.s.FindEntity(ctx, "other", weft.EntityDevice, "ws-042", weft.EntityAlertQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if v.AlertCount != 1 || !slices.Equal(viewAlertIDs(v), []string{f.ids["o1"]}) || v.Criticality != 0 || v.AssetID != "" {
			t.Errorf("got %d alerts %v, criticality %d, asset %q; want only o1, no asset of the default tenant", v.AlertCount, viewAlertIDs(v), v.Criticality, v.AssetID)
		}
		for _, id := range []string{"S-1-5-21-1-1104", "nosuch"} {
			if _, err := f.s.FindEntity(ctx, "other", weft.EntityUser, id, weft.EntityAlertQuery{}); weft.ErrorCode(err) != weft.ENOTFOUND {
				t.Errorf("other tenant, user %q: got %v, want ENOTFOUND", id, err)
			}
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct {
			name string
			typ  weft.EntityType
			id   string
			q    weft.EntityAlertQuery
			code string
			msg  string
		}{
			{"ErrNotFound", weft.EntityDevice, "ws-999", weft.EntityAlertQuery{}, weft.ENOTFOUND, `device "ws-999" not found`},
			{"ErrWrongType", weft.EntityFile, "mde-42", weft.EntityAlertQuery{}, weft.ENOTFOUND, `file "mde-42" not found`},
			{"ErrAssetWithoutAlerts", weft.EntityUser, "laptop-jane", weft.EntityAlertQuery{}, weft.ENOTFOUND, "not found"},
			{"ErrUnknownType", "printer", "x", weft.EntityAlertQuery{}, weft.EINVALID, "allowed: device, user"},
			{"ErrEmptyID", weft.EntityDevice, "  ", weft.EntityAlertQuery{}, weft.EINVALID, "id is empty"},
			{"ErrLongID", weft.EntityDevice, strings.Repeat("x", weft.MaxEntityIDBytes+1), weft.EntityAlertQuery{}, weft.EINVALID, "at most 1024"},
			{"ErrNegativeSkip", weft.EntityDevice, "mde-42", weft.EntityAlertQuery{Skip: -1}, weft.EINVALID, "$skip"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.s.FindEntity(ctx, weft.DefaultTenantID, c.typ, c.id, c.q)
				if weft.ErrorCode(err) != c.code || !strings.Contains(weft.ErrorMessage(err), c.msg) {
					t.Errorf("got %v, want %s containing %q", err, c.code, c.msg)
				}
			})
		}
	})
}

// TestFindEntityOneAlertTwoKeys checks that an alert whose evidence names
// one device twice, under two keys, counts once, with the roles of both
// records.
func TestFindEntityOneAlertTwoKeys(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t)})
	mustStoreAlerts(t, s,
		entityAlert(t, "", "1", at, dev(weft.Evidence{MdeDeviceID: "m7", DeviceDNSName: "srv-7.contoso.com"}, "compromised"),
			dev(weft.Evidence{DeviceDNSName: "srv-7.contoso.com"}, "source")),
		entityAlert(t, "", "2", at.Add(time.Hour), dev(weft.Evidence{DeviceDNSName: "srv-7.contoso.com"}, "destination")))
	v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityDevice, "m7", weft.EntityAlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if v.AlertCount != 2 || len(v.Alerts) != 2 || v.IncidentCount != 1 || len(v.Incidents) != 1 || v.Incidents[0].AlertCount != 2 {
		t.Fatalf("got %d alerts (%d listed), %d incidents %+v; want 2 alerts in 1 incident", v.AlertCount, len(v.Alerts), v.IncidentCount, v.Incidents)
	}
	if got, want := v.Alerts[1].Roles, []weft.EvidenceRole{"compromised", "source"}; !slices.Equal(got, want) {
		t.Errorf("got roles %v, want %v", got, want)
	}
}

// TestFindEntityByHiddenName checks that a name that is neither a key nor
// a readable name (the SID of a user whose records also carry an Entra
// object id, and are keyed by it) is found in the recent alerts.
func TestFindEntityByHiddenName(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	mustStoreAlerts(t, s, entityAlert(t, "", "1", at, usr(weft.UserAccount{AzureAdUserID: "AAD-1", UserSid: "S-1-5-21-9-500",
		UserPrincipalName: "kim@contoso.com", AccountName: "kim", DomainName: "CONTOSO"})))
	for _, id := range []string{"S-1-5-21-9-500", `contoso\kim`, "aad-1", "kim@contoso.com"} {
		v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityUser, id, weft.EntityAlertQuery{})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if v.Key != "user.aadId:aad-1" || v.AlertCount != 1 {
			t.Errorf("%s: got %s with %d alerts, want user.aadId:aad-1 with 1", id, v.Key, v.AlertCount)
		}
	}
	if _, err := s.FindEntity(ctx, "other", weft.EntityUser, "S-1-5-21-9-500", weft.EntityAlertQuery{}); weft.ErrorCode(err) != weft.ENOTFOUND {
		t.Errorf("other tenant: got %v, want ENOTFOUND", err)
	}
}

// TestFindEntityAmbiguous checks that a short host name two devices share
// is refused with their keys, and that their FQDNs still find each.
func TestFindEntityAmbiguous(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(t)})
	mustStoreAlerts(t, s,
		entityAlert(t, "", "c", at, dev(weft.Evidence{MdeDeviceID: "aa", DeviceDNSName: "srv-1.contoso.com"})),
		entityAlert(t, "", "f", at, dev(weft.Evidence{MdeDeviceID: "bb", DeviceDNSName: "srv-1.fabrikam.com"})),
		entityAlert(t, "", "h", at, dev(weft.Evidence{HostName: "srv-1"})))
	_, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityDevice, "SRV-1", weft.EntityAlertQuery{})
	if msg := weft.ErrorMessage(err); weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(msg, "device.mdeId:aa") || !strings.Contains(msg, "device.mdeId:bb") {
		t.Errorf("got %v, want EINVALID naming device.mdeId:aa and device.mdeId:bb", err)
	}
	for id, want := range map[string]string{"srv-1.contoso.com": "device.mdeId:aa", "srv-1.fabrikam.com": "device.mdeId:bb", "device.hostname:srv-1": "device.hostname:srv-1",
		"device.hostname:SRV-1": "device.hostname:srv-1"} {
		v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityDevice, id, weft.EntityAlertQuery{})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		// The short-name row belongs to neither device: it could be
		// either.
		if v.Key != want || v.AlertCount != 1 {
			t.Errorf("%s: got %s with %d alerts, want %s with 1", id, v.Key, v.AlertCount, want)
		}
	}
}

func TestSearchEntities(t *testing.T) {
	f := newEntityFixture(t)
	sha := strings.Repeat("ab", 32)
	mustStoreAlerts(t, f.s, entityAlert(t, "", "file", f.at, weft.Evidence{EntityType: weft.EntityFile,
		FileDetails: &weft.FileDetails{FileName: "evil.exe", Sha256: strings.ToUpper(sha)}}))
	keys := func(rs []weft.EntitySummary) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Key)
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    weft.EntitySearch
		want []string
	}{
		{"NamePrefix", weft.EntitySearch{Text: "WS-04"}, []string{"device.hostname:ws-042", "device.fqdn:ws-042.contoso.com", "device.mdeId:mde-43"}},
		{"KeyPrefix", weft.EntitySearch{Text: "mde-4", Type: weft.EntityDevice}, []string{"device.mdeId:mde-42", "device.mdeId:mde-43"}},
		{"WholeKey", weft.EntitySearch{Text: "device.fqdn:ws-042"}, []string{"device.fqdn:ws-042.contoso.com"}},
		{"Hash", weft.EntitySearch{Text: sha[:12]}, []string{"file.sha256:" + sha}},
		{"HashUpperCase", weft.EntitySearch{Text: strings.ToUpper(sha), Type: weft.EntityFile}, []string{"file.sha256:" + sha}},
		{"FileName", weft.EntitySearch{Text: "EVIL"}, []string{"file.sha256:" + sha}},
		{"UserBySid", weft.EntitySearch{Text: "s-1-5-21-1-11", Type: weft.EntityMailbox}, []string{"user.sid:S-1-5-21-1-1104"}},
		{"UserByName", weft.EntitySearch{Text: "jdoe", Type: weft.EntityUser}, []string{"user.sid:S-1-5-21-1-1104"}},
		{"TypeFilters", weft.EntitySearch{Text: "mde-4", Type: weft.EntityUser}, nil},
		{"Top", weft.EntitySearch{Text: "ws-04", Top: 1}, []string{"device.hostname:ws-042"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := f.s.SearchEntities(ctx, weft.DefaultTenantID, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keys(got), c.want) {
				t.Errorf("got %v, want %v", keys(got), c.want)
			}
		})
	}
	t.Run("Summary", func(t *testing.T) {
		got, err := f.s.SearchEntities(ctx, weft.DefaultTenantID, weft.EntitySearch{Text: "device.mdeId:mde-42"})
		if err != nil {
			t.Fatal(err)
		}
		want := weft.EntitySummary{EntityType: weft.EntityDevice, Key: "device.mdeId:mde-42", Name: "mde-42", LastSeen: f.at.Add(168 * time.Hour), AlertCount: 3}
		if len(got) != 1 || got[0] != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("OtherTenant", func(t *testing.T) {
		got, err := f.s.SearchEntities(ctx, "other", weft.EntitySearch{Text: "ws"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"device.mdeId:mde-42"}; !slices.Equal(keys(got), want) {
			t.Errorf("got %v, want %v", keys(got), want)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		for _, q := range []weft.EntitySearch{{Text: " "}, {Text: "x", Type: "printer"}, {Text: "x", Top: weft.MaxEntitySearch + 1},
			{Text: "x", Top: -1}, {Text: strings.Repeat("x", weft.MaxEntityIDBytes+1)}} {
			if _, err := f.s.SearchEntities(ctx, weft.DefaultTenantID, q); weft.ErrorCode(err) != weft.EINVALID {
				t.Errorf("%+v: got %v, want EINVALID", q, err)
			}
		}
	})
}

// BenchmarkFindEntity reads the page of a device named in 100,000 alerts,
// a hub that the correlation engine stops linking by (so it is in about
// 95,000 incidents), a page for a name that nothing carries (which reads
// the tenant's newest alerts), and a search that finds the device.
//
//	go test -run '^$' -bench FindEntity -benchtime 20x ./sqlite/
func BenchmarkFindEntity(b *testing.B) {
	const n = 100_000
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := mustOpen(b, filepath.Join(b.TempDir(), "weft.db"), sqlite.Options{Correlator: newEngine(b)})
	hot := dev(weft.Evidence{MdeDeviceID: "mde-hot", DeviceDNSName: "hot.contoso.com"}, "compromised")
	for i := 0; i < n; i += 1000 {
		batch := make([]*weft.Alert, 0, 1000)
		for j := i; j < i+1000; j++ {
			batch = append(batch, entityAlert(b, "", fmt.Sprint("b", j), at.Add(time.Duration(j)*time.Second), hot,
				dev(weft.Evidence{MdeDeviceID: fmt.Sprint("mde-", j%500), DeviceDNSName: fmt.Sprintf("ws-%d.contoso.com", j%500)}, "contextual"),
				usr(weft.UserAccount{UserPrincipalName: fmt.Sprintf("u%d@contoso.com", j%300)}, "attacked")))
		}
		mustStoreAlerts(b, s, batch...)
	}
	for _, c := range []struct {
		name string
		id   string
		q    weft.EntityAlertQuery
	}{
		{"ByKey", "device.mdeId:mde-hot", weft.EntityAlertQuery{}},
		{"ByShortName", "hot", weft.EntityAlertQuery{}},
		{"DeepPage", "mde-hot", weft.EntityAlertQuery{Top: 50, Skip: 10_000}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityDevice, c.id, c.q)
				if err != nil {
					b.Fatal(err)
				}
				if v.AlertCount != n {
					b.Fatalf("got %d alerts, want %d", v.AlertCount, n)
				}
			}
		})
	}
	b.Run("NotFound", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityDevice, "nosuch.contoso.com", weft.EntityAlertQuery{}); weft.ErrorCode(err) != weft.ENOTFOUND {
				b.Fatalf("got %v, want ENOTFOUND", err)
			}
		}
	})
	b.Run("Search", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.SearchEntities(ctx, weft.DefaultTenantID, weft.EntitySearch{Text: "hot"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// storeInBatches stores alerts in batches of 1,000.
func storeInBatches(t testing.TB, s *sqlite.Store, alerts []*weft.Alert) {
	t.Helper()
	for len(alerts) > 0 {
		n := min(len(alerts), 1000)
		mustStoreAlerts(t, s, alerts[:n]...)
		alerts = alerts[n:]
	}
}

// TestFindEntityOldAlias checks that a name seen only in an old alert (a
// SID next to the Entra object id the records are keyed by, followed by
// 2,500 newer alerts of the tenant, 100 of them of the same user by object
// id alone) is found and listed as an alias.
func TestFindEntityOldAlias(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal"})
	alerts := []*weft.Alert{entityAlert(t, "", "old", at, usr(weft.UserAccount{AzureAdUserID: "AAD-7", UserSid: "S-1-5-21-7-1107"}))}
	for i := range 2500 {
		ev := dev(weft.Evidence{MdeDeviceID: fmt.Sprint("mde-", i%300), DeviceDNSName: fmt.Sprintf("ws-%d.contoso.com", i%300)})
		if i%25 == 0 {
			ev = usr(weft.UserAccount{AzureAdUserID: "aad-7"})
		}
		alerts = append(alerts, entityAlert(t, "", fmt.Sprint("new-", i), at.Add(time.Duration(i+1)*time.Minute), ev))
	}
	storeInBatches(t, s, alerts)
	for _, id := range []string{"S-1-5-21-7-1107", "user.sid:s-1-5-21-7-1107", "aad-7"} {
		v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityUser, id, weft.EntityAlertQuery{Top: 1})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if want := []string{"user.sid:S-1-5-21-7-1107"}; v.Key != "user.aadId:aad-7" || v.AlertCount != 101 || !slices.Equal(v.Aliases, want) || v.IdentityTruncated {
			t.Errorf("%s: got %s, %d alerts, aliases %q, truncated %v; want user.aadId:aad-7, 101, %q, false",
				id, v.Key, v.AlertCount, v.Aliases, v.IdentityTruncated, want)
		}
	}
}

// TestFindEntityAllAliases checks that every name a user was seen under
// across many alerts, each record carrying a few, is an alias, however
// old the alert, and that each of them finds the user.
func TestFindEntityAllAliases(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{Synchronous: "normal"})
	var alerts []*weft.Alert
	var want []string
	for i := range 40 { // more proxy addresses than the entity cache remembers
		want = append(want, fmt.Sprintf("user.email:kim.%02d@contoso.com", i))
	}
	want = append(want, `user.domainSam:contoso\kim`, "user.sid:S-1-5-21-9-500", "user.upn:kim@contoso.com")
	slices.Sort(want)
	for i := range 400 {
		var ev weft.Evidence
		switch {
		case i%10 == 0 && i/10 < 40:
			ev = usr(weft.UserAccount{AzureAdUserID: "aad-9"})
			ev.PrimaryAddress = fmt.Sprintf("Kim.%02d@contoso.com", i/10)
		case i == 5:
			ev = usr(weft.UserAccount{AzureAdUserID: "aad-9", UserSid: "S-1-5-21-9-500", AccountName: "kim", DomainName: "CONTOSO"})
		case i == 7:
			ev = usr(weft.UserAccount{AzureAdUserID: "aad-9", UserPrincipalName: "kim@contoso.com"})
		default:
			ev = usr(weft.UserAccount{AzureAdUserID: "aad-9"})
		}
		alerts = append(alerts, entityAlert(t, "", fmt.Sprint("k-", i), at.Add(time.Duration(i)*time.Minute), ev))
	}
	// Two batches, so that the second meets the first's identifiers in the
	// entity cache.
	mustStoreAlerts(t, s, alerts[:200]...)
	mustStoreAlerts(t, s, alerts[200:]...)
	for _, id := range []string{"aad-9", "kim.39@contoso.com", `contoso\kim`, "kim@contoso.com", "S-1-5-21-9-500"} {
		v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityUser, id, weft.EntityAlertQuery{Top: 1})
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if v.Key != "user.aadId:aad-9" || v.AlertCount != 400 || v.AliasCount != len(want) || !slices.Equal(v.Aliases, want) {
			t.Errorf("%s: got %s, %d alerts, %d aliases %q; want user.aadId:aad-9, 400, %d %q",
				id, v.Key, v.AlertCount, v.AliasCount, v.Aliases, len(want), want)
		}
	}
}

// TestFindEntityRefusesConflicts checks that two devices that once shared
// an FQDN stay apart, as the correlation engine keeps them (rule 3 of its
// identity resolution): the FQDN goes to the device stored first.
func TestFindEntityRefusesConflicts(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	mustStoreAlerts(t, s,
		entityAlert(t, "", "1", at, dev(weft.Evidence{MdeDeviceID: "mde-1", DeviceDNSName: "kiosk.contoso.com"})),
		entityAlert(t, "", "2", at.Add(time.Hour), dev(weft.Evidence{MdeDeviceID: "mde-2", DeviceDNSName: "kiosk.contoso.com"})))
	for _, c := range []struct {
		id, key string
		aliases []string
	}{
		{"mde-1", "device.mdeId:mde-1", []string{"device.fqdn:kiosk.contoso.com"}},
		{"kiosk.contoso.com", "device.mdeId:mde-1", []string{"device.fqdn:kiosk.contoso.com"}},
		{"mde-2", "device.mdeId:mde-2", []string{}},
	} {
		v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityDevice, c.id, weft.EntityAlertQuery{})
		if err != nil {
			t.Errorf("%s: %v", c.id, err)
			continue
		}
		if v.Key != c.key || v.AlertCount != 1 || !slices.Equal(v.Aliases, c.aliases) {
			t.Errorf("%s: got %s, %d alerts, aliases %q; want %s, 1, %q", c.id, v.Key, v.AlertCount, v.Aliases, c.key, c.aliases)
		}
	}
	// The short name was seen with both: ambiguous.
	if _, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityDevice, "kiosk", weft.EntityAlertQuery{}); weft.ErrorCode(err) != weft.EINVALID {
		t.Errorf("kiosk: got %v, want EINVALID", err)
	}
}

// TestFindEntityWeakName checks that a bare account name resolves to the
// one user it was seen with, however its records are keyed, and is
// ambiguous once seen with two.
func TestFindEntityWeakName(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	mustStoreAlerts(t, s,
		entityAlert(t, "", "1", at, usr(weft.UserAccount{UserSid: "S-1-5-21-3-1001", AccountName: "lee"})),
		entityAlert(t, "", "2", at.Add(time.Hour), usr(weft.UserAccount{AccountName: "lee"})),
		entityAlert(t, "", "3", at, usr(weft.UserAccount{UserSid: "S-1-5-21-3-1002", AccountName: "ann"})),
		entityAlert(t, "", "4", at.Add(time.Hour), usr(weft.UserAccount{UserSid: "S-1-5-21-4-1002", AccountName: "ann"})))
	v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityUser, "LEE", weft.EntityAlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"user.sam:lee"}; v.Key != "user.sid:S-1-5-21-3-1001" || v.AlertCount != 2 || !slices.Equal(v.Aliases, want) {
		t.Errorf("lee: got %s, %d alerts, aliases %q; want user.sid:S-1-5-21-3-1001, 2, %q", v.Key, v.AlertCount, v.Aliases, want)
	}
	_, err = s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityUser, "ann", weft.EntityAlertQuery{})
	if msg := weft.ErrorMessage(err); weft.ErrorCode(err) != weft.EINVALID || !strings.Contains(msg, "user.sid:S-1-5-21-3-1002") || !strings.Contains(msg, "user.sid:S-1-5-21-4-1002") {
		t.Errorf("ann: got %v, want EINVALID naming both SIDs", err)
	}
	v, err = s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityUser, "S-1-5-21-3-1002", weft.EntityAlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if v.AlertCount != 1 || len(v.Aliases) != 0 {
		t.Errorf("ann's SID: got %d alerts, aliases %q; want 1, none (the name is not only hers)", v.AlertCount, v.Aliases)
	}
}

// TestFindEntityTruncated checks that a chain of names longer than the
// resolution's bounds gives a page that says it stopped.
func TestFindEntityTruncated(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "weft.db"), sqlite.Options{})
	// Mailbox records keyed by an address, each with the account of the
	// next: m0–a0, m1–a0, m1–a1, m2–a1, …
	var alerts []*weft.Alert
	for i := range 12 {
		for _, m := range []int{i, i + 1} {
			ev := weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: fmt.Sprintf("m%d@contoso.com", m),
				UserAccount: &weft.UserAccount{AccountName: fmt.Sprint("a", i), DomainName: "contoso"}}
			alerts = append(alerts, entityAlert(t, "", fmt.Sprint("c-", i, "-", m), at, ev))
		}
	}
	mustStoreAlerts(t, s, alerts...)
	v, err := s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityMailbox, "m0@contoso.com", weft.EntityAlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if !v.IdentityTruncated || v.AlertCount >= int64(len(alerts)) {
		t.Errorf("got truncated %v with %d of %d alerts; want true and fewer", v.IdentityTruncated, v.AlertCount, len(alerts))
	}
	v, err = s.FindEntity(ctx, weft.DefaultTenantID, weft.EntityMailbox, "m12@contoso.com", weft.EntityAlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if !v.IdentityTruncated {
		t.Errorf("from the other end: got truncated %v, want true", v.IdentityTruncated)
	}
}

package correlate

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

// TestExclusionsMatchAsGlobs holds the compiled exclusions (exact patterns
// looked up, the others globbed) to matching every pattern with glob.
func TestExclusionsMatchAsGlobs(t *testing.T) {
	patterns := append(DefaultExclusions, "user:svc-*", "user:admin?", "device:dc01.contoso.com", "ip:10.0.0.0/8", "ip:198.51.100.7")
	xs, err := compileExclusions(patterns)
	if err != nil {
		t.Fatal(err)
	}
	evs := []weft.Evidence{
		{EntityType: weft.EntityFile, FileDetails: &weft.FileDetails{FileName: "RunDLL32.exe", Sha256: strings.Repeat("a", 64)}},
		{EntityType: weft.EntityFile, FileDetails: &weft.FileDetails{FileName: "evil.exe", Sha256: strings.Repeat("b", 64)}},
		{EntityType: weft.EntityCloudApplication, DisplayName: "Microsoft Azure Portal", AppID: "c44b4083"},
		{EntityType: weft.EntityCloudApplication, DisplayName: "Contoso CRM", AppID: "1234"},
		{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: "svc-sql", DomainName: "CONTOSO"}},
		{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{UserPrincipalName: "Admin1@contoso.com"}},
		{EntityType: weft.EntityMailbox, PrimaryAddress: "svc-mail@contoso.com"},
		{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{AccountName: "jdoe", DomainName: "CONTOSO"}},
		{EntityType: weft.EntityDevice, DeviceDNSName: "DC01.contoso.com"},
		{EntityType: weft.EntityDevice, DeviceDNSName: "ws-01.contoso.com"},
		{EntityType: weft.EntityIP, IPAddress: "10.1.2.3"},
		{EntityType: weft.EntityIP, IPAddress: "198.51.100.7"},
		{EntityType: weft.EntityIP, IPAddress: "203.0.113.9"},
	}
	for i := range evs {
		ev := &evs[i]
		want := false
		for _, s := range patterns {
			x, _ := parseExclusion(s)
			if !slices.Contains(x.types, ev.EntityType) {
				continue
			}
			if slowExcluded(x, ev) {
				want = true
			}
		}
		if got := xs.excluded(ev, ev.Identifiers()); got != want {
			t.Errorf("%s %q: excluded %v, want %v", ev.EntityType, ev.Name(), got, want)
		}
	}
}

// slowExcluded is one exclusion's match as exclude.go first wrote it.
func slowExcluded(x exclusion, ev *weft.Evidence) bool {
	if x.prefix.IsValid() {
		ip, err := netip.ParseAddr(weft.NormalizeIP(ev.IPAddress))
		return err == nil && x.prefix.Contains(ip.Unmap())
	}
	if glob(x.pattern, strings.ToLower(ev.Name())) {
		return true
	}
	for _, id := range ev.Identifiers() {
		v := strings.ToLower(id.Value)
		if glob(x.pattern, v) {
			return true
		}
		if ev.EntityType == weft.EntityUser || ev.EntityType == weft.EntityMailbox {
			if _, sam, ok := strings.Cut(v, `\`); ok && glob(x.pattern, sam) {
				return true
			}
			if local, _, ok := strings.Cut(v, "@"); ok && glob(x.pattern, local) {
				return true
			}
		}
	}
	return false
}

package correlate

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
)

// TestExclusionsMatchAsGlobs holds the compiled exclusions (exact patterns
// looked up, the others globbed, what identifiers matched remembered in
// their identity nodes) to matching every pattern with glob, for two
// policies and entity types that share identity nodes (a user and a mailbox
// with one address), asked in turn so that each finds the other's answer
// remembered.
func TestExclusionsMatchAsGlobs(t *testing.T) {
	lists := [][]string{
		append(slices.Clone(DefaultExclusions), "user:svc-*", "user:admin?", "device:dc01.contoso.com", "ip:10.0.0.0/8", "ip:198.51.100.7"),
		{"mailbox:svc-*", "device:ws-01.contoso.com", "file:evil.exe"},
	}
	ids := NewIdentities().tenant(idTenant)
	var n int
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
		{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{UserPrincipalName: "svc-mail@contoso.com"}},
		{EntityType: weft.EntityMailbox, PrimaryAddress: "svc-mail@contoso.com"},
		{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{UserPrincipalName: "ws-01.contoso.com"}},
	}
	policies := make([]exclusions, len(lists))
	for i, l := range lists {
		xs, err := compileExclusions(l)
		if err != nil {
			t.Fatal(err)
		}
		policies[i] = xs
	}
	for round := range 3 {
		for p, xs := range policies {
			for i := range evs {
				ev := &evs[i]
				want := false
				for _, s := range lists[p] {
					x, _ := parseExclusion(s)
					if !slices.Contains(x.types, ev.EntityType) {
						continue
					}
					if slowExcluded(x, ev) {
						want = true
					}
				}
				evIDs := ev.Identifiers()
				nodes := make([]uint32, len(evIDs))
				if len(evIDs) > 0 {
					ids.observe(evIDs, ev.IdentifierHashes(), nil, &n, nodes)
				}
				if got := xs.excluded(ev, evIDs, ids.nodes, nodes); got != want {
					t.Errorf("round %d, policy %d: %s %q: excluded %v, want %v", round, p, ev.EntityType, ev.Name(), got, want)
				}
			}
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

// TestExclusionsSharedByTypes holds compileExclusions to giving entity
// types with the same patterns one typeExclusions, so that an address seen
// in user and in mailbox records keeps its node's remembered match instead
// of having it replaced at each, and types with different patterns their
// own.
func TestExclusionsSharedByTypes(t *testing.T) {
	xs, err := compileExclusions(DefaultExclusions)
	if err != nil {
		t.Fatal(err)
	}
	if u, m := xs.of(weft.EntityUser), xs.of(weft.EntityMailbox); u == nil || u != m {
		t.Fatalf("user and mailbox exclusions: %p and %p, want one", u, m)
	}
	if xs.of(weft.EntityFile) == xs.of(weft.EntityUser) {
		t.Fatal("file and user exclusions are one")
	}
	ids := NewIdentities().tenant(idTenant)
	var n int
	records := []weft.Evidence{
		{EntityType: weft.EntityUser, UserAccount: &weft.UserAccount{UserPrincipalName: "jdoe@contoso.com"}},
		{EntityType: weft.EntityMailbox, PrimaryAddress: "jdoe@contoso.com"},
	}
	var serial uint32
	for round := range 4 {
		ev := &records[round%2]
		evIDs := ev.Identifiers()
		nodes := make([]uint32, len(evIDs))
		ids.observe(evIDs, ev.IdentifierHashes(), nil, &n, nodes)
		if xs.excluded(ev, evIDs, ids.nodes, nodes) {
			t.Fatalf("%s %s excluded", ev.EntityType, ev.Name())
		}
		k := slices.IndexFunc(evIDs, func(id weft.Identifier) bool { return id.Value == "jdoe@contoso.com" })
		s := ids.nodes[nodes[k]].xserial
		if round > 0 && s != serial {
			t.Fatalf("round %d (%s): the address's node remembers serial %d, was %d: its match was computed again", round, ev.EntityType, s, serial)
		}
		serial = s
	}

	xs, err = compileExclusions([]string{"user:svc-*", "mailbox:shared@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	if xs.of(weft.EntityUser) == xs.of(weft.EntityMailbox) {
		t.Fatal("user and mailbox exclusions with different patterns are one")
	}
}

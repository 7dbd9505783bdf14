package correlate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/weftxdr/weft"
	"github.com/weftxdr/weft/storetest"
)

const idTenant = "contoso"

func idDevice(mde, aad, fqdn, host string) *weft.Evidence {
	return &weft.Evidence{EntityType: weft.EntityDevice, MdeDeviceID: mde, AzureAdDeviceID: aad, DeviceDNSName: fqdn, HostName: host}
}

func idUser(a weft.UserAccount) *weft.Evidence {
	return &weft.Evidence{EntityType: weft.EntityUser, UserAccount: &a}
}

func idMailbox(addr string) *weft.Evidence {
	return &weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: addr}
}

func ident(k weft.IdentifierKind, v string) weft.Identifier {
	return weft.Identifier{Kind: k, Value: v}
}

// mustResolve returns the canonical identity of id, failing the test if it
// does not resolve.
func mustResolve(t *testing.T, x *Identities, tenantID string, id weft.Identifier) IdentityID {
	t.Helper()
	got, ok := x.Resolve(tenantID, id)
	if !ok {
		t.Fatalf("Resolve(%s) = %d, false; want an identity", id, got)
	}
	return got
}

func TestIdentities_AliasesAcrossSourcesLink(t *testing.T) {
	x := NewIdentities()
	// Defender for Endpoint: DOMAIN\sam and SID.
	mde := x.Observe(idTenant, idUser(weft.UserAccount{AccountName: "jdoe", DomainName: "CONTOSO", UserSid: "s-1-5-21-1-2-3-1104"}))
	// Defender for Identity / Entra: UPN, object id and the same SID.
	mdi := x.Observe(idTenant, idUser(weft.UserAccount{UserPrincipalName: "JDoe@Contoso.com", AzureAdUserID: "5F1C-AAD", UserSid: "S-1-5-21-1-2-3-1104"}))
	// Defender for Office 365: a mailbox whose primary address is the UPN (rule 5).
	mdo := x.Observe(idTenant, idMailbox("jdoe@contoso.com"))
	// A second proxy address of the same mailbox, given with the UPN.
	alias := x.Observe(idTenant, &weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: "john.doe@contoso.com",
		UserAccount: &weft.UserAccount{UserPrincipalName: "jdoe@contoso.com"}})
	// The DNS form of the domain from another source (user.domainSam may repeat).
	dns := x.Observe(idTenant, idUser(weft.UserAccount{AccountName: "jdoe", DomainName: "contoso.com", UserSid: "S-1-5-21-1-2-3-1104"}))

	want := x.Canonical(idTenant, mde)
	for name, got := range map[string]IdentityID{"mdi": mdi, "mdo": mdo, "alias": alias, "dns": dns} {
		if got := x.Canonical(idTenant, got); got != want {
			t.Errorf("%s identity = %d, want %d (the MDE user)", name, got, want)
		}
	}
	gotAliases := x.Aliases(idTenant, mde)
	wantAliases := []weft.Identifier{
		ident(weft.IDUserAad, "5f1c-aad"),
		ident(weft.IDUserSid, "S-1-5-21-1-2-3-1104"),
		ident(weft.IDUserUPN, "jdoe@contoso.com"),
		ident(weft.IDUserEmail, "jdoe@contoso.com"),
		ident(weft.IDUserEmail, "john.doe@contoso.com"),
		ident(weft.IDUserDomainSam, `contoso.com\jdoe`),
		ident(weft.IDUserDomainSam, `contoso\jdoe`),
	}
	if !slices.Equal(gotAliases, wantAliases) {
		t.Errorf("Aliases = %v, want %v", gotAliases, wantAliases)
	}
	if s := x.Stats(idTenant); s.RefusedUnions != 0 || s.Identities != 1 {
		t.Errorf("Stats = %+v, want 1 identity and no refused union", s)
	}
}

func TestIdentities_UPNAndMailLinkOnlyWhenEqual(t *testing.T) {
	x := NewIdentities()
	// Mailbox first, UPN later: rule 5 links in either order.
	mbx := x.Observe(idTenant, idMailbox("SMTP:Ann@Contoso.com"))
	upn := x.Observe(idTenant, idUser(weft.UserAccount{UserPrincipalName: "ann@contoso.com", UserSid: "S-1-5-21-9"}))
	if x.Canonical(idTenant, mbx) != x.Canonical(idTenant, upn) {
		t.Errorf("mailbox ann@contoso.com and UPN ann@contoso.com are distinct identities, want one")
	}
	other := x.Observe(idTenant, idMailbox("ann@fabrikam.com"))
	if x.Canonical(idTenant, other) == x.Canonical(idTenant, upn) {
		t.Errorf("mailbox ann@fabrikam.com joined UPN ann@contoso.com, want distinct")
	}
}

func TestIdentities_HostnameOnlyJoinsEDRDevice(t *testing.T) {
	for _, order := range []string{"EDRFirst", "HostnameFirst"} {
		t.Run(order, func(t *testing.T) {
			x := NewIdentities()
			edr := idDevice("AB12CD", "", "WS-01.contoso.com.", "")
			idAlert := idDevice("", "", "", "ws-01")
			var a, b IdentityID
			if order == "EDRFirst" {
				a, b = x.Observe(idTenant, edr), x.Observe(idTenant, idAlert)
			} else {
				b, a = x.Observe(idTenant, idAlert), x.Observe(idTenant, edr)
			}
			if got, want := x.Canonical(idTenant, b), x.Canonical(idTenant, a); got != want {
				t.Errorf("host-name-only identity = %d, want the EDR device's %d", got, want)
			}
			got := x.Aliases(idTenant, b)
			want := []weft.Identifier{ident(weft.IDDeviceMde, "ab12cd"), ident(weft.IDDeviceFQDN, "ws-01.contoso.com"), ident(weft.IDDeviceHost, "ws-01")}
			if !slices.Equal(got, want) {
				t.Errorf("Aliases = %v, want %v", got, want)
			}
		})
	}
}

func TestIdentities_HostnameOnlyAlertsShareAWeakIdentity(t *testing.T) {
	x := NewIdentities()
	a := x.Observe(idTenant, idDevice("", "", "", "ws-07"))
	b := x.Observe(idTenant, idDevice("", "", "", "WS-07"))
	if a == 0 || a == Ambiguous || a != b {
		t.Fatalf("two ws-07 host-name-only records = %d and %d, want one identity", a, b)
	}
	if got, want := x.Aliases(idTenant, a), []weft.Identifier{ident(weft.IDDeviceHost, "ws-07")}; !slices.Equal(got, want) {
		t.Errorf("Aliases = %v, want %v", got, want)
	}
}

func TestIdentities_AmbiguousShortNameDoesNotMerge(t *testing.T) {
	x := NewIdentities()
	early := x.Observe(idTenant, idDevice("", "", "", "ws-01")) // before anything else is known
	contoso := x.Observe(idTenant, idDevice("", "", "ws-01.contoso.com", ""))
	fabrikam := x.Observe(idTenant, idDevice("", "", "ws-01.fabrikam.com", "WS-01"))
	if x.Canonical(idTenant, contoso) == x.Canonical(idTenant, fabrikam) {
		t.Fatalf("ws-01.contoso.com and ws-01.fabrikam.com merged through host name ws-01")
	}
	if got := x.Observe(idTenant, idDevice("", "", "", "ws-01")); got != Ambiguous {
		t.Errorf("Observe(host ws-01 only) = %d, want Ambiguous", got)
	}
	if got, ok := x.Resolve(idTenant, ident(weft.IDDeviceHost, "ws-01")); ok || got != Ambiguous {
		t.Errorf("Resolve(ws-01) = %d, %v; want Ambiguous, false", got, ok)
	}
	if got := x.Canonical(idTenant, early); got != Ambiguous {
		t.Errorf("Canonical(earlier host-name-only identity) = %d, want Ambiguous", got)
	}
	for _, id := range []IdentityID{contoso, fabrikam} {
		if al := x.Aliases(idTenant, id); len(al) != 1 || al[0].Kind != weft.IDDeviceFQDN {
			t.Errorf("Aliases(%d) = %v, want its FQDN only", id, al)
		}
	}
	if s := x.Stats(idTenant); s.AmbiguousWeak != 1 || s.Identities != 2 || s.RefusedUnions != 0 {
		t.Errorf("Stats = %+v, want 2 identities, 1 ambiguous name, no refused union (weak names never try)", s)
	}
	// The same holds for a bare account name.
	x.Observe(idTenant, idUser(weft.UserAccount{AccountName: "admin", UserSid: "S-1-5-21-100-500"}))
	x.Observe(idTenant, idUser(weft.UserAccount{AccountName: "admin", UserSid: "S-1-5-21-200-500"}))
	if got := x.Observe(idTenant, idUser(weft.UserAccount{AccountName: "Admin"})); got != Ambiguous {
		t.Errorf("Observe(sam admin only) = %d, want Ambiguous", got)
	}
}

func TestIdentities_AmbiguousNameResolvesOnceItsIdentitiesMerge(t *testing.T) {
	x := NewIdentities()
	x.Observe(idTenant, idDevice("m1", "", "", "ws-02"))
	x.Observe(idTenant, idDevice("", "a1", "", "ws-02"))
	if got, ok := x.Resolve(idTenant, ident(weft.IDDeviceHost, "ws-02")); ok {
		t.Fatalf("Resolve(ws-02) = %d before m1 and a1 are known to be one device, want ambiguous", got)
	}
	one := x.Observe(idTenant, idDevice("m1", "a1", "", ""))
	if got := mustResolve(t, x, idTenant, ident(weft.IDDeviceHost, "ws-02")); got != x.Canonical(idTenant, one) {
		t.Errorf("Resolve(ws-02) = %d, want the merged device %d", got, one)
	}
}

func TestIdentities_ConflictingStrongIDsRefuseUnion(t *testing.T) {
	tests := []struct {
		name        string
		first, then *weft.Evidence
		bridge      weft.Identifier // the identifier both records share
	}{
		{"TwoMDEIdsOneFQDN", idDevice("m1", "", "ws-03.contoso.com", ""), idDevice("m2", "", "ws-03.contoso.com", ""),
			ident(weft.IDDeviceFQDN, "ws-03.contoso.com")},
		{"TwoEntraDeviceIdsOneMDEId", idDevice("m1", "a1", "", ""), idDevice("m1", "a2", "", ""),
			ident(weft.IDDeviceMde, "m1")},
		{"TwoFQDNsOneMDEId", idDevice("m1", "", "ws-03.contoso.com", ""), idDevice("m1", "", "ws-03.fabrikam.com", ""),
			ident(weft.IDDeviceMde, "m1")},
		{"TwoSIDsOneUPN", idUser(weft.UserAccount{UserSid: "S-1-5-21-1", UserPrincipalName: "x@contoso.com"}),
			idUser(weft.UserAccount{UserSid: "S-1-5-21-2", UserPrincipalName: "x@contoso.com"}), ident(weft.IDUserUPN, "x@contoso.com")},
		{"TwoEntraObjectIdsOneSID", idUser(weft.UserAccount{AzureAdUserID: "o1", UserSid: "S-1-5-21-1"}),
			idUser(weft.UserAccount{AzureAdUserID: "o2", UserSid: "S-1-5-21-1"}), ident(weft.IDUserSid, "S-1-5-21-1")},
		{"TwoUPNsOneSID", idUser(weft.UserAccount{UserSid: "S-1-5-21-1", UserPrincipalName: "ann@contoso.com"}),
			idUser(weft.UserAccount{UserSid: "S-1-5-21-1", UserPrincipalName: "ann.smith@contoso.com"}), ident(weft.IDUserSid, "S-1-5-21-1")},
		{"TwoUPNsOneMailAddress", idUser(weft.UserAccount{UserPrincipalName: "ann@contoso.com"}),
			&weft.Evidence{EntityType: weft.EntityMailbox, PrimaryAddress: "ann@contoso.com", UserAccount: &weft.UserAccount{UserPrincipalName: "ann.smith@contoso.com"}},
			ident(weft.IDUserEmail, "ann@contoso.com")},
		{"TwoSHA256OneMD5", &weft.Evidence{EntityType: weft.EntityFile, FileDetails: &weft.FileDetails{Sha256: strings.Repeat("a", 64), Md5: strings.Repeat("c", 32)}},
			&weft.Evidence{EntityType: weft.EntityFile, FileDetails: &weft.FileDetails{Sha256: strings.Repeat("b", 64), Md5: strings.Repeat("c", 32)}},
			ident(weft.IDFileMd5, strings.Repeat("c", 32))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewIdentities()
			first := x.Observe(idTenant, tt.first)
			then := x.Observe(idTenant, tt.then)
			if got := x.Stats(idTenant).RefusedUnions; got != 1 {
				t.Errorf("RefusedUnions = %d, want 1", got)
			}
			// The contested identifier stays with the identity it joined first…
			if got := mustResolve(t, x, idTenant, tt.bridge); got != x.Canonical(idTenant, first) {
				t.Errorf("Resolve(%s) = %d, want the first identity %d", tt.bridge, got, first)
			}
			// …and the second record's identifiers of the conflicting kinds stay out of it.
			for _, id := range tt.then.Identifiers() {
				if id == tt.bridge || slices.Contains(tt.first.Identifiers(), id) {
					continue
				}
				if got := mustResolve(t, x, idTenant, id); got == x.Canonical(idTenant, first) {
					t.Errorf("%s joined the first identity: %v", id, x.Aliases(idTenant, first))
				}
			}
			// The refused record refers to its most preferred identifier's identity.
			pref := tt.then.Identifiers()[0]
			if got := mustResolve(t, x, idTenant, pref); got != x.Canonical(idTenant, then) {
				t.Errorf("second record = %d, want the identity of %s (%d)", x.Canonical(idTenant, then), pref, got)
			}
		})
	}
}

func TestIdentities_AssetAliasesLink(t *testing.T) {
	x := NewIdentities()
	edr := x.Observe(idTenant, idDevice("m9", "", "", ""))
	entra := x.Observe(idTenant, idDevice("", "a9", "", ""))
	if x.Canonical(idTenant, edr) == x.Canonical(idTenant, entra) {
		t.Fatal("unrelated records are one identity before the asset import")
	}
	asset := x.AddAsset(idTenant, []weft.Identifier{ident(weft.IDDeviceMde, "m9"), ident(weft.IDDeviceAad, "a9"), ident(weft.IDDeviceFQDN, "srv-9.contoso.com"), ident(weft.IDDeviceHost, "srv-9")})
	if a, b, c := x.Canonical(idTenant, edr), x.Canonical(idTenant, entra), x.Canonical(idTenant, asset); a != b || b != c {
		t.Errorf("identities after the asset import = %d, %d, %d; want one", a, b, c)
	}
	if got := x.Observe(idTenant, idDevice("", "", "", "SRV-9")); x.Canonical(idTenant, got) != x.Canonical(idTenant, asset) {
		t.Errorf("host srv-9 = %d, want the asset's identity %d", got, asset)
	}
}

func TestIdentities_AssetAcrossEntityClassesRefused(t *testing.T) {
	x := NewIdentities()
	x.AddAsset(idTenant, []weft.Identifier{ident(weft.IDDeviceMde, "m1"), ident(weft.IDUserSid, "S-1-5-21-1")})
	d, _ := x.Resolve(idTenant, ident(weft.IDDeviceMde, "m1"))
	u, _ := x.Resolve(idTenant, ident(weft.IDUserSid, "S-1-5-21-1"))
	if d == u {
		t.Errorf("a device and a user became one identity")
	}
	if got := x.Stats(idTenant).RefusedUnions; got != 1 {
		t.Errorf("RefusedUnions = %d, want 1", got)
	}
}

func TestIdentities_TenantsIsolated(t *testing.T) {
	x := NewIdentities()
	x.Observe("a", idUser(weft.UserAccount{UserSid: "S-1-5-21-7", UserPrincipalName: "bob@contoso.com"}))
	sid := x.Observe("b", idUser(weft.UserAccount{UserSid: "S-1-5-21-7"}))
	upn := x.Observe("b", idUser(weft.UserAccount{UserPrincipalName: "bob@contoso.com"}))
	if x.Canonical("b", sid) == x.Canonical("b", upn) {
		t.Errorf("idTenant b linked a SID and a UPN that only idTenant a saw together")
	}
	if _, ok := x.Resolve("c", ident(weft.IDUserSid, "S-1-5-21-7")); ok {
		t.Errorf("idTenant c resolves an identifier it never saw")
	}
	if got := x.Aliases("c", sid); got != nil {
		t.Errorf("Aliases in an unknown idTenant = %v, want nil", got)
	}
	if got, want := x.Len(), 4; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	if a, b := x.Stats("a"), x.Stats("b"); a.Identifiers != 2 || a.Identities != 1 || b.Identifiers != 2 || b.Identities != 2 {
		t.Errorf("Stats a = %+v, b = %+v; want 2 identifiers each, 1 and 2 identities", a, b)
	}
}

func TestIdentities_NoIdentifierIsNoIdentity(t *testing.T) {
	x := NewIdentities()
	if got := x.Observe(idTenant, &weft.Evidence{EntityType: weft.EntityFile, FileDetails: &weft.FileDetails{FileName: "a.exe"}}); got != 0 {
		t.Errorf("Observe = %d, want 0", got)
	}
	if got := x.AddAsset(idTenant, nil); got != 0 {
		t.Errorf("AddAsset(nil) = %d, want 0", got)
	}
	if x.Len() != 0 || x.Aliases(idTenant, 0) != nil || x.Aliases(idTenant, Ambiguous) != nil || x.Aliases(idTenant, 12345) != nil {
		t.Errorf("empty state answered something")
	}
}

// orderTestRecords returns a few hundred evidence records with no
// conflicting strong identifiers: realistic alerts, host-name-only identity
// alerts, mailboxes, and short names shared by two domains.
func orderTestRecords() []*weft.Evidence {
	var evs []*weft.Evidence
	for i := range 120 {
		a := storetest.NewAlert(i)
		for j := range a.Evidence {
			evs = append(evs, &a.Evidence[j])
		}
	}
	for d := range 40 {
		evs = append(evs, idDevice("", "", "", fmt.Sprintf("WS-%03d", d))) // identity alerts: short name only
		if d%4 == 0 {                                                      // the same short name in another domain
			evs = append(evs, idDevice(fmt.Sprintf("fab%03d", d), "", fmt.Sprintf("ws-%03d.fabrikam.com", d), ""))
		}
		if d%5 == 0 { // an Entra id for the contoso device, seen with its short name only: ambiguous until linked
			evs = append(evs, idDevice("", fmt.Sprintf("aad%03d", d), "", fmt.Sprintf("ws-%03d", d)))
		}
	}
	for u := range 30 {
		evs = append(evs, idMailbox(fmt.Sprintf("USER%03d@contoso.com", u)))
		evs = append(evs, idUser(weft.UserAccount{AccountName: fmt.Sprintf("user%03d", u), UserSid: fmt.Sprintf("S-1-5-21-1004336348-1177238915-682003330-%d", 1000+u)}))
	}
	return evs
}

// identityPartition maps every identifier to the sorted aliases of its identity, or
// to "ambiguous".
func identityPartition(x *Identities, evs []*weft.Evidence) map[string]string {
	p := make(map[string]string)
	for _, ev := range evs {
		for _, id := range ev.Identifiers() {
			r, ok := x.Resolve(idTenant, id)
			if !ok {
				p[id.String()] = "ambiguous"
				continue
			}
			var b strings.Builder
			for _, a := range x.Aliases(idTenant, r) {
				b.WriteString(a.String())
				b.WriteByte(' ')
			}
			p[id.String()] = b.String()
		}
	}
	return p
}

func TestIdentities_PartitionIndependentOfOrder(t *testing.T) {
	evs := orderTestRecords()
	x := NewIdentities()
	for _, ev := range evs {
		x.Observe(idTenant, ev)
	}
	if s := x.Stats(idTenant); s.RefusedUnions != 0 || s.AmbiguousWeak == 0 {
		t.Fatalf("Stats = %+v; the data must have no conflict and some ambiguous names", s)
	}
	want := identityPartition(x, evs)
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 20 {
		shuffled := slices.Clone(evs)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		y := NewIdentities()
		for _, ev := range shuffled {
			y.Observe(idTenant, ev)
		}
		got := identityPartition(y, evs)
		for k, w := range want {
			if got[k] != w {
				t.Fatalf("run %d: %s is in {%s}, want {%s}", run, k, got[k], w)
			}
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	const n = 10000
	var evs []*weft.Evidence
	for i := range n {
		a := storetest.NewAlert(i)
		for j := range a.Evidence {
			evs = append(evs, &a.Evidence[j])
		}
	}
	b.Run("Evidence", func(b *testing.B) {
		x := NewIdentities()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			x.Observe(weft.DefaultTenantID, evs[i%len(evs)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evidence/s")
	})
	// The same with identifiers computed beforehand: the cost of resolution
	// alone, without Evidence.Identifiers.
	b.Run("Identifiers", func(b *testing.B) {
		ids := make([][]weft.Identifier, len(evs))
		for i, ev := range evs {
			ids[i] = ev.Identifiers()
		}
		x := NewIdentities()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			x.AddAsset(weft.DefaultTenantID, ids[i%len(ids)])
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evidence/s")
	})
}

func TestIdentities_HubShortNameStaysBounded(t *testing.T) {
	x := NewIdentities()
	for i := range 3 * maxWeakCandidates {
		x.Observe(idTenant, idUser(weft.UserAccount{AccountName: "administrator", UserSid: fmt.Sprintf("S-1-5-21-%d-500", i)}))
	}
	admin := ident(weft.IDUserSam, "administrator")
	w, _ := x.tenants[idTenant].lookup(admin, admin.Hash())
	if got := len(x.tenants[idTenant].candidates(w)); got > maxWeakCandidates {
		t.Errorf("administrator keeps %d candidate identities, want at most %d", got, maxWeakCandidates)
	}
	if got, ok := x.Resolve(idTenant, ident(weft.IDUserSam, "administrator")); ok || got != Ambiguous {
		t.Errorf("Resolve(administrator) = %d, %v; want Ambiguous, false", got, ok)
	}
}

func TestIdentities_UnknownKindIsStrongAndRepeatable(t *testing.T) {
	x := NewIdentities()
	k := weft.IdentifierKind("future.kind")
	a := x.AddAsset(idTenant, []weft.Identifier{ident(k, "1"), ident(k, "2")})
	if got := x.Aliases(idTenant, a); len(got) != 2 {
		t.Errorf("Aliases = %v, want both values of the unknown kind", got)
	}
	if x.Stats(idTenant).RefusedUnions != 0 {
		t.Errorf("a union of an unknown kind was refused")
	}
}

func TestWeakKindIsRuleOfWeak(t *testing.T) {
	for k, r := range kindRules {
		if weakKind(k) != r.weak {
			t.Errorf("weakKind(%s) = %v, want %v", k, weakKind(k), r.weak)
		}
	}
	if weakKind("some.newKind") {
		t.Error("an unknown kind is weak")
	}
}

// TestHashCollision checks that identifiers whose hashes collide, in full
// or in the half a slot keeps, stay distinct identifiers: the index
// compares identifiers, and probes on past a slot whose bits match.
func TestHashCollision(t *testing.T) {
	ti := NewIdentities().tenant(idTenant)
	var n int
	a, b, c := ident(weft.IDIP, "203.0.113.1"), ident(weft.IDIP, "203.0.113.2"), ident(weft.IDIP, "203.0.113.3")
	h := a.Hash()
	hb := h         // b collides with a in full
	hc := h ^ 1<<40 // c only in the lower half, which places it
	ia, ib, ic := ti.node(a, h, &n), ti.node(b, hb, &n), ti.node(c, hc, &n)
	if ia == ib || ia == ic || ib == ic {
		t.Fatalf("colliding identifiers share nodes: %d %d %d", ia, ib, ic)
	}
	for _, q := range []struct {
		id   weft.Identifier
		h    uint64
		want uint32
	}{{a, h, ia}, {b, hb, ib}, {c, hc, ic}} {
		if got, ok := ti.lookup(q.id, q.h); !ok || got != q.want {
			t.Errorf("lookup(%v) = %d, %v; want %d", q.id, got, ok, q.want)
		}
	}
	if _, ok := ti.lookup(ident(weft.IDIP, "203.0.113.4"), h); ok {
		t.Error("an identifier never observed was found under a colliding hash")
	}
}

// TestIdentifierIndex holds the index to a map through its growth: every
// identifier observed is found again under its own node, and no other is.
func TestIdentifierIndex(t *testing.T) {
	x := NewIdentities()
	const count = 20_000
	want := map[weft.Identifier]IdentityID{}
	for i := range count {
		id := ident(weft.IDIP, fmt.Sprintf("198.51.%d.%d", i/256, i%256))
		want[id] = x.AddAsset(idTenant, []weft.Identifier{id})
	}
	ti := x.tenants[idTenant]
	if ti.index.n != count || ti.index.n*8 > len(ti.index.slots)*maxLoad {
		t.Fatalf("index holds %d in %d slots", ti.index.n, len(ti.index.slots))
	}
	for id, w := range want {
		if got, ok := x.Resolve(idTenant, id); !ok || got != w {
			t.Fatalf("Resolve(%v) = %d, %v; want %d", id, got, ok, w)
		}
	}
	for i := range 1000 {
		if _, ok := x.Resolve(idTenant, ident(weft.IDIP, fmt.Sprintf("192.0.%d.%d", i/256, i%256))); ok {
			t.Fatalf("192.0.%d.%d resolves, never observed", i/256, i%256)
		}
	}
}

// TestSameIdentifier holds sameIdentifier, which compares the strings'
// addresses before their bytes, to ==, for identifiers that share their
// strings' memory and identifiers whose equal strings lie apart.
func TestSameIdentifier(t *testing.T) {
	value := "jdoe@contoso.com"
	apart := strings.Clone(value)
	kind := weft.IdentifierKind(strings.Clone(string(weft.IDUserUPN)))
	ids := []weft.Identifier{
		{Kind: weft.IDUserUPN, Value: value},
		{Kind: weft.IDUserUPN, Value: apart},
		{Kind: kind, Value: value},
		{Kind: weft.IDUserEmail, Value: value},
		{Kind: weft.IDUserUPN, Value: "jdoe@contoso.org"},
		{Kind: weft.IDUserUPN, Value: value[:4]},
		{Kind: weft.IDUserUPN, Value: ""},
		{},
	}
	for _, a := range ids {
		for _, b := range ids {
			if got, want := sameIdentifier(&a, &b), a == b; got != want {
				t.Errorf("sameIdentifier(%v, %v) = %v, want %v", a, b, got, want)
			}
		}
	}
}

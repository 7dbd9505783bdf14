// Package correlate is weft's correlation engine: it resolves the names an
// entity goes by into one identity per tenant and groups alerts that share
// identities into incidents. It does no I/O; its state is a cache that can be
// rebuilt from the store.
package correlate

// Entity identity resolution (design.md §3 "Entity identity").
//
// The same device, user or message reaches weft under many names: an EDR
// device id, an FQDN, a short host name; a SID, a UPN, DOMAIN\sam, an Entra
// object id, mail addresses. Identities turns those identifiers
// (weft.Evidence.Identifiers) into identities with a union-find over
// identifiers, one forest per tenant. The rules, each pinned by a test in
// identity_test.go:
//
//  1. Co-occurrence. Identifiers that appear together in one evidence record,
//     or in one asset-inventory entry (AddAsset), are one identity, and so are
//     identifiers linked through a chain of such records — subject to rules
//     2 to 5. Tenants never share anything: every structure is per tenant.
//
//  2. Weak names. device.hostname and user.sam are weak: a short name means
//     different machines or people in different domains. A weak identifier
//     never causes a union. It is attached instead, and its attachment is
//     computed from the current partition whenever it is resolved:
//     - seen with no strong identifier yet: it is its own (weak-only)
//     identity, so two host-name-only alerts still share an identity;
//     - seen with strong identifiers of exactly one identity: it resolves to
//     that identity (an identity alert naming only "ws-01" joins the EDR
//     device ws-01.contoso.com);
//     - seen with two or more identities that stay distinct: it is ambiguous;
//     Resolve reports it as not found and Observe returns Ambiguous for a
//     record that names nothing else. If those identities later merge (by
//     strong evidence), the name resolves to the merged identity again.
//     A weak name keeps at most maxWeakCandidates candidate identities;
//     past that it stays ambiguous (it is a hub name such as
//     "administrator" anyway).
//
//  3. One per identity. A device has one MDE id, one Entra device id and one
//     FQDN; a user one Entra object id, one SID and one UPN; a message one
//     network message id and one internet message id; a file one hash of each
//     kind; the single-identifier entities (process, IP, URL, domain,
//     registry key/value, app, group, cloud resource, mail cluster) one
//     identifier. A union that would give an identity two different values of
//     such a kind is refused and counted (Stats.RefusedUnions); the record
//     then refers to the identity of its most preferred identifier (the first
//     of Evidence.Identifiers), and its other identifiers keep their own
//     identities. user.email and user.domainSam may repeat: a mailbox has
//     proxy addresses, and the domain of DOMAIN\sam comes as NetBIOS
//     ("contoso\jdoe") from one source and DNS ("contoso.com\jdoe") from
//     another. A renamed user (new UPN, same SID) is therefore a refused
//     union, not a merge: safe, visible in the counter, and an asset import
//     cannot override it either.
//
//  4. Entity classes. Identifiers of different entity classes (device, user
//     and mailbox, message, file, …) are never one identity; only an asset
//     entry can try, and that union is refused and counted.
//
//  5. UPN = mail address. user.upn:v and user.email:v are linked whenever both
//     exist, not only when one record carries both, because most
//     organisations set the UPN to the primary SMTP address. The link obeys
//     rule 3.
//
//  6. Determinism (design.md §4.9). When no union is refused, the partition is
//     the connected components of the co-occurrence graph plus rule 5 links,
//     and weak attachments are derived from it, so the final partition does
//     not depend on observation order. When a union is refused, which
//     identity a contested identifier ends up in depends on which record came
//     first; that is the documented exception, visible in RefusedUnions.
//
//  7. Handles. An IdentityID names a node of its tenant's forest. After later
//     unions several IdentityIDs may denote one identity: compare them only
//     after Canonical, or resolve an identifier again.
//
//  8. Memory. One node per distinct identifier per tenant, never freed:
//     about 90 bytes plus the value's bytes — a 64-byte node, its 8-byte
//     index slot at a load of 3/8 to 3/4, and the weak names' candidate
//     lists (92 B measured over BenchmarkPlace's 77,861 identifiers; up to
//     about 1.6 times that just after the node slice and index grow).
//     Growth is linear in the distinct identifiers observed; Len and Stats
//     report it. Forgetting identifiers that left every correlation window
//     is the engine's job: it rebuilds a tenant's Identities from the
//     alerts still in its windows (the state is a cache of the store).

import (
	"cmp"
	"math"
	"slices"
	"unsafe"

	"github.com/weftxdr/weft"
)

// IdentityID names one identity within its tenant. The zero value means "no
// identity" (a record without identifiers, an unknown identifier).
type IdentityID uint32

// Ambiguous is returned for a record whose only identifiers are weak names
// that have been seen with several distinct identities (rule 2). It links to
// nothing.
const Ambiguous IdentityID = math.MaxUint32

// maxWeakCandidates bounds the identities one weak name remembers.
const maxWeakCandidates = 16

// entityClass groups identifier kinds that can name one identity.
type entityClass uint8

const (
	classOther entityClass = iota
	classDevice
	classUser
	classMessage
	classMailCluster
	classIP
	classURL
	classDomain
	classFile
	classProcess
	classRegistryKey
	classRegistryValue
	classApp
	classSecurityGroup
	classCloudResource
	classGeneric
)

// kindRule is what the resolution rules need to know about a kind.
type kindRule struct {
	class entityClass
	one   uint32 // the kind's bit when an identity has at most one value of it (rule 3), else 0
	weak  bool   // rule 2
	rank  uint8  // order of preference, for Aliases
}

var kindRules = func() map[weft.IdentifierKind]kindRule {
	type k = weft.IdentifierKind
	rows := []struct {
		kind  k
		class entityClass
		one   bool
		weak  bool
	}{
		{weft.IDDeviceMde, classDevice, true, false},
		{weft.IDDeviceAad, classDevice, true, false},
		{weft.IDDeviceFQDN, classDevice, true, false},
		{weft.IDDeviceHost, classDevice, false, true},
		{weft.IDUserAad, classUser, true, false},
		{weft.IDUserSid, classUser, true, false},
		{weft.IDUserUPN, classUser, true, false},
		{weft.IDUserEmail, classUser, false, false},
		{weft.IDUserDomainSam, classUser, false, false},
		{weft.IDUserSam, classUser, false, true},
		{weft.IDMessageNetwork, classMessage, true, false},
		{weft.IDMessageInternet, classMessage, true, false},
		{weft.IDMailCluster, classMailCluster, true, false},
		{weft.IDIP, classIP, true, false},
		{weft.IDURL, classURL, true, false},
		{weft.IDDomain, classDomain, true, false},
		{weft.IDFileSha256, classFile, true, false},
		{weft.IDFileSha1, classFile, true, false},
		{weft.IDFileMd5, classFile, true, false},
		{weft.IDFilePath, classFile, true, false},
		{weft.IDProcess, classProcess, true, false},
		{weft.IDRegistryKey, classRegistryKey, true, false},
		{weft.IDRegistryValue, classRegistryValue, true, false},
		{weft.IDApp, classApp, true, false},
		{weft.IDSecurityGroup, classSecurityGroup, true, false},
		{weft.IDCloudResource, classCloudResource, true, false},
		{weft.IDGeneric, classGeneric, true, false},
	}
	m := make(map[weft.IdentifierKind]kindRule, len(rows))
	bit := uint32(1)
	for i, r := range rows {
		kr := kindRule{class: r.class, weak: r.weak, rank: uint8(i)}
		if r.one {
			kr.one = bit
			bit <<= 1
		}
		m[r.kind] = kr
	}
	if bit == 0 {
		panic("correlate: more one-per-identity kinds than bits")
	}
	return m
}()

// ruleOf returns the rule of kind k. A kind this package does not know (a
// newer domain package) is strong, may repeat, and joins only its own class.
func ruleOf(k weft.IdentifierKind) kindRule {
	if r, ok := kindRules[k]; ok {
		return r
	}
	return kindRule{class: classOther, rank: math.MaxUint8}
}

// weakKind is ruleOf(k).weak, without the map lookup.
func weakKind(k weft.IdentifierKind) bool {
	return k == weft.IDDeviceHost || k == weft.IDUserSam
}

// Identities resolves identifiers into identities, separately per tenant. The
// zero value is not usable; call NewIdentities. It is not safe for concurrent
// use: the engine gives each tenant's state one owner (design.md §11).
type Identities struct {
	tenants map[string]*tenantIdentities
	n       int // identifiers over all tenants

	// OnMerge, if set, is called when identity from stops being canonical
	// because it became part of identity to: a union of two strong
	// identities, or a weak-only name that now resolves to a strong
	// identity. Whoever keys state by IdentityID moves it from from to to.
	OnMerge func(tenantID string, from, to IdentityID)
}

// NewIdentities returns an empty Identities.
func NewIdentities() *Identities {
	return &Identities{tenants: make(map[string]*tenantIdentities)}
}

// Stats counts one tenant's identity state.
type Stats struct {
	Identifiers   int    // distinct identifiers (nodes)
	Identities    int    // distinct identities, weak-only ones included, ambiguous names excluded
	AmbiguousWeak int    // weak names that resolve to no single identity
	RefusedUnions uint64 // unions refused by rules 3 and 4, counted each time one is attempted
}

// Len returns the number of distinct identifiers held over all tenants, the
// measure of the memory Identities uses.
func (x *Identities) Len() int { return x.n }

// Stats returns the counts of tenantID's state. It walks the tenant's weak
// names, so it costs O(weak names); it is meant for metrics, not hot paths.
func (x *Identities) Stats(tenantID string) Stats {
	t := x.tenants[tenantID]
	if t == nil {
		return Stats{}
	}
	s := Stats{Identifiers: len(t.nodes), Identities: t.roots, RefusedUnions: t.refused}
	for i := range t.nodes {
		if !t.nodes[i].weak {
			continue
		}
		switch r := t.resolveWeak(uint32(i)); {
		case r == uint32(i):
			s.Identities++
		case r == noNode:
			s.AmbiguousWeak++
		}
	}
	return s
}

// Observe adds the identifiers of ev to tenantID's state, unites those that
// the rules allow, and returns the identity ev refers to: that of its most
// preferred strong identifier, or for a record with only weak names the
// identity its first weak name resolves to (Ambiguous when there is none).
// Evidence without identifiers returns 0 and changes nothing.
func (x *Identities) Observe(tenantID string, ev *weft.Evidence) IdentityID {
	ids := ev.Identifiers()
	if len(ids) == 0 {
		return 0
	}
	return x.tenant(tenantID).observe(ids, ev.IdentifierHashes(), nil, &x.n, nil)
}

// AddAsset records that aliases, taken from an asset inventory, name one
// thing, with the same rules as one evidence record; it returns the resulting
// identity. The aliases must be normalized as Evidence.Identifiers normalizes
// them, or they will not meet the identifiers evidence produces.
func (x *Identities) AddAsset(tenantID string, aliases []weft.Identifier) IdentityID {
	if len(aliases) == 0 {
		return 0
	}
	hs := make([]uint64, len(aliases))
	for i, a := range aliases {
		hs[i] = a.Hash()
	}
	return x.tenant(tenantID).observe(aliases, hs, nil, &x.n, nil)
}

// Resolve returns the identity that id names in tenantID. It returns false
// for an identifier never observed, and (Ambiguous, false) for a weak name
// seen with several distinct identities.
func (x *Identities) Resolve(tenantID string, id weft.Identifier) (IdentityID, bool) {
	t := x.tenants[tenantID]
	if t == nil {
		return 0, false
	}
	i, ok := t.lookup(id, id.Hash())
	if !ok {
		return 0, false
	}
	r := t.canonical(i)
	if r == noNode {
		return Ambiguous, false
	}
	return IdentityID(r + 1), true
}

// Canonical returns the current representative of identity id in tenantID:
// two IdentityIDs denote one identity exactly when their canonical forms are
// equal. It returns 0 for an id the tenant never issued, and Ambiguous for
// Ambiguous and for a weak-only identity whose name has since become
// ambiguous.
func (x *Identities) Canonical(tenantID string, id IdentityID) IdentityID {
	t := x.tenants[tenantID]
	if t == nil || id == 0 {
		return 0
	}
	if id == Ambiguous {
		return Ambiguous
	}
	if int(id) > len(t.nodes) {
		return 0
	}
	r := t.canonical(uint32(id - 1))
	if r == noNode {
		return Ambiguous
	}
	return IdentityID(r + 1)
}

// Aliases returns the identifiers of identity id in tenantID, most preferred
// kind first and sorted by value within a kind: its strong identifiers and
// the weak names that resolve to it. It returns nil for 0, Ambiguous and ids
// the tenant never issued.
func (x *Identities) Aliases(tenantID string, id IdentityID) []weft.Identifier {
	c := x.Canonical(tenantID, id)
	if c == 0 || c == Ambiguous {
		return nil
	}
	t := x.tenants[tenantID]
	r := uint32(c - 1)
	var out []weft.Identifier
	if t.nodes[r].weak { // a weak-only identity
		return []weft.Identifier{t.nodes[r].id}
	}
	for i := r; ; {
		out = append(out, t.nodes[i].id)
		if i = t.nodes[i].next; i == r {
			break
		}
	}
	for _, w := range t.weakOf[r] {
		if t.resolveWeak(w) == r {
			out = append(out, t.nodes[w].id)
		}
	}
	slices.SortFunc(out, func(a, b weft.Identifier) int {
		return cmp.Or(cmp.Compare(ruleOf(a.Kind).rank, ruleOf(b.Kind).rank), cmp.Compare(a.Value, b.Value))
	})
	return slices.CompactFunc(out, func(a, b weft.Identifier) bool { return a == b })
}

func (x *Identities) tenant(tenantID string) *tenantIdentities {
	t := x.tenants[tenantID]
	if t == nil {
		t = &tenantIdentities{weakOf: make(map[uint32][]uint32), cands: make(map[uint32][]uint32)}
		if x.OnMerge != nil {
			hook := x.OnMerge
			t.merged = func(from, to uint32) { hook(tenantID, IdentityID(from+1), IdentityID(to+1)) }
		}
		x.tenants[tenantID] = t
	}
	return t
}

// canonicalID is Identities.Canonical within the tenant.
func (t *tenantIdentities) canonicalID(id IdentityID) IdentityID {
	if id == 0 {
		return 0
	}
	if id == Ambiguous {
		return Ambiguous
	}
	if int(id) > len(t.nodes) {
		return 0
	}
	r := t.canonical(uint32(id - 1))
	if r == noNode {
		return Ambiguous
	}
	return IdentityID(r + 1)
}

// noNode marks "no node": an ambiguous weak name, a missing link.
const noNode = math.MaxUint32

// node is one identifier. Strong nodes form the union-find forest; weak nodes
// are never united and keep the identities they were seen with instead.
type node struct {
	id     weft.Identifier
	parent uint32 // strong: parent in the forest, itself for a root; weak: itself
	next   uint32 // strong: next member of the identity's circular member list
	size   uint32 // root: number of strong members
	one    uint32 // root: bits of the one-per-identity kinds present (rule 3); else the node's own kind bit
	// cand is a weak node's candidate, when it has exactly one and not
	// many; a weak node with more has them all in
	// tenantIdentities.cands (candidates).
	cand  [1]uint32
	ncand uint8
	many  bool
	class entityClass
	weak  bool
	// xmatch caches whether the identifier matches the exclusions of one
	// entity type of one policy, the typeExclusions numbered xserial (0:
	// nothing cached); exclusions.excluded fills it.
	xmatch  bool
	private bool // an IP identifier whose address is private, loopback, link-local or unspecified (privateIP)
	xserial uint32
}

// A node is 64 bytes on 64-bit platforms, one cache line: resolving an
// identifier reads its identifier and its parent, and a large node slice
// starts on a page. (Its four string words make it 48 bytes on 32-bit ones.)
const _ = -uint(unsafe.Sizeof(node{}) ^ (32 + 4*unsafe.Sizeof(uintptr(0)))) // a compile error when it is not

// candidates returns the strong nodes of the distinct identities weak node
// w was seen with. The slice may alias the node: do not keep it across an
// addition of nodes.
func (t *tenantIdentities) candidates(w uint32) []uint32 {
	n := &t.nodes[w]
	if n.many {
		return t.cands[w]
	}
	return n.cand[:n.ncand]
}

// tenantIdentities is one tenant's forest.
type tenantIdentities struct {
	nodes []node
	// index finds a node by its identifier's Hash.
	index   idTable
	weakOf  map[uint32][]uint32 // root → weak nodes that have it (or a merged-in root) as candidate
	cands   map[uint32][]uint32 // weak node → its candidates, when it has had more than one (candidates)
	roots   int                 // strong identities
	refused uint64
	merged  func(from, to uint32) // Identities.OnMerge for this tenant, or nil
}

// observe applies one record's identifiers (rule 1) and returns the identity
// the record refers to. known, when not nil, has len(ids) elements: the node
// of ids[k] plus one when the caller already found it, else 0. n counts new
// nodes across tenants. When nodes is not nil it must have len(ids)
// elements, and observe sets nodes[k] to the node of ids[k].
func (t *tenantIdentities) observe(ids []weft.Identifier, hs []uint64, known []uint32, n *int, nodes []uint32) IdentityID {
	first := uint32(noNode) // first strong node
	for k, id := range ids {
		if weakKind(id.Kind) {
			continue
		}
		i := t.nodeOf(known, k, id, hs[k], n)
		if nodes != nil {
			nodes[k] = i
		}
		if first == noNode {
			first = i
			continue
		}
		t.union(t.find(first), t.find(i))
	}
	if first != noNode {
		r := t.find(first)
		for k, id := range ids {
			if weakKind(id.Kind) {
				i := t.nodeOf(known, k, id, hs[k], n)
				if nodes != nil {
					nodes[k] = i
				}
				t.attach(i, r)
			}
		}
		return IdentityID(r + 1)
	}
	// Only weak names: none of them is linked to another (rule 2).
	w := uint32(noNode)
	for k, id := range ids {
		i := t.nodeOf(known, k, id, hs[k], n)
		if nodes != nil {
			nodes[k] = i
		}
		if w == noNode {
			w = i
		}
	}
	if r := t.resolveWeak(w); r != noNode {
		return IdentityID(r + 1)
	}
	return Ambiguous
}

// nodeOf returns the node of ids[k], id, whose Hash is h: known[k] minus one
// when the caller found it (observe), else node's.
func (t *tenantIdentities) nodeOf(known []uint32, k int, id weft.Identifier, h uint64, n *int) uint32 {
	if known != nil && known[k] != 0 {
		return known[k] - 1
	}
	return t.node(id, h, n)
}

// lookup returns the node of id, whose Hash is h.
func (t *tenantIdentities) lookup(id weft.Identifier, h uint64) (uint32, bool) {
	x := &t.index
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	tag := h >> 32
	for k := h & mask; ; k = (k + 1) & mask {
		s := x.slots[k]
		if s == 0 {
			return 0, false
		}
		if s>>32 == tag {
			if i := uint32(s) - 1; sameIdentifier(&t.nodes[i].id, &id) {
				return i, true
			}
		}
	}
}

// sameIdentifier reports whether a and b are equal. A node's identifier and
// the one looked up most often share their kind's string (the kinds are
// constants) and often their value's (a decoder that reuses repeated
// strings, an alert seen again): comparing the pointers first saves a call
// to compare bytes that are the same memory.
func sameIdentifier(a, b *weft.Identifier) bool {
	return len(a.Kind) == len(b.Kind) && len(a.Value) == len(b.Value) &&
		(unsafe.StringData(string(a.Kind)) == unsafe.StringData(string(b.Kind)) || a.Kind == b.Kind) &&
		(unsafe.StringData(a.Value) == unsafe.StringData(b.Value) || a.Value == b.Value)
}

// idTable is the index of a tenant's identifiers: an open-addressing hash
// table with linear probing, keyed by the identifier's Hash. A slot holds
// the upper 32 bits of the hash and the node number plus one (0: empty);
// a slot whose bits match is verified against the node's identifier, so
// that two identifiers whose hashes collide, in part or in full, stay two
// (TestHashCollision). It holds one 8-byte slot per identifier at a load
// of at most maxLoad, no pointers, and never shrinks: nodes are never freed.
type idTable struct {
	slots []uint64
	n     int
}

// maxLoad is the idTable's largest load, in eighths.
const maxLoad = 6

// insert adds node i, whose identifier's Hash is h and is not in the index.
func (t *tenantIdentities) insert(h uint64, i uint32) {
	x := &t.index
	if (x.n+1)*8 > len(x.slots)*maxLoad {
		// Double the table. A slot keeps only the upper half of the hash,
		// so the lower half, which places it, is computed again: growing
		// costs about one Hash per identifier held, once per doubling.
		old := x.slots
		x.slots = make([]uint64, max(64, 2*len(old)))
		for _, v := range old {
			if v != 0 {
				x.put(v, t.nodes[uint32(v)-1].id.Hash())
			}
		}
	}
	x.put(h>>32<<32|uint64(i+1), h)
	x.n++
}

// put stores slot value v in the first free slot from h's place.
func (x *idTable) put(v, h uint64) {
	mask := uint64(len(x.slots) - 1)
	k := h & mask
	for x.slots[k] != 0 {
		k = (k + 1) & mask
	}
	x.slots[k] = v
}

// node returns the node of id (whose Hash is h), creating it, and for a new
// UPN or mail address linking it to the equal address of the other kind
// (rule 5).
func (t *tenantIdentities) node(id weft.Identifier, h uint64, n *int) uint32 {
	if i, ok := t.lookup(id, h); ok {
		return i
	}
	r := ruleOf(id.Kind)
	i := uint32(len(t.nodes))
	t.nodes = append(t.nodes, node{id: id, parent: i, next: i, size: 1, one: r.one, class: r.class, weak: r.weak,
		private: id.Kind == weft.IDIP && privateIP(id.Value)})
	t.insert(h, i)
	*n++
	if !r.weak {
		t.roots++
	}
	var twin weft.IdentifierKind
	switch id.Kind {
	case weft.IDUserUPN:
		twin = weft.IDUserEmail
	case weft.IDUserEmail:
		twin = weft.IDUserUPN
	}
	if twin != "" {
		tw := weft.Identifier{Kind: twin, Value: id.Value}
		if j, ok := t.lookup(tw, tw.Hash()); ok {
			t.union(t.find(j), i)
		}
	}
	return i
}

// find returns the root of strong node i, halving the path on the way (a
// one-pass form of path compression).
func (t *tenantIdentities) find(i uint32) uint32 {
	for {
		p := t.nodes[i].parent
		if p == i {
			return i
		}
		gp := t.nodes[p].parent
		t.nodes[i].parent = gp
		i = gp
	}
}

// union unites the identities of roots a and b unless rules 3 or 4 forbid it,
// in which case it counts the refusal. It returns the root of the result, or
// a when refused.
func (t *tenantIdentities) union(a, b uint32) uint32 {
	if a == b {
		return a
	}
	na, nb := &t.nodes[a], &t.nodes[b]
	if na.class != nb.class || na.one&nb.one != 0 {
		t.refused++
		return a
	}
	if na.size < nb.size || (na.size == nb.size && b < a) { // by size; ties to the older node, for stable handles
		a, b = b, a
		na, nb = nb, na
	}
	nb.parent = a
	if t.merged != nil {
		t.merged(b, a)
	}
	na.size += nb.size
	na.one |= nb.one
	na.next, nb.next = nb.next, na.next // splice the member lists
	t.roots--
	if ws, ok := t.weakOf[b]; ok {
		t.weakOf[a] = append(t.weakOf[a], ws...)
		delete(t.weakOf, b)
	}
	return a
}

// attach records that weak node w was seen with the identity of root r.
func (t *tenantIdentities) attach(w, r uint32) {
	cands := t.candidates(w)
	for _, c := range cands {
		if t.find(c) == r {
			return
		}
	}
	if len(cands) >= maxWeakCandidates {
		cands = t.compact(cands)
		if len(cands) >= maxWeakCandidates {
			t.cands[w] = cands
			return // a hub name: ambiguous for good
		}
	}
	switch n := &t.nodes[w]; {
	case n.many:
		t.cands[w] = append(cands, r)
	case len(cands) == 0:
		n.cand[0], n.ncand = r, 1
	default:
		t.cands[w] = []uint32{n.cand[0], r}
		n.many = true
	}
	t.weakOf[r] = append(t.weakOf[r], w)
	if len(cands) == 0 && t.merged != nil { // a weak-only identity joins r
		t.merged(w, r)
	}
}

// compact drops candidates whose identities have merged into an earlier one.
func (t *tenantIdentities) compact(cands []uint32) []uint32 {
	out := cands[:0]
	for _, c := range cands {
		r := t.find(c)
		dup := false
		for _, o := range out {
			if t.find(o) == r {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

// resolveWeak applies rule 2 to weak node w: it returns w itself when it has
// no candidate, the root of its single distinct candidate identity, or noNode
// when it has several.
func (t *tenantIdentities) resolveWeak(w uint32) uint32 {
	cands := t.candidates(w)
	if len(cands) == 0 {
		return w
	}
	r := t.find(cands[0])
	for _, c := range cands[1:] {
		if t.find(c) != r {
			return noNode
		}
	}
	return r
}

// canonical returns the representative of node i: its root, or for a weak
// node what rule 2 resolves it to.
func (t *tenantIdentities) canonical(i uint32) uint32 {
	if t.nodes[i].weak {
		return t.resolveWeak(i)
	}
	return t.find(i)
}

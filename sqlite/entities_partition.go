package sqlite

import (
	"cmp"
	"slices"
	"strings"

	"github.com/weftxdr/weft"
)

// The partition: a union-find over the strong identifiers found, built as
// correlate's identity resolution builds it (correlate/identity.go, rules
// 1, 3, 4 and 5) from the assets found, then the rows found in the order
// they were first stored, each row standing for the records keyed by it.

// singleBits returns the bit of kind k if an identity has at most one
// identifier of that kind (rule 3: every strong kind but user.email and
// user.domainSam, which repeat), else 0.
func singleBits(k weft.IdentifierKind) uint64 {
	if k == weft.IDUserEmail || k == weft.IDUserDomainSam || weft.WeakIdentifier(k) {
		return 0
	}
	if rank := weft.IdentifierRank(k); rank < 64 {
		if _, ok := weft.ParseIdentifier(string(k) + ":x"); ok {
			return 1 << rank
		}
	}
	return 0
}

// partition rebuilds the union-find from what was found.
func (r *resolver) partition() {
	r.parent = map[weft.Identifier]weft.Identifier{}
	r.single = map[weft.Identifier]uint64{}
	for _, a := range r.sortedAssets() { // the engine adds assets first
		r.unite(r.strongOf(a.Identifiers))
	}
	for _, row := range r.sortedRows() {
		x, ok := weft.ParseIdentifier(row.key)
		if !ok || weft.WeakIdentifier(x.Kind) {
			continue
		}
		r.unite(append([]weft.Identifier{x}, r.strongOf(row.ids)...))
	}
	// Rule 5: a UPN and the mail address of the same value.
	var twins []weft.Identifier
	for x := range r.parent {
		if x.Kind == weft.IDUserUPN {
			twins = append(twins, x)
		}
	}
	slices.SortFunc(twins, func(a, b weft.Identifier) int { return strings.Compare(a.Value, b.Value) })
	for _, x := range twins {
		if mail := (weft.Identifier{Kind: weft.IDUserEmail, Value: x.Value}); r.has(mail) {
			r.union(x, mail)
		}
	}
}

// strongOf returns the strong identifiers of ids of the request's class.
func (r *resolver) strongOf(ids []weft.Identifier) []weft.Identifier {
	var out []weft.Identifier
	for _, x := range ids {
		if !weft.WeakIdentifier(x.Kind) && kindOfClass(x.Kind, r.typ) {
			out = append(out, x)
		}
	}
	return out
}

func (r *resolver) has(x weft.Identifier) bool { _, ok := r.parent[x]; return ok }

// unite applies one record (or asset) of identifiers: the first united
// with each of the others, as far as rule 3 allows.
func (r *resolver) unite(ids []weft.Identifier) {
	for i, x := range ids {
		if !r.has(x) {
			r.parent[x], r.single[x] = x, singleBits(x.Kind)
		}
		if i > 0 {
			r.union(ids[0], x)
		}
	}
}

// union unites the identities of a and b unless that would give the result
// two identifiers of a single-valued kind (rule 3).
func (r *resolver) union(a, b weft.Identifier) {
	ra, rb := r.find(a), r.find(b)
	if ra == rb || r.single[ra]&r.single[rb] != 0 {
		return
	}
	r.parent[rb] = ra
	r.single[ra] |= r.single[rb]
}

// find returns the root of x's identity.
func (r *resolver) find(x weft.Identifier) weft.Identifier {
	p, ok := r.parent[x]
	if !ok || p == x {
		return x
	}
	root := r.find(p)
	r.parent[x] = root
	return root
}

// sortedRoots returns the keys of m in a fixed order.
func sortedRoots(m map[weft.Identifier]bool) []weft.Identifier {
	out := make([]weft.Identifier, 0, len(m))
	for x := range m {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b weft.Identifier) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// rootKeys returns the canonical key of each identity.
func (r *resolver) rootKeys(roots []weft.Identifier) []string {
	keys := make([]string, len(roots))
	for i, root := range roots {
		keys[i] = canonicalKey(r.members(root))
	}
	return keys
}

// members returns the strong identifiers of the identity of root.
func (r *resolver) members(root weft.Identifier) []weft.Identifier {
	var out []weft.Identifier
	for x := range r.parent {
		if r.find(x) == root {
			out = append(out, x)
		}
	}
	return out
}

// canonicalKey is the most preferred of ids, as a key.
func canonicalKey(ids []weft.Identifier) string {
	if len(ids) == 0 {
		return ""
	}
	best := slices.MinFunc(ids, func(a, b weft.Identifier) int {
		return cmp.Or(cmp.Compare(weft.IdentifierRank(a.Kind), weft.IdentifierRank(b.Kind)), strings.Compare(a.Value, b.Value))
	})
	return best.String()
}

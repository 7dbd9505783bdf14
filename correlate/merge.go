package correlate

// Incidents: creation, redirects after merges, the merge blockers and the
// merge itself.

import (
	"github.com/weftxdr/weft"
)

// create adds incident id, open and empty, and returns its state.
func (t *tenantState) create(id int64) *incidentState {
	var inc *incidentState
	if n := len(t.free); n > 0 {
		inc, t.free = t.free[n-1], t.free[:n-1]
	} else {
		if len(t.slab) == 0 {
			t.slab = make([]incidentState, 256)
		}
		inc, t.slab = &t.slab[0], t.slab[1:]
	}
	*inc = incidentState{id: id, status: weft.IncidentStatusActive,
		classification: weft.ClassificationUnknown, determination: weft.DeterminationUnknown}
	t.incidents.put(id, inc)
	return inc
}

// resolve follows merges to the incident that holds an alert now.
func (t *tenantState) resolve(id int64) int64 {
	root := id
	for {
		n, ok := t.redirect[root]
		if !ok {
			break
		}
		root = n
	}
	for id != root { // path compression
		n := t.redirect[id]
		t.redirect[id] = root
		id = n
	}
	return root
}

// blocked reports whether incidents a and b must not merge (design §4.4).
func (t *tenantState) blocked(a, b int64, maxAlerts int) bool {
	x, y := t.incidents.get(a), t.incidents.get(b)
	if x == nil || y == nil {
		return true
	}
	switch {
	case x.status == weft.IncidentStatusResolved || y.status == weft.IncidentStatusResolved:
		return true
	case x.assignedTo != "" && y.assignedTo != "" && x.assignedTo != y.assignedTo:
		return true
	case known(x.classification) && known(y.classification) && x.classification != y.classification:
		return true
	case x.determination != weft.DeterminationUnknown && x.determination != "" &&
		y.determination != weft.DeterminationUnknown && y.determination != "" && x.determination != y.determination:
		return true
	case t.isApart(x, b) || t.isApart(y, a):
		return true
	case x.size+y.size > maxAlerts:
		return true
	}
	return false
}

func known(c weft.Classification) bool { return c != "" && c != weft.ClassificationUnknown }

// merge merges two incidents into the older (lower id) one and returns the
// one kept and the one redirected.
func (t *tenantState) merge(a, b int64) (kept, gone int64) {
	kept, gone = min(a, b), max(a, b)
	k, g := t.incidents.get(kept), t.incidents.get(gone)
	// Only the size moves: the kept incident keeps its own assignee,
	// classification and determination, as the store does (a merge happens
	// only when they agree or one side has none).
	k.size += g.size
	for x := range g.apart {
		if k.apart == nil {
			k.apart = map[int64]bool{}
		}
		k.apart[x] = true
	}
	if n, ok := t.next[gone]; ok {
		if _, has := t.next[kept]; !has {
			t.next[kept] = n
		}
		delete(t.next, gone)
	}
	t.incidents.delete(gone)
	t.redirect[gone] = kept
	return kept, gone
}

package correlate

import "github.com/weftxdr/weft"

// Analysts win (design §4.7): incidents an analyst split, or moved an alert
// between, are never merged again by the engine, and an alert an analyst
// moved links to the incident it was moved to from then on.
//
// The engine never moves a single alert on its own: it only merges whole
// incidents, and a merge of two incidents an analyst kept apart is blocked
// like a merge of two differently assigned ones (the alert joins the best
// candidate and the other becomes related). The store records what the
// analyst did (weft.IncidentRestructurer), tells the engine after the
// commit through weft.Restructurer (MoveAlert, KeepApart, MergeIncidents),
// and hands the separations back at start-up through IncidentState.Apart.

var _ weft.Restructurer = (*Engine)(nil)

// KeepApart records that an analyst separated incidents a and b (split one
// from the other, or undid a merge): the engine never merges them, nor the
// incidents they are merged into later.
func (e *Engine) KeepApart(tenantID string, a, b int64) {
	t := e.tenant(tenantID)
	t.keepApart(a, b)
}

// MoveAlert records that an analyst moved an alert from incident from to
// incident to: alerts that share its entities from now on link to to, the
// two incidents are kept apart, and their sizes follow. It is a no-op for
// an alert the engine no longer remembers (outside the windows) beyond
// keeping the incidents apart.
func (e *Engine) MoveAlert(tenantID, alertID string, from, to int64) {
	t := e.tenant(tenantID)
	from, to = t.resolve(from), t.resolve(to)
	if from == to {
		return
	}
	if t.incidents.get(to) == nil {
		t.create(to)
	}
	moved := false
	for _, id := range t.index.live {
		en := t.index.byID[id]
		for i := range en.sightings {
			if s := &en.sightings[i]; t.alerts.id(s.alert) == alertID {
				s.incident, moved = to, true
			}
		}
	}
	t.repeats.each(func(_ repeatKey, g *repeatGroup) {
		if g.alert == alertID { // the group's latest alert: its next repeats go where it went
			g.incident = to
		}
	})
	if moved {
		if f := t.incidents.get(from); f != nil && f.size > 0 {
			f.size--
		}
		t.incidents.get(to).size++
	}
	t.keepApart(from, to)
}

// MergeIncidents records that an analyst merged incidents from into
// incident into: alerts that linked to any of them link to into from then
// on, into's size is the sum of theirs, and it inherits the incidents they
// were kept apart from and the continuation of a full one. Unlike the
// engine's own merges (tenantState.merge), the analyst chooses into, which
// need not be the oldest. Incidents the engine does not know are taken as
// empty.
func (e *Engine) MergeIncidents(tenantID string, into int64, from []int64) {
	t := e.tenant(tenantID)
	into = t.resolve(into)
	if t.incidents.get(into) == nil {
		t.create(into)
	}
	k := t.incidents.get(into)
	for _, f := range from {
		f = t.resolve(f)
		if f == into {
			continue
		}
		g := t.incidents.get(f)
		if g == nil {
			t.create(f)
			g = t.incidents.get(f)
		}
		k.size += g.size
		for x := range g.apart {
			if t.resolve(x) == into {
				continue // kept apart from the incident it now is part of
			}
			if k.apart == nil {
				k.apart = map[int64]bool{}
			}
			k.apart[x] = true
		}
		if n, ok := t.next[f]; ok {
			if _, has := t.next[into]; !has {
				t.next[into] = n
			}
			delete(t.next, f)
		}
		t.incidents.delete(f)
		t.redirect[f] = into
	}
	for x := range k.apart {
		if t.resolve(x) == into {
			delete(k.apart, x)
		}
	}
}

// MaxIncidentAlerts returns the size cap of the tenant's policy.
func (e *Engine) MaxIncidentAlerts(tenantID string) int {
	return e.Policy(tenantID).MaxIncidentAlerts
}

func (t *tenantState) keepApart(a, b int64) {
	a, b = t.resolve(a), t.resolve(b)
	if a == b {
		return
	}
	for _, p := range [][2]int64{{a, b}, {b, a}} {
		inc := t.incidents.get(p[0])
		if inc == nil {
			t.create(p[0])
			inc = t.incidents.get(p[0])
		}
		if inc.apart == nil {
			inc.apart = map[int64]bool{}
		}
		inc.apart[p[1]] = true
	}
}

// isApart reports whether an analyst kept incident x apart from incident b
// (a root), following merges of the incidents x was kept apart from.
func (t *tenantState) isApart(x *incidentState, b int64) bool {
	for id := range x.apart {
		if id == b || t.resolve(id) == b {
			return true
		}
	}
	return false
}

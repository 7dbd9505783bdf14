package correlate

// Analysts win (design §4.7): incidents an analyst split, or moved an alert
// between, are never merged again by the engine, and an alert an analyst
// moved links to the incident it was moved to from then on.
//
// The engine never moves a single alert on its own: it only merges whole
// incidents, and a merge of two incidents an analyst kept apart is blocked
// like a merge of two differently assigned ones (the alert joins the best
// candidate and the other becomes related). The store is to record what
// the analyst did and hand it back at start-up through IncidentState.Apart;
// that, and the manage API that calls KeepApart and MoveAlert, are not
// built yet (issue 5).

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
	if t.incidents[to] == nil {
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
	for _, g := range t.repeats {
		if g.alert == alertID {
			g.incident = to
		}
	}
	if moved {
		if f := t.incidents[from]; f != nil && f.size > 0 {
			f.size--
		}
		t.incidents[to].size++
	}
	t.keepApart(from, to)
}

func (t *tenantState) keepApart(a, b int64) {
	a, b = t.resolve(a), t.resolve(b)
	if a == b {
		return
	}
	for _, p := range [][2]int64{{a, b}, {b, a}} {
		inc := t.incidents[p[0]]
		if inc == nil {
			t.create(p[0])
			inc = t.incidents[p[0]]
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

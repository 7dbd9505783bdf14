package sqlite

import (
	"cmp"
	"fmt"
	"slices"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// incidentAggregates are the columns of an incident that the store derives
// from its alerts (see refreshIncident): severity is the highest rank,
// first and last the activity range, and the lists hold distinct values in
// the order of the alerts' first activity (ties: alert id), an entity once
// by key with the type and name of its first occurrence.
type incidentAggregates struct {
	name                             string
	severity, first, last            int64
	count                            int
	categories, services, detections []string
	entities                         []weft.EntityRef
}

// add folds one more alert into g. Alerts must be added in the order of
// their first activity, then id, for the lists to come out in that order.
func (g *incidentAggregates) add(sev, first, last int64, category, service, detection string,
	entities []weft.EntityRef, seen map[string]bool) {
	if g.count == 0 || first < g.first {
		g.first = first
	}
	if g.count == 0 || last > g.last {
		g.last = last
	}
	g.count++
	g.severity = max(g.severity, sev)
	g.categories = appendDistinct(g.categories, category)
	g.services = appendDistinct(g.services, service)
	g.detections = appendDistinct(g.detections, detection)
	for _, r := range entities {
		if !seen[r.Key] {
			seen[r.Key] = true
			g.entities = append(g.entities, r)
		}
	}
}

// aggregatesOf computes the aggregates of an incident from all its alerts,
// ordered by first activity, then id (as describeIncident reads them). name
// and locked are the incident's stored name and whether an analyst set it:
// an incident of one alert whose name no analyst set is named after it.
func aggregatesOf(alerts []*weft.Alert, name string, locked bool) incidentAggregates {
	g := incidentAggregates{name: name}
	seen := map[string]bool{}
	for _, a := range alerts {
		g.add(int64(a.Severity.Rank()), nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime),
			a.Category, a.ServiceSource, a.DetectionSource, a.Entities(), seen)
	}
	if g.count == 1 && !locked {
		g.name = alerts[0].Title
	}
	return g
}

// writeAggregates stores g as the incident's aggregates, with a new version
// and last update time.
func (w *batchWriter) writeAggregates(tenantID string, id int64, g *incidentAggregates) error {
	var vals [4]any
	for i, l := range [...]struct {
		v any
		n int
	}{{g.categories, len(g.categories)}, {g.services, len(g.services)}, {g.detections, len(g.detections)}, {g.entities, len(g.entities)}} {
		if l.n == 0 {
			continue // stored as NULL
		}
		b, err := jsonv2.Marshal(l.v, jsonOpts)
		if err != nil {
			return fmt.Errorf("encode incident %d: %w", id, err)
		}
		vals[i] = string(b)
	}
	if _, err := w.stmts.updateIncident.ExecContext(bg, g.name, g.severity, g.first, g.last, g.count,
		vals[0], vals[1], vals[2], vals[3], w.now, id, tenantID); err != nil {
		return fmt.Errorf("update incident %d: %w", id, err)
	}
	return nil
}

// joinedAlert is an alert that a batch placed in an incident that existed
// before it (see batchWriter.joined).
type joinedAlert struct {
	e      *encodedAlert
	seq    int64
	stored *weft.Alert // the alert as it will be read back (storedForm), for the alert cache
}

// addJoined updates the aggregates of an incident that only gained alerts in
// this batch from its stored row and the joined alerts, without reading the
// incident's other alerts. The result is what refreshIncident would compute
// only when every joined alert comes after all the incident's other alerts in
// first-activity order (the lists keep the order of first occurrence, and an
// earlier alert could reorder them); addJoined checks that with one index
// range scan and reports false, having written nothing, when it does not
// hold.
func (w *batchWriter) addJoined(tenantID string, id int64, joined []joinedAlert) (bool, error) {
	slices.SortFunc(joined, func(x, y joinedAlert) int {
		return cmp.Or(cmp.Compare(nanos(x.e.a.FirstActivityDateTime), nanos(y.e.a.FirstActivityDateTime)),
			cmp.Compare(x.e.a.ID, y.e.a.ID))
	})
	head := joined[0].e.a
	rows, err := w.stmts.alertsAfter.QueryContext(bg, tenantID, id, nanos(head.FirstActivityDateTime), head.ID)
	if err != nil {
		return false, fmt.Errorf("read alerts of incident %d: %w", id, err)
	}
	defer rows.Close()
	// Every alert after the first joined one must be a joined one.
	n := 0
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return false, fmt.Errorf("read alerts of incident %d: %w", id, err)
		}
		if n++; n > len(joined) || !slices.ContainsFunc(joined, func(j joinedAlert) bool { return j.seq == seq }) {
			return false, nil
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read alerts of incident %d: %w", id, err)
	}
	rows.Close()

	var (
		g                                            incidentAggregates
		categories, services, detections, entitiesJS []byte
	)
	if err := w.stmts.incidentAggregates.QueryRowContext(bg, id, tenantID).Scan(&g.name, &g.severity, &g.first,
		&g.last, &g.count, &categories, &services, &detections, &entitiesJS); err != nil {
		return false, fmt.Errorf("read incident %d: %w", id, err)
	}
	for _, c := range []struct {
		js  []byte
		dst any
	}{{categories, &g.categories}, {services, &g.services}, {detections, &g.detections}, {entitiesJS, &g.entities}} {
		if err := unmarshalNonEmpty(c.js, c.dst); err != nil {
			return false, fmt.Errorf("read incident %d: %w", id, err)
		}
	}
	if g.count == 0 {
		return false, nil // not possible for a stored incident; refresh it in full
	}
	seen := make(map[string]bool, len(g.entities))
	for _, r := range g.entities {
		seen[r.Key] = true
	}
	for _, j := range joined {
		a := j.e.a
		refs := make([]weft.EntityRef, len(j.e.entities))
		for i := range j.e.entities {
			refs[i] = j.e.entities[i].EntityRef
		}
		g.add(j.e.severity, nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime),
			a.Category, a.ServiceSource, a.DetectionSource, refs, seen)
	}
	// The incident had an alert before and gained one, so its name stays
	// (refreshIncident renames only an incident of one alert).
	return true, w.writeAggregates(tenantID, id, &g)
}

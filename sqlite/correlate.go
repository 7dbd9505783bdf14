package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// place writes a new alert where the Correlator puts it, with its entities,
// and applies the placement (weft.Placement) in the batch's transaction:
//
//   - a new incident is inserted as without a Correlator (named after the
//     alert), with an incidentCreated activity; when it continues a full
//     incident, a 'continues' relation is recorded and the activity says so;
//   - an alert that joins an incident is logged there (alertAdded, with the
//     placement's explanation), and the incident's aggregates are
//     recomputed from its alerts once, at the end of the batch (see
//     finishPlacements), which is also when the new alert row may still be
//     waiting in its insert buffer;
//   - every merged incident is redirected to Placement.MergedInto (the
//     alert's incident unless that was full), its alerts moved there (see
//     merge);
//   - every related incident is recorded as a 'related' relation.
//
// The alert row carries the placement's reasons and explanation
// (CorrelationReasons, Correlation) instead of the alert's own.
func (w *batchWriter) place(e *encodedAlert, key string) error {
	a := e.a
	w.countDetector(a)
	seq := w.nextSeq
	w.nextSeq++
	// From here until the commit the Correlator holds placements that may
	// not be stored; a failure leaves it to be rebuilt.
	*w.corrStale = true
	p := w.corr.Place(a, w.allocIncident)
	incident := p.IncidentID
	first, last := nanos(a.FirstActivityDateTime), nanos(a.LastActivityDateTime)
	if p.New {
		if err := w.incidents.add(incident, a.TenantID, a.Title, e.severity,
			w.now, w.now, first, last, jsonText(e.categories), jsonText(e.serviceSources),
			jsonText(e.detectionSources), jsonText(e.impacted)); err != nil {
			return err
		}
		msg := "Incident created from alert " + a.ID + ": " + truncate(a.Title, 256)
		if p.Continues != 0 {
			msg += "; it continues incident " + strconv.FormatInt(p.Continues, 10) + ", which is full"
			if err := w.relate(a.TenantID, incident, p.Continues, "continues"); err != nil {
				return err
			}
		}
		if err := w.activities.add(a.TenantID, incident, w.now, weft.ActorCorrelation,
			weft.ActivityIncidentCreated, msg, a.ID); err != nil {
			return err
		}
	} else {
		if err := w.activities.add(a.TenantID, incident, w.now, weft.ActorCorrelation,
			weft.ActivityAlertAdded, p.Explanation, a.ID); err != nil {
			return err
		}
		w.refresh[incident] = true
		w.joined[incident] = append(w.joined[incident], joinedAlert{e: e, seq: seq,
			stored: storedForm(a, incident, p.Reasons, p.Explanation)})
	}
	w.changed[incident] = a.TenantID

	var reasons any
	if len(p.Reasons) > 0 {
		b, err := jsonv2.Marshal(p.Reasons, jsonOpts)
		if err != nil {
			return fmt.Errorf("encode correlation reasons: %w", err)
		}
		reasons = string(b)
	}
	w.args = append(w.args[:0], seq, a.TenantID, a.ID, e.idHash, a.Source, a.ProviderAlertID, incident, nanos(a.CreatedDateTime))
	w.args = append(w.args, e.cols...)
	w.args[8+colReasons], w.args[8+colCorrelation] = reasons, p.Explanation
	if err := w.alertRows.add(w.args...); err != nil {
		return err
	}
	ids, err := w.insertEntities(e, seq)
	if err != nil {
		return err
	}
	w.known[key] = &storedAlert{seq: seq, incidentID: incident, hash: e.hash, version: versionOf(a),
		created: nanos(a.CreatedDateTime), firstActivity: first, entityIDs: ids}

	into := p.MergedInto
	if into == 0 {
		into = incident
	}
	for _, m := range p.Merged {
		if err := w.merge(a.TenantID, m, into, p.Explanation); err != nil {
			return err
		}
	}
	for _, r := range p.Related {
		if err := w.relate(a.TenantID, incident, r, "related"); err != nil {
			return err
		}
	}
	return nil
}

// allocIncident hands out the next incident id: the batch allocates ids
// itself (it is the only writer).
func (w *batchWriter) allocIncident() int64 {
	id := w.nextIncident
	w.nextIncident++
	return id
}

// merge redirects incident m to incident target: m's alerts move to target,
// m becomes redirected (it keeps its other fields, as a record of what it
// was), and both log the merge. target's aggregates are recomputed at the end
// of the batch.
//
// Merges are rare, so merge flushes the insert buffers (m, target and their
// alerts may have been written by this batch) and runs plain statements.
func (w *batchWriter) merge(tenant string, m, target int64, explanation string) error {
	if err := w.flush(); err != nil {
		return err
	}
	if _, err := w.tx.ExecContext(bg, `UPDATE alerts SET incident_id = ? WHERE tenant_id = ? AND incident_id = ?`,
		target, tenant, m); err != nil {
		return fmt.Errorf("move alerts of incident %d: %w", m, err)
	}
	if _, err := w.tx.ExecContext(bg, `UPDATE incidents SET status = ?, redirect_incident_id = ?,
		last_update = ?, version = version + 1 WHERE id = ? AND tenant_id = ?`,
		string(weft.IncidentStatusRedirected), target, w.now, m, tenant); err != nil {
		return fmt.Errorf("redirect incident %d: %w", m, err)
	}
	ms, ts := strconv.FormatInt(m, 10), strconv.FormatInt(target, 10)
	if err := w.activities.add(tenant, target, w.now, weft.ActorCorrelation, weft.ActivityIncidentMerged,
		"Incident "+ms+" merged into this one: "+explanation, nil); err != nil {
		return err
	}
	if err := w.activities.add(tenant, m, w.now, weft.ActorCorrelation, weft.ActivityIncidentRedirected,
		"Merged into incident "+ts+": "+explanation, nil); err != nil {
		return err
	}
	w.redirect[m] = target
	delete(w.changed, m)
	delete(w.refresh, m)
	delete(w.joined, m)
	w.cacheStage[cacheKey{tenant, m}] = nil // merged away: its entry is dropped after the commit
	w.changed[target], w.refresh[target], w.full[target] = tenant, true, true
	for _, old := range w.known {
		if old.incidentID == m {
			old.incidentID = target
		}
	}
	return nil
}

// relate records a relation between two incidents (once).
func (w *batchWriter) relate(tenant string, incident, related int64, kind string) error {
	if _, err := w.tx.ExecContext(bg, `INSERT INTO incident_relations (tenant_id, incident_id, related_id, kind, created)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, tenant, incident, related, kind, w.now); err != nil {
		return fmt.Errorf("relate incident %d to %d: %w", incident, related, err)
	}
	return nil
}

// finishPlacements runs after the batch's rows are flushed: it recomputes the
// aggregates of every incident that alerts joined or were merged into (once
// per batch, however many alerts joined), names and scores every incident
// whose alerts changed (with Options.Describe), and makes the results name
// the incidents the alerts are in after the batch's merges.
//
// The work per incident is meant to follow what the batch changed, not the
// size of the incident, as large incidents gain alerts in batch after batch:
//
//   - with Options.Describe, which needs all the incident's alerts, they are
//     read once, and the aggregates are computed from the same alerts
//     (describeIncident);
//   - without it, an incident that only gained alerts is updated from its
//     stored row and the joined alerts (addJoined) when that gives what a
//     full recomputation would, and recomputed (refreshIncident) otherwise.
func (w *batchWriter) finishPlacements() error {
	ids := make([]int64, 0, len(w.changed))
	for id := range w.changed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		tenant := w.changed[id]
		switch {
		case w.describe != nil:
			if err := w.describeIncident(tenant, id, w.refresh[id]); err != nil {
				return err
			}
		case !w.refresh[id]:
		case !w.full[id] && !w.noIncremental && len(w.joined[id]) > 0:
			ok, err := w.addJoined(tenant, id, w.joined[id])
			if err != nil {
				return err
			}
			if ok {
				*w.incremental++
			} else if err := w.refreshIncident(tenant, id); err != nil {
				return err
			}
		default:
			if err := w.refreshIncident(tenant, id); err != nil {
				return err
			}
		}
	}
	for i := range w.results {
		for {
			to, ok := w.redirect[w.results[i].IncidentID]
			if !ok {
				break
			}
			w.results[i].IncidentID = to
		}
	}
	return nil
}

// describeIncident sets an incident's name (unless an analyst named it) and
// priority from Options.Describe, after recomputing its aggregates (as
// refreshIncident does) when refresh is set. It reads the incident's alerts
// once for both.
func (w *batchWriter) describeIncident(tenant string, id int64, refresh bool) error {
	k := cacheKey{tenant, id}
	var alerts []*weft.Alert
	if cached, ok := w.cache.get(k); ok && !w.full[id] {
		alerts = withJoined(cached, w.joined[id])
	} else {
		rows, err := w.stmts.incidentAlertsFull.QueryContext(bg, tenant, id)
		if err != nil {
			return fmt.Errorf("read alerts of incident %d: %w", id, err)
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAlert(rows, false)
			if err != nil {
				return fmt.Errorf("read alerts of incident %d: %w", id, err)
			}
			alerts = append(alerts, a)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read alerts of incident %d: %w", id, err)
		}
		rows.Close()
	}
	w.cacheStage[k] = alerts
	if refresh {
		var name string
		var locked bool
		if err := w.stmts.incidentNaming.QueryRowContext(bg, id, tenant).Scan(&name, &locked); err != nil {
			return fmt.Errorf("read incident %d: %w", id, err)
		}
		g := aggregatesOf(alerts, name, locked)
		if err := w.writeAggregates(tenant, id, &g); err != nil {
			return err
		}
	}
	in := DescribeInput{TenantID: tenant, Alerts: alerts, Now: fromNanos(w.now), Prevalence: w.prevalence}
	if t := w.assets[tenant]; t != nil {
		in.Criticality = t.criticalityOf(alerts)
	}
	name, score, factors := w.describe(in)
	if w.countErr != nil {
		return w.countErr
	}
	var scoreVal, factorsVal any
	if score != nil {
		scoreVal = int64(*score)
	}
	if len(factors) > 0 {
		b, err := jsonv2.Marshal(factors, jsonOpts)
		if err != nil {
			return fmt.Errorf("encode priority factors of incident %d: %w", id, err)
		}
		factorsVal = string(b)
	}
	if _, err := w.stmts.describeIncident.ExecContext(bg, name, scoreVal, factorsVal, id, tenant); err != nil {
		return fmt.Errorf("describe incident %d: %w", id, err)
	}
	return nil
}

// rebuild makes the Correlator a cache of the store again: at Open, and
// before the first batch after one whose placements were not committed. It
// resets the Correlator, restores (weft.Correlator.Restore), per tenant and
// in first-activity order, every stored alert whose last activity is within
// Correlator.Window() of the tenant's newest last activity, with its
// incident, and then records (SetIncident) the state of every incident those
// alerts are in. The window is measured per tenant because the Correlator's
// event-time windows are: a tenant whose alerts stopped a while ago keeps
// its recent history.
//
// Alerts always belong to an incident that is not redirected (a merge moves
// them), so restoring them with their incident id is exact. Each incident's
// state carries the incidents an analyst kept it apart from (Apart; see
// apartRelations), so that analysts win after a restart too.
func (s *Store) rebuild(ctx context.Context) error {
	s.corr.Reset()
	s.cache.clear()
	// Policies first: they decide the window, and another process may
	// have changed them.
	problems, err := s.loadPolicies(ctx)
	if err != nil {
		return err
	}
	s.policyProblems = problems
	// Assets next: restored alerts must meet the assets' names as the
	// live ones did.
	if err := s.loadAssets(ctx); err != nil {
		return err
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: rebuild correlation: %w", err)
	}
	defer tx.Rollback()
	var tenants []string
	rows, err := tx.QueryContext(ctx, `SELECT tenant_id FROM tenants ORDER BY tenant_id`)
	if err != nil {
		return fmt.Errorf("sqlite: rebuild correlation: %w", err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: rebuild correlation: %w", err)
		}
		tenants = append(tenants, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: rebuild correlation: %w", err)
	}
	window := s.corr.Window().Nanoseconds()
	for _, t := range tenants {
		if err := s.rebuildTenant(ctx, tx, t, window); err != nil {
			return fmt.Errorf("sqlite: rebuild correlation: tenant %q: %w", t, err)
		}
	}
	s.corrStale = false
	return nil
}

func (s *Store) rebuildTenant(ctx context.Context, tx *sql.Tx, tenant string, window int64) error {
	var newest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(last_activity) FROM alerts WHERE tenant_id = ?`, tenant).Scan(&newest); err != nil {
		return err
	}
	if !newest.Valid {
		return nil
	}
	rows, err := tx.QueryContext(ctx, alertSelect+` FROM alerts WHERE tenant_id = ? AND last_activity >= ?
		ORDER BY first_activity, seq`, tenant, newest.Int64-window)
	if err != nil {
		return err
	}
	defer rows.Close()
	var incidents []int64
	seen := map[int64]bool{}
	for rows.Next() {
		a, err := scanAlert(rows, false)
		if err != nil {
			return err
		}
		if a.IncidentID == 0 {
			continue // not placed (an alert stored before correlation had none)
		}
		s.corr.Restore(a, a.IncidentID)
		if !seen[a.IncidentID] {
			seen[a.IncidentID] = true
			incidents = append(incidents, a.IncidentID)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if len(incidents) == 0 {
		return nil
	}
	list, err := jsonv2.Marshal(incidents)
	if err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT id, status, assigned_to, classification, determination, alert_count
		FROM incidents WHERE tenant_id = ? AND id IN (SELECT value FROM json_each(?)) AND status != ?
		ORDER BY id`, tenant, string(list), string(weft.IncidentStatusRedirected))
	if err != nil {
		return err
	}
	defer rows.Close()
	var states []weft.IncidentState
	for rows.Next() {
		var st weft.IncidentState
		var status, classification, determination string
		if err := rows.Scan(&st.ID, &status, &st.AssignedTo, &classification, &determination, &st.AlertCount); err != nil {
			return err
		}
		st.Status, st.Classification, st.Determination = weft.IncidentStatus(status), weft.Classification(classification), weft.Determination(determination)
		states = append(states, st)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	apart, err := apartRelations(ctx, tx, tenant)
	if err != nil {
		return err
	}
	for _, st := range states {
		st.Apart = apart[st.ID]
		s.corr.SetIncident(tenant, st)
	}
	return nil
}

// apartRelations reads a tenant's 'apart' relations (analysts' separations,
// see restructure.go) by incident, in both directions, each end followed
// through redirects to the incident it was merged into; a pair that a
// merge made one incident is dropped.
func apartRelations(ctx context.Context, tx *sql.Tx, tenant string) (map[int64][]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT incident_id, related_id FROM incident_relations
		WHERE tenant_id = ? AND kind = 'apart' ORDER BY incident_id, related_id`, tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pairs [][2]int64
	for rows.Next() {
		var p [2]int64
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return nil, err
		}
		pairs = append(pairs, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(pairs) == 0 {
		return nil, nil
	}
	redirect := map[int64]int64{}
	rows, err = tx.QueryContext(ctx, `SELECT id, redirect_incident_id FROM incidents
		WHERE tenant_id = ? AND status = ? AND redirect_incident_id IS NOT NULL`, tenant, string(weft.IncidentStatusRedirected))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, to int64
		if err := rows.Scan(&id, &to); err != nil {
			return nil, err
		}
		redirect[id] = to
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	root := func(id int64) int64 {
		for range len(redirect) + 1 { // bounded: a cycle cannot be stored, but costs no loop
			to, ok := redirect[id]
			if !ok {
				break
			}
			id = to
		}
		return id
	}
	out := map[int64][]int64{}
	for _, p := range pairs {
		a, b := root(p[0]), root(p[1])
		if a == b {
			continue
		}
		if !slices.Contains(out[a], b) {
			out[a] = append(out[a], b)
		}
		if !slices.Contains(out[b], a) {
			out[b] = append(out[b], a)
		}
	}
	return out, nil
}

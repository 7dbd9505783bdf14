package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// Restructuring incidents (weft.IncidentRestructurer): moving alerts,
// splitting, merging. Each operation runs in one write transaction
// (manageAll), so that it is atomic and never interleaves with a batch that
// places alerts. Inside it:
//
//   - the checks come first, and every check that can fail is made before
//     the first write, though a failure after it still rolls back all;
//   - the aggregates, name and priority of every incident whose alerts
//     changed are recomputed by the code the correlator's batches use
//     (batchWriter.finishPlacements, with every incident read in full), so
//     that a restructured incident looks as if correlation had built it;
//   - every incident involved gets exactly Version+1, whatever the
//     recomputation did to it.
//
// After the commit the alert cache entries of every incident involved are
// dropped, and the Correlator is told what the analyst did when it is a
// weft.Restructurer (MoveAlert, MergeIncidents), then the new states
// (SetIncident). A Correlator that is not one is rebuilt from the store
// before the next batch instead, which hands it the analysts' separations
// ('apart' relations, migration 0009) through IncidentState.Apart, as a
// restart does.

var _ weft.IncidentRestructurer = (*Store)(nil)

// TagRedirected is the system tag of an incident merged into another, as
// in Defender.
const TagRedirected = "Redirected"

// MoveAlerts implements weft.IncidentRestructurer.
func (s *Store) MoveAlerts(ctx context.Context, tenantID string, req weft.MoveAlertsRequest, actor string) (int64, error) {
	if err := req.Normalize(); err != nil {
		return 0, err
	}
	actor, err := weft.CheckActor(actor)
	if err != nil {
		return 0, err
	}
	return s.move(ctx, moveOp{tenant: tenantID, alerts: req.AlertIDs, target: req.IncidentID,
		reasons: req.Reasons, comment: req.Comment, actor: actor})
}

// SplitIncident implements weft.IncidentRestructurer.
func (s *Store) SplitIncident(ctx context.Context, tenantID string, incidentID int64, alertIDs []string, comment, actor string) (int64, error) {
	ids, comment, err := weft.NormalizeSplit(alertIDs, comment)
	if err != nil {
		return 0, err
	}
	actor, err = weft.CheckActor(actor)
	if err != nil {
		return 0, err
	}
	return s.move(ctx, moveOp{tenant: tenantID, alerts: ids, split: incidentID, comment: comment, actor: actor})
}

// moveOp is a move of alerts to target (0: a new incident) or, with split
// set, a split of incident split (target 0).
type moveOp struct {
	tenant         string
	alerts         []string
	target, split  int64
	reasons        []string
	comment, actor string
}

// movedAlert is an alert a move names, as stored before it.
type movedAlert struct {
	id       string
	seq      int64
	incident int64 // 0: in none
}

func (s *Store) move(ctx context.Context, op moveOp) (int64, error) {
	what := "move alerts"
	if op.split != 0 {
		what = "split incident"
	}
	var target int64
	err := s.manageAll(ctx, what, func(tx *sql.Tx, now int64) (managed, error) {
		var err error
		var m managed
		target, m, err = s.moveTx(ctx, tx, now, op)
		return m, err
	})
	if err != nil {
		return 0, err
	}
	return target, nil
}

func (s *Store) moveTx(ctx context.Context, tx *sql.Tx, now int64, op moveOp) (int64, managed, error) {
	tenant := op.tenant
	alerts := make([]movedAlert, len(op.alerts))
	for i, id := range op.alerts {
		var incident sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT seq, incident_id FROM alerts WHERE tenant_id = ? AND id_hash = ? AND id = ?`,
			tenant, idHash(id), id).Scan(&alerts[i].seq, &incident)
		if errNotFound(err) {
			return 0, managed{}, weft.Errorf(weft.ENOTFOUND, "alertIds[%d]: alert %q not found", i, truncate(id, 80))
		} else if err != nil {
			return 0, managed{}, fmt.Errorf("read alert %s: %w", id, err)
		}
		alerts[i].id, alerts[i].incident = id, incident.Int64
	}

	// The incidents involved, as they were before, by id.
	before := map[int64]*weft.Incident{}
	if op.split != 0 {
		src, err := lockedIncident(ctx, tx, tenant, op.split, 0)
		if err != nil {
			return 0, managed{}, err
		}
		before[src.ID] = src
		for i, a := range alerts {
			if a.incident != op.split {
				return 0, managed{}, weft.Errorf(weft.EINVALID, "alertIds[%d]: alert %q is in incident %d, not in incident %d",
					i, truncate(a.id, 80), a.incident, op.split)
			}
		}
		n, err := countAlerts(ctx, tx, tenant, op.split)
		if err != nil {
			return 0, managed{}, err
		}
		if len(alerts) >= n {
			return 0, managed{}, weft.Errorf(weft.EINVALID,
				"alertIds: names all %d alerts of incident %d; a split leaves at least one (move them all to a new incident instead)", n, op.split)
		}
	}
	if op.target != 0 {
		t, err := readIncident(ctx, tx, tenant, op.target)
		if err != nil {
			return 0, managed{}, err
		}
		switch t.Status {
		case weft.IncidentStatusRedirected:
			return 0, managed{}, weft.Errorf(weft.ECONFLICT, "incidentId: incident %d was merged into incident %d; move the alerts there", t.ID, t.RedirectIncidentID)
		case weft.IncidentStatusResolved:
			return 0, managed{}, weft.Errorf(weft.ECONFLICT, "incidentId: incident %d is resolved; reopen it before moving alerts to it", t.ID)
		}
		for i, a := range alerts {
			if a.incident == t.ID {
				return 0, managed{}, weft.Errorf(weft.EINVALID, "alertIds[%d]: alert %q is already in incident %d", i, truncate(a.id, 80), t.ID)
			}
		}
		if limit, ok := s.sizeCap(tenant); ok && t.AlertCount+len(alerts) > limit {
			return 0, managed{}, weft.Errorf(weft.ECONFLICT, "incidentId: incident %d has %d alerts; %d more would pass the size cap of %d alerts per incident",
				t.ID, t.AlertCount, len(alerts), limit)
		}
		before[t.ID] = t
	}
	// The sources, in id order, with the alerts that leave each.
	leaving := map[int64][]string{}
	var sources []int64
	for _, a := range alerts {
		if a.incident == 0 {
			continue
		}
		if _, ok := leaving[a.incident]; !ok {
			sources = append(sources, a.incident)
		}
		leaving[a.incident] = append(leaving[a.incident], a.id)
	}
	slices.Sort(sources)
	for _, id := range sources {
		if before[id] == nil {
			inc, err := readIncident(ctx, tx, tenant, id)
			if err != nil {
				return 0, managed{}, err
			}
			before[id] = inc
		}
	}

	// The checks are done: write.
	target := op.target
	if target == 0 {
		var err error
		if target, err = s.createIncident(ctx, tx, now, tenant, alerts); err != nil {
			return 0, managed{}, err
		}
	}
	explanation := "Moved by " + op.actor + ": " + op.comment
	if err := reassignAlerts(ctx, tx, now, tenant, alerts, target, op.reasons, explanation); err != nil {
		return 0, managed{}, err
	}
	ts := strconv.FormatInt(target, 10)
	var emptied, refresh []int64
	for _, src := range sources {
		ids := leaving[src]
		n, err := countAlerts(ctx, tx, tenant, src)
		if err != nil {
			return 0, managed{}, err
		}
		srcs := strconv.FormatInt(src, 10)
		var typ, msg string
		switch {
		case op.split != 0:
			typ, msg = weft.ActivityIncidentSplit, alertList(ids)+" split off into new incident "+ts+" by "+op.actor+": "+op.comment
		case op.target == 0:
			typ, msg = weft.ActivityAlertsMoved, alertList(ids)+" moved to new incident "+ts+" by "+op.actor+": "+op.comment
		default:
			typ, msg = weft.ActivityAlertsMoved, alertList(ids)+" moved to incident "+ts+" by "+op.actor+": "+op.comment
		}
		if err := logActivity(ctx, tx, tenant, src, now, op.actor, typ, msg, ids); err != nil {
			return 0, managed{}, err
		}
		if op.target != 0 {
			if err := logActivity(ctx, tx, tenant, target, now, op.actor, weft.ActivityAlertsMoved,
				alertList(ids)+" moved here from incident "+srcs+" by "+op.actor+": "+op.comment, ids); err != nil {
				return 0, managed{}, err
			}
		}
		if n == 0 {
			// Nothing is left to keep apart: the source is what a merge
			// would have left of it.
			if err := redirectIncident(ctx, tx, now, before[src], target); err != nil {
				return 0, managed{}, err
			}
			if err := logActivity(ctx, tx, tenant, src, now, op.actor, weft.ActivityIncidentRedirected,
				"Redirected to incident "+ts+" by "+op.actor+": the move left it without alerts", nil); err != nil {
				return 0, managed{}, err
			}
			emptied = append(emptied, src)
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO incident_relations (tenant_id, incident_id, related_id, kind, created)
			VALUES (?, ?, ?, 'apart', ?) ON CONFLICT DO NOTHING`, tenant, src, target, now); err != nil {
			return 0, managed{}, fmt.Errorf("keep incident %d apart from %d: %w", src, target, err)
		}
		refresh = append(refresh, src)
	}
	if op.target == 0 {
		var msg string
		from := make([]string, len(sources))
		for i, src := range sources {
			from[i] = strconv.FormatInt(src, 10)
		}
		switch {
		case op.split != 0:
			msg = "Incident created by " + op.actor + ", split from incident " + from[0] + " with " + lower(alertList(op.alerts)) + ": " + op.comment
		case len(sources) == 0:
			msg = "Incident created by " + op.actor + " for " + lower(alertList(op.alerts)) + ": " + op.comment
		default:
			msg = "Incident created by " + op.actor + " for " + lower(alertList(op.alerts)) + ", moved from incident " +
				strings.Join(from, ", ") + ": " + op.comment
		}
		if err := logActivity(ctx, tx, tenant, target, now, op.actor, weft.ActivityIncidentCreated, msg, op.alerts); err != nil {
			return 0, managed{}, err
		}
	}
	refresh = append(refresh, target)
	if err := s.recompute(ctx, tx, now, tenant, refresh); err != nil {
		return 0, managed{}, err
	}
	m, err := s.finishRestructure(ctx, tx, now, tenant, op.actor, before, append(refresh, emptied...))
	if err != nil {
		return 0, managed{}, err
	}
	m.tell = func(corr weft.Correlator) {
		r, ok := corr.(weft.Restructurer)
		if !ok {
			s.corrStale = true
			return
		}
		for _, a := range alerts {
			if a.incident != 0 {
				r.MoveAlert(tenant, a.id, a.incident, target)
			}
		}
		if len(emptied) > 0 {
			r.MergeIncidents(tenant, target, emptied)
		}
	}
	return target, m, nil
}

// MergeIncidents implements weft.IncidentRestructurer. Each source keeps its
// other fields (aggregates, custom tags) as a record of what it was; the
// target gains the sources' custom tags (repeats, case aside, dropped), at
// most weft.MaxCustomTags in all (more is ECONFLICT), and its aggregates
// are recomputed from all the alerts.
func (s *Store) MergeIncidents(ctx context.Context, tenantID string, req weft.MergeIncidentsRequest, actor string) (int64, error) {
	if err := req.Normalize(); err != nil {
		return 0, err
	}
	actor, err := weft.CheckActor(actor)
	if err != nil {
		return 0, err
	}
	err = s.manageAll(ctx, "merge incidents", func(tx *sql.Tx, now int64) (managed, error) {
		return s.mergeTx(ctx, tx, now, tenantID, req, actor)
	})
	if err != nil {
		return 0, err
	}
	return req.TargetIncidentID, nil
}

func (s *Store) mergeTx(ctx context.Context, tx *sql.Tx, now int64, tenant string, req weft.MergeIncidentsRequest, actor string) (managed, error) {
	target := req.TargetIncidentID
	incs := make([]*weft.Incident, len(req.IncidentIDs))
	before := map[int64]*weft.Incident{}
	total := 0
	for i, id := range req.IncidentIDs {
		inc, err := readIncident(ctx, tx, tenant, id)
		if err != nil {
			return managed{}, err
		}
		switch inc.Status {
		case weft.IncidentStatusRedirected:
			return managed{}, weft.Errorf(weft.ECONFLICT, "incident %d was merged into incident %d already; merge that one", id, inc.RedirectIncidentID)
		case weft.IncidentStatusResolved:
			return managed{}, weft.Errorf(weft.ECONFLICT, "incident %d is resolved; reopen it to merge it (resolved incidents are never merged)", id)
		}
		incs[i], before[id] = inc, inc
		total += inc.AlertCount
	}
	if err := mergeBlocker(incs); err != nil {
		return managed{}, err
	}
	if limit, ok := s.sizeCap(tenant); ok && total > limit {
		return managed{}, weft.Errorf(weft.ECONFLICT, "the merged incident would have %d alerts; the size cap is %d alerts per incident", total, limit)
	}
	into := before[target]
	var sources []int64
	for _, inc := range incs {
		if inc.ID != target {
			sources = append(sources, inc.ID)
		}
	}
	slices.Sort(sources)
	lists := [][]string{into.CustomTags}
	for _, src := range sources {
		lists = append(lists, before[src].CustomTags)
	}
	tags, err := weft.MergedTags(lists...)
	if err != nil {
		return managed{}, weft.Errorf(weft.ECONFLICT, "the merged incident would have too many custom tags: %s", weft.ErrorMessage(err))
	}

	// The checks are done: write.
	explanation := "Merged by " + actor + ": " + req.Comment
	var reasons any
	if len(req.Reasons) > 0 {
		b, err := jsonv2.Marshal(req.Reasons, jsonOpts)
		if err != nil {
			return managed{}, fmt.Errorf("encode correlation reasons: %w", err)
		}
		reasons = string(b)
	}
	ts := strconv.FormatInt(target, 10)
	for _, src := range sources {
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET incident_id = ?, correlation_reasons = ?, correlation = ?, last_update = ?
			WHERE tenant_id = ? AND incident_id = ?`, target, reasons, explanation, now, tenant, src); err != nil {
			return managed{}, fmt.Errorf("move alerts of incident %d: %w", src, err)
		}
		if err := redirectIncident(ctx, tx, now, before[src], target); err != nil {
			return managed{}, err
		}
		srcs := strconv.FormatInt(src, 10)
		if err := logActivity(ctx, tx, tenant, target, now, actor, weft.ActivityIncidentMerged,
			"Incident "+srcs+" merged into this one by "+actor+": "+req.Comment, nil); err != nil {
			return managed{}, err
		}
		if err := logActivity(ctx, tx, tenant, src, now, actor, weft.ActivityIncidentRedirected,
			"Merged into incident "+ts+" by "+actor+": "+req.Comment, nil); err != nil {
			return managed{}, err
		}
	}
	if !slices.Equal(tags, into.CustomTags) {
		js, err := marshalList(tags)
		if err != nil {
			return managed{}, fmt.Errorf("encode tags: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET custom_tags = ? WHERE tenant_id = ? AND id = ?`,
			jsonText(js), tenant, target); err != nil {
			return managed{}, fmt.Errorf("update incident %d: %w", target, err)
		}
	}
	if err := s.recompute(ctx, tx, now, tenant, []int64{target}); err != nil {
		return managed{}, err
	}
	m, err := s.finishRestructure(ctx, tx, now, tenant, actor, before, append([]int64{target}, sources...))
	if err != nil {
		return managed{}, err
	}
	m.tell = func(corr weft.Correlator) {
		if r, ok := corr.(weft.Restructurer); ok {
			r.MergeIncidents(tenant, target, sources)
		} else {
			s.corrStale = true
		}
	}
	return m, nil
}

// mergeBlocker returns the ECONFLICT error of the first pair of incidents
// with different assignees, classifications or determinations (empty and
// unknown match any), naming both and the values, or nil.
func mergeBlocker(incs []*weft.Incident) error {
	known := func(v string) bool { return v != "" && v != "unknown" }
	type prop struct {
		name string
		of   func(*weft.Incident) string
		say  string
	}
	for _, p := range []prop{
		{"assignedTo", func(i *weft.Incident) string { return i.AssignedTo }, "are assigned to different people"},
		{"classification", func(i *weft.Incident) string { return string(i.Classification) }, "have different classifications"},
		{"determination", func(i *weft.Incident) string { return string(i.Determination) }, "have different determinations"},
	} {
		var first *weft.Incident
		for _, inc := range incs {
			v := p.of(inc)
			if !known(v) {
				continue
			}
			if first == nil {
				first = inc
				continue
			}
			if w := p.of(first); v != w {
				return weft.Errorf(weft.ECONFLICT, "incidents %d and %d %s (%s %q and %q); make them agree, or clear one, before merging",
					first.ID, inc.ID, p.say, p.name, truncate(w, 80), truncate(v, 80))
			}
		}
	}
	return nil
}

// sizeCap returns the tenant's size cap when the Correlator knows one.
// Without a Correlator every alert forms its own incident and there is no
// cap to hold.
func (s *Store) sizeCap(tenant string) (int, bool) {
	if r, ok := s.corr.(weft.Restructurer); ok {
		return r.MaxIncidentAlerts(tenant), true
	}
	return 0, false
}

func countAlerts(ctx context.Context, tx *sql.Tx, tenant string, incident int64) (int, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE tenant_id = ? AND incident_id = ?`,
		tenant, incident).Scan(&n); err != nil {
		return 0, fmt.Errorf("count alerts of incident %d: %w", incident, err)
	}
	return n, nil
}

// createIncident inserts a new incident for alerts, as the correlator's
// batches do (insertIncidentSQL), named after the earliest of them; its
// aggregates are recomputed once the alerts are in it (recompute).
func (s *Store) createIncident(ctx context.Context, tx *sql.Tx, now int64, tenant string, alerts []movedAlert) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM incidents`).Scan(&id); err != nil {
		return 0, fmt.Errorf("allocate incident id: %w", err)
	}
	seqs := make([]int64, len(alerts))
	for i, a := range alerts {
		seqs[i] = a.seq
	}
	list, err := jsonv2.Marshal(seqs)
	if err != nil {
		return 0, fmt.Errorf("encode alert seqs: %w", err)
	}
	var title string
	var severity, first, last int64
	if err := tx.QueryRowContext(ctx, `SELECT title, severity, first_activity, last_activity FROM alerts
		WHERE tenant_id = ? AND seq IN (SELECT value FROM json_each(?)) ORDER BY first_activity, id LIMIT 1`,
		tenant, string(list)).Scan(&title, &severity, &first, &last); err != nil {
		return 0, fmt.Errorf("read alerts of new incident: %w", err)
	}
	if _, err := tx.ExecContext(ctx, insertIncidentSQL, id, tenant, title, severity, now, now, first, last,
		nil, nil, nil, nil); err != nil {
		return 0, fmt.Errorf("create incident %d: %w", id, err)
	}
	return id, nil
}

// reassignAlerts puts alerts in incident target with the analyst's reasons
// and explanation as their correlation.
func reassignAlerts(ctx context.Context, tx *sql.Tx, now int64, tenant string, alerts []movedAlert, target int64, reasons []string, explanation string) error {
	var rs any
	if len(reasons) > 0 {
		b, err := jsonv2.Marshal(reasons, jsonOpts)
		if err != nil {
			return fmt.Errorf("encode correlation reasons: %w", err)
		}
		rs = string(b)
	}
	for _, a := range alerts {
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET incident_id = ?, correlation_reasons = ?, correlation = ?,
			last_update = ? WHERE seq = ? AND tenant_id = ?`, target, rs, explanation, now, a.seq, tenant); err != nil {
			return fmt.Errorf("move alert %s: %w", a.id, err)
		}
	}
	return nil
}

// redirectIncident makes inc redirected to target, with the Redirected
// system tag. It keeps its other fields, as a record of what it was.
func redirectIncident(ctx context.Context, tx *sql.Tx, now int64, inc *weft.Incident, target int64) error {
	tags := inc.SystemTags
	if !slices.Contains(tags, TagRedirected) {
		tags = append(slices.Clone(tags), TagRedirected)
	}
	js, err := marshalList(tags)
	if err != nil {
		return fmt.Errorf("encode system tags: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE incidents SET status = ?, redirect_incident_id = ?, system_tags = ?
		WHERE tenant_id = ? AND id = ?`, string(weft.IncidentStatusRedirected), target, jsonText(js), inc.TenantID, inc.ID); err != nil {
		return fmt.Errorf("redirect incident %d: %w", inc.ID, err)
	}
	return nil
}

// recompute recomputes the aggregates, name and priority of incidents from
// their alerts, as a batch of the correlator does for the incidents it
// changed (finishPlacements), every one read in full.
func (s *Store) recompute(ctx context.Context, tx *sql.Tx, now int64, tenant string, ids []int64) error {
	w := &batchWriter{stmts: s.bind(ctx, tx), now: now, tx: tx,
		changed: map[int64]string{}, refresh: map[int64]bool{}, full: map[int64]bool{},
		joined: map[int64][]joinedAlert{}, redirect: map[int64]int64{}, cacheStage: map[cacheKey][]*weft.Alert{},
		cache: s.cache, incremental: new(int)}
	if s.corr != nil {
		w.describe, w.assets = s.describe, s.assets
	}
	for _, id := range ids {
		w.changed[id], w.refresh[id], w.full[id] = tenant, true, true
	}
	// w.cacheStage is not applied: manageAll drops the incidents' entries.
	return w.finishPlacements()
}

// finishRestructure gives every incident involved (ids) its version before
// the operation plus one (a new incident stays at 1), the time and actor
// of the change, and returns them as manageAll is to apply them.
func (s *Store) finishRestructure(ctx context.Context, tx *sql.Tx, now int64, tenant, actor string, before map[int64]*weft.Incident, ids []int64) (managed, error) {
	var m managed
	for _, id := range ids {
		version := int64(1)
		if b := before[id]; b != nil {
			version = b.Version + 1
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET version = ?, last_update = ?, last_modified_by = ?
			WHERE tenant_id = ? AND id = ?`, version, now, actor, tenant, id); err != nil {
			return managed{}, fmt.Errorf("update incident %d: %w", id, err)
		}
		inc, err := readIncident(ctx, tx, tenant, id)
		if err != nil {
			return managed{}, err
		}
		m.incidents = append(m.incidents, inc)
	}
	return m, nil
}

// logActivity writes one activity entry; it names the alert when it is
// about one.
func logActivity(ctx context.Context, tx *sql.Tx, tenant string, incident, now int64, actor, typ, msg string, alerts []string) error {
	var alert any
	if len(alerts) == 1 {
		alert = alerts[0]
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO activities (tenant_id, incident_id, time, actor, type, message, alert_id)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, tenant, incident, now, actor, typ, msg, alert); err != nil {
		return fmt.Errorf("log incident %d: %w", incident, err)
	}
	return nil
}

// alertList says which alerts, for an activity message: "Alert a1" or
// "Alerts a1, a2".
func alertList(ids []string) string {
	if len(ids) == 1 {
		return "Alert " + ids[0]
	}
	return "Alerts " + strings.Join(ids, ", ")
}

func lower(s string) string { return strings.ToLower(s[:1]) + s[1:] }

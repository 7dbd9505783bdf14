package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// incidentSelect lists the columns scanIncident reads.
const incidentSelect = `SELECT id, tenant_id, display_name, description, severity, status,
	classification, determination, assigned_to, custom_tags, system_tags, comments,
	resolving_comment, redirect_incident_id, priority_score, priority_factors,
	created, last_update, first_activity, last_activity, last_modified_by, alert_count,
	categories, service_sources, detection_sources, impacted_entities, version
	FROM incidents`

// FindIncident returns one incident of a tenant, with its alerts (ordered by
// first activity, without raw originals) when expandAlerts is set. It returns
// an ENOTFOUND error when the tenant has no incident with that id.
//
// Lists of the incident (tags, comments, categories, sources, entities) are
// empty rather than nil, so that they encode as [] and not null.
func (s *Store) FindIncident(ctx context.Context, tenantID string, id int64, expandAlerts bool) (*weft.Incident, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: find incident: %w", err)
	}
	defer tx.Rollback()
	incs, err := queryIncidents(ctx, tx, incidentSelect+` WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find incident: %w", err)
	}
	if len(incs) == 0 {
		return nil, weft.Errorf(weft.ENOTFOUND, "incident %d not found", id)
	}
	if expandAlerts {
		if err := expandIncidentAlerts(ctx, tx, tenantID, incs); err != nil {
			return nil, fmt.Errorf("sqlite: find incident: %w", err)
		}
	}
	return incs[0], nil
}

// ListIncidents returns a page of a tenant's incidents (or of q.TenantIDs'):
// those that match
// q.Status, q.Filter and q.Search (see weft.IncidentQuery; sqlite/queue.go
// translates them to SQL), in q.OrderBy order (default: most recently
// updated first), ties broken by highest id first. Paging is as in
// ListAlerts; an unknown status or an invalid filter is EINVALID.
func (s *Store) ListIncidents(ctx context.Context, q weft.IncidentQuery) (weft.IncidentPage, error) {
	if err := s.enter(); err != nil {
		return weft.IncidentPage{}, err
	}
	defer s.leave()
	limit, err := pageLimit(q.Top, q.Skip)
	if err != nil {
		return weft.IncidentPage{}, err
	}
	where, args, err := incidentWhere(q, false)
	if err != nil {
		return weft.IncidentPage{}, err
	}
	order, err := incidentOrder(q.OrderBy)
	if err != nil {
		return weft.IncidentPage{}, err
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return weft.IncidentPage{}, fmt.Errorf("sqlite: list incidents: %w", err)
	}
	defer tx.Rollback()
	incs, err := queryIncidents(ctx, tx, incidentSelect+` WHERE `+where+
		` ORDER BY `+order+` LIMIT ? OFFSET ?`, append(args, limit+1, q.Skip)...)
	if err != nil {
		return weft.IncidentPage{}, fmt.Errorf("sqlite: list incidents: %w", err)
	}
	page := weft.IncidentPage{Incidents: incs, Count: -1}
	if len(incs) > limit {
		page.Incidents, page.More = incs[:limit], true
	}
	if q.ExpandAlerts && len(page.Incidents) > 0 {
		// expandIncidentAlerts reads one tenant's alerts: a merged page is
		// expanded tenant by tenant.
		byTenant := map[string][]*weft.Incident{}
		var order []string
		for _, inc := range page.Incidents {
			if _, ok := byTenant[inc.TenantID]; !ok {
				order = append(order, inc.TenantID)
			}
			byTenant[inc.TenantID] = append(byTenant[inc.TenantID], inc)
		}
		for _, t := range order {
			if err := expandIncidentAlerts(ctx, tx, t, byTenant[t]); err != nil {
				return weft.IncidentPage{}, fmt.Errorf("sqlite: list incidents: %w", err)
			}
		}
	}
	if q.Count {
		where, args, err := incidentWhere(q, true)
		if err != nil {
			return weft.IncidentPage{}, err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM incidents WHERE `+where, args...).Scan(&page.Count); err != nil {
			return weft.IncidentPage{}, fmt.Errorf("sqlite: count incidents: %w", err)
		}
	}
	return page, nil
}

func validStatus(st weft.IncidentStatus) bool {
	for _, v := range weft.IncidentStatuses {
		if v == st {
			return true
		}
	}
	return false
}

// ListActivities returns an incident's activity log, oldest first. An
// incident the tenant does not have yields an ENOTFOUND error.
func (s *Store) ListActivities(ctx context.Context, tenantID string, incidentID int64) ([]*weft.Activity, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: list activities: %w", err)
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM incidents WHERE tenant_id = ? AND id = ?`, tenantID, incidentID).Scan(&one)
	if errNotFound(err) {
		return nil, weft.Errorf(weft.ENOTFOUND, "incident %d not found", incidentID)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: list activities: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, tenant_id, incident_id, time, actor, type, message,
		coalesce(alert_id, ''), coalesce(before, ''), coalesce(after, '')
		FROM activities WHERE tenant_id = ? AND incident_id = ? ORDER BY id`, tenantID, incidentID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list activities: %w", err)
	}
	defer rows.Close()
	acts := []*weft.Activity{}
	for rows.Next() {
		var a weft.Activity
		var t int64
		if err := rows.Scan(&a.ID, &a.TenantID, &a.IncidentID, &t, &a.Actor, &a.Type, &a.Message,
			&a.AlertID, &a.Before, &a.After); err != nil {
			return nil, fmt.Errorf("sqlite: list activities: %w", err)
		}
		a.Time = fromNanos(t)
		acts = append(acts, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list activities: %w", err)
	}
	return acts, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryIncidents runs a query of incidentSelect.
func queryIncidents(ctx context.Context, q querier, query string, args ...any) ([]*weft.Incident, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	incs := []*weft.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		incs = append(incs, inc)
	}
	return incs, rows.Err()
}

func scanIncident(rows *sql.Rows) (*weft.Incident, error) {
	var (
		inc                                                    weft.Incident
		severity, created, lastUpdate, first, last             int64
		status, classification, determination                  string
		redirect, score                                        sql.NullInt64
		customTags, systemTags, comments, factors              sql.RawBytes
		categories, serviceSources, detectionSources, impacted sql.RawBytes
	)
	if err := rows.Scan(&inc.ID, &inc.TenantID, &inc.DisplayName, &inc.Description, &severity, &status,
		&classification, &determination, &inc.AssignedTo, &customTags, &systemTags, &comments,
		&inc.ResolvingComment, &redirect, &score, &factors,
		&created, &lastUpdate, &first, &last, &inc.LastModifiedBy, &inc.AlertCount,
		&categories, &serviceSources, &detectionSources, &impacted, &inc.Version); err != nil {
		return nil, err
	}
	inc.Severity = severityOf(severity)
	inc.Status, inc.Classification, inc.Determination = weft.IncidentStatus(status), weft.Classification(classification), weft.Determination(determination)
	inc.RedirectIncidentID = redirect.Int64
	if score.Valid {
		v := int(score.Int64)
		inc.PriorityScore = &v
	}
	inc.CreatedDateTime, inc.LastUpdateDateTime = fromNanos(created), fromNanos(lastUpdate)
	inc.FirstActivityDateTime, inc.LastActivityDateTime = fromNanos(first), fromNanos(last)
	inc.CustomTags, inc.SystemTags, inc.Comments = []string{}, []string{}, []weft.Comment{}
	inc.Categories, inc.ServiceSources, inc.DetectionSources = []string{}, []string{}, []string{}
	inc.ImpactedEntities = []weft.EntityRef{}
	for _, c := range []struct {
		name string
		js   []byte
		dst  any
	}{
		{"customTags", customTags, &inc.CustomTags},
		{"systemTags", systemTags, &inc.SystemTags},
		{"comments", comments, &inc.Comments},
		{"priorityFactors", factors, &inc.PriorityFactors},
		{"categories", categories, &inc.Categories},
		{"serviceSources", serviceSources, &inc.ServiceSources},
		{"detectionSources", detectionSources, &inc.DetectionSources},
		{"impactedEntities", impacted, &inc.ImpactedEntities},
	} {
		if err := unmarshalNonEmpty(c.js, c.dst); err != nil {
			return nil, fmt.Errorf("incident %d: %s: %w", inc.ID, c.name, err)
		}
	}
	for i := range inc.Comments {
		inc.Comments[i].CreatedDateTime = inc.Comments[i].CreatedDateTime.UTC()
	}
	return &inc, nil
}

// expandIncidentAlerts fills the Alerts of incs (all of one tenant) with one
// query, each incident's alerts ordered by first activity, then id.
func expandIncidentAlerts(ctx context.Context, q querier, tenantID string, incs []*weft.Incident) error {
	byID := make(map[int64]*weft.Incident, len(incs))
	ids := make([]int64, len(incs))
	for i, inc := range incs {
		inc.Alerts = []*weft.Alert{}
		byID[inc.ID] = inc
		ids[i] = inc.ID
	}
	list, err := jsonv2.Marshal(ids)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, alertSelect+` FROM alerts
		WHERE tenant_id = ? AND incident_id IN (SELECT value FROM json_each(?))
		ORDER BY incident_id, first_activity, id`, tenantID, string(list))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAlert(rows, false)
		if err != nil {
			return err
		}
		if inc := byID[a.IncidentID]; inc != nil {
			inc.Alerts = append(inc.Alerts, a)
		}
	}
	return rows.Err()
}

// refreshIncident recomputes the aggregates of an incident from its alerts
// after one of them changed: severity (the highest), activity times, alert
// count, categories, sources and impacted entities (each in the order of the
// alerts' first activity), the name of a single-alert incident whose name no
// analyst set, version and last update time. It reads only the columns it
// needs (and the evidence, for the entities); describeIncident, which reads
// whole alerts anyway, computes the same from them (aggregatesOf).
func (w *batchWriter) refreshIncident(tenantID string, id int64) error {
	var name string
	var locked bool
	if err := w.stmts.incidentNaming.QueryRowContext(bg, id, tenantID).Scan(&name, &locked); err != nil {
		return fmt.Errorf("read incident %d: %w", id, err)
	}
	rows, err := w.stmts.incidentAlerts.QueryContext(bg, tenantID, id)
	if err != nil {
		return fmt.Errorf("read alerts of incident %d: %w", id, err)
	}
	defer rows.Close()
	g := incidentAggregates{name: name}
	seen := map[string]bool{}
	var title string
	for rows.Next() {
		var (
			aid, category, service, detection string
			sev, f, l, format                 int64
			evjs                              sql.RawBytes
		)
		if err := rows.Scan(&aid, &title, &sev, &f, &l, &category, &service, &detection, &format, &evjs); err != nil {
			return fmt.Errorf("read alerts of incident %d: %w", id, err)
		}
		var a weft.Alert
		evidence, err := unpackBlob(format, evjs)
		if err != nil {
			return fmt.Errorf("read evidence of alert %s: %w", aid, err)
		}
		if err := unmarshalNonEmpty(evidence, &a.Evidence); err != nil {
			return fmt.Errorf("read evidence of alert %s: %w", aid, err)
		}
		g.add(sev, f, l, category, service, detection, a.Entities(), seen)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read alerts of incident %d: %w", id, err)
	}
	rows.Close()
	if g.count == 1 && !locked {
		g.name = title
	}
	return w.writeAggregates(tenantID, id, &g)
}

func appendDistinct(l []string, s string) []string {
	if s == "" {
		return l
	}
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

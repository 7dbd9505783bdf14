package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// alertSelect lists the columns scanAlert reads, raw excluded; FindAlert
// appends raw.
const alertSelect = `SELECT id, tenant_id, source, provider_alert_id, incident_id, created,
	title, severity, status, classification, determination, assigned_to,
	category, service_source, detection_source, product_name, detector_id,
	first_activity, last_activity, last_update, resolved, provider_created, provider_last_update,
	alert_policy_id, actor_display_name, threat_display_name, threat_family_name,
	alert_web_url, mitre_techniques, system_tags, correlation_reasons, correlation, comments,
	description, recommended_actions, blob_format, additional_data, evidence`

// FindAlert returns one alert of a tenant, with its raw original. It returns
// an ENOTFOUND error when the tenant has no alert with that id (also when
// another tenant has).
func (s *Store) FindAlert(ctx context.Context, tenantID, id string) (*weft.Alert, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.read.QueryContext(ctx, alertSelect+`, raw FROM alerts
		WHERE tenant_id = ? AND id_hash = ? AND id = ?`, tenantID, idHash(id), id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find alert: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: find alert: %w", err)
		}
		return nil, weft.Errorf(weft.ENOTFOUND, "alert %q not found", truncate(id, 80))
	}
	a, err := scanAlert(rows, true)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find alert: %w", err)
	}
	return a, nil
}

// ListAlerts returns a page of a tenant's alerts, newest first (by created
// time, then by storage order, descending: of alerts created at the same
// time, the one stored last comes first), without their raw originals. Top 0 means
// weft.DefaultPageSize and a Top above weft.MaxPageSize is cut to it; a
// negative Top or Skip is EINVALID. The page and the count are read from one
// snapshot. With q.IncidentFilter only the alerts whose incident matches it
// are listed (an alert without an incident never is); a filter the queue
// would refuse is EINVALID.
func (s *Store) ListAlerts(ctx context.Context, q weft.AlertQuery) (weft.AlertPage, error) {
	if err := s.enter(); err != nil {
		return weft.AlertPage{}, err
	}
	defer s.leave()
	limit, err := pageLimit(q.Top, q.Skip)
	if err != nil {
		return weft.AlertPage{}, err
	}
	// Without a filter the page is read in order from alerts_tenant_created.
	// With an incident filter SQLite would still prefer that index (it saves
	// a sort) and walk all of the tenant's alerts; an incident's alerts are
	// few, so they are found by alerts_tenant_incident and sorted instead.
	from, where, args := `alerts`, `tenant_id = ?`, []any{q.TenantID}
	if q.IncidentID != 0 {
		from = `alerts INDEXED BY alerts_tenant_incident`
		where += ` AND incident_id = ?`
		args = append(args, q.IncidentID)
	}
	if q.IncidentFilter != nil {
		// The incidents the filter matches, as a set built once (the
		// queue's count form), which the page and the count both probe.
		iw, iargs, err := incidentWhere(weft.IncidentQuery{TenantID: q.TenantID, Filter: q.IncidentFilter}, true)
		if err != nil {
			return weft.AlertPage{}, err
		}
		where += ` AND incident_id IN (SELECT id FROM incidents WHERE ` + iw + `)`
		args = append(args, iargs...)
	}
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return weft.AlertPage{}, fmt.Errorf("sqlite: list alerts: %w", err)
	}
	defer tx.Rollback()

	page := weft.AlertPage{Alerts: []*weft.Alert{}, Count: -1}
	rows, err := tx.QueryContext(ctx, alertSelect+` FROM `+from+` WHERE `+where+
		` ORDER BY created DESC, seq DESC LIMIT ? OFFSET ?`, append(args, limit+1, q.Skip)...)
	if err != nil {
		return weft.AlertPage{}, fmt.Errorf("sqlite: list alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if len(page.Alerts) == limit {
			page.More = true
			break
		}
		a, err := scanAlert(rows, false)
		if err != nil {
			return weft.AlertPage{}, fmt.Errorf("sqlite: list alerts: %w", err)
		}
		page.Alerts = append(page.Alerts, a)
	}
	if err := rows.Err(); err != nil {
		return weft.AlertPage{}, fmt.Errorf("sqlite: list alerts: %w", err)
	}
	rows.Close()
	if q.Count {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+from+` WHERE `+where, args...).Scan(&page.Count); err != nil {
			return weft.AlertPage{}, fmt.Errorf("sqlite: count alerts: %w", err)
		}
	}
	return page, nil
}

// pageLimit checks Top and Skip and returns the page size.
func pageLimit(top, skip int) (int, error) {
	switch {
	case top < 0:
		return 0, weft.Errorf(weft.EINVALID, "$top must not be negative")
	case skip < 0:
		return 0, weft.Errorf(weft.EINVALID, "$skip must not be negative")
	case top == 0:
		return weft.DefaultPageSize, nil
	}
	return min(top, weft.MaxPageSize), nil
}

// scanAlert reads one row of alertSelect (with raw when withRaw).
func scanAlert(rows *sql.Rows, withRaw bool) (*weft.Alert, error) {
	var (
		a                                           weft.Alert
		incident, resolved, providerCreated, plu    sql.NullInt64
		created, first, last, lastUpdate, severity  int64
		format                                      int64
		mitre, systemTags, reasons, comments, evjs  sql.RawBytes
		status, classification, determination, corr string
		additional, raw                             []byte
	)
	dest := []any{&a.ID, &a.TenantID, &a.Source, &a.ProviderAlertID, &incident, &created,
		&a.Title, &severity, &status, &classification, &determination, &a.AssignedTo,
		&a.Category, &a.ServiceSource, &a.DetectionSource, &a.ProductName, &a.DetectorID,
		&first, &last, &lastUpdate, &resolved, &providerCreated, &plu,
		&a.AlertPolicyID, &a.ActorDisplayName, &a.ThreatDisplayName, &a.ThreatFamilyName,
		&a.AlertWebURL, &mitre, &systemTags, &reasons, &corr, &comments,
		&a.Description, &a.RecommendedActions, &format, &additional, &evjs}
	if withRaw {
		dest = append(dest, &raw)
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	for _, c := range []struct {
		name string
		v    *[]byte
	}{{"additionalData", &additional}, {"evidence", (*[]byte)(&evjs)}, {"raw", &raw}} {
		if *c.v, err = unpackBlob(format, *c.v); err != nil {
			return nil, fmt.Errorf("alert %s: %s: %w", a.ID, c.name, err)
		}
	}
	a.IncidentID = incident.Int64
	a.CreatedDateTime = fromNanos(created)
	a.Severity = severityOf(severity)
	a.Status, a.Classification, a.Determination = weft.AlertStatus(status), weft.Classification(classification), weft.Determination(determination)
	a.Correlation = corr
	a.FirstActivityDateTime, a.LastActivityDateTime, a.LastUpdateDateTime = fromNanos(first), fromNanos(last), fromNanos(lastUpdate)
	a.ResolvedDateTime, a.ProviderCreatedDateTime, a.ProviderLastUpdateDateTime = fromNullNanos(resolved), fromNullNanos(providerCreated), fromNullNanos(plu)
	for _, c := range []struct {
		name string
		js   []byte
		dst  any
	}{
		{"mitreTechniques", mitre, &a.MitreTechniques},
		{"systemTags", systemTags, &a.SystemTags},
		{"correlationReasons", reasons, &a.CorrelationReasons},
		{"comments", comments, &a.Comments},
		{"evidence", evjs, &a.Evidence},
	} {
		if err := unmarshalNonEmpty(c.js, c.dst); err != nil {
			return nil, fmt.Errorf("alert %s: %s: %w", a.ID, c.name, err)
		}
	}
	if len(additional) > 0 {
		a.AdditionalData = json.RawMessage(additional)
	}
	if len(raw) > 0 {
		a.Raw = json.RawMessage(raw)
	}
	utcTimes(&a)
	a.Identify()
	return &a, nil
}

// unmarshalNonEmpty decodes a JSON column, leaving dst alone when it is NULL.
func unmarshalNonEmpty(js []byte, dst any) error {
	if len(js) == 0 {
		return nil
	}
	return jsonv2.Unmarshal(js, dst, jsonOpts)
}

// utcTimes puts the times inside evidence and comments in UTC, as the
// alert's own times are: JSON keeps an instant's offset, and a source may
// have sent one.
func utcTimes(a *weft.Alert) {
	utc := func(t *time.Time) {
		if t != nil {
			*t = t.UTC()
		}
	}
	for i := range a.Evidence {
		e := &a.Evidence[i]
		utc(e.CreatedDateTime)
		utc(e.ReceivedDateTime)
		utc(e.ProcessCreationDateTime)
		utc(e.ParentProcessCreationDateTime)
	}
	for i := range a.Comments {
		utc(&a.Comments[i].CreatedDateTime)
	}
}

// severityOf maps a stored rank back to its severity.
func severityOf(rank int64) weft.Severity {
	if rank < 0 || rank >= int64(len(weft.Severities)) {
		return weft.SeverityUnknown
	}
	return weft.Severities[rank]
}

// errNotFound reports whether err is sql.ErrNoRows.
func errNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }

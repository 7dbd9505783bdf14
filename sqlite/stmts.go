package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// writeStmts are the statements of the write path, prepared once on the
// writer connection when the store opens. A transaction binds them with
// Tx.StmtContext, which reuses the prepared statement because the writer
// pool has only one connection.
type writeStmts struct {
	lookupAlerts *sql.Stmt
	maxIDs       *sql.Stmt
	ensureTenant *sql.Stmt
	// The inserts of the write path come in pairs: one row, and a chunk of
	// rows at once (see insertBuffer).
	insertIncident, insertIncidents        *sql.Stmt
	insertAlert, insertAlerts              *sql.Stmt
	insertActivity, insertActivities       *sql.Stmt
	insertAlertEntity, insertAlertEntities *sql.Stmt
	upsertEntity                           *sql.Stmt
	insertEntityIdentifier                 *sql.Stmt
	insertEntityIdentifiers                *sql.Stmt
	extendEntity                           *sql.Stmt
	findEntity                             *sql.Stmt
	updateAlert                            *sql.Stmt
	deleteAlertEntity                      *sql.Stmt
	alertEvidence                          *sql.Stmt
	incidentAlerts                         *sql.Stmt
	incidentNaming                         *sql.Stmt
	updateIncident                         *sql.Stmt
	alertCorrelation                       *sql.Stmt
	alertsAfter                            *sql.Stmt
	incidentAggregates                     *sql.Stmt
	incidentAlertsFull                     *sql.Stmt
	describeIncident                       *sql.Stmt
	countDetector                          *sql.Stmt
	detectorAlerts                         *sql.Stmt
}

func (w *writeStmts) all() []**sql.Stmt {
	return []**sql.Stmt{&w.lookupAlerts, &w.maxIDs, &w.ensureTenant, &w.insertIncident, &w.insertIncidents,
		&w.insertAlert, &w.insertAlerts, &w.insertActivity, &w.insertActivities,
		&w.insertAlertEntity, &w.insertAlertEntities, &w.upsertEntity,
		&w.insertEntityIdentifier, &w.insertEntityIdentifiers, &w.extendEntity, &w.findEntity,
		&w.updateAlert, &w.deleteAlertEntity, &w.alertEvidence, &w.incidentAlerts, &w.incidentNaming,
		&w.updateIncident, &w.alertCorrelation, &w.alertsAfter, &w.incidentAggregates,
		&w.incidentAlertsFull, &w.describeIncident, &w.countDetector, &w.detectorAlerts}
}

// alertColumns are the content columns of alerts, in the order that
// insertAlert and updateAlert bind them (see alertArgs).
const alertColumns = `title, severity, status, classification, determination, assigned_to,
	category, service_source, detection_source, product_name, detector_id,
	first_activity, last_activity, last_update, resolved, provider_created, provider_last_update,
	content_hash, alert_policy_id, actor_display_name, threat_display_name, threat_family_name,
	alert_web_url, mitre_techniques, system_tags, correlation_reasons, correlation, comments,
	description, recommended_actions, blob_format, additional_data, evidence, raw`

const alertColumnCount = 34

// colReasons and colCorrelation are the positions of correlation_reasons and
// correlation in alertColumns.
const (
	colReasons     = 25
	colCorrelation = 26
)

func (w *writeStmts) prepare(ctx context.Context, db *sql.DB) error {
	queries := []string{
		// lookupAlerts: a batch's stored alerts, by id hash (see alerts).
		`SELECT id, seq, incident_id, content_hash, provider_last_update, created, first_activity
			FROM alerts WHERE tenant_id = ? AND id_hash IN (SELECT value FROM json_each(?))`,
		// maxIDs: where alert seqs and incident ids continue. The store
		// allocates them itself, so that it knows them without a round trip.
		`SELECT (SELECT coalesce(max(seq), 0) FROM alerts), (SELECT coalesce(max(id), 0) FROM incidents)`,
		`INSERT INTO tenants (tenant_id, display_name, disabled, created) VALUES (?, ?, 0, ?)
			ON CONFLICT (tenant_id) DO NOTHING`,
		insertIncidentSQL, insertRows(insertIncidentSQL, incidentRowSQL, chunkIncidents),
		insertAlertSQL, insertRows(insertAlertSQL, alertRowSQL, chunkAlerts),
		insertActivitySQL, insertRows(insertActivitySQL, activityRowSQL, chunkActivities),
		insertAlertEntitySQL, insertRows(insertAlertEntitySQL, alertEntityRowSQL, chunkAlertEntities),
		// upsertEntity: the name follows the latest sighting; the type stays
		// the one first seen (a user and a mailbox may share an address key).
		`INSERT INTO entities (tenant_id, entity_key, entity_type, name, first_seen, last_seen)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, entity_key) DO UPDATE SET
				name = CASE WHEN excluded.last_seen > entities.last_seen THEN excluded.name ELSE entities.name END,
				first_seen = min(entities.first_seen, excluded.first_seen),
				last_seen = max(entities.last_seen, excluded.last_seen)
			RETURNING id, first_seen, last_seen`,
		// insertEntityIdentifier(s): see entityWriter.identifiers.
		insertEntityIdentifierSQL, insertRows(insertEntityIdentifierSQL, entityIdentifierRowSQL, chunkEntityIdentifiers),
		`UPDATE entities SET
				name = CASE WHEN ?2 > last_seen THEN ?3 ELSE name END,
				first_seen = min(first_seen, ?1),
				last_seen = max(last_seen, ?2)
			WHERE id = ?4 AND tenant_id = ?5`,
		`SELECT id FROM entities WHERE tenant_id = ? AND entity_key = ?`,
		`UPDATE alerts SET (` + alertColumns + `) = (?` + repeatParams(alertColumnCount-1) + `) WHERE seq = ? AND tenant_id = ?`,
		`DELETE FROM alert_entities WHERE tenant_id = ? AND entity_id = ? AND first_activity = ? AND alert_seq = ?`,
		`SELECT blob_format, evidence FROM alerts WHERE seq = ? AND tenant_id = ?`,
		`SELECT id, title, severity, first_activity, last_activity, category,
			service_source, detection_source, blob_format, evidence
			FROM alerts WHERE tenant_id = ? AND incident_id = ? ORDER BY first_activity, id`,
		`SELECT display_name, name_locked FROM incidents WHERE id = ? AND tenant_id = ?`,
		`UPDATE incidents SET display_name = ?, severity = ?, first_activity = ?,
			last_activity = ?, alert_count = ?, categories = ?, service_sources = ?, detection_sources = ?,
			impacted_entities = ?, last_update = ?, version = version + 1
			WHERE id = ? AND tenant_id = ?`,
		// alertCorrelation: what an update keeps of a placed alert.
		`SELECT correlation_reasons, correlation FROM alerts WHERE seq = ? AND tenant_id = ?`,
		// alertsAfter: the alerts of an incident that come after a given
		// one in first-activity order (see addJoined); a range of the
		// alerts_tenant_incident index, which is short when the given alert
		// is among the latest.
		`SELECT seq FROM alerts WHERE tenant_id = ?1 AND incident_id = ?2 AND first_activity >= ?3
			AND (first_activity > ?3 OR id > ?4)`,
		// incidentAggregates: what addJoined extends.
		`SELECT display_name, severity, first_activity, last_activity, alert_count,
			categories, service_sources, detection_sources, impacted_entities
			FROM incidents WHERE id = ? AND tenant_id = ?`,
		// incidentAlertsFull: what Options.Describe is given (see
		// describeIncident), read for most incidents a batch changes.
		alertSelect + ` FROM alerts WHERE tenant_id = ? AND incident_id = ? ORDER BY first_activity, id`,
		`UPDATE incidents SET
			display_name = CASE WHEN name_locked OR ?1 = '' THEN display_name ELSE ?1 END,
			priority_score = ?2, priority_factors = ?3 WHERE id = ?4 AND tenant_id = ?5`,
		// countDetector and detectorAlerts: see writeCounts and prevalence.
		`INSERT INTO detector_counts (tenant_id, detector, day, alerts) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, detector, day) DO UPDATE SET alerts = alerts + excluded.alerts`,
		`SELECT coalesce(sum(alerts), 0) FROM detector_counts WHERE tenant_id = ? AND detector = ? AND day >= ?`,
	}
	if len(queries) != len(w.all()) {
		panic("sqlite: writeStmts: one query per statement")
	}
	for i, p := range w.all() {
		st, err := db.PrepareContext(ctx, queries[i])
		if err != nil {
			w.close()
			return fmt.Errorf("sqlite: prepare %q: %w", firstLine(queries[i]), err)
		}
		*p = st
	}
	return nil
}

func (w *writeStmts) close() error {
	var errs []error
	for _, p := range w.all() {
		if *p != nil {
			errs = append(errs, (*p).Close())
		}
	}
	return errors.Join(errs...)
}

// repeatParams returns ", ?" n times.
func repeatParams(n int) string {
	b := make([]byte, 0, 3*n)
	for range n {
		b = append(b, ", ?"...)
	}
	return string(b)
}

// The inserts of the write path: each statement ends with the VALUES row
// that insertRows repeats for the statement that inserts a chunk of rows,
// and takes the parameters that its …Params says.
var (
	incidentRowSQL    = `(?, ?, ?, ?, 'active', 'unknown', 'unknown', ?, ?, ?, ?, 1, ?, ?, ?, ?, 1)`
	insertIncidentSQL = `INSERT INTO incidents (id, tenant_id, display_name, severity, status,
		classification, determination, created, last_update, first_activity, last_activity,
		alert_count, categories, service_sources, detection_sources, impacted_entities, version)
		VALUES ` + incidentRowSQL
	alertRowSQL    = `(?` + repeatParams(alertParams-1) + `)`
	insertAlertSQL = `INSERT INTO alerts (seq, tenant_id, id, id_hash, source, provider_alert_id, incident_id, created, ` +
		alertColumns + `) VALUES ` + alertRowSQL
	activityRowSQL    = `(?, ?, ?, ?, ?, ?, ?)`
	insertActivitySQL = `INSERT INTO activities (tenant_id, incident_id, time, actor, type, message, alert_id)
		VALUES ` + activityRowSQL
	alertEntityRowSQL    = `(?, ?, ?, ?, ?)`
	insertAlertEntitySQL = `INSERT INTO alert_entities (tenant_id, entity_id, first_activity, alert_seq, roles)
		VALUES ` + alertEntityRowSQL
	entityIdentifierRowSQL    = `(?, ?, ?)`
	insertEntityIdentifierSQL = `INSERT OR IGNORE INTO entity_identifiers (tenant_id, identifier, entity_id)
		VALUES ` + entityIdentifierRowSQL
)

const (
	incidentParams    = 12
	alertParams       = 8 + alertColumnCount
	activityParams    = 7
	alertEntityParams = 5

	entityIdentifierParams = 3
)

// How many rows the chunk statements insert: about 500 parameters each
// (SQLite allows 32766).
const (
	chunkIncidents     = 48
	chunkAlerts        = 12
	chunkActivities    = 64
	chunkAlertEntities = 100

	chunkEntityIdentifiers = 160
)

// insertRows returns the single-row insert query, which ends with row, for n
// rows.
func insertRows(query, row string, n int) string {
	return query + strings.Repeat(", "+row, n-1)
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

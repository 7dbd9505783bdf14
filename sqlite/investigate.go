package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// Investigate returns an incident of a tenant with its earliest alerts (at
// most weft.MaxInvestigateAlerts, by first activity, then id, without raw
// originals), the criticality of their entities from the tenant's assets, and
// its related incidents (at most weft.MaxRelatedIncidents of each relation),
// all read in one read transaction. It returns an ENOTFOUND error when the
// tenant has no incident with that id. It is safe for concurrent use and
// never waits for the writer.
//
// Criticality is looked up as the priority score does (tenantAssets.criticality)
// but from the assets table rather than the in-memory index, which is kept
// only with a Correlator and guarded by the write lock: the query reads the
// tenant's assets that carry one of the alerts' identifiers, which are all
// the lookup needs (a weak name's owners are exactly the assets carrying it).
func (s *Store) Investigate(ctx context.Context, tenantID string, id int64) (*weft.Investigation, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: investigate: %w", err)
	}
	defer tx.Rollback()
	incs, err := queryIncidents(ctx, tx, incidentSelect+` WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: investigate: %w", err)
	}
	if len(incs) == 0 {
		return nil, weft.Errorf(weft.ENOTFOUND, "incident %d not found", id)
	}
	inv := &weft.Investigation{Incident: incs[0]}
	if inv.Incident.Alerts, err = investigatedAlerts(ctx, tx, tenantID, id); err != nil {
		return nil, fmt.Errorf("sqlite: investigate incident %d: %w", id, err)
	}
	if inv.Criticality, err = criticalityLookup(ctx, tx, tenantID, inv.Incident.Alerts); err != nil {
		return nil, fmt.Errorf("sqlite: investigate incident %d: %w", id, err)
	}
	if inv.Related, err = relatedIncidents(ctx, tx, tenantID, id); err != nil {
		return nil, fmt.Errorf("sqlite: investigate incident %d: %w", id, err)
	}
	return inv, nil
}

// investigatedAlerts reads an incident's earliest alerts.
func investigatedAlerts(ctx context.Context, tx *sql.Tx, tenantID string, id int64) ([]*weft.Alert, error) {
	rows, err := tx.QueryContext(ctx, alertSelect+` FROM alerts WHERE tenant_id = ? AND incident_id = ?
		ORDER BY first_activity, id LIMIT ?`, tenantID, id, weft.MaxInvestigateAlerts)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	alerts := []*weft.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows, false)
		if err != nil {
			return nil, err
		}
		alerts = append(alerts, a)
	}
	return alerts, rows.Err()
}

// criticalityLookup reads the tenant's assets that carry an identifier of the
// alerts' evidence and returns the lookup over them.
func criticalityLookup(ctx context.Context, tx *sql.Tx, tenantID string, alerts []*weft.Alert) (weft.CriticalityFunc, error) {
	seen := map[string]bool{}
	names := []string{}
	for _, a := range alerts {
		for i := range a.Evidence {
			for _, id := range a.Evidence[i].Identifiers() {
				if k := id.String(); !seen[k] {
					seen[k] = true
					names = append(names, k)
				}
			}
		}
	}
	none := func([]weft.Identifier) int { return 0 }
	if len(names) == 0 {
		return none, nil
	}
	list, err := jsonv2.Marshal(names)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT asset_id, criticality, identifiers FROM assets
		WHERE tenant_id = ? AND EXISTS (SELECT 1 FROM json_each(assets.identifiers) AS j
			WHERE (j.value ->> 'kind') || ':' || (j.value ->> 'value') IN (SELECT value FROM json_each(?)))`,
		tenantID, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	index := assetIndex{}
	for rows.Next() {
		var assetID, js string
		var crit int
		if err := rows.Scan(&assetID, &crit, &js); err != nil {
			return nil, err
		}
		var ids []weft.Identifier
		if err := jsonv2.Unmarshal([]byte(js), &ids, jsonOpts); err != nil {
			return nil, fmt.Errorf("asset %q: %w", assetID, err)
		}
		index.put(tenantID, assetID, crit, ids)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	t := index[tenantID]
	if t == nil {
		return none, nil
	}
	return t.criticality, nil
}

// relatedIncidents reads the incidents related to incident id: both
// directions of incident_relations, and the incidents redirected to it.
func relatedIncidents(ctx context.Context, tx *sql.Tx, tenantID string, id int64) ([]weft.RelatedIncident, error) {
	rows, err := tx.QueryContext(ctx, `SELECT r.relation, i.id, i.display_name, i.status, i.severity FROM (
			SELECT * FROM (SELECT CASE kind WHEN 'continues' THEN 'continues' ELSE 'related' END AS relation, related_id AS other
				FROM incident_relations WHERE tenant_id = ?1 AND incident_id = ?2 ORDER BY kind, related_id LIMIT ?3)
			UNION
			SELECT * FROM (SELECT CASE kind WHEN 'continues' THEN 'continuedBy' ELSE 'related' END, incident_id
				FROM incident_relations WHERE tenant_id = ?1 AND related_id = ?2 ORDER BY kind, incident_id LIMIT ?3)
			UNION
			SELECT * FROM (SELECT 'merged', id FROM incidents
				WHERE tenant_id = ?1 AND redirect_incident_id = ?2 AND status = 'redirected' ORDER BY id LIMIT ?3)
		) AS r JOIN incidents AS i ON i.tenant_id = ?1 AND i.id = r.other AND i.id <> ?2
		ORDER BY r.relation, i.id`, tenantID, id, weft.MaxRelatedIncidents)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	related := []weft.RelatedIncident{}
	for rows.Next() {
		var r weft.RelatedIncident
		var status string
		var severity int64
		if err := rows.Scan(&r.Relation, &r.ID, &r.DisplayName, &status, &severity); err != nil {
			return nil, err
		}
		r.Status, r.Severity = weft.IncidentStatus(status), severityOf(severity)
		related = append(related, r)
	}
	return related, rows.Err()
}

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/weftxdr/weft"
)

// The manage operations (weft.IncidentManager). Each runs in one write
// transaction under the write lock, like a batch of alerts, so that a version
// check and the change it guards are atomic and a change never interleaves
// with a batch that places alerts in the same incident. After the commit:
//
//   - the Correlator is told the incident's new state with SetIncident, so
//     that its blockers (resolved, a different assignee, classification or
//     determination) apply to the next alert; it is told only after the
//     commit because it is a cache of what is committed;
//   - the alert cache entry of the incident is dropped (alertcache.go): the
//     incident's alerts may have changed (status, assignee), and naming and
//     scoring must read them again.

var _ weft.IncidentManager = (*Store)(nil)

// UpdateIncident implements weft.IncidentManager. See there for the rules;
// the patch is checked against the incident as it would be afterwards
// (determination fits classification, a resolving comment only on a
// resolved incident). A display name set here locks the name (name_locked),
// as an imported one does: correlation never renames the incident after.
// Severity set here holds until the incident's alerts change, which
// recomputes it (the highest of its alerts), as in Defender.
func (s *Store) UpdateIncident(ctx context.Context, tenantID string, id int64, patch weft.IncidentPatch, actor string, ifMatch int64) (*weft.Incident, error) {
	if err := patch.Normalize(); err != nil {
		return nil, err
	}
	actor, err := weft.CheckActor(actor)
	if err != nil {
		return nil, err
	}
	var out *weft.Incident
	err = s.manage(ctx, "update incident", func(tx *sql.Tx, now int64) (*weft.Incident, error) {
		cur, err := lockedIncident(ctx, tx, tenantID, id, ifMatch)
		if err != nil {
			return nil, err
		}
		after, changes, err := applyPatch(cur, &patch)
		if err != nil {
			return nil, err
		}
		if len(changes) == 0 {
			out = cur
			return nil, nil
		}
		tags, err := marshalList(after.CustomTags)
		if err != nil {
			return nil, fmt.Errorf("encode tags: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET status = ?, assigned_to = ?, classification = ?,
			determination = ?, custom_tags = ?, display_name = ?, name_locked = name_locked OR ?, severity = ?,
			resolving_comment = ?, last_update = ?, last_modified_by = ?, version = version + 1
			WHERE tenant_id = ? AND id = ?`,
			string(after.Status), after.AssignedTo, string(after.Classification), string(after.Determination),
			jsonText(tags), after.DisplayName, after.DisplayName != cur.DisplayName, after.Severity.Rank(),
			after.ResolvingComment, now, actor, tenantID, id); err != nil {
			return nil, fmt.Errorf("update incident %d: %w", id, err)
		}
		for _, c := range changes {
			if err := logChange(ctx, tx, tenantID, id, now, actor, weft.ActivityIncidentUpdated, "", c); err != nil {
				return nil, err
			}
		}
		if after.AssignedTo != cur.AssignedTo {
			// Assigning an incident assigns its alerts (Defender does).
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET assigned_to = ?, last_update = ?
				WHERE tenant_id = ? AND incident_id = ? AND assigned_to != ?`,
				after.AssignedTo, now, tenantID, id, after.AssignedTo); err != nil {
				return nil, fmt.Errorf("assign alerts of incident %d: %w", id, err)
			}
		}
		if after.Status == weft.IncidentStatusResolved && cur.Status != weft.IncidentStatusResolved {
			res, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ?, resolved = ?, last_update = ?
				WHERE tenant_id = ? AND incident_id = ? AND status != ?`,
				string(weft.AlertStatusResolved), now, now, tenantID, id, string(weft.AlertStatusResolved))
			if err != nil {
				return nil, fmt.Errorf("resolve alerts of incident %d: %w", id, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return nil, fmt.Errorf("resolve alerts of incident %d: %w", id, err)
			} else if n > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO activities (tenant_id, incident_id, time, actor, type, message)
					VALUES (?, ?, ?, ?, ?, ?)`, tenantID, id, now, actor, weft.ActivityAlertsResolved,
					resolvedMessage(n)); err != nil {
					return nil, fmt.Errorf("log incident %d: %w", id, err)
				}
			}
		}
		out, err = readIncident(ctx, tx, tenantID, id)
		return out, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddIncidentComment implements weft.IncidentManager. An incident holds at
// most weft.MaxComments comments; one more is ETOOLARGE.
func (s *Store) AddIncidentComment(ctx context.Context, tenantID string, id int64, text, actor string, ifMatch int64) (weft.Comment, int64, error) {
	text, err := weft.CheckCommentText(text)
	if err != nil {
		return weft.Comment{}, 0, err
	}
	actor, err = weft.CheckActor(actor)
	if err != nil {
		return weft.Comment{}, 0, err
	}
	var c weft.Comment
	var version int64
	err = s.manage(ctx, "add comment", func(tx *sql.Tx, now int64) (*weft.Incident, error) {
		cur, err := lockedIncident(ctx, tx, tenantID, id, ifMatch)
		if err != nil {
			return nil, err
		}
		if len(cur.Comments) >= weft.MaxComments {
			return nil, weft.Errorf(weft.ETOOLARGE, "comment: incident %d has %d comments, the most it may have", id, len(cur.Comments))
		}
		c = weft.Comment{Comment: text, CreatedByDisplayName: actor, CreatedDateTime: fromNanos(now)}
		js, err := marshalComments(append(cur.Comments, c))
		if err != nil {
			return nil, fmt.Errorf("encode comments of incident %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET comments = ?, last_update = ?, last_modified_by = ?,
			version = version + 1 WHERE tenant_id = ? AND id = ?`, js, now, actor, tenantID, id); err != nil {
			return nil, fmt.Errorf("update incident %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO activities (tenant_id, incident_id, time, actor, type, message)
			VALUES (?, ?, ?, ?, ?, ?)`, tenantID, id, now, actor, weft.ActivityCommentAdded, text); err != nil {
			return nil, fmt.Errorf("log incident %d: %w", id, err)
		}
		version = cur.Version + 1
		// The comment changes nothing the Correlator depends on.
		return nil, nil
	})
	if err != nil {
		return weft.Comment{}, 0, err
	}
	return c, version, nil
}

// UpdateAlert implements weft.IncidentManager. A status of resolved sets the
// alert's resolved time, another status clears it. The determination must
// fit the alert's classification after the patch. A later version of the
// alert from its source (StoreAlerts) replaces what was set here; a repeat
// of the same version keeps it.
func (s *Store) UpdateAlert(ctx context.Context, tenantID, alertID string, patch weft.AlertPatch, actor string) (*weft.Alert, error) {
	if err := patch.Normalize(); err != nil {
		return nil, err
	}
	actor, err := weft.CheckActor(actor)
	if err != nil {
		return nil, err
	}
	var out *weft.Alert
	err = s.manage(ctx, "update alert", func(tx *sql.Tx, now int64) (*weft.Incident, error) {
		var (
			incident                                      sql.NullInt64
			status, assignedTo, classification, determ    string
			afterStatus, afterAssigned, afterCls, afterDt string
		)
		err := tx.QueryRowContext(ctx, `SELECT incident_id, status, assigned_to, classification, determination
			FROM alerts WHERE tenant_id = ? AND id_hash = ? AND id = ?`, tenantID, idHash(alertID), alertID).
			Scan(&incident, &status, &assignedTo, &classification, &determ)
		if errNotFound(err) {
			return nil, weft.Errorf(weft.ENOTFOUND, "alert %q not found", truncate(alertID, 80))
		} else if err != nil {
			return nil, fmt.Errorf("read alert: %w", err)
		}
		afterStatus, afterAssigned, afterCls, afterDt = status, assignedTo, classification, determ
		var changes []change
		set := func(prop string, dst *string, v *string) {
			if v != nil && *v != *dst {
				changes = append(changes, change{prop, *dst, *v})
				*dst = *v
			}
		}
		set("status", &afterStatus, (*string)(patch.Status))
		set("assignedTo", &afterAssigned, patch.AssignedTo)
		set("classification", &afterCls, (*string)(patch.Classification))
		set("determination", &afterDt, (*string)(patch.Determination))
		if err := weft.CheckDetermination(weft.Classification(afterCls), weft.Determination(afterDt)); err != nil {
			return nil, err
		}
		if len(changes) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ?, assigned_to = ?, classification = ?,
				determination = ?, last_update = ?,
				resolved = CASE WHEN ?1 = 'resolved' THEN coalesce(resolved, ?5) ELSE NULL END
				WHERE tenant_id = ? AND id_hash = ? AND id = ?`,
				afterStatus, afterAssigned, afterCls, afterDt, now, tenantID, idHash(alertID), alertID); err != nil {
				return nil, fmt.Errorf("update alert: %w", err)
			}
			if incident.Valid {
				for _, c := range changes {
					if err := logChange(ctx, tx, tenantID, incident.Int64, now, actor, weft.ActivityAlertUpdated, alertID, c); err != nil {
						return nil, err
					}
				}
				// The incident's alerts changed: its ETag must too.
				if _, err := tx.ExecContext(ctx, `UPDATE incidents SET last_update = ?, last_modified_by = ?,
					version = version + 1 WHERE tenant_id = ? AND id = ?`, now, actor, tenantID, incident.Int64); err != nil {
					return nil, fmt.Errorf("update incident %d: %w", incident.Int64, err)
				}
			}
		}
		rows, err := tx.QueryContext(ctx, alertSelect+` FROM alerts WHERE tenant_id = ? AND id_hash = ? AND id = ?`,
			tenantID, idHash(alertID), alertID)
		if err != nil {
			return nil, fmt.Errorf("read alert: %w", err)
		}
		defer rows.Close()
		if !rows.Next() {
			return nil, fmt.Errorf("read alert: %w", cmpErr(rows.Err()))
		}
		if out, err = scanAlert(rows, false); err != nil {
			return nil, fmt.Errorf("read alert: %w", err)
		}
		if len(changes) > 0 && incident.Valid {
			// Only the cache entry is to be dropped: an alert's state is
			// nothing the Correlator's blockers depend on.
			return &weft.Incident{ID: incident.Int64, TenantID: tenantID}, nil
		}
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func cmpErr(err error) error {
	if err == nil {
		return sql.ErrNoRows
	}
	return err
}

// manage runs one manage operation in a write transaction under the write
// lock. op returns the incident it changed (nil: none), whose cache entry
// is dropped after the commit and whose state the Correlator is told when
// it carries one (a Status).
func (s *Store) manage(ctx context.Context, what string, op func(tx *sql.Tx, now int64) (*weft.Incident, error)) error {
	return s.manageAll(ctx, what, func(tx *sql.Tx, now int64) (managed, error) {
		changed, err := op(tx, now)
		if changed == nil {
			return managed{}, err
		}
		return managed{incidents: []*weft.Incident{changed}}, err
	})
}

// managed is what a manage operation changed, for manageAll to apply after
// the commit.
type managed struct {
	// incidents are the incidents whose cache entries are dropped; the
	// Correlator is told (SetIncident) the state of each that carries a
	// Status other than redirected (the Correlator follows a redirected
	// incident to the one it went into, which it must not overwrite).
	incidents []*weft.Incident
	// tell, when set, tells the Correlator what else the operation did
	// (see restructure.go), before the states of incidents.
	tell func(corr weft.Correlator)
}

// manageAll is manage for an operation that changes several incidents.
// op runs in the write transaction; what it returns is applied only after
// the commit, under the write lock, because the Correlator and the alert
// cache are caches of what is committed.
func (s *Store) manageAll(ctx context.Context, what string, op func(tx *sql.Tx, now int64) (managed, error)) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := s.lockWriter(ctx); err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer s.unlockWriter()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", what, err)
	}
	defer tx.Rollback()
	m, err := op(tx, s.now().UTC().UnixNano())
	if err != nil {
		if weft.ErrorCode(err) != weft.EINTERNAL {
			return err
		}
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", what, err)
	}
	s.ckpt.committed()
	if s.corr != nil && m.tell != nil {
		m.tell(s.corr)
	}
	for _, changed := range m.incidents {
		s.cache.put(cacheKey{changed.TenantID, changed.ID}, nil)
		if s.corr != nil && changed.Status != "" && changed.Status != weft.IncidentStatusRedirected {
			s.corr.SetIncident(changed.TenantID, weft.IncidentState{ID: changed.ID, Status: changed.Status,
				AssignedTo: changed.AssignedTo, Classification: changed.Classification,
				Determination: changed.Determination, AlertCount: changed.AlertCount})
		}
	}
	return nil
}

// readIncident reads one incident in tx, or returns ENOTFOUND.
func readIncident(ctx context.Context, tx *sql.Tx, tenantID string, id int64) (*weft.Incident, error) {
	incs, err := queryIncidents(ctx, tx, incidentSelect+` WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("read incident %d: %w", id, err)
	}
	if len(incs) == 0 {
		return nil, weft.Errorf(weft.ENOTFOUND, "incident %d not found", id)
	}
	return incs[0], nil
}

// lockedIncident reads the incident a change is to be made to and checks
// that it may be: it is at version ifMatch (when > 0; else a
// *weft.StaleVersionError) and it was not merged away (ECONFLICT).
func lockedIncident(ctx context.Context, tx *sql.Tx, tenantID string, id, ifMatch int64) (*weft.Incident, error) {
	cur, err := readIncident(ctx, tx, tenantID, id)
	if err != nil {
		return nil, err
	}
	if ifMatch > 0 && cur.Version != ifMatch {
		return nil, &weft.StaleVersionError{Current: cur, Err: weft.Errorf(weft.EPRECONDITION,
			"incident %d was changed since version %d: it is at version %d; apply the change to the current incident again",
			id, ifMatch, cur.Version)}
	}
	if cur.Status == weft.IncidentStatusRedirected {
		return nil, weft.Errorf(weft.ECONFLICT, "incident %d was merged into incident %d; change that one", id, cur.RedirectIncidentID)
	}
	return cur, nil
}

// change is one property changed by a manage operation, with its values
// before and after (strings, or []string for tags).
type change struct {
	prop          string
	before, after any
}

// applyPatch returns the incident as patch would leave it and the
// properties that change, in a fixed order, or an EINVALID error for a
// result that breaks a rule.
func applyPatch(cur *weft.Incident, p *weft.IncidentPatch) (*weft.Incident, []change, error) {
	after := *cur
	var changes []change
	str := func(prop string, dst *string, v *string) {
		if v != nil && *v != *dst {
			changes = append(changes, change{prop, *dst, *v})
			*dst = *v
		}
	}
	str("status", (*string)(&after.Status), (*string)(p.Status))
	str("assignedTo", &after.AssignedTo, p.AssignedTo)
	str("classification", (*string)(&after.Classification), (*string)(p.Classification))
	str("determination", (*string)(&after.Determination), (*string)(p.Determination))
	if p.CustomTags != nil && !slices.Equal(*p.CustomTags, cur.CustomTags) {
		changes = append(changes, change{"customTags", cur.CustomTags, *p.CustomTags})
		after.CustomTags = *p.CustomTags
	}
	str("displayName", &after.DisplayName, p.DisplayName)
	str("severity", (*string)(&after.Severity), (*string)(p.Severity))
	str("resolvingComment", &after.ResolvingComment, p.ResolvingComment)
	if err := weft.CheckDetermination(after.Classification, after.Determination); err != nil {
		return nil, nil, err
	}
	if p.ResolvingComment != nil && *p.ResolvingComment != "" && after.Status != weft.IncidentStatusResolved {
		return nil, nil, weft.Errorf(weft.EINVALID,
			"resolvingComment: may be set only on a resolved incident; incident %d is %s (set status resolved too)", cur.ID, after.Status)
	}
	return &after, changes, nil
}

// logChange writes the activity entry of one changed property: Before and
// After are JSON objects holding that property alone.
func logChange(ctx context.Context, tx *sql.Tx, tenantID string, incident, now int64, actor, typ, alertID string, c change) error {
	before, err := jsonv2.Marshal(map[string]any{c.prop: c.before}, jsonOpts)
	if err != nil {
		return fmt.Errorf("log incident %d: %w", incident, err)
	}
	after, err := jsonv2.Marshal(map[string]any{c.prop: c.after}, jsonOpts)
	if err != nil {
		return fmt.Errorf("log incident %d: %w", incident, err)
	}
	msg := c.prop + " changed from " + shown(c.before) + " to " + shown(c.after)
	if alertID != "" {
		msg = "Alert " + alertID + ": " + msg
	}
	var alert any
	if alertID != "" {
		alert = alertID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO activities (tenant_id, incident_id, time, actor, type, message, alert_id, before, after)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tenantID, incident, now, actor, typ, msg, alert, string(before), string(after)); err != nil {
		return fmt.Errorf("log incident %d: %w", incident, err)
	}
	return nil
}

// shown is a value as an activity message says it.
func shown(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return "(none)"
		}
		return `"` + truncate(v, 200) + `"`
	case []string:
		if len(v) == 0 {
			return "(none)"
		}
		return truncate(strings.Join(v, ", "), 200)
	}
	return fmt.Sprint(v)
}

func resolvedMessage(n int64) string {
	if n == 1 {
		return "1 alert resolved with the incident"
	}
	return fmt.Sprintf("%d alerts resolved with the incident", n)
}
